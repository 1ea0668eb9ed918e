import { sql } from "kysely";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { BulkEnqueueError, JobClient } from "../../core/jobs/enqueue.ts";
import { IdempotencyConflictError, PayloadInvalidError, UnknownJobTypeError } from "../../core/jobs/errors.ts";
import { jobIdForIdempotencyKey } from "../../core/jobs/idempotency.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";

async function jobRows(db: TestDatabase) {
  const { rows } = await sql<{
    id: string;
    name: string;
    data: unknown;
    group_id: string;
    retry_limit: number;
    heartbeat_seconds: number;
    dead_letter: string;
    priority: number;
  }>`
    SELECT id, name, data, group_id, retry_limit, heartbeat_seconds, dead_letter, priority FROM pgboss.job ORDER BY created_on, id
  `.execute(db.handles.owner);
  return rows;
}

t.test("enqueue", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const { app } = db.handles;
  {
    const jobs = new JobClient(app);

    await t.test("commits with the caller's transaction, carrying the organisation and queue settings", async (t) => {
      const { id, created } = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", { echo: 1 }, { priority: 5 }));
      t.ok(created);
      const rows = await jobRows(db);
      t.equal(rows.length, 1);
      t.match(rows[0], {
        id,
        name: "test-job",
        data: { echo: 1 },
        group_id: orgId,
        retry_limit: 2,
        heartbeat_seconds: 10,
        dead_letter: "test-job.dlq",
        priority: 5,
      });
    });

    await t.test("rolls back with the caller's transaction", async (t) => {
      const before = (await jobRows(db)).length;
      await t.rejects(
        withOrg(app, orgId, async (trx) => {
          await jobs.enqueue(trx, "test-job", { echo: "never" });
          throw new Error("business rule failed after enqueue");
        }),
        { message: "business rule failed after enqueue" },
      );
      t.equal((await jobRows(db)).length, before, "the job vanished with the rollback");
    });

    await t.test("refuses bad input with a clear error and enqueues nothing", async (t) => {
      const before = (await jobRows(db)).length;
      const unknown = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "no-such-job", {})).catch((e: Error) => e);
      t.type(unknown, UnknownJobTypeError);
      t.same((unknown as UnknownJobTypeError).knownTypes, ["test-job", "test-upstream-call"]);
      const invalid = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", { delayMs: -5, extra: true })).catch(
        (e: Error) => e,
      );
      t.type(invalid, PayloadInvalidError);
      t.same((invalid as PayloadInvalidError).problems.map((p) => p.field).sort(), ["payload.delayMs", "payload.extra"]);
      await t.rejects(
        sql`SELECT app.enqueue('test-job', '{}')`.execute(app),
        { code: "42501", message: /no organisation scope/ },
        "outside an organisation's transaction the database refuses to enqueue",
      );
      const unstorable = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", { echo: "a\u0000b" })).catch((e: Error) => e);
      t.type(unstorable, PayloadInvalidError, "a NUL character is refused before it reaches the database");
      t.match((unstorable as PayloadInvalidError).problems, [{ field: "payload.echo", message: /NUL/ }]);
      t.equal((await jobRows(db)).length, before);
    });

    await t.test("an idempotency key returns the first job", async (t) => {
      const first = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", { echo: "once" }, { idempotencyKey: "order-42" }));
      const second = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", { echo: "once" }, { idempotencyKey: "order-42" }));
      t.same(first, { id: jobIdForIdempotencyKey(orgId, "test-job", "order-42"), created: true });
      t.same(second, { id: first.id, created: false });
      await t.rejects(
        withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", { echo: "different" }, { idempotencyKey: "order-42" })),
        IdempotencyConflictError,
      );
      const other = await createOrganisation(db);
      const theirs = await withOrg(app, other, (trx) => jobs.enqueue(trx, "test-job", { echo: "once" }, { idempotencyKey: "order-42" }));
      t.not(theirs.id, first.id, "keys are per organisation");
    });

    await t.test("enqueueMany returns ids in order and is all-or-nothing", async (t) => {
      const results = await withOrg(app, orgId, (trx) =>
        jobs.enqueueMany(trx, [
          { type: "test-job", payload: { echo: "m1" } },
          { type: "test-job", payload: { echo: "m2" }, options: { idempotencyKey: "bulk-1" } },
        ]),
      );
      t.equal(results.length, 2);
      t.same(
        results.map((r) => r.created),
        [true, true],
        "both were created",
      );
      const stored = await sql<{
        id: string;
        data: { echo: string };
      }>`SELECT id, data FROM pgboss.job WHERE id = ANY(${results.map((r) => r.id)}::uuid[])`.execute(db.handles.owner);
      const byId = new Map(stored.rows.map((r) => [r.id, r.data.echo]));
      t.same(
        results.map((r) => byId.get(r.id)),
        ["m1", "m2"],
      );

      const before = (await jobRows(db)).length;
      const error = await withOrg(app, orgId, (trx) =>
        jobs.enqueueMany(trx, [
          { type: "test-job", payload: { echo: "fine" } },
          { type: "test-job", payload: { delayMs: "soon" } },
          { type: "nope", payload: {} },
        ]),
      ).catch((e: Error) => e);
      t.type(error, BulkEnqueueError);
      t.same(
        (error as BulkEnqueueError).failures.map((f) => f.index),
        [1, 2],
      );
      t.equal((await jobRows(db)).length, before, "nothing from the rejected batch was enqueued");

      const conflict = await withOrg(app, orgId, (trx) =>
        jobs.enqueueMany(trx, [
          { type: "test-job", payload: { echo: "new" } },
          { type: "test-job", payload: { echo: "changed" }, options: { idempotencyKey: "bulk-1" } },
        ]),
      ).catch((e: Error) => e);
      t.type(conflict, BulkEnqueueError, "a repeated key with another payload fails the batch");
      t.match((conflict as BulkEnqueueError).failures, [{ index: 1, error: IdempotencyConflictError }]);
      t.equal((await jobRows(db)).length, before, "and nothing of it was enqueued");
    });
  }
});

