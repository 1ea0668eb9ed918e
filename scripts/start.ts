// npm start
// Brings the whole platform up locally: provisions the database (when DATABASE_URL is unset),
// migrates, seeds the demo organisation, builds the web app, starts the worker and the web
// processes, waits until both answer, then prints the URLs and an API token. Ctrl-C stops both.
import { spawn, type ChildProcess } from "node:child_process";
import { loadToolsConfig } from "../core/config/tools-config.ts";
import { integer } from "../core/config/fields.ts";
import { connectDatabase } from "../core/db/connect.ts";
import { releaseDatabase } from "../core/ops/release.ts";
import { DEMO_EMAIL, demoApiToken, ensureDemoOrganisation, ensureDemoUser } from "./lib/demo.ts";
import { devDatabaseUrl } from "./lib/dev-database.ts";
import { localEnvWithSecrets, ROOT_DIR } from "./lib/local-env.ts";
import { buildWebApp } from "./lib/web-build.ts";
import { runTool, UsageError } from "./lib/run-tool.ts";

const READY_TIMEOUT_MS = 60_000;

function step(message: string) {
  console.log(`start: ${message}`);
}

/** Whether a child is still running. A child killed by a signal has a signalCode and no exitCode. */
function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** How a child ended, in words: "exited with code 1" or "was killed by SIGKILL". */
function howItEnded(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Runs a child with its output prefixed, so two processes' logs stay readable in one terminal. */
function launch(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Own process group: Ctrl-C in the terminal reaches only this script, which forwards one SIGTERM,
  // instead of every process at once (a second signal makes the worker skip its graceful drain).
  const child = spawn(process.execPath, args, { cwd: ROOT_DIR, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  process.on("exit", () => {
    if (running(child)) child.kill("SIGTERM");
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) console.log(`[${name}] ${line}`);
    });
  }
  return child;
}

async function waitUntilAnswering(name: string, url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!running(child))
      throw new UsageError(`${name} ${howItEnded(child.exitCode, child.signalCode)} before it was ready; its output is above`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new UsageError(`${name} did not answer ${url} within ${READY_TIMEOUT_MS / 1000} s; its output is above`);
}

await runTool("start", async () => {
  const { env, generated } = localEnvWithSecrets(process.env);
  if (generated.length > 0) step(`generated ${generated.join(" and ")} for local use in .data/local.env`);
  const config = loadToolsConfig(env);
  const workerPort = integer({ min: 1, max: 65535, default: 3001 }).parse(env.PORT);
  const webPort = integer({ min: 1, max: 65535, default: 3000 }).parse(env.WEB_PORT);

  step("[1/5] database");
  const url = await devDatabaseUrl(config, (line) => console.log(`  ${line}`));
  step("[2/5] migrations and queues");
  await releaseDatabase(url, (line) => console.log(`  ${line}`), { appPassword: config.APP_DATABASE_PASSWORD });

  step("[3/5] demo organisation, user and API token");
  const db = connectDatabase({ url, appPassword: config.APP_DATABASE_PASSWORD, maxConnections: 2, applicationName: "gpt-platform:start" });
  const { organisation, token, demoUserCreated } = await (async () => {
    const { organisation, created } = await ensureDemoOrganisation(db.owner);
    console.log(`  ${created ? "created" : "found"} "${organisation.name}" (${organisation.id})`);
    const { created: demoUserCreated } = await ensureDemoUser(db.owner, organisation.id, env.DEMO_PASSWORD!);
    const token = await demoApiToken(db, env.JWT_SECRET!, organisation.id);
    return { organisation, token, demoUserCreated };
  })().finally(() => db.close());
  console.log(`  ${demoUserCreated ? "created" : "found"} ${DEMO_EMAIL}`);

  step("[4/5] building the web app (a few seconds)");
  await buildWebApp();

  step("[5/5] starting the worker and the web app");
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    // The web process serves a production build; React and Remix read NODE_ENV to pick their mode.
    NODE_ENV: "production",
    DATABASE_URL: url,
    PORT: String(workerPort),
    WEB_PORT: String(webPort),
    WORKER_PUBLIC_URL: `http://127.0.0.1:${workerPort}`,
  };
  const worker = launch("worker", ["worker/main.ts"], childEnv);
  const web = launch("web", ["web/server.ts"], childEnv);
  const children = [worker, web];
  const signalled = new Set<ChildProcess>();
  const stopAll = (signal: NodeJS.Signals) => {
    for (const child of children) {
      // Once each: a second signal tells a process to skip its graceful shutdown.
      if (!running(child) || signalled.has(child)) continue;
      signalled.add(child);
      child.kill(signal);
    }
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      console.log(`start: ${signal}: stopping the worker (running jobs get SHUTDOWN_TIMEOUT_SECONDS) and the web app`);
      stopAll("SIGTERM");
    });
  }

  try {
    await waitUntilAnswering("the worker", `http://127.0.0.1:${workerPort}/health/ready`, worker);
    await waitUntilAnswering("the web app", `http://127.0.0.1:${webPort}/`, web);
  } catch (error) {
    stopAll("SIGTERM");
    throw error;
  }

  console.log(`
GPT Agent Platform is running.

  Web app      http://127.0.0.1:${webPort}   (sign in as ${DEMO_EMAIL} / ${env.DEMO_PASSWORD}${demoUserCreated ? "" : ", unless you changed it"})
  Worker API   http://127.0.0.1:${workerPort}   (OpenAPI: http://127.0.0.1:${workerPort}/api-docs)
  Health       http://127.0.0.1:${workerPort}/health/ready
  Metrics      http://127.0.0.1:${workerPort}/metrics   and   /metrics/prometheus

API token for "${organisation.name}" (more on the web app's API tokens page, or: npm run token -- --org demo).
Try it from another terminal:

  export TOKEN=${token}
  curl -s -X POST http://127.0.0.1:${workerPort}/api/jobs -H "Authorization: Bearer $TOKEN" \\
    -H "Content-Type: application/json" -d '{"type":"test-job","payload":{"echo":"hello"}}'
  curl -s http://127.0.0.1:${workerPort}/api/jobs/<id from above> -H "Authorization: Bearer $TOKEN"

Ctrl-C stops everything.
`);

  // Stay up while both children run; if one dies, stop the other and report it.
  const exits = children.map(
    (c) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        if (!running(c)) resolve({ code: c.exitCode, signal: c.signalCode });
        else c.once("exit", (code, signal) => resolve({ code, signal }));
      }),
  );
  const [index, first] = await Promise.race(exits.map((exit, i) => exit.then((result) => [i, result] as const)));
  stopAll("SIGTERM");
  await Promise.all(exits);
  const name = index === 0 ? "worker" : "web app";
  // A clean stop: exit code 0, or the SIGTERM we forwarded on Ctrl-C.
  if (first.code === 0 || (first.signal === "SIGTERM" && signalled.has(children[index]!))) return 0;
  console.error(
    `start: the ${name} ${howItEnded(first.code, first.signal)}; the other process was stopped too. Its output is above; fix the cause and run npm start again.`,
  );
  return 1;
});
