import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ROOT_DIR } from "./local-env.ts";

const run = promisify(execFile);
export const TYPES_FILE = `${ROOT_DIR}core/db/types.ts`;

/**
 * Runs kysely-codegen against a migrated database: our schemas only (pg-boss's tables are its own
 * business and reached through app.jobs). With verify, it fails when TYPES_FILE differs from what
 * the database would generate, which is how a test catches types drifting from the migrations.
 */
export async function runCodegen(url: string, options: { verify: boolean }): Promise<{ ok: boolean; output: string }> {
  const args = [
    "--dialect",
    "postgres",
    "--url",
    url,
    "--include-pattern",
    "{app,ops}.*",
    "--out-file",
    TYPES_FILE,
    "--log-level",
    "error",
    ...(options.verify ? ["--verify"] : []),
  ];
  try {
    const { stdout, stderr } = await run(`${ROOT_DIR}node_modules/.bin/kysely-codegen`, args, { cwd: ROOT_DIR });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${stdout}${stderr}` };
  }
}
