import { spawn } from "node:child_process";
import { ROOT_DIR } from "./local-env.ts";
import { UsageError } from "./run-tool.ts";

/** Builds the Remix app into build/web (what web/server.ts serves). Build errors go to stderr. */
export async function buildWebApp(): Promise<void> {
  const build = spawn(process.execPath, [`${ROOT_DIR}node_modules/@remix-run/dev/dist/cli.js`, "vite:build"], {
    cwd: ROOT_DIR,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const code = await new Promise<number>((resolve) => build.on("close", (exit) => resolve(exit ?? 1)));
  if (code !== 0) throw new UsageError("the web build failed; its errors are above (npm run build reproduces it)");
}
