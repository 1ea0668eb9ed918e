import { sql } from "kysely";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { LATENCY_BUCKET_BOUNDS_MS } from "../../core/jobs/rollups.ts";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { startWorkerApp } from "../helpers/worker.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format strictly enough to catch malformed output. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) continue;
    const type = /^# TYPE (\w+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (-?[\d.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[3] ?? "").match(/\w+="(?:[^"\\]|\\.)*"/g) ?? []) {
      const [key, ...rest] = pair.split("=");
      labels[key!] = JSON.parse(rest.join("="));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[4]) });
  }
  return { samples, types };
}

const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

t.test("metrics", async (t) => {
  const db = await createTestDatabase(t);
  const app = await startWorkerApp(t, db.url, { runJobs: true });
  const orgId = await createOrganisation(db);
  const scrape = async () => parsePrometheus((await app.inject({ url: "/metrics/prometheus" })).body);

  const before = await scrape();
  t.equal(before.types.get("jobs_completed_total"), "counter");
  t.equal(before.types.get("job_run_duration_seconds"), "histogram");
  t.equal(before.types.get("jobs_depth"), "gauge");
  t.ok(
    before.samples.some((s) => s.name === "process_cpu_user_seconds_total"),
    "process metrics are exported",
  );

  await withOrg(db.handles.app, orgId, async (trx) => {
    await app.jobs.enqueueMany(
      trx,
      Array.from({ length: 5 }, (_, i) => ({ type: "test-job", payload: { echo: i } })),
    );
    await app.jobs.enqueue(trx, "test-job", { failOnAttempts: 1 });
    await app.jobs.enqueue(trx, "test-job", { echo: "later" }, { startAfter: 3600 });
  });
  await waitFor("six jobs to complete", async () => {
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job WHERE name = 'test-job' AND state = 'completed'`.execute(
      db.handles.owner,
    );
    return Number(rows[0]!.n) === 6;
  });

  await t.test("Prometheus text parses and its counters moved", async (t) => {
    const { samples } = await scrape();
    t.equal(value(samples, "jobs_completed_total", { queue: "test-job" }), 6);
    t.equal(value(samples, "jobs_retried_total", { queue: "test-job" }), 1);
    t.equal(value(samples, "job_run_duration_seconds_count", { queue: "test-job" }), 7, "one observation per attempt");
    t.equal(value(samples, "job_pickup_latency_seconds_count", { queue: "test-job" }), 7);
    t.equal(value(samples, "jobs_depth", { queue: "test-job", state: "deferred" }), 1, "the deferred job is counted live");
    t.equal(value(samples, "worker_jobs_in_flight", { queue: "test-job" }), 0);
    t.ok(
      (value(samples, "http_requests_total", { route: "/metrics/prometheus", status: "200" }) ?? 0) >= 1,
      "HTTP requests are counted by route",
    );
  });

  await t.test("JSON metrics agree with the database", async (t) => {
    const response = await app.inject({ url: "/metrics" });
    t.equal(response.statusCode, 200);
    const body = response.json();
    const queue = body.queues.find((q: { queue: string }) => q.queue === "test-job");
    const { rows } = await sql<{ state: string; n: string; deferred: string }>`
      SELECT state::text, count(*) AS n, count(*) FILTER (WHERE start_after > now()) AS deferred FROM pgboss.job WHERE name = 'test-job' GROUP BY state
    `.execute(db.handles.owner);
    const count = (state: string) => Number(rows.find((r) => r.state === state)?.n ?? 0);
    t.equal(queue.depth.deferred, Number(rows.find((r) => r.state === "created")?.deferred ?? 0));
    t.equal(queue.depth.queued, count("created") - queue.depth.deferred);
    t.equal(queue.depth.active, count("active"));
    t.equal(queue.throughput["15m"].completed, count("completed"), "completed in 15 min matches completed rows");
    t.equal(queue.throughput["15m"].retried, 1);
    t.ok(
      queue.runTimeMs.p50 !== null && queue.runTimeMs.p95 >= queue.runTimeMs.p50,
      `run time p50 ${queue.runTimeMs.p50} ms, p95 ${queue.runTimeMs.p95} ms`,
    );
    t.match(body, {
      service: "gpt-platform-worker",
      version: /\d+\.\d+\.\d+/,
      concurrency: { jobConcurrency: 10, fetchLoops: 4 },
      workersAlive: 1,
    });
    t.ok(body.uptimeSeconds >= 0);
    const { rows: rollup } = await sql<{ completed: string; retried: string }>`
      SELECT sum(completed_count) AS completed, sum(retried_count) AS retried FROM ops.job_rollup_minute WHERE queue = 'test-job' AND org_id = ${orgId}
    `.execute(db.handles.owner);
    t.same(rollup[0], { completed: "6", retried: "1" }, "the per-minute rollups hold the same counts, per organisation");
  });

  await t.test("SQL and TypeScript agree on latency buckets; percentiles interpolate", async (t) => {
    const { rows } = await sql<{ bounds: number[]; p50: number; p95: number; empty: number | null }>`
      SELECT ops.latency_bucket_bounds_ms() AS bounds,
             ops.histogram_quantile('{0,0,0,10,0,0,0,0,0,0,0,0,0,0,0,0,0}'::bigint[], 0.5) AS p50,
             ops.histogram_quantile('{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,4}'::bigint[], 0.95) AS p95,
             ops.histogram_quantile('{0,0}'::bigint[], 0.5) AS empty
    `.execute(db.handles.owner);
    t.same(rows[0]!.bounds, [...LATENCY_BUCKET_BOUNDS_MS]);
    t.equal(rows[0]!.p50, 7.5, "half way through the 5–10 ms bucket");
    t.equal(rows[0]!.p95, 300000, "the overflow bucket reports the last bound");
    t.equal(rows[0]!.empty, null);
  });

  await t.test("metrics are not served to the network without METRICS_TOKEN", async (t) => {
    const remote = await app.inject({ url: "/metrics", remoteAddress: "10.1.2.3" });
    t.equal(remote.statusCode, 403);
    t.equal(remote.json().code, "metrics_loopback_only");
  });
});

t.test("with METRICS_TOKEN, metrics need the token from anywhere", async (t) => {
  const db = await createTestDatabase(t);
  const token = "metrics-token-0123456789";
  const app = await startWorkerApp(t, db.url, { env: { METRICS_TOKEN: token } });
  t.equal((await app.inject({ url: "/metrics/prometheus" })).statusCode, 401);
  t.equal((await app.inject({ url: "/metrics/prometheus", headers: { authorization: "Bearer wrong-token-0123456789" } })).statusCode, 401);
  const ok = await app.inject({ url: "/metrics/prometheus", remoteAddress: "10.1.2.3", headers: { authorization: `Bearer ${token}` } });
  t.equal(ok.statusCode, 200);
  t.match(ok.headers["content-type"], /text\/plain/);
});
