// npm run bench:web [-- --jobs 1000000 --samples 40 --keep]
//
// The web app's loaders at scale: seeds a scratch database with JOBS jobs (pg-boss rows in every
// state, the console's job refs, dead-letter copies, a week of per-minute rollups) for ten
// organisations, one of which owns 90%, then times the dashboard, jobs-list and job-detail
// loaders' database work for the big organisation, through the same core functions and the same
// row-level-security scope the web app uses. Floor: p95 under 100 ms for each. Results are
// appended to bench/web-results.jsonl. --keep leaves the database (gpt_bench_web) for EXPLAIN.
import { execFileSync } from "node:child_process";
import { appendFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { loadToolsConfig } from "../core/config/tools-config.ts";
import { connectDatabase, type DatabaseHandles } from "../core/db/connect.ts";
import { withOrg } from "../core/db/org-scope.ts";
import { organisationCreate } from "../core/accounts/organisations.ts";
import { releaseDatabase } from "../core/ops/release.ts";
import { dashboardRead } from "../core/jobs/insights.ts";
import { failedAttemptsOfJob } from "../core/jobs/job-attempts.ts";
import { jobGetForOrg, jobListForOrg, type JobListFilter } from "../core/jobs/job-queries.ts";
import { localEnv, ROOT_DIR } from "../scripts/lib/local-env.ts";
import { createDatabaseIfMissing, dropDatabaseIfExists, provision, withDatabase } from "../scripts/lib/provision.ts";
import { runTool } from "../scripts/lib/run-tool.ts";
import { percentile } from "./stats.ts";

const { values: args } = parseArgs({
  options: {
    jobs: { type: "string", default: "1000000" },
    samples: { type: "string", default: "40" },
    keep: { type: "boolean", default: false },
  },
});
const JOBS = Number(args.jobs);
const SAMPLES = Number(args.samples);
const DATABASE = "gpt_bench_web";
const FLOOR_P95_MS = 100;
const ORGS = 10;
const log = (line: string) => console.log(`bench:web: ${line}`);

/**
 * Seeds in chunks so progress shows and no statement runs for minutes. Job g: organisation 0 (the
 * big one) unless g % 10 = 0; one every 0.6 s going back about a week. The newest 5% are the
 * backlog, as in a queue worked oldest-first: 3% waiting, 1% in retry, 1% running. Of the rest,
 * 2% failed (each with a dead-letter copy) and 98% completed.
 */
async function seed(db: DatabaseHandles, orgIds: string[]): Promise<void> {
  const chunk = 100_000;
  const started = Date.now();
  for (let from = 1; from <= JOBS; from += chunk) {
    const to = Math.min(JOBS, from + chunk - 1);
    await sql`
      WITH seeded AS (
        INSERT INTO pgboss.job (id, name, data, state, retry_limit, retry_count, retry_delay, retry_backoff, expire_seconds,
          deletion_seconds, group_id, created_on, start_after, started_on, completed_on, keep_until, output, dead_letter, policy, heartbeat_seconds)
        SELECT gen_random_uuid(), 'test-job', jsonb_build_object('echo', 'item-' || g),
          s.state::pgboss.job_state, 2, CASE WHEN s.state IN ('failed') THEN 2 WHEN s.state = 'retry' THEN 1 ELSE 0 END, 1, true, 900,
          86400, (${orgIds}::text[])[CASE WHEN g % 10 = 0 THEN 2 + (g / 10) % ${ORGS - 1} ELSE 1 END],
          t.at, t.at, CASE WHEN s.state IN ('completed', 'failed', 'active', 'retry') THEN t.at + interval '5 ms' END,
          CASE WHEN s.state IN ('completed', 'failed') THEN t.at + interval '20 ms' END, t.at + interval '14 days',
          CASE WHEN s.state = 'completed' THEN jsonb_build_object('sha256', md5(g::text)) WHEN s.state IN ('failed', 'retry') THEN jsonb_build_object('message', 'seeded failure ' || g) END,
          'test-job.dlq', 'standard', 10
        FROM generate_series(${from}::int, ${to}::int) g
        CROSS JOIN LATERAL (SELECT now() - make_interval(secs => g * 0.6) AS at) t
        CROSS JOIN LATERAL (SELECT CASE WHEN g <= ${Math.floor(JOBS * 0.03)} THEN 'created' WHEN g <= ${Math.floor(JOBS * 0.04)} THEN 'retry'
          WHEN g <= ${Math.floor(JOBS * 0.05)} THEN 'active' WHEN g % 50 = 7 THEN 'failed' ELSE 'completed' END AS state) s
        RETURNING id, name, data, state, group_id, created_on, completed_on, output, retry_count
      ), refs AS (
        INSERT INTO app.job_refs (org_id, job_id, type, created_at) SELECT group_id::uuid, id, name, created_on FROM seeded
      )
      INSERT INTO pgboss.job (name, data, state, group_id, created_on, start_after, keep_until, source_name, source_id, source_root_id, source_created_on, source_retry_count, source_output, policy)
      SELECT 'test-job.dlq', data, 'created', group_id, completed_on, completed_on, completed_on + interval '14 days', name, id, id, created_on, retry_count, output, 'standard'
      FROM seeded WHERE state = 'failed'
    `.execute(db.owner);
    log(`seeded ${to.toLocaleString("en")} of ${JOBS.toLocaleString("en")} jobs (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  // A week of per-minute rollups per organisation, as the workers would have written them.
  await sql`
    INSERT INTO ops.job_rollup_minute (minute, queue, org_id, completed_count, failed_count, retried_count, run_ms_sum, run_ms_max, run_ms_buckets, pickup_ms_buckets)
    SELECT m, 'test-job', o::uuid, 90, 2, 3, 900, 40, ARRAY[0, 0, 0, 50, 30, 10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]::bigint[], ARRAY[0, 60, 30, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]::bigint[]
    FROM generate_series(date_trunc('minute', now()) - interval '7 days', date_trunc('minute', now()), interval '1 minute') m
    CROSS JOIN unnest(${orgIds}::text[]) o
  `.execute(db.owner);
  // As autovacuum would leave the tables, and so it does not run (on the same cores) while timing.
  log("vacuuming and analysing the tables");
  await sql`VACUUM ANALYZE`.execute(db.owner);
}

interface Timing {
  loader: string;
  p50: number;
  p95: number;
  max: number;
}

async function time(name: string, work: () => Promise<unknown>): Promise<Timing> {
  await work(); // warm the plan cache and the buffers, as a running app's would be
  const ms: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await work();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  const round1 = (v: number) => Math.round(v * 10) / 10;
  return { loader: name, p50: round1(percentile(ms, 50)), p95: round1(percentile(ms, 95)), max: round1(ms.at(-1)!) };
}

await runTool("bench:web", async () => {
  const config = loadToolsConfig(localEnv(process.env));
  const { serverUrl } = await provision({ explicitUrl: config.TEST_DATABASE_URL, localDatabases: [], log });
  const url = withDatabase(serverUrl, DATABASE);
  await dropDatabaseIfExists(serverUrl, DATABASE);
  await createDatabaseIfMissing(serverUrl, DATABASE);
  await releaseDatabase(url, () => {});
  const db = connectDatabase({ url, maxConnections: 2, applicationName: "gpt-platform:bench-web" });
  try {
    const orgs = [];
    for (let i = 0; i < ORGS; i++) orgs.push(await organisationCreate(db.owner, { name: `Org ${i}`, slug: `org-${i}` }));
    const orgIds = orgs.map((o) => o.id);
    await seed(db, orgIds);
    const big = orgIds[0]!;
    const inBig = <T>(work: Parameters<typeof withOrg<T>>[2]) => withOrg(db.app, big, work);
    const { rows } = await sql<{
      id: string;
    }>`SELECT job_id AS id FROM app.job_refs WHERE org_id = ${big} ORDER BY created_at DESC OFFSET 5000 LIMIT 1`.execute(db.owner);
    const someJob = rows[0]!.id;
    const page = (filter: Omit<JobListFilter, "limit">) => () => inBig((trx) => jobListForOrg(trx, { limit: 50, ...filter }));
    // The cursor of page 20 (1,000 jobs back), for a deep page.
    let cursor: JobListFilter["after"];
    for (let i = 0; i < 20; i++) cursor = (await inBig((trx) => jobListForOrg(trx, { limit: 50, after: cursor }))).next ?? undefined;

    log(`timing the loaders for the organisation with ${Math.round(JOBS * 0.9).toLocaleString("en")} jobs (${SAMPLES} samples each)`);
    const timings = [
      await time("dashboard", () => inBig((trx) => dashboardRead(trx))),
      await time("jobs list: first page", page({})),
      await time("jobs list: page 21", page({ after: cursor })),
      await time("jobs list: state failed", page({ state: "failed" })),
      await time("jobs list: type + state created", page({ type: "test-job", state: "created" })),
      await time("jobs list: state active", page({ state: "active" })),
      await time("jobs list: last hour", page({ from: new Date(Date.now() - 3600_000) })),
      await time("jobs list: text in payload (common)", page({ text: "item-1" })),
      await time("job detail", () => inBig(async (trx) => [await jobGetForOrg(trx, someJob), await failedAttemptsOfJob(trx, someJob)])),
    ];
    const rare = await time(
      "jobs list: text in payload (rare, last 24 h)",
      page({ text: "item-999999", from: new Date(Date.now() - 24 * 3600_000) }),
    );
    for (const t of [...timings, rare])
      log(
        `${t.loader.padEnd(46)} p50 ${String(t.p50).padStart(6)} ms   p95 ${String(t.p95).padStart(6)} ms   max ${String(t.max).padStart(6)} ms`,
      );
    const slow = timings.filter((t) => t.p95 >= FLOOR_P95_MS);
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT_DIR }).toString().trim();
    appendFileSync(
      `${ROOT_DIR}bench/web-results.jsonl`,
      `${JSON.stringify({
        date: new Date().toISOString(),
        commit,
        machine: {
          cpu: cpus()[0]?.model,
          cores: cpus().length,
          memoryGiB: Math.round(totalmem() / 2 ** 30),
          kernel: release(),
          node: process.version,
        },
        params: { jobs: JOBS, samples: SAMPLES, organisations: ORGS },
        timings: [...timings, rare],
        floorP95Ms: FLOOR_P95_MS,
        floorMet: slow.length === 0,
      })}\n`,
    );
    log(
      slow.length === 0
        ? `every loader's p95 is under ${FLOOR_P95_MS} ms`
        : `over ${FLOOR_P95_MS} ms at p95: ${slow.map((t) => t.loader).join(", ")}`,
    );
    log("appended to bench/web-results.jsonl");
    return slow.length === 0 ? 0 : 1;
  } finally {
    await db.close();
    if (!args.keep) await dropDatabaseIfExists(serverUrl, DATABASE);
  }
});
