// node bench/explain-claim.ts [database-url]: the fair-share claim's plan and time against 10k, 100k
// and 1M waiting jobs of one organisation plus 20 quiet ones (docs/decisions/010). It rewrites the
// job table of the database it is given, so it only accepts a bench database (default: the one
// `npm run bench` provisions, gpt_bench_platform).
import pg from "pg";
import { claimAndCompleteSql } from "../worker/runner/job-sql.ts";

const url = process.argv[2] ?? "postgres://postgres@127.0.0.1:5432/gpt_bench_platform";
if (!/\/gpt_bench_[a-z_]+$/.test(new URL(url).pathname)) {
  console.error(`explain-claim: ${url} is not a bench database (gpt_bench_*); it would lose its jobs`);
  process.exit(2);
}
// The runner's job connections' settings (worker/runner/job-runner.ts).
const client = new pg.Client({
  connectionString: url,
  options: "-c enable_bitmapscan=off -c enable_seqscan=off -c enable_mergejoin=off -c enable_hashjoin=off -c jit=off",
});
await client.connect();
// The organisations here are plain group ids, on the default plan: without its cap on running jobs
// (free: 10) the claim takes its full batch, which is what this measures.
await client.query("UPDATE app.plans SET max_running_per_queue = NULL");
const insert = (orgSql: string, count: number) => `
  INSERT INTO pgboss.job (id, name, data, priority, start_after, created_on, group_id, expire_seconds, deletion_seconds, keep_until,
    retry_limit, retry_delay, retry_backoff, retry_delay_max, policy, heartbeat_seconds)
  SELECT gen_random_uuid(), q.name, '{}', 0, now() - interval '1 hour', now() - interval '1 hour' + g * interval '1 ms', ${orgSql},
    q.expire_seconds, q.deletion_seconds, now() + interval '1 day', q.retry_limit, q.retry_delay, coalesce(q.retry_backoff, false),
    q.retry_delay_max, q.policy, q.heartbeat_seconds
  FROM pgboss.queue q CROSS JOIN generate_series(1, ${count}) g WHERE q.name = 'test-job'`;
for (const waiting of [10_000, 100_000, 1_000_000]) {
  await client.query("TRUNCATE pgboss.job_common");
  await client.query(insert("'noisy-organisation'", waiting));
  for (let quiet = 0; quiet < 20; quiet++) await client.query(insert(`'quiet-${quiet}'`, 3));
  await client.query("VACUUM ANALYZE pgboss.job_common");
  const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${claimAndCompleteSql("job_common", 400)}`, [
    "test-job",
    "[]",
    "",
  ]);
  const plan = rows.map((r) => r["QUERY PLAN"]);
  console.log(`--- ${waiting} noisy jobs waiting + 20 quiet organisations with 3 each: claim of 400`);
  // Each CTE's own line, and the next one that carries its timing.
  console.log(
    plan
      .filter(
        (line, i) =>
          /Planning Time|Execution Time|CTE (turn|next|claimed)$/.test(line) || /CTE (turn|next|claimed)$/.test(plan[i - 1] ?? ""),
      )
      .join("\n"),
  );
  if (process.env.VERBOSE) console.log(plan.join("\n"));
}
await client.query("TRUNCATE pgboss.job_common");
await client.end();
