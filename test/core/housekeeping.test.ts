import { sql } from "kysely";
import t from "tap";
import { invitationCreate } from "../../core/accounts/invitations.ts";
import { passwordResetRequest } from "../../core/accounts/password-resets.ts";
import { sessionCreate } from "../../core/accounts/sessions.ts";
import { signupRequestCreate } from "../../core/accounts/signup-requests.ts";
import { signUp } from "../../core/accounts/users.ts";
import { runHousekeeping } from "../../core/ops/housekeeping.ts";
import { withOrg } from "../../core/db/org-scope.ts";
import { withQueueEngine } from "../../core/jobs/engine.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { jobRefsPrune } from "../../core/jobs/job-refs.ts";
import { rollupAdd } from "../../core/jobs/rollups.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { oneCompletedJobRollup } from "../helpers/rollups.ts";

const PASSWORD = "correct horse battery staple 9";

async function refCount(db: TestDatabase): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM app.job_refs`.execute(db.handles.owner);
  return Number(rows[0]!.n);
}

/** Enqueues `count` jobs for the organisation and backdates their refs, as if made `hoursAgo`. */
async function enqueueAged(db: TestDatabase, jobs: JobClient, orgId: string, count: number, hoursAgo: number): Promise<string[]> {
  const results = await withOrg(db.handles.app, orgId, (trx) =>
    jobs.enqueueMany(
      trx,
      Array.from({ length: count }, (_, i) => ({ type: "test-job", payload: { echo: i } })),
    ),
  );
  const ids = results.map((r) => r.id);
  await sql`UPDATE app.job_refs SET created_at = now() - make_interval(hours => ${hoursAgo}) WHERE job_id = ANY(${ids}::uuid[])`.execute(
    db.handles.owner,
  );
  return ids;
}

async function deleteJobs(db: TestDatabase, ids: string[]): Promise<void> {
  await sql`DELETE FROM pgboss.job WHERE id = ANY(${ids}::uuid[])`.execute(db.handles.owner);
}

t.test("job refs of jobs pg-boss deleted are pruned, oldest first, live ones kept", async (t) => {
  const db = await createTestDatabase(t);
  const { user, orgId } = await signUp(db.handles.owner, {
    email: "ops@example.com",
    password: PASSWORD,
    displayName: "Ops",
    organisationName: "Ops",
  });
  t.ok(user.id);
  await withQueueEngine(db.url, async () => {
    const jobs = new JobClient();
    const oldGone = await enqueueAged(db, jobs, orgId, 7, 48);
    const oldLive = await enqueueAged(db, jobs, orgId, 2, 47);
    const newerGone = await enqueueAged(db, jobs, orgId, 3, 46);
    const recentGone = await enqueueAged(db, jobs, orgId, 2, 0);
    await deleteJobs(db, [...oldGone, ...newerGone, ...recentGone]);
    t.equal(await refCount(db), 14);

    // Batches of 3: 7 gone → 3, 3, then [gone, live, live] → 1; the next batch holds only
    // survivors or newer gone refs: [gone×3] → 3. Then nothing more to scan.
    t.equal(await jobRefsPrune(db.handles.owner, { batchSize: 3 }), 10, "every old ref whose job is gone");
    const { rows } = await sql<{ job_id: string }>`SELECT job_id FROM app.job_refs ORDER BY created_at`.execute(db.handles.owner);
    t.same(
      rows.map((r) => r.job_id).sort(),
      [...oldLive, ...recentGone].sort(),
      "live jobs' refs stay; refs younger than an hour are left for later",
    );
    t.equal(await jobRefsPrune(db.handles.owner, { batchSize: 3 }), 0, "a second run finds nothing");
  });
});

t.test("a batch where every job still exists ends the run (the rest waits for the next one)", async (t) => {
  const db = await createTestDatabase(t);
  const { orgId } = await signUp(db.handles.owner, {
    email: "ops@example.com",
    password: PASSWORD,
    displayName: "Ops",
    organisationName: "Ops",
  });
  await withQueueEngine(db.url, async () => {
    const jobs = new JobClient();
    await enqueueAged(db, jobs, orgId, 4, 48);
    const gone = await enqueueAged(db, jobs, orgId, 2, 40);
    await deleteJobs(db, gone);
    t.equal(await jobRefsPrune(db.handles.owner, { batchSize: 4 }), 0, "the first four are alive, so the walk stops there");
    t.equal(await jobRefsPrune(db.handles.owner, { batchSize: 10 }), 2, "a wider batch reaches them");
  });
});

t.test("housekeeping deletes spent account rows and skips while another replica holds the lock", async (t) => {
  const db = await createTestDatabase(t);
  const { owner } = db.handles;
  const { user, orgId } = await signUp(owner, {
    email: "ops@example.com",
    password: PASSWORD,
    displayName: "Ops",
    organisationName: "Ops",
  });
  const live = await sessionCreate(owner, { userId: user.id, orgId, userAgent: null });
  await sessionCreate(owner, { userId: user.id, orgId, userAgent: null });
  await sql`UPDATE app.sessions SET expires_at = now() - interval '2 days' WHERE token_hash <> (SELECT token_hash FROM app.sessions ORDER BY created_at LIMIT 1)`.execute(
    owner,
  );
  await passwordResetRequest(owner, "ops@example.com");
  await passwordResetRequest(owner, "ops@example.com");
  await sql`UPDATE app.password_resets SET expires_at = now() - interval '2 days' WHERE id = (SELECT id FROM app.password_resets LIMIT 1)`.execute(
    owner,
  );
  await withOrg(db.handles.app, orgId, (trx) =>
    invitationCreate(trx, { orgId, email: "new@example.com", role: "member", invitedBy: user.id }),
  );
  await withOrg(db.handles.app, orgId, (trx) =>
    invitationCreate(trx, { orgId, email: "old@example.com", role: "member", invitedBy: user.id }),
  );
  await sql`UPDATE app.invitations SET expires_at = now() - interval '40 days' WHERE email = 'old@example.com'`.execute(owner);
  await signupRequestCreate(owner, { email: "pending@example.com", displayName: "P", password: PASSWORD, organisationName: "P" });
  await signupRequestCreate(owner, { email: "expired@example.com", displayName: "E", password: PASSWORD, organisationName: "E" });
  await sql`UPDATE app.signup_requests SET expires_at = now() - interval '2 days' WHERE email = 'expired@example.com'`.execute(owner);
  await sql`INSERT INTO ops.worker_instances (id, hostname, pid, version, concurrency, job_types, last_seen_at)
            VALUES (gen_random_uuid(), 'gone', 1, 'x', 1, '{}', now() - interval '8 days')`.execute(owner);
  const minute = (daysAgo: number) => new Date(Math.floor(Date.now() / 60_000) * 60_000 - daysAgo * 86_400_000);
  await rollupAdd(
    owner,
    [91, 89].map((daysAgo) => oneCompletedJobRollup(orgId, minute(daysAgo))),
  );
  await sql`INSERT INTO app.job_snoozes (org_id, job_id, n, attempt, snoozed_at, until_at, kind, reason)
            VALUES (${orgId}, gen_random_uuid(), 1, 1, now() - interval '31 days', now() - interval '31 days', 'handler', 'old'),
                   (${orgId}, gen_random_uuid(), 1, 1, now() - interval '29 days', now() - interval '29 days', 'handler', 'recent')`.execute(
    owner,
  );
  await sql`INSERT INTO ops.usage_counters (org_id, metric, period_start, shard, amount)
            VALUES (${orgId}, 'jobs', current_date - 63, 0, 5), (${orgId}, 'jobs', current_date - 61, 0, 7)`.execute(owner);
  t.ok(live.token);

  const holder = await db.handles.ownerPool.connect();
  try {
    await holder.query("SELECT pg_advisory_lock(7351204118)");
    t.equal(await runHousekeeping(owner), undefined, "skipped: another replica is at it");
    await holder.query("SELECT pg_advisory_unlock(7351204118)");
  } finally {
    holder.release();
  }

  t.same(await runHousekeeping(owner), {
    jobRefs: 0,
    failedAttempts: 0,
    jobSnoozes: 1,
    sessions: 1,
    passwordResets: 1,
    invitations: 1,
    signupRequests: 1,
    workerInstances: 1,
    rollupMinutes: 1,
    usageCounters: 1,
  });
  const left = await sql<{ sessions: string; resets: string; invitations: string }>`
    SELECT (SELECT count(*) FROM app.sessions) AS sessions, (SELECT count(*) FROM app.password_resets) AS resets,
           (SELECT string_agg(email, ',') FROM app.invitations) AS invitations`.execute(owner);
  t.same(left.rows[0], { sessions: "1", resets: "1", invitations: "new@example.com" }, "what is still useful stays");
  const rollups = await sql<{ n: string }>`SELECT count(*) AS n FROM ops.job_rollup_minute`.execute(owner);
  t.equal(rollups.rows[0]!.n, "1", "the rollup minute 89 days old stays; the one 91 days old went");
  const counters = await sql<{ amount: string }>`SELECT amount FROM ops.usage_counters WHERE org_id = ${orgId}`.execute(owner);
  t.same(
    counters.rows.map((r) => r.amount),
    ["7"],
    "the usage counter 61 days old stays; the one 63 days old went",
  );
  const snoozes = await sql<{ reason: string }>`SELECT reason FROM app.job_snoozes`.execute(owner);
  t.same(
    snoozes.rows.map((r) => r.reason),
    ["recent"],
    "the snooze 29 days old stays; the one 31 days old went",
  );
});
