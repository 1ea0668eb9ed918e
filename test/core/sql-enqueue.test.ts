import { sql } from "kysely";
import pg from "pg";
import t from "tap";
import { z } from "zod";
import { withOrg } from "../../core/db/org-scope.ts";
import { jobCatalogue } from "../../core/jobs/catalogue.ts";
import { publishJobCatalogue } from "../../core/jobs/catalogue-publish.ts";
import { defineJob } from "../../core/jobs/define-job.ts";
import { notifyChannelSql, withQueueEngine } from "../../core/jobs/engine.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { jobIdForIdempotencyKey } from "../../core/jobs/idempotency.ts";
import { ensureQueues } from "../../core/jobs/queues.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/** A job row as pg-boss stored it, without what differs between any two sends (ids and clocks). */
async function storedJob(db: TestDatabase, id: string): Promise<Record<string, unknown>> {
  const { rows } = await sql<{ job: Record<string, unknown>; retention_seconds: number; start_delay_seconds: number }>`
    SELECT to_jsonb(j) - '{id,created_on,start_after,keep_until}'::text[] AS job,
      extract(epoch FROM j.keep_until - j.start_after)::int AS retention_seconds,
      round(extract(epoch FROM j.start_after - j.created_on))::int AS start_delay_seconds
    FROM pgboss.job j WHERE j.id = ${id}
  `.execute(db.handles.owner);
  if (!rows[0]) throw new Error(`job ${id} not found`);
  return { ...rows[0].job, retention_seconds: rows[0].retention_seconds, start_delay_seconds: rows[0].start_delay_seconds };
}

