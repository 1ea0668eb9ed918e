// npm run bench [-- --rounds 3 --jobs 20000 --rate 100 --seconds 20]
//
// 1. Drain: JOBS queued test-jobs through the worker service (worker/main.ts, its handler returns
//    the payload's sha256, stored per job), against raw pg-boss tuned to its best on the same
//    workload (bench/raw-pgboss-worker.ts). Rounds alternate between the two.
// 2. Latency: an open-loop producer sends RATE jobs/s for SECONDS through the jobs HTTP API, and
//    the same through raw pg-boss's send(); enqueue → completed p50/p95/p99 for each.
// 3. Mixed load, fairness between organisations, and rate limits (bench/mixed-load.ts,
//    bench/fairness.ts, bench/rate-limits.ts).
// Results are printed as figures and ratios to raw pg-boss, and appended to bench/results.jsonl.
import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { cpus, totalmem, release } from "node:os";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { API_SCOPES } from "../core/auth/api-token.ts";
import { apiTokenCreate } from "../core/auth/api-tokens.ts";
import { withOrg } from "../core/db/org-scope.ts";
import { loadToolsConfig } from "../core/config/tools-config.ts";
import { connectDatabase } from "../core/db/connect.ts";
import { sql } from "kysely";
import { organisationCreate } from "../core/accounts/organisations.ts";
import { releaseDatabase } from "../core/ops/release.ts";
import { withQueueEngine } from "../core/jobs/engine.ts";
import { JobClient } from "../core/jobs/enqueue.ts";
import { localEnv, ROOT_DIR } from "../scripts/lib/local-env.ts";
import { createDatabaseIfMissing, dropDatabaseIfExists, provision, withDatabase } from "../scripts/lib/provision.ts";
import { runTool } from "../scripts/lib/run-tool.ts";
import { cpuSeconds } from "./cpu.ts";
import { query } from "./query.ts";
import { percentile, median } from "./stats.ts";
import { FAIRNESS_BACKLOG, FAIRNESS_QUIET_RATE, FAIRNESS_SECONDS, fairnessRound, type FairnessResult } from "./fairness.ts";
import { RATE_LIMIT_JOBS, RATE_LIMIT_PER_SECOND, RATE_LIMIT_PROCESSES, rateLimitRound, type RateLimitResult } from "./rate-limits.ts";
import { MIXED_CONCURRENCY, MIXED_QUICK_JOBS, MIXED_SLOW_JOBS, MIXED_SLOW_MS, mixedLoadRound, type MixedLoadResult } from "./mixed-load.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    jobs: { type: "string", default: "20000" },
    rate: { type: "string", default: "100" },
    seconds: { type: "string", default: "20" },
    // Runs only the fairness rounds, or only the drain rounds, and records nothing: for working on the claim.
    "fairness-only": { type: "boolean", default: false },
    "drain-only": { type: "boolean", default: false },
    // Runs only the latency rounds (raw, then platform) and records nothing: for chasing the p99.
    "latency-only": { type: "boolean", default: false },
    // Runs only the rate-limit round, or only the mixed-load round, and records nothing.
    "rate-limits-only": { type: "boolean", default: false },
    "mixed-only": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.rounds);
const JOBS = Number(args.jobs);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const CHUNK = 1000;
const RAW_QUEUE = "bench-raw";
const PLATFORM_QUEUE = "test-job";
const JWT_SECRET = randomBytes(32).toString("hex");
/** API p99 floor (issue 10): at most 10 ms, or 1.5 x raw pg-boss's p99 in the same run when that is larger. */
const FLOOR_P99_MS = 10;
const FLOOR_P99_RAW_RATIO = 1.5;
/** Mixed load floor (issue 10): a finished job is completed within 50 ms at p99. */
const FLOOR_COMPLETION_P99_MS = 50;
/** Fairness floors (issue 10): the quiet organisation's pickup behind a million noisy jobs. */
const FLOOR_QUIET_PICKUP_P95_MS = 50;
const FLOOR_QUIET_PICKUP_P99_MS = 100;

