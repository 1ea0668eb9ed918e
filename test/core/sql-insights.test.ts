import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "kysely";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { rollupAdd } from "../../core/jobs/rollups.ts";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";

const run = promisify(execFile);
const DIR = fileURLToPath(new URL("../../sql/insights/", import.meta.url));

t.test("every insight query in sql/insights runs with psql -f and reads the live views", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db, "Test Org");
  const ids = await withOrg(db.handles.app, orgId, (trx) =>
    new JobClient().enqueueMany(
      trx,
      [1, 2, 3, 4, 5].map((i) => ({ type: "test-job", payload: { echo: i } })),
    ),
  );
  const [oldest, , , stuck, slow] = ids.map((r) => r.id);
  const owner = db.handles.owner;
  // One job due five minutes ago, one running two hours (past its 15-minute expiry), one that
  // took five seconds, a dead letter and a worker, as pg-boss and the workers would leave them.
  await sql`UPDATE pgboss.job SET created_on = now() - interval '5 minutes', start_after = now() - interval '5 minutes' WHERE id = ${oldest}`.execute(
    owner,
  );
  await sql`UPDATE pgboss.job SET state = 'active', started_on = now() - interval '2 hours', expire_seconds = 900 WHERE id = ${stuck}`.execute(
    owner,
  );
  await sql`UPDATE pgboss.job SET state = 'completed', start_after = now() - interval '7 seconds', started_on = now() - interval '6 seconds', completed_on = now() - interval '1 second' WHERE id = ${slow}`.execute(
    owner,
  );
  const failedId = "00000000-0000-4000-8000-00000000dead";
  await sql`
    INSERT INTO pgboss.job (name, data, group_id, source_name, source_id, source_root_id, source_retry_count, source_output)
    VALUES ('test-job.dlq', '{}', ${orgId}, 'test-job', ${failedId}, ${failedId}, 2, '{"message": "boom"}')`.execute(owner);
  await sql`
    INSERT INTO ops.worker_instances (id, hostname, pid, version, concurrency, job_types)
    VALUES (gen_random_uuid(), 'test-host', 4242, '0.1.0', 10, '{test-job}')`.execute(owner);
  const buckets = Array.from({ length: 17 }, (_, i) => (i === 3 ? 4 : 0));
  await rollupAdd(owner, [
    {
      minute: new Date(Math.floor(Date.now() / 60_000) * 60_000),
      queue: "test-job",
      orgId,
      completed: 3,
      failed: 1,
      retried: 2,
      runMsSum: 40,
      runMsMax: 9,
      runMsBuckets: buckets,
      pickupMsBuckets: buckets,
    },
  ]);

  // A budget booked two seconds ahead, and a job snoozed for it, as the worker leaves them.
  await sql`SELECT * FROM ops.rate_limit_admit(ARRAY[1, 2, 3], ARRAY['kommo:42', 'kommo:42', 'kommo:42'], ARRAY[1, 1, 1], 1.5)`.execute(
    owner,
  );
  await sql`INSERT INTO app.job_snoozes (org_id, job_id, n, attempt, until_at, kind, reason)
            VALUES (${orgId}, ${oldest}, 1, 1, now() + interval '3 seconds', 'rate-limit', 'waiting for the rate limit kommo:42 (7 per 1 s)')`.execute(
    owner,
  );
  await sql`SELECT ops.pause_queue('test-job', ${orgId}, 'moving offices')`.execute(owner);
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  t.same(files, [
    "dead-letters.sql",
    "latency.sql",
    "oldest-waiting.sql",
    "paused.sql",
    "plans.sql",
    "queue-depth.sql",
    "queue-stats-24h.sql",
    "rate-limits.sql",
    "slowest-jobs.sql",
    "stuck-jobs.sql",
    "throughput-hourly.sql",
    "throughput-minute.sql",
    "usage-per-organisation.sql",
    "workers-alive.sql",
  ]);
  const outputs: Record<string, string> = {};
  for (const file of files) {
    const { stdout } = await run("psql", [
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "--no-psqlrc",
      "-A",
      "-F",
      "|",
      "-d",
      db.url,
      "-f",
      `${DIR}${file}`,
    ]);
    outputs[file] = stdout;
    t.match(stdout.split("\n")[0], /^[a-z_0-9]+\|[a-z_0-9|]+$/, `${file} runs and prints its column names`);
  }
  t.match(outputs["queue-depth.sql"], /^test-job\|queued\|3\|/m, "three jobs waiting (one running, one finished)");
  t.match(outputs["queue-depth.sql"], /^test-job\|active\|1\|/m);
  t.match(outputs["throughput-hourly.sql"], /\|test-job\|3\|1\|2\|0\.2500$/m, "this hour's completed, failed, retried, failure rate");
  t.match(outputs["throughput-minute.sql"], /\|test-job\|3\|1\|2$/m, "this minute's outcomes");
  t.match(outputs["queue-stats-24h.sql"], /^test-job\|3\|1\|2\|0\.2500\|/m, "failure rate 1 of 4");
  t.match(outputs["latency.sql"], /\|test-job\|6\|7\.5\|/m, "six attempts; pickup p50 half way through the 5–10 ms bucket");
  t.match(
    outputs["oldest-waiting.sql"],
    new RegExp(`^test-job\\|00:0[45]:\\d\\d[.\\d]*\\|${oldest}\\|${orgId}\\|created\\|0\\|`, "m"),
    "the job due five minutes ago",
  );
  t.match(
    outputs["stuck-jobs.sql"],
    new RegExp(`^test-job\\|${stuck}\\|${orgId}\\|1\\|past its expiry\\|0?2:00:`, "m"),
    "the job running for two hours",
  );
  t.match(
    outputs["slowest-jobs.sql"],
    new RegExp(`^test-job\\|${slow}\\|${orgId}\\|completed\\|1\\|5000\\|1000\\|`, "m"),
    "five seconds of run after a second's pickup",
  );
  t.match(
    outputs["dead-letters.sql"],
    new RegExp(`\\|test-job\\|${orgId}\\|${failedId}\\|3\\|boom$`, "m"),
    "the dead letter with its error",
  );
  // Booked two seconds ahead when the test wrote it; the psql runs above take a while on a busy machine.
  t.match(
    outputs["rate-limits.sql"],
    /^kommo:42\|(00:00:00\.\d+|00:00:0[12][.\d]*)\|00:00:0[0-3][.\d]*\|/m,
    "the budget, booked up to two seconds ahead, and still ahead",
  );
  t.match(outputs["rate-limits.sql"], /^rate-limit\|waiting for the rate limit kommo:42 \(7 per 1 s\)\|1\|1\|00:00:03/m, "the snooze");
  t.match(
    outputs["paused.sql"],
    new RegExp(`^test-job\\|${orgId}\\|Test Org\\|[^|]+\\|[^|]+\\|operator:[a-z_]+\\|moving offices\\|3$`, "m"),
    "the organisation's pause, holding its three waiting jobs",
  );
  t.match(
    outputs["plans.sql"],
    new RegExp(`^Test Org\\|${orgId}\\|free\\|max_waiting_jobs\\|4\\|10000\\|0\\.000\\|$`, "m"),
    "the organisation on the free plan: four jobs waiting (created or retrying) of 10,000",
  );
  t.match(outputs["usage-per-organisation.sql"], new RegExp(`^Test Org\\|${orgId}\\|3\\|1\\|2\\|0\\.0$`, "m"), "usage per organisation");
  t.match(outputs["workers-alive.sql"], /^test-host\|4242\|0\.1\.0\|10\|\{test-job\}\|/m, "the worker that reported");
});
