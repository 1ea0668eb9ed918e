import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Test } from "tap";
import type { Env } from "../../core/config/parse-env.ts";
import type { TestDatabase } from "./database.ts";
import { TEST_JWT_SECRET, testEnv } from "./test-env.ts";
import { waitFor } from "./wait.ts";

const SERVER = fileURLToPath(new URL("../../web/server.ts", import.meta.url));
export const TEST_SESSION_SECRET = "test-session-secret-0123456789-abcdefghijk";

export interface WebProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Its JSON log lines, parsed. */
  logLines(): Record<string, unknown>[];
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * The real web process (node web/server.ts serving build/web, which npm test builds) against `db`
 * on a free port; killed at teardown if still running.
 */
export async function startWeb(t: Test, db: TestDatabase, env: Env = {}): Promise<WebProcess> {
  const child = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      DATABASE_URL: db.url,
      ...(testEnv.appPassword ? { APP_DATABASE_PASSWORD: testEnv.appPassword } : {}),
      DATABASE_POOL_MAX: "4",
      HOST: "127.0.0.1",
      WEB_PORT: "0",
      SESSION_SECRET: TEST_SESSION_SECRET,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  const logLines = () =>
    output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const port = await waitFor(`the web process to listen (output so far: ${output.slice(-500)})`, () => {
    if (child.exitCode !== null) throw new Error(`web exited with ${child.exitCode}: ${output}`);
    return logLines().find((line) => line.msg === "web listening")?.port as number | undefined;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    logLines,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/**
 * The path of the link in the latest mail the development mailer logged for `to` (whose subject
 * matches `subject`, when given), waiting for the log line to arrive from the web process.
 */
export async function mailedLink(web: WebProcess, to: string, subject?: RegExp): Promise<string> {
  const mail = await waitFor(`mail to ${to} (web output so far: ${web.output().slice(-1500)})`, () =>
    web
      .logLines()
      .map((line) => line.mail as { to?: string; subject?: string; body?: string } | undefined)
      .filter((m) => m?.to === to && (!subject || subject.test(m.subject ?? "")))
      .at(-1),
  );
  return new URL(/https?:\/\/\S+/.exec(mail.body ?? "")![0]).pathname;
}