const log = (line: string) => console.log(`bench: ${line}`);
/** The workload's payload on both sides: test-job's `echo` carrying {i, s: 64 x 'x'}. */
const payload = (i: number) => ({ echo: { i, s: "x".repeat(64) } });

interface Side {
  name: "platform" | "raw";
  url: string;
  queue: string;
  startWorker(): Promise<Started>;
  enqueueBacklog(): Promise<void>;
  send(i: number): Promise<string>;
}

/** Spawns a node process and resolves with the epoch ms its output reports as the moment work starts. */
/** A started worker: the process, the moment it starts working, and machine CPU use at that moment (startup excluded). */
interface Started {
  child: ChildProcess;
  go: number;
  cpuAtGo: { postgres: number; node: number };
}

function spawnUntilGo(args: string[], env: NodeJS.ProcessEnv, goFrom: (line: string) => number | undefined): Promise<Started> {
  const child = spawn(process.execPath, args, { cwd: ROOT_DIR, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    let partial = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        output += `${line}\n`;
        const go = goFrom(line);
        if (go !== undefined) resolve({ child, go, cpuAtGo: cpuSeconds() });
      }
    });
    child.on("exit", (code) => reject(new Error(`${args[0]} exited with ${code} before starting:\n${output.slice(-2000)}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(20_000).then(() => child.kill("SIGKILL"))]);
}

async function reset(url: string): Promise<void> {
  await query(url, "TRUNCATE pgboss.job_common");
  await query(url, "VACUUM ANALYZE pgboss.job_common");
}

/** Waits until no job of `queue` is unfinished; returns the last completion time (epoch ms, database clock). */
async function waitDrained(url: string, queue: string, expected: number): Promise<number> {
  const deadline = Date.now() + 300_000;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query<{ open: string; done: string; last: number | null }>(
        "SELECT count(*) FILTER (WHERE state < 'completed') AS open, count(*) FILTER (WHERE state = 'completed') AS done, extract(epoch FROM max(completed_on)) * 1000 AS last FROM pgboss.job WHERE name = $1",
        [queue],
      );
      const row = rows[0]!;
      if (Number(row.open) === 0 && Number(row.done) === expected) return row.last!;
      if (Date.now() > deadline) throw new Error(`${queue}: ${row.open} jobs still open after 300 s`);
      await sleep(Number(process.env.BENCH_POLL_MS ?? 100));
    }
  } finally {
    await client.end();
  }
}

interface DrainResult {
  jobsPerSecond: number;
  /** CPU seconds per 10,000 jobs, split between the database and the node processes. */
  cpuPer10k: { postgres: number; node: number };
}

async function drainRound(side: Side): Promise<DrainResult> {
  await reset(side.url);
  await side.enqueueBacklog();
  // Statistics that know about the backlog, as autovacuum keeps them in a running system. Without
  // this the planner still thinks the table is empty and plans claims as full-backlog scans.
  await query(side.url, "ANALYZE pgboss.job_common");
  const { child, go, cpuAtGo: before } = await side.startWorker();
  try {
    const last = await waitDrained(side.url, side.queue, JOBS);
    const after = cpuSeconds();
    const [check] = await query<{ distinct_outputs: string }>(
      side.url,
      "SELECT count(DISTINCT output) AS distinct_outputs FROM pgboss.job WHERE name = $1",
      [side.queue],
    );
    if (Number(check!.distinct_outputs) !== JOBS)
      throw new Error(`${side.name}: expected ${JOBS} distinct per-job results, found ${check!.distinct_outputs}`);
    const per10k = (seconds: number) => round2((seconds * 10_000) / JOBS);
    return {
      jobsPerSecond: JOBS / ((last - go) / 1000),
      cpuPer10k: { postgres: per10k(after.postgres - before.postgres), node: per10k(after.node - before.node) },
    };
  } finally {
    await stop(child);
  }
}

interface LatencyResult {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  sendLagMaxMs: number;
  /** p50/p99 of each stage: send → job row created, created → claimed, claimed → completed, send → acknowledged. */
  stages: Record<"enqueue" | "pickup" | "run" | "ack", { p50: number; p99: number }>;
  /** Mean of each stage among the jobs at or above p99. */
  slowest: { count: number; enqueue: number; pickup: number; run: number };
}

async function latencyRound(side: Side): Promise<LatencyResult> {
  await reset(side.url);
  const { child } = await side.startWorker();
  try {
    await sleep(500); // let the worker settle into its idle wait
    const total = RATE * SECONDS;
    const interval = 1000 / RATE;
    const sentAt = new Map<string, number>();
    const ackMs: number[] = [];
    const pending: Promise<void>[] = [];
    let lagMax = 0;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      lagMax = Math.max(lagMax, performance.now() - due);
      const t0 = performance.timeOrigin + performance.now();
      pending.push(
        side.send(i).then((id) => {
          sentAt.set(id, t0);
          ackMs.push(performance.timeOrigin + performance.now() - t0);
        }),
      );
    }
    await Promise.all(pending);
    await waitDrained(side.url, side.queue, total);
    const rows = await query<{ id: string; created: number; started: number; done: number }>(
      side.url,
      "SELECT id, extract(epoch FROM created_on) * 1000 AS created, extract(epoch FROM started_on) * 1000 AS started, extract(epoch FROM completed_on) * 1000 AS done FROM pgboss.job WHERE name = $1",
      [side.queue],
    );
    const sorted = (values: number[]) => values.sort((a, b) => a - b);
    const stage = (values: number[]) => {
      const s = sorted(values);
      return { p50: round2(percentile(s, 50)), p99: round2(percentile(s, 99)) };
    };
    const latencies = sorted(rows.map((r) => r.done - sentAt.get(r.id)!));
    // Where the slowest 1% spent their time: the mean of each stage among them.
    const cutoff = percentile(latencies, 99);
    const slow = rows.filter((r) => r.done - sentAt.get(r.id)! >= cutoff);
    const mean = (f: (r: (typeof rows)[number]) => number) => round2(slow.reduce((sum, r) => sum + f(r), 0) / Math.max(1, slow.length));
    const slowest = {
      count: slow.length,
      enqueue: mean((r) => r.created - sentAt.get(r.id)!),
      pickup: mean((r) => r.started - r.created),
      run: mean((r) => r.done - r.started),
    };
    return {
      slowest,
      stages: {
        enqueue: stage(rows.map((r) => r.created - sentAt.get(r.id)!)),
        pickup: stage(rows.map((r) => r.started - r.created)),
        run: stage(rows.map((r) => r.done - r.started)),
        ack: stage(ackMs),
      },
      count: latencies.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1)!,
      sendLagMaxMs: lagMax,
    };
  } finally {
    await stop(child);
  }
}

/** Keep-alive HTTP client for the open-loop producer: node:http, lighter per request than fetch. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function postJson(port: number, path: string, token: string, body: unknown): Promise<{ status: number; body: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        agent,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

await runTool("bench", async () => {
  const config = loadToolsConfig(localEnv(process.env));
  const { serverUrl } = await provision({ explicitUrl: config.TEST_DATABASE_URL, localDatabases: [], log });
  const platformUrl = withDatabase(serverUrl, "gpt_bench_platform");
  const rawUrl = withDatabase(serverUrl, "gpt_bench_raw");
  for (const name of ["gpt_bench_platform", "gpt_bench_raw"]) {
    await dropDatabaseIfExists(serverUrl, name);
    await createDatabaseIfMissing(serverUrl, name);
  }
  await releaseDatabase(platformUrl, () => {});
  await withQueueEngine(rawUrl, (boss) => boss.createQueue(RAW_QUEUE, { notify: true }));
  const handles = connectDatabase({ url: platformUrl, maxConnections: 2, applicationName: "gpt-platform:bench" });
  const org = await organisationCreate(handles.owner, { name: "Bench", slug: "bench" });
  // The bench enqueues millions of jobs a day: the largest plan's quotas (the free plan's would refuse).
  // Without its cap on running jobs per queue: raw pg-boss has none, and the drain measures the
  // runner, not a plan's limit (a claimed job counts as running, and a quick type claims hundreds).
  await sql`UPDATE app.plans SET max_running_per_queue = NULL WHERE id = 'business'`.execute(handles.owner);
  await sql`SELECT ops.assign_plan(${org.id}, 'business', 'bench')`.execute(handles.owner);
  const { token } = await withOrg(handles.app, org.id, (trx) =>
    apiTokenCreate(trx, JWT_SECRET, { orgId: org.id, name: "bench", scopes: API_SCOPES, ttlDays: 1, createdBy: null, subject: "bench" }),
  );
  const port = await freePort();

  /** A platform worker process with the bench's settings plus `extra`; resolves once it works jobs. */
  const spawnPlatformWorker = (extra: Record<string, string>) =>
    spawnUntilGo(
      ["worker/main.ts"],
      {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        DATABASE_URL: platformUrl,
        JWT_SECRET,
        ENCRYPTION_KEY: JWT_SECRET,
        LOG_LEVEL: "info",
        API_RATE_LIMIT_PER_MINUTE: "1000000",
        API_RATE_LIMIT_PER_IP_PER_MINUTE: "1000000",
        ...extra,
        // BENCH_WORKER_<KEY>=value sets <KEY> for the platform worker, to compare settings.
        ...Object.fromEntries(
          Object.entries(process.env).flatMap(([key, value]) => (key.startsWith("BENCH_WORKER_") ? [[key.slice(13), value]] : [])),
        ),
      },
      (line) => (line.includes('"msg":"job runners starting"') ? Date.parse(JSON.parse(line).time) : undefined),
    );

  const floorsMet = await withQueueEngine(rawUrl, async (rawBoss) => {
    const jobs = new JobClient();
    const platform: Side = {
      name: "platform",
      url: platformUrl,
      queue: PLATFORM_QUEUE,
      startWorker: () =>
        spawnPlatformWorker({ PORT: String(port) }).then(async (started) => {
          // The jobs API answers once the whole service is up.
          for (
            let i = 0;
            i < 200 &&
            !(await fetch(`http://127.0.0.1:${port}/health/ready`).then(
              (r) => r.ok,
              () => false,
            ));
            i++
          )
            await sleep(50);
          return started;
        }),
      async enqueueBacklog() {
        for (let from = 0; from < JOBS; from += CHUNK) {
          const batch = Array.from({ length: Math.min(CHUNK, JOBS - from) }, (_, k) => ({
            type: PLATFORM_QUEUE,
            payload: payload(from + k),
          }));
          await withOrg(handles.app, org.id, (trx) => jobs.enqueueMany(trx, batch));
        }
      },
      async send(i) {
        const { status, body } = await postJson(port, "/api/jobs", token, { type: PLATFORM_QUEUE, payload: payload(i) });
        if (status !== 201) throw new Error(`POST /api/jobs answered ${status}: ${body}`);
        return (JSON.parse(body) as { id: string }).id;
      },
    };
    const raw: Side = {
      name: "raw",
      url: rawUrl,
      queue: RAW_QUEUE,
      startWorker: () =>
        spawnUntilGo(["bench/raw-pgboss-worker.ts", rawUrl, RAW_QUEUE], { PATH: process.env.PATH, NODE_ENV: "production" }, (line) =>
          line.startsWith('{"go"') ? JSON.parse(line).go : undefined,
        ),
      async enqueueBacklog() {
        for (let from = 0; from < JOBS; from += CHUNK) {
          await rawBoss.insert(
            RAW_QUEUE,
            Array.from({ length: Math.min(CHUNK, JOBS - from) }, (_, k) => ({ data: payload(from + k) })),
          );
        }
      },
      async send(i) {
        return (await rawBoss.send(RAW_QUEUE, payload(i)))!;
      },
    };

    const rateLimits = async () => {
      await reset(platformUrl);
      const result = await rateLimitRound({
        url: platformUrl,
        startWorker: (env) => spawnPlatformWorker({ PORT: "0", ...env }),
        stopWorker: stop,
        async enqueue(type, payloads) {
          await withOrg(handles.app, org.id, (trx) =>
            jobs.enqueueMany(
              trx,
              payloads.map((p) => ({ type, payload: p })),
            ),
          );
        },
        waitDrained: (queue, expected) => waitDrained(platformUrl, queue, expected),
      });
      log(
        `rate limits (${RATE_LIMIT_JOBS} calls to one account of a fake upstream allowing ${RATE_LIMIT_PER_SECOND} a second, ${RATE_LIMIT_PROCESSES} worker processes): ` +
          `${result.completed} completed in ${result.seconds} s (ideal ${result.idealSeconds} s); busiest second at the upstream ${result.busiestSecond} requests, ` +
          `${result.refused} refused; attempts spent ${result.attemptsSpent}; snoozes: ${result.snoozes.rateLimit} by the limit, ${result.snoozes.handler} after a 429`,
      );
      return result;
    };
    if (args["rate-limits-only"]) {
      await rateLimits();
      return true;
    }
    const mixedLoad = async (): Promise<MixedLoadResult> => {
      const mixed = await mixedLoadRound({
        url: platformUrl,
        queue: PLATFORM_QUEUE,
        startWorker: (env) => spawnPlatformWorker({ PORT: "0", ...env }),
        stopWorker: stop,
        async enqueue(payloads) {
          for (let from = 0; from < payloads.length; from += CHUNK) {
            const batch = payloads.slice(from, from + CHUNK).map((p) => ({ type: PLATFORM_QUEUE, payload: p }));
            await withOrg(handles.app, org.id, (trx) => jobs.enqueueMany(trx, batch));
          }
        },
        waitDrained: (expected) => waitDrained(platformUrl, PLATFORM_QUEUE, expected),
      });
      log(
        `mixed load (${MIXED_QUICK_JOBS} quick + ${MIXED_SLOW_JOBS} of ${MIXED_SLOW_MS} ms, two processes of ${MIXED_CONCURRENCY} handlers): ` +
          `${mixed.seconds} s; handler end -> completed p50 ${mixed.endToCompletedMs.p50} ms, p99 ${mixed.endToCompletedMs.p99} ms, max ${mixed.endToCompletedMs.max} ms; ` +
          `slow jobs per process ${mixed.slowJobsPerProcess.join(" / ")}, quick ${mixed.quickJobsPerProcess.join(" / ")}`,
      );
      return mixed;
    };
    if (args["mixed-only"]) {
      await mixedLoad();
      return true;
    }

    let measured:
      | { drain: Record<"platform" | "raw", DrainResult[]>; latency: Record<"platform" | "raw", LatencyResult>; mixed: MixedLoadResult }
      | undefined;
    if (!args["fairness-only"]) {
      const drain: Record<"platform" | "raw", DrainResult[]> = { platform: [], raw: [] };
      for (let round = 1; round <= (args["latency-only"] ? 0 : ROUNDS); round++) {
        for (const side of round % 2 === 1 ? [raw, platform] : [platform, raw]) {
          const result = await drainRound(side);
          drain[side.name].push(result);
          log(
            `drain round ${round} ${side.name}: ${Math.round(result.jobsPerSecond)} jobs/s; CPU s per 10k jobs: postgres ${result.cpuPer10k.postgres}, node ${result.cpuPer10k.node}`,
          );
        }
      }
      if (args["drain-only"]) return true;
      const latency: Record<"platform" | "raw", LatencyResult> = {
        raw: await latencyRound(raw),
        platform: await latencyRound(platform),
      };
      for (const side of ["raw", "platform"] as const) {
        const l = latency[side];
        log(
          `latency ${side}: ${l.count} jobs, p50 ${l.p50.toFixed(1)} ms, p95 ${l.p95.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`,
        );
        log(
          `  stages p50/p99 ms: enqueue ${l.stages.enqueue.p50}/${l.stages.enqueue.p99}, pickup ${l.stages.pickup.p50}/${l.stages.pickup.p99}, run+complete ${l.stages.run.p50}/${l.stages.run.p99}, enqueue acknowledged ${l.stages.ack.p50}/${l.stages.ack.p99}`,
        );
        log(
          `  slowest 1% (${l.slowest.count} jobs), mean ms: enqueue ${l.slowest.enqueue}, pickup ${l.slowest.pickup}, run+complete ${l.slowest.run}`,
        );
      }
      if (args["latency-only"]) return true;
      await reset(platformUrl);
      const mixed = await mixedLoad();
      measured = { drain, latency, mixed };
    }
    const quiet = await organisationCreate(handles.owner, { name: "Bench quiet", slug: "bench-quiet" });
    await sql`SELECT ops.assign_plan(${quiet.id}, 'business', 'bench')`.execute(handles.owner);
    const fairness: FairnessResult[] = [];
    for (const claim of ["fair", "oldest-first"] as const) {
      const result = await fairnessRound(
        {
          url: platformUrl,
          queue: PLATFORM_QUEUE,
          noisyOrg: org.id,
          quietOrg: quiet.id,
          startWorker: (env) => spawnPlatformWorker({ PORT: "0", ...env }),
          stopWorker: stop,
          sendQuiet: (i) => withOrg(handles.app, quiet.id, (trx) => jobs.enqueue(trx, PLATFORM_QUEUE, payload(i))).then(() => undefined),
        },
        claim,
      );
      fairness.push(result);
      const p = result.quietPickupMs;
      log(
        `fairness (${claim} claim; ${FAIRNESS_BACKLOG} noisy jobs waiting, quiet organisation at ${FAIRNESS_QUIET_RATE} jobs/s for ${FAIRNESS_SECONDS} s): ` +
          `quiet jobs started ${result.quietStarted} of ${result.quietSent}` +
          (p ? `, pickup p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms, max ${p.max} ms` : "") +
          `; noisy drain ${result.noisyJobsPerSecond} jobs/s`,
      );
    }
    if (!measured) return true;
    return report(measured.drain, measured.latency, measured.mixed, fairness, await rateLimits());
  });
  await handles.close();
  return floorsMet ? 0 : 1;
});