t.test("every path indexes its jobs in app.job_refs, atomically with the job", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const { app, owner } = db.handles;
  const refs = async () => await owner.selectFrom("app.job_refs").select(["job_id", "org_id", "type"]).execute();
  {
    const jobs = new JobClient(app);
    const inTransaction = await withOrg(app, orgId, (trx) => jobs.enqueue(trx, "test-job", {}));
    const {
      rows: [plain],
    } = await sql<{ id: string }>`SELECT ops.enqueue('test-job', ${orgId}, '{}') AS id`.execute(owner);
    const bulk = await withOrg(app, orgId, (trx) =>
      jobs.enqueueMany(trx, [
        { type: "test-job", payload: {} },
        { type: "test-job", payload: {} },
      ]),
    );
    const standalone = await jobs.enqueueStandalone(orgId, "test-job", { echo: "api" });
    const again = await jobs.enqueueStandalone(orgId, "test-job", { echo: "api" }, { idempotencyKey: "k" });
    const repeat = await jobs.enqueueStandalone(orgId, "test-job", { echo: "api" }, { idempotencyKey: "k" });
    t.same(repeat, { id: again.id, created: false });
    const expected = [inTransaction.id, plain!.id, ...bulk.map((b) => b.id), standalone.id, again.id].sort();
    const rows = await refs();
    t.same(rows.map((r) => r.job_id).sort(), expected, "one ref per created job, none for the idempotent repeat");
    t.ok(rows.every((r) => r.org_id === orgId && r.type === "test-job"));

    const before = rows.length;
    await t.rejects(
      withOrg(app, orgId, async (trx) => {
        await jobs.enqueue(trx, "test-job", {});
        throw new Error("rolled back");
      }),
    );
    t.equal((await refs()).length, before, "a rolled-back enqueue leaves no ref");
    await t.rejects(jobs.enqueueStandalone(orgId, "test-job", { delayMs: "x" }), PayloadInvalidError);
    t.equal((await refs()).length, before, "an invalid payload leaves no ref");
  }
});