async function jobCount(db: TestDatabase): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job`.execute(db.handles.owner);
  return rows[0]!.n;
}

/** SQL enqueue's error, as an operator in psql would see it. */
async function sqlError(db: TestDatabase, query: ReturnType<typeof sql>): Promise<{ message: string; hint?: string }> {
  const error = await query.execute(db.handles.owner).then(
    () => undefined,
    (e: { message: string; hint?: string }) => e,
  );
  if (!error) throw new Error("expected the statement to fail");
  return error;
}

// A type with required keys and one with a singleton policy, published into this test's database
// only: the shipped catalogue's test-job has no required keys.
const invoiceJob = defineJob({
  name: "invoice-reminder",
  description: "test type with required keys",
  payload: z.strictObject({ invoiceId: z.string().min(1), customerEmail: z.string(), attempt: z.int().min(1).optional() }),
  result: z.object({}),
});
const syncJob = defineJob({
  name: "pipeline-sync",
  description: "test type with a short policy",
  payload: z.object({}),
  result: z.object({}),
  queue: { policy: "short" },
});

t.test("SQL enqueue", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const { app, owner } = db.handles;

  await withQueueEngine(db.url, async (boss) => {
    await ensureQueues(boss, [invoiceJob, syncJob]);
    await publishJobCatalogue(db.url, [...jobCatalogue, invoiceJob, syncJob]);
    const jobs = new JobClient();

    await t.test("every enqueue path writes the row pg-boss's own send writes, apart from ids and times", async (t) => {
      const payload = { echo: { nested: [1, "two"] }, delayMs: 5 };
      // pg-boss 12.35's send: the contract our SQL insert copies (docs/reference/pg-boss-contract.md).
      const fromPgBoss = (await boss.send("test-job", payload, { priority: 4, startAfter: 30, group: { id: orgId } }))!;
      const fromNode = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", payload, { priority: 4, startAfter: 30 }));
      // As the application role inside an organisation's transaction, and as an operator in psql.
      const fromApp = await withOrg(app, orgId, async (trx) => {
        const { rows } = await sql<{ id: string }>`
          SELECT app.enqueue('test-job', ${JSON.stringify(payload)}::jsonb, '{"priority": 4, "startAfter": 30}') AS id
        `.execute(trx);
        return rows[0]!.id;
      });
      const { rows } = await sql<{ id: string }>`
        SELECT ops.enqueue('test-job', ${orgId}, ${JSON.stringify(payload)}::jsonb, '{"priority": 4, "startAfter": 30}') AS id
      `.execute(owner);
      const fromOperator = rows[0]!.id;

      const expected = await storedJob(db, fromPgBoss);
      t.match(expected, {
        name: "test-job",
        priority: 4,
        group_id: orgId,
        retry_limit: 2,
        dead_letter: "test-job.dlq",
        start_delay_seconds: 30,
      });
      t.same(await storedJob(db, fromNode.id), expected, "the Node client's row matches pg-boss's");
      t.same(await storedJob(db, fromApp), expected, "gpt_app's SQL enqueue matches pg-boss's row");
      t.same(await storedJob(db, fromOperator), expected, "an operator's SQL enqueue matches pg-boss's row");

      const refs = await withOrg(app, orgId, (trx) =>
        trx.selectFrom("app.job_refs").select(["job_id", "type"]).where("job_id", "in", [fromNode.id, fromApp, fromOperator]).execute(),
      );
      t.equal(refs.length, 3, "every job is indexed for the jobs console, whoever sent it");
    });

    await t.test("an idempotency key names the same job from SQL and from Node", async (t) => {
      const key = "backfill-order-7";
      const fromNode = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", { echo: 7 }, { idempotencyKey: key }));
      t.equal(fromNode.id, jobIdForIdempotencyKey(orgId, "test-job", key));
      const { rows } = await sql<{ id: string; derived: string }>`
        SELECT ops.enqueue('test-job', ${orgId}, '{"echo": 7}', ${JSON.stringify({ idempotencyKey: key })}::jsonb) AS id,
          ops.idempotency_job_id(${orgId}, 'test-job', ${key}) AS derived
      `.execute(owner);
      t.same(rows[0], { id: fromNode.id, derived: fromNode.id }, "the repeat returns the first job");
      const conflict = await sqlError(
        db,
        sql`SELECT ops.enqueue('test-job', ${orgId}, '{"echo": 8}', ${JSON.stringify({ idempotencyKey: key })}::jsonb)`,
      );
      t.match(conflict.message, `already created job ${fromNode.id} with a different payload`);
    });

    await t.test("bad input is refused with what to fix, and nothing is enqueued", async (t) => {
      const before = await jobCount(db);
      const missing = await sqlError(db, sql`SELECT ops.enqueue('invoice-reminder', ${orgId}, '{"attempt": 0, "note": "x"}')`);
      t.match(missing.message, "payload.invoiceId: is required");
      t.match(missing.message, "payload.customerEmail: is required");
      t.match(missing.message, "payload.note: is not a known field");
      t.match(missing.message, "payload.attempt: must be at least 1");
      t.match(missing.hint, "ops.job_catalogue");

      const unknown = await sqlError(db, sql`SELECT ops.enqueue('invoice-remindr', ${orgId}, '{}')`);
      t.match(unknown.message, 'unknown job type "invoice-remindr"; known types: invoice-reminder, pipeline-sync, test-job');

      const noOrg = await sqlError(db, sql`SELECT ops.enqueue('test-job', gen_random_uuid(), '{}')`);
      t.match(noOrg.message, /org_id: no organisation has id [0-9a-f-]{36}/);

      const badOptions = await sqlError(
        db,
        sql`SELECT ops.enqueue('test-job', ${orgId}, '{}', '{"prio": 1, "startAfter": "next tuesday"}')`,
      );
      t.match(badOptions.message, "unknown option(s) prio");
      t.match(badOptions.message, "options.startAfter: must be seconds from now");

      const otherOrg = await createOrganisation(db);
      await t.rejects(
        withOrg(app, orgId, (trx) =>
          sql`SELECT * FROM app.enqueue_many(${JSON.stringify([{ type: "test-job", org_id: otherOrg }])}::jsonb)`.execute(trx),
        ),
        { code: "42501", message: /name an organisation other than the transaction's/ },
        "an application transaction cannot enqueue for another organisation",
      );
      await t.rejects(
        withOrg(app, orgId, (trx) => sql`SELECT ops.enqueue('test-job', ${otherOrg}, '{}')`.execute(trx)),
        { code: "42501" },
        "nor call the operators' enqueue",
      );
      t.equal(await jobCount(db), before);
    });

    await t.test("enqueue_many is all-or-nothing, names each bad job's position, and returns rows in order", async (t) => {
      const before = await jobCount(db);
      const batch = (jobs: unknown[]) => JSON.stringify(jobs);
      const rejected = await sqlError(
        db,
        sql`SELECT * FROM ops.enqueue_many(${batch([
          { type: "invoice-reminder", org_id: orgId, payload: { invoiceId: "A-1", customerEmail: "a@example.com" } },
          { type: "invoice-reminder", org_id: orgId, payload: { invoiceId: "A-2" } },
          { type: "test-job", org_id: "not-a-uuid" },
        ])}::jsonb)`,
      );
      t.match(rejected.message, "2 of 3 job(s) rejected; nothing was enqueued");
      t.match(rejected.message, "[2] payload.customerEmail: is required");
      t.match(rejected.message, '[3] org_id: "not-a-uuid" is not a UUID');
      t.equal(await jobCount(db), before, "the valid first job was not enqueued either");

      const repeated = await sqlError(
        db,
        sql`SELECT * FROM ops.enqueue_many(${batch([
          { type: "test-job", org_id: orgId, options: { idempotencyKey: "k" } },
          { type: "test-job", org_id: orgId, options: { idempotencyKey: "k" } },
        ])}::jsonb)`,
      );
      t.match(repeated.message, "[2] repeats the idempotency key of job [1] in this request");

      const second = await createOrganisation(db);
      const { rows } = await sql<{ ord: number; id: string; created: boolean }>`
        SELECT * FROM ops.enqueue_many(${batch([
          { type: "test-job", org_id: orgId, payload: { echo: 7 }, options: { idempotencyKey: "backfill-order-7" } },
          { type: "invoice-reminder", org_id: second, payload: { invoiceId: "B-1", customerEmail: "b@example.com" } },
          { type: "test-job", org_id: second, payload: { echo: 3 } },
        ])}::jsonb)
      `.execute(owner);
      t.same(
        rows.map((r) => [r.ord, r.created]),
        [
          [1, false],
          [2, true],
          [3, true],
        ],
        "the existing key's job is reported, not added",
      );
      t.equal(rows[0]!.id, jobIdForIdempotencyKey(orgId, "test-job", "backfill-order-7"));
      const stored = await sql<{ id: string; name: string; group_id: string }>`
        SELECT id, name, group_id FROM pgboss.job WHERE id = ANY(${[rows[1]!.id, rows[2]!.id]}::uuid[]) ORDER BY name
      `.execute(owner);
      t.same(
        stored.rows.map((r) => [r.name, r.group_id]),
        [
          ["invoice-reminder", second],
          ["test-job", second],
        ],
      );

      const before2 = await jobCount(db);
      const changed = await sqlError(
        db,
        sql`SELECT * FROM ops.enqueue_many(${batch([
          { type: "test-job", org_id: second, payload: { echo: 4 } },
          { type: "test-job", org_id: orgId, payload: { echo: 8 }, options: { idempotencyKey: "backfill-order-7" } },
        ])}::jsonb)`,
      );
      t.match(changed.message, "[2] this idempotency key already created job", "a repeated key with another payload is refused");
      t.equal(await jobCount(db), before2, "and the batch's other job was not enqueued");
    });

    await t.test("a singleton key the queue's policy already holds: one job, and a clear refusal", async (t) => {
      const key = JSON.stringify({ singletonKey: "pipeline-12" });
      await sql`SELECT ops.enqueue('pipeline-sync', ${orgId}, '{}', ${key}::jsonb)`.execute(owner);
      const refused = await sqlError(db, sql`SELECT ops.enqueue('pipeline-sync', ${orgId}, '{}', ${key}::jsonb)`);
      t.match(refused.message, 'was not queued: its queue\'s "short" policy already holds a job with this singleton key');
      const { rows } = await sql<{ ord: number; created: boolean }>`
        SELECT * FROM ops.enqueue_many(${JSON.stringify([{ type: "pipeline-sync", org_id: orgId, options: { singletonKey: "pipeline-12" } }])}::jsonb)
      `.execute(owner);
      t.same(
        rows.map((r) => r.created),
        [false],
        "enqueue_many reports it rather than failing the batch",
      );
    });

    await t.test("wakes the workers on pg-boss's channel, only for jobs that can start now", async (t) => {
      const { rows } = await sql<{ ours: string }>`SELECT ${sql.raw(notifyChannelSql())} AS ours`.execute(owner);

      const listener = new pg.Client({ connectionString: db.url });
      await listener.connect();
      t.teardown(() => listener.end());
      const heard: string[] = [];
      listener.on("notification", (n) => heard.push(n.payload ?? ""));
      await listener.query(`LISTEN "${rows[0]!.ours}"`);

      await sql`SELECT ops.enqueue('test-job', ${orgId}, '{}', '{"startAfter": 3600}')`.execute(owner);
      await sql`SELECT ops.enqueue('test-job', ${orgId}, '{}')`.execute(owner);
      // A round trip on the listening connection delivers anything already sent to it.
      await listener.query("SELECT 1");
      t.same(heard, ["test-job"], "one wake-up, for the job that can start now");
    });
  });
});

t.test("the release step publishes the catalogue and removes types the code no longer has", async (t) => {
  const db = await createTestDatabase(t);
  const { rows } = await sql<{ name: string; required_keys: string[]; optional_keys: string[]; retry_limit: number }>`
    SELECT name, required_keys, optional_keys, retry_limit FROM ops.job_catalogue ORDER BY name
  `.execute(db.handles.owner);
  t.same(
    rows.map((r) => r.name),
    jobCatalogue.map((j) => j.name),
  );
  t.match(rows[0], {
    required_keys: [],
    optional_keys: ["crashOnAttempts", "delayMs", "delayOnAttempts", "echo", "failMessage", "failOnAttempts"],
    retry_limit: 2,
  });

  await publishJobCatalogue(db.url, [...jobCatalogue, invoiceJob]);
  const orgId = await createOrganisation(db);
  await t.rejects(
    sql`SELECT * FROM ops.enqueue_many(${JSON.stringify([
      { type: "test-job", org_id: orgId },
      { type: "invoice-reminder", org_id: orgId, payload: { invoiceId: "A-1", customerEmail: "a@example.com" } },
    ])}::jsonb)`.execute(db.handles.owner),
    { message: /job type\(s\) invoice-reminder are in the catalogue but their queues do not exist/ },
    "a published type without its queue (a release that has not finished) is refused, and nothing is enqueued",
  );
  const { rows: none } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job`.execute(db.handles.owner);
  t.equal(none[0]!.n, 0);
  await publishJobCatalogue(db.url, jobCatalogue);
  const names = await sql<{ name: string }>`SELECT name FROM ops.job_types ORDER BY name`.execute(db.handles.owner);
  t.same(
    names.rows.map((r) => r.name),
    ["test-job", "test-upstream-call"],
    "a type removed from the code can no longer be enqueued from SQL",
  );
});