/** Prints and records the results; true when every floor was met. */
function report(
  drainResults: Record<"platform" | "raw", DrainResult[]>,
  latency: Record<"platform" | "raw", LatencyResult>,
  mixed: MixedLoadResult,
  fairness: FairnessResult[],
  rateLimits: RateLimitResult,
): boolean {
  const fair = fairness.find((f) => f.claim === "fair")!;
  const unfair = fairness.find((f) => f.claim === "oldest-first")!;
  const drain = { platform: drainResults.platform.map((r) => r.jobsPerSecond), raw: drainResults.raw.map((r) => r.jobsPerSecond) };
  const platformDrain = median(drain.platform);
  const rawDrain = median(drain.raw);
  const rawBest = Math.max(...drain.raw);
  // The drain floor compares like with like: the platform's median against raw pg-boss's median,
  // raw pg-boss running its best configuration (the notes' tuning). The ratio to raw's single best
  // round is reported too: with this machine's ±8% spread between rounds it is the pessimistic view.
  const p99Floor = round2(Math.max(FLOOR_P99_MS, FLOOR_P99_RAW_RATIO * latency.raw.p99));
  const floors = {
    drainAtLeastRaw: platformDrain >= rawDrain,
    p99WithinFloor: latency.platform.p99 <= p99Floor,
    mixedCompletionP99AtMost50ms: mixed.endToCompletedMs.p99 <= FLOOR_COMPLETION_P99_MS,
    quietPickupWithinFloor:
      fair.quietStarted === fair.quietSent &&
      fair.quietPickupMs !== null &&
      fair.quietPickupMs.p95 < FLOOR_QUIET_PICKUP_P95_MS &&
      fair.quietPickupMs.p99 < FLOOR_QUIET_PICKUP_P99_MS,
    noisyDrainAtLeast90PercentOfUnfair: fair.noisyJobsPerSecond >= 0.9 * unfair.noisyJobsPerSecond,
    rateLimitKeptWithNoAttemptSpent:
      rateLimits.completed === rateLimits.jobs && rateLimits.busiestSecond <= RATE_LIMIT_PER_SECOND && rateLimits.attemptsSpent === 0,
  };
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT_DIR }).toString().trim();
  const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT_DIR }).toString().trim() !== "";
  const pgVersion = execFileSync("psql", ["--version"]).toString().trim();
  const result = {
    date: new Date().toISOString(),
    commit: dirty ? `${commit}+dirty` : commit,
    machine: {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      postgres: pgVersion,
    },
    params: { jobs: JOBS, rounds: ROUNDS, rate: RATE, seconds: SECONDS },
    drain: {
      platformJobsPerSecond: drain.platform.map(Math.round),
      rawJobsPerSecond: drain.raw.map(Math.round),
      platformMedian: Math.round(platformDrain),
      rawMedian: Math.round(rawDrain),
      ratioToRawMedian: round2(platformDrain / rawDrain),
      ratioToRawBest: round2(platformDrain / rawBest),
      cpuSecondsPer10k: { platform: drainResults.platform.map((r) => r.cpuPer10k), raw: drainResults.raw.map((r) => r.cpuPer10k) },
    },
    latency: {
      platform: roundAll(latency.platform),
      raw: roundAll(latency.raw),
      p99Ratio: round2(latency.platform.p99 / latency.raw.p99),
    },
    mixed,
    fairness,
    rateLimits,
    floors,
  };
  appendFileSync(`${ROOT_DIR}bench/results.jsonl`, `${JSON.stringify(result)}\n`);
  console.log(`
                      platform        raw pg-boss     ratio
drain (median)        ${pad(result.drain.platformMedian)} jobs/s  ${pad(result.drain.rawMedian)} jobs/s  ${result.drain.ratioToRawMedian}
latency p50           ${pad(result.latency.platform.p50)} ms      ${pad(result.latency.raw.p50)} ms      ${round2(latency.platform.p50 / latency.raw.p50)}
latency p95           ${pad(result.latency.platform.p95)} ms      ${pad(result.latency.raw.p95)} ms      ${round2(latency.platform.p95 / latency.raw.p95)}
latency p99           ${pad(result.latency.platform.p99)} ms      ${pad(result.latency.raw.p99)} ms      ${result.latency.p99Ratio}

floors: drain median >= raw pg-boss median (tuned batch 200, two loops): ${floors.drainAtLeastRaw ? "yes" : "NO"} (ratio to raw's best round: ${result.drain.ratioToRawBest}); p99 <= ${p99Floor} ms (${FLOOR_P99_MS} ms or ${FLOOR_P99_RAW_RATIO} x raw's p99) at ${RATE} jobs/s: ${floors.p99WithinFloor ? "yes" : "NO"}; mixed load: handler end -> completed p99 ${mixed.endToCompletedMs.p99} <= ${FLOOR_COMPLETION_P99_MS} ms: ${floors.mixedCompletionP99AtMost50ms ? "yes" : "NO"}
fairness: quiet pickup p95 < ${FLOOR_QUIET_PICKUP_P95_MS} ms and p99 < ${FLOOR_QUIET_PICKUP_P99_MS} ms with every quiet job started: ${floors.quietPickupWithinFloor ? "yes" : "NO"}; noisy drain ${fair.noisyJobsPerSecond} >= 90% of oldest-first's ${unfair.noisyJobsPerSecond} jobs/s: ${floors.noisyDrainAtLeast90PercentOfUnfair ? "yes" : "NO"}
rate limits: ${rateLimits.completed} of ${rateLimits.jobs} completed in ${rateLimits.seconds} s (ideal ${rateLimits.idealSeconds} s), busiest second ${rateLimits.busiestSecond} <= ${RATE_LIMIT_PER_SECOND} requests, attempts spent ${rateLimits.attemptsSpent}: ${floors.rateLimitKeptWithNoAttemptSpent ? "yes" : "NO"}
appended to bench/results.jsonl (commit ${result.commit})`);
  return Object.values(floors).every(Boolean);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
function roundAll(l: LatencyResult) {
  return {
    count: l.count,
    p50: round2(l.p50),
    p95: round2(l.p95),
    p99: round2(l.p99),
    max: round2(l.max),
    sendLagMaxMs: round2(l.sendLagMaxMs),
    stages: l.stages,
    slowest: l.slowest,
  };
}
function pad(n: number): string {
  return String(n).padStart(8);
}
