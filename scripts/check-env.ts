// Validates the worker's and the web app's configuration without starting either: the same
// schemas and the same messages the processes print at start. Run through scripts/check-env.sh.
import { parseArgs } from "node:util";
import { ConfigError, type Env } from "../core/config/parse-env.ts";
import { loadWebConfig } from "../core/config/web-config.ts";
import { loadWorkerConfig } from "../core/config/worker-config.ts";
import { localEnv } from "./lib/local-env.ts";
import { EXIT, runTool, UsageError } from "./lib/run-tool.ts";

const CHECKS: Record<string, (env: Env) => unknown> = { worker: loadWorkerConfig, web: loadWebConfig };

await runTool("check-env", async () => {
  const { values } = parseArgs({ options: { process: { type: "string" }, local: { type: "boolean", default: false } } });
  const names = values.process ? [values.process] : Object.keys(CHECKS);
  for (const name of names)
    if (!CHECKS[name]) throw new UsageError(`--process must be one of ${Object.keys(CHECKS).join(", ")}, got "${name}"`);
  // --local: what `npm start` would pass (the checkout's .env and generated .data/local.env).
  const env = values.local ? localEnv(process.env) : process.env;
  let failed = 0;
  for (const name of names) {
    try {
      CHECKS[name]!(env);
      console.log(`${name}: OK`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      failed++;
      console.log(`${name}: INVALID\n${error.message.replace(/^/gm, "  ")}`);
    }
  }
  return failed === 0 ? EXIT.ok : EXIT.config;
});
