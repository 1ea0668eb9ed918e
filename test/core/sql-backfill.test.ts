import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "kysely";
import t from "tap";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";

const run = promisify(execFile);
const DIR = fileURLToPath(new URL("../../sql/backfill/", import.meta.url));

/** Runs a backfill file the way the operator would: psql -f with -v arguments. */
async function backfill(db: TestDatabase, file: string, vars: Record<string, string>) {
  const args = ["-X", "-d", db.url, ...Object.entries(vars).flatMap(([k, v]) => ["-v", `${k}=${v}`]), "-f", `${DIR}${file}`];
  return run("psql", args);
}

async function testJobs(db: TestDatabase) {
  const { rows } = await sql<{ id: string; group_id: string; data: unknown; state: string }>`
    SELECT id, group_id, data, state FROM pgboss.job WHERE name = 'test-job' ORDER BY created_on, id
  `.execute(db.handles.owner);
  return rows;
}

t.test("one-job-per-organisation: batches, progress, resumable, and a second run enqueues nothing", async (t) => {
  const db = await createTestDatabase(t);
  const orgs = [];
  for (let i = 0; i < 5; i++) orgs.push(await createOrganisation(db));
  const vars = { type: "test-job", payload: '{"echo": "rebuild"}', run: "nov", batch: "2" };

  const slice = await backfill(db, "one-job-per-organisation.sql", { ...vars, max_batches: "1" });
  t.match(slice.stderr, "backfill per-organisation:test-job:nov: 5 row(s) to go");
  t.match(slice.stderr, "batch 1: 2 enqueued, 0 already there; 2 of 5 row(s) this run (40%)");
  t.match(slice.stderr, "stopped after 1 batch(es) as asked; run it again to resume");
  t.equal((await testJobs(db)).length, 2, "a stopped backfill committed the batches it finished");

  const rest = await backfill(db, "one-job-per-organisation.sql", vars);
  t.match(rest.stderr, "3 row(s) to go (resuming after key");
  t.match(rest.stderr, "finished; 5 job(s) enqueued, 0 already existed, in 3 batch(es)");
  const jobs = await testJobs(db);
  t.same(jobs.map((j) => j.group_id).sort(), [...orgs].sort(), "one job per organisation");
  t.ok(jobs.every((j) => JSON.stringify(j.data) === '{"echo":"rebuild"}'));

  const again = await backfill(db, "one-job-per-organisation.sql", vars);
  t.match(again.stderr, "0 row(s) to go");
  t.equal((await testJobs(db)).length, 5, "running a finished backfill again enqueues nothing");

  // Even a forgotten cursor cannot enqueue twice: each row's idempotency key names its job.
  await sql`UPDATE ops.backfills SET last_key = NULL, finished_at = NULL WHERE name = 'per-organisation:test-job:nov'`.execute(
    db.handles.owner,
  );
  const reset = await backfill(db, "one-job-per-organisation.sql", vars);
  t.match(reset.stderr, "finished; 5 job(s) enqueued, 5 already existed");
  t.equal((await testJobs(db)).length, 5);
});

t.test("rerun-failed-jobs: one new job per failed job, same organisation and payload", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const owner = db.handles.owner;
  const { rows } = await sql<{ ord: number; id: string }>`
    SELECT * FROM ops.enqueue_many(${JSON.stringify([1, 2, 3].map((n) => ({ type: "test-job", org_id: orgId, payload: { echo: n } })))}::jsonb)
  `.execute(owner);
  await sql`UPDATE pgboss.job SET state = 'failed', completed_on = now() WHERE id = ANY(${[rows[0]!.id, rows[2]!.id]}::uuid[])`.execute(
    owner,
  );

  const first = await backfill(db, "rerun-failed-jobs.sql", { type: "test-job", since: "2000-01-01" });
  t.match(first.stderr, "finished; 2 job(s) enqueued");
  const created = (await testJobs(db)).filter((j) => j.state === "created" && !rows.some((r) => r.id === j.id));
  t.same(
    created.map((j) => j.data).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [{ echo: 1 }, { echo: 3 }],
  );
  t.ok(created.every((j) => j.group_id === orgId));

  await backfill(db, "rerun-failed-jobs.sql", { type: "test-job", since: "2000-01-01" });
  t.equal((await testJobs(db)).length, 5, "a second run enqueues nothing");

  const missing = await backfill(db, "rerun-failed-jobs.sql", { type: "test-job" }).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.equal(missing?.code, 3, "psql stops with an error");
  t.match(missing?.stderr, "needs -v since=<date>");

  const badSource = await run("psql", ["-X", "-d", db.url, "-c", "CALL ops.backfill('broken', 'test-job', 'SELECT 1 AS nope')"]).then(
    () => undefined,
    (e: { stderr: string }) => e,
  );
  t.match(badSource?.stderr, "the source query failed");
  t.match(badSource?.stderr, "must return the columns key (text), org_id (uuid) and payload (jsonb)");
});
