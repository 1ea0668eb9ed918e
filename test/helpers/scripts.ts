import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const SCRIPTS_DIR = fileURLToPath(new URL("../../scripts/", import.meta.url));

export interface ScriptOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs an operator script (scripts/*.sh) as cron or a person would: only PATH and the given
 * variables in its environment, from a directory outside the checkout. Never rejects: the exit
 * code is part of what tests check.
 */
export function runScript(name: string, args: string[], env: Record<string, string> = {}): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    const options = { cwd: tmpdir(), encoding: "utf8" as const, env: { PATH: process.env.PATH ?? "", NODE_ENV: "test" as const, ...env } };
    execFile(join(SCRIPTS_DIR, name), args, options, (error: Error | null, stdout: string, stderr: string) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
