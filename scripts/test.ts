// npm test [-- <test files or tap options>]
// Provisions PostgreSQL (with pgvector), Redis, Chromium (browser tests) and Prometheus (alert rules), builds one migrated template database for this
// run and the web app, runs the node-tap suite (each test file clones the template), then prints one last line:
// "N passed, N failed".
import { spawn } from "node:child_process";
import pg from "pg";
import { loadToolsConfig } from "../core/config/tools-config.ts";
import { releaseDatabase } from "../core/ops/release.ts";
import { localEnv, ROOT_DIR } from "./lib/local-env.ts";
import { createDatabaseIfMissing, dropDatabaseIfExists, provision, withDatabase } from "./lib/provision.ts";
import { chromium, prometheus, provisionDebianTool } from "./lib/debian-package.ts";
import { provisionRedis } from "./lib/redis.ts";
import { runTool } from "./lib/run-tool.ts";
import { buildWebApp } from "./lib/web-build.ts";

/** Test databases are named gpt_t_<run>_... and gpt_tpl_<run>; a run id is a base-36 timestamp. */
const STALE_AFTER_MS = 60 * 60 * 1000;

await runTool("test", async () => {
  const config = loadToolsConfig(localEnv(process.env));
  const log = (line: string) => console.log(line);
  const { serverUrl } = await provision({ explicitUrl: config.TEST_DATABASE_URL, localDatabases: [], log });
  const redisUrl = await provisionRedis(config.TEST_REDIS_URL, log);
  await provisionDebianTool(chromium, log);
  await provisionDebianTool(prometheus, log);

  const runId = Date.now().toString(36);
  await dropStaleTestDatabases(serverUrl, log);
  const template = `gpt_tpl_${runId}`;
  await createDatabaseIfMissing(serverUrl, template);
  await releaseDatabase(withDatabase(serverUrl, template), (line) => log(`template: ${line}`), {
    appPassword: config.APP_DATABASE_PASSWORD,
  });

  // The web tests drive the production build, as web/server.ts serves it.
  log("test: building the web app");
  await buildWebApp();

  const tapBin = `${ROOT_DIR}node_modules/tap/dist/esm/run.mjs`;
  const child = spawn(process.execPath, [tapBin, "--reporter=tap", ...process.argv.slice(2)], {
    cwd: ROOT_DIR,
    env: {
      ...process.env,
      ...(config.APP_DATABASE_PASSWORD ? { APP_DATABASE_PASSWORD: config.APP_DATABASE_PASSWORD } : {}),
      TEST_SERVER_URL: serverUrl,
      TEST_TEMPLATE_DB: template,
      TEST_RUN_ID: runId,
      TEST_REDIS_URL: redisUrl,
    },
    stdio: ["inherit", "pipe", "inherit"],
  });
  let tail = "";
  child.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    tail = (tail + chunk.toString()).slice(-4096);
  });
  const exitCode = await new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 1)));

  await dropRunDatabases(serverUrl, runId);
  const summary = [...tail.matchAll(/^# \{ total: \d+(.*)\}$/gm)].at(-1)?.[1] ?? "";
  const count = (key: string) => Number(new RegExp(`${key}: (\\d+)`).exec(summary)?.[1] ?? 0);
  const failed = count("fail") + (summary ? 0 : 1);
  console.log(`${count("pass")} passed, ${failed} failed`);
  return exitCode === 0 && failed === 0 ? 0 : exitCode || 1;
});

async function listTestDatabases(serverUrl: string, pattern: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname ~ $1", [pattern]);
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

async function dropRunDatabases(serverUrl: string, runId: string): Promise<void> {
  for (const name of await listTestDatabases(serverUrl, `^gpt_(t|tpl)_${runId}(_|$)`)) await dropDatabaseIfExists(serverUrl, name);
}

/** Databases left by runs that were killed before cleaning up; a concurrent fresh run is left alone. */
async function dropStaleTestDatabases(serverUrl: string, log: (line: string) => void): Promise<void> {
  const names = await listTestDatabases(serverUrl, "^gpt_(t|tpl)_[0-9a-z]+");
  const stale = names.filter((name) => Date.now() - parseInt(name.split("_")[2] ?? "0", 36) > STALE_AFTER_MS);
  for (const name of stale) await dropDatabaseIfExists(serverUrl, name);
  if (stale.length > 0) log(`test: dropped ${stale.length} database(s) left by earlier interrupted runs`);
}
