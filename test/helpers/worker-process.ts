import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import type { Test } from "tap";
import type { Env } from "../../core/config/parse-env.ts";
import type { TestDatabase } from "./database.ts";
import { waitFor } from "./wait.ts";
import { testWorkerEnv } from "./worker.ts";

const MAIN = fileURLToPath(new URL("../../worker/main.ts", import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed so far (JSON log lines, errors). */
  output(): string;
  /** Resolves once the worker has registered itself and started its job runner. */
  ready(): Promise<void>;
}

/** A real worker process (node worker/main.ts) against `db`; killed at teardown if still running. */
export function spawnWorker(t: Test, db: TestDatabase, env: Env = {}): WorkerProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, NODE_ENV: "test", ...testWorkerEnv(db.url, { LOG_LEVEL: "info", ...env }) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return {
    child,
    exited,
    output: () => output,
    ready: async () => {
      await waitFor(`worker pid ${child.pid} to start (output so far: ${output.slice(-500)})`, async () => {
        if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${output}`);
        if (!output.includes("job runner started")) return false;
        const { rows } = await sql`SELECT 1 FROM ops.worker_instances WHERE pid = ${child.pid!} AND stopped_at IS NULL`.execute(
          db.handles.owner,
        );
        return rows.length === 1;
      });
    },
  };
}
