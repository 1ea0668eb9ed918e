import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "kysely";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { QuotaExceededError } from "../../core/jobs/errors.ts";
import { subscriptionOfOrg } from "../../core/plans/subscription.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { bearer, startWorkerApp, tokenFor } from "../helpers/worker.ts";

const run = promisify(execFile);
const BACKFILLS = fileURLToPath(new URL("../../sql/backfill/", import.meta.url));

async function jobsOf(db: TestDatabase, orgId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE group_id = ${orgId}`.execute(db.handles.owner);
  return rows[0]!.n;
}

/** A plan with small limits, and `orgId` moved onto it by the operator's function. */
async function onPlan(db: TestDatabase, orgId: string, plan: { id: string; waiting?: number; perDay?: number }): Promise<void> {
  await sql`INSERT INTO app.plans (id, name, max_waiting_jobs, jobs_per_day)
            VALUES (${plan.id}, ${plan.id}, ${plan.waiting ?? null}, ${plan.perDay ?? null}) ON CONFLICT (id) DO NOTHING`.execute(
    db.handles.owner,
  );
  await sql`SELECT ops.assign_plan(${orgId}, ${plan.id}, 'test')`.execute(db.handles.owner);
}

const enqueue = (db: TestDatabase, orgId: string, count: number, options: { startAfter?: number; idempotencyKey?: string } = {}) =>
  withOrg(db.handles.app, orgId, (trx) =>
    new JobClient().enqueueMany(
      trx,
      Array.from({ length: count }, (_, i) => ({
        type: "test-job",
        payload: { echo: i },
        options: { ...options, idempotencyKey: options.idempotencyKey && `${options.idempotencyKey}:${i}` },
      })),
    ),
  );

async function refusal(promise: Promise<unknown>): Promise<QuotaExceededError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof QuotaExceededError)) throw new Error(`expected a QuotaExceededError, got ${String(error)}`);
  return error;
}

t.test("plans: the defaults, the default plan for a new organisation, and the operator's assignment", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const { rows: plans } = await sql<{
    id: string;
    is_default: boolean;
  }>`SELECT id, is_default FROM app.plans ORDER BY fair_share_weight`.execute(db.handles.owner);
  t.same(
    plans.map((p) => [p.id, p.is_default]),
    [
      ["free", true],
      ["team", false],
      ["business", false],
    ],
  );
  const free = await withOrg(db.handles.app, orgId, (trx) => subscriptionOfOrg(trx));
  t.equal(free.plan.id, "free", "an organisation without a subscription is on the default plan");
  t.same(
    free.quotas.map((q) => q.quota),
    ["max_waiting_jobs", "jobs_per_day", "llm_tokens_per_month"],
  );

  await sql`SELECT ops.assign_plan(${orgId}, 'team')`.execute(db.handles.owner);
  const neighbour = await createOrganisation(db, "Neighbour");
  await sql`SELECT ops.assign_plan(${neighbour}, 'business')`.execute(db.handles.owner);
  const visible = await withOrg(db.handles.app, orgId, (trx) => sql<{ org_id: string }>`SELECT org_id FROM app.subscriptions`.execute(trx));
  t.same(
    visible.rows.map((r) => r.org_id),
    [orgId],
    "an organisation reads its own subscription only",
  );
  t.equal((await withOrg(db.handles.app, orgId, (trx) => subscriptionOfOrg(trx))).plan.id, "team");
  const unknown = await sql`SELECT ops.assign_plan(${orgId}, 'platinum')`
    .execute(db.handles.owner)
    .catch((e: { message: string; hint: string }) => e);
  t.match(unknown, { message: 'ops.assign_plan: no plan "platinum"', hint: /business, free, team/ });

  const appRole = await sql`SELECT ops.assign_plan(${orgId}, 'business')`.execute(db.handles.app).catch((e: { code: string }) => e);
  t.match(appRole, { code: "42501" }, "the application role cannot assign plans");
  const writeAsApp = await withOrg(db.handles.app, orgId, (trx) =>
    sql`UPDATE app.subscriptions SET plan_id = 'business'`.execute(trx),
  ).catch((e: { code: string }) => e);
  t.match(writeAsApp, { code: "42501" }, "nor move its own organisation to another plan");
});

t.test("jobs per day: over the quota nothing is enqueued, through JobClient, app.enqueue and ops.enqueue_many", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  await onPlan(db, orgId, { id: "day-5", perDay: 5 });

  await enqueue(db, orgId, 4);
  const refused = await refusal(enqueue(db, orgId, 2));
  t.match(refused, { quota: "jobs_per_day", plan: "day-5", limit: 5, used: 4, requested: 2 });
  t.match(refused.message, /may enqueue 5 jobs a day; 4 today before this request of 2; it resets at \d{4}-\d\d-\d\d 00:00 UTC/);
  const midnight = new Date();
  midnight.setUTCHours(24, 0, 0, 0);
  t.equal(refused.resetsAt?.getTime(), midnight.getTime(), "it resets at the next UTC midnight");
  t.equal(await jobsOf(db, orgId), 4, "the refused request enqueued none of its jobs");

  const asTenant = await withOrg(db.handles.app, orgId, (trx) =>
    sql`SELECT app.enqueue('test-job', '{}'), app.enqueue('test-job', '{}')`.execute(trx),
  ).catch((e: { code: string; hint: string }) => e);
  t.match(asTenant, { code: "GQ001", hint: /Nothing was enqueued/ }, "app.enqueue refuses with the quota's SQLSTATE");
  const asOperator = await sql`SELECT * FROM ops.enqueue_many(${JSON.stringify([
    { type: "test-job", org_id: orgId },
    { type: "test-job", org_id: orgId },
  ])}::jsonb)`
    .execute(db.handles.owner)
    .catch((e: { code: string }) => e);
  t.match(asOperator, { code: "GQ001" }, "so does the operator's ops.enqueue_many");
  t.equal(await jobsOf(db, orgId), 4);

  await enqueue(db, orgId, 1);
  t.equal(await jobsOf(db, orgId), 5, "up to the quota exactly is allowed");

  // Another organisation is not held back by this one's quota.
  const other = await createOrganisation(db, "Other");
  await enqueue(db, other, 6);
  t.equal(await jobsOf(db, other), 6);

  // Yesterday's jobs do not count today.
  await sql`UPDATE ops.usage_counters SET period_start = period_start - 1 WHERE org_id = ${orgId}`.execute(db.handles.owner);
  await enqueue(db, orgId, 5);
  t.equal(await jobsOf(db, orgId), 10, "a new day, a new quota");
});

t.test("an idempotent repeat spends no quota", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  await onPlan(db, orgId, { id: "day-3", perDay: 3 });
  const first = await enqueue(db, orgId, 3, { idempotencyKey: "order-7" });
  const again = await enqueue(db, orgId, 3, { idempotencyKey: "order-7" });
  t.same(
    again.map((r) => r.id),
    first.map((r) => r.id),
    "the repeat answers with the jobs already there",
  );
  t.same(
    again.map((r) => r.created),
    [false, false, false],
  );
});

t.test("waiting jobs: held to the plan's limit, and room comes back as jobs start", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  await onPlan(db, orgId, { id: "wait-5", waiting: 5 });

  await enqueue(db, orgId, 3, { startAfter: 3600 });
  await enqueue(db, orgId, 2);
  const refused = await refusal(enqueue(db, orgId, 1));
  t.match(refused, { quota: "max_waiting_jobs", limit: 5, used: 5, requested: 1, resetsAt: null });
  t.match(refused.message, /may have 5 jobs waiting; 5 are, and this request adds 1; room comes back as its jobs start/);
  t.equal(await jobsOf(db, orgId), 5);

  // Two jobs start (as a worker's claim would): two places free up.
  await sql`UPDATE pgboss.job SET state = 'active', started_on = now()
            WHERE id IN (SELECT id FROM pgboss.job WHERE group_id = ${orgId} AND start_after <= now() LIMIT 2)`.execute(db.handles.owner);
  await enqueue(db, orgId, 2);
  t.equal(await jobsOf(db, orgId), 7, "after a recount, the enqueue goes through");
  await refusal(enqueue(db, orgId, 1));

  const usage = await withOrg(db.handles.app, orgId, (trx) => subscriptionOfOrg(trx));
  t.match(
    usage.quotas.find((q) => q.quota === "max_waiting_jobs"),
    { limit: 5, used: 5, fraction: 1 },
  );
  t.equal(usage.closest, "max_waiting_jobs", "the quota at its limit is the closest one");
});

t.test("a backfill that meets a quota stops with a NOTICE, keeps its earlier batches and resumes later", async (t) => {
  const db = await createTestDatabase(t);
  const orgs: string[] = [];
  for (let i = 0; i < 5; i++) orgs.push(await createOrganisation(db, `Org ${i}`));
  // One job per organisation in key order (org id); the third organisation's quota is used up.
  const sorted = [...orgs].sort();
  await onPlan(db, sorted[2]!, { id: "day-1", perDay: 1 });
  await enqueue(db, sorted[2]!, 1);

  const args = (extra: string[]) => [
    "-X",
    "-d",
    db.url,
    ...["-v", "type=test-job", "-v", 'payload={"echo": "rebuild"}', "-v", "run=q", "-v", "batch=2"],
    ...extra,
    "-f",
    `${BACKFILLS}one-job-per-organisation.sql`,
  ];
  const stopped = await run("psql", args([]));
  t.match(stopped.stderr, "batch 1: 2 enqueued");
  t.match(stopped.stderr, /stopped before batch 2, which was not enqueued: quota exceeded: organisation .* may enqueue 1 jobs a day/);
  t.match(
    stopped.stderr,
    /The 2 job\(s\) of earlier batches stay enqueued; CALL ops.backfill again with the same name after that and it resumes after key/,
  );
  t.same(
    await Promise.all(sorted.map((o) => jobsOf(db, o))),
    [1, 1, 1, 0, 0],
    "the first batch stayed; the second (with the organisation over its quota) enqueued nothing",
  );

  await sql`SELECT ops.assign_plan(${sorted[2]!}, 'free')`.execute(db.handles.owner);
  const resumed = await run("psql", args([]));
  t.match(resumed.stderr, "3 row(s) to go (resuming after key");
  t.match(resumed.stderr, "finished; 5 job(s) enqueued");
  t.same(await Promise.all(sorted.map((o) => jobsOf(db, o))), [1, 1, 2, 1, 1]);
});

t.test("the API: 429 naming the quota with Retry-After, nothing enqueued; GET /api/subscriptions", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  await onPlan(db, orgId, { id: "day-2", perDay: 2 });
  const app = await startWorkerApp(t, db.url);
  const token = await tokenFor(db, orgId);
  const post = (url: string, payload: Record<string, unknown>) => app.inject({ method: "POST", url, headers: bearer(token), payload });

  t.equal((await post("/api/jobs", { type: "test-job", payload: {} })).statusCode, 201);
  const bulk = await post("/api/jobs/bulk", { jobs: [{ type: "test-job" }, { type: "test-job" }] });
  t.equal(bulk.statusCode, 429);
  t.match(bulk.json(), {
    code: "quota_exceeded",
    quota: "jobs_per_day",
    plan: "day-2",
    limit: 2,
    used: 1,
    requested: 2,
    message: /Nothing was enqueued; GET \/api\/subscriptions shows/,
  });
  const retryAfter = Number(bulk.headers["retry-after"]);
  t.ok(retryAfter >= 1 && retryAfter <= 86_400, `Retry-After ${retryAfter} s is the time to the next UTC midnight`);
  t.equal(bulk.json().resetsAt, new Date(Date.now() + retryAfter * 1000).toISOString().slice(0, 10) + "T00:00:00.000Z");
  t.equal(await jobsOf(db, orgId), 1);

  t.equal((await post("/api/jobs", { type: "test-job", payload: {} })).statusCode, 201);
  const single = await post("/api/jobs", { type: "test-job", payload: {} });
  t.equal(single.statusCode, 429);
  t.equal(single.json().quota, "jobs_per_day");
  t.equal(await jobsOf(db, orgId), 2);

  const usage = await app.inject({ method: "GET", url: "/api/subscriptions", headers: bearer(token) });
  t.equal(usage.statusCode, 200);
  const body = usage.json();
  t.match(body.plan, { id: "day-2", name: "day-2", fairShareWeight: 1 });
  t.match(
    body.quotas.find((q: { quota: string }) => q.quota === "jobs_per_day"),
    { limit: 2, used: 2, fraction: 1 },
  );
  t.match(
    body.quotas.find((q: { quota: string }) => q.quota === "llm_tokens_per_month"),
    { limit: null, used: 0, fraction: null },
  );
  t.equal(body.closest, "jobs_per_day");

  // Another organisation's token sees its own plan and usage only.
  const other = await createOrganisation(db, "Other");
  const otherUsage = await app.inject({ method: "GET", url: "/api/subscriptions", headers: bearer(await tokenFor(db, other)) });
  t.match(otherUsage.json(), { plan: { id: "free" } });
  t.match(
    otherUsage.json().quotas.find((q: { quota: string }) => q.quota === "jobs_per_day"),
    { used: 0 },
  );
});
