import { sql } from "kysely";
import t, { type Test } from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { startRateLimitedUpstream, type RateLimitedUpstream } from "../fakes/rate-limited-upstream.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { bearer, startWorkerApp, tokenFor } from "../helpers/worker.ts";
import { spawnWorker } from "../helpers/worker-process.ts";

interface JobRow {
  id: string;
  state: string;
  retry_count: number;
  output: { message?: string; requestedAt?: number; accountId?: string } | null;
}

async function enqueueCalls(db: TestDatabase, orgId: string, accounts: string[]): Promise<string[]> {
  const results = await withOrg(db.handles.app, orgId, (trx) =>
    new JobClient().enqueueMany(
      trx,
      accounts.map((accountId) => ({ type: "test-upstream-call", payload: { accountId } })),
    ),
  );
  return results.map((r) => r.id);
}

async function jobs(db: TestDatabase, ids: readonly string[]): Promise<JobRow[]> {
  const { rows } = await sql<JobRow>`
    SELECT id, state::text, retry_count, output FROM pgboss.job WHERE id = ANY(${[...ids]}::uuid[])
  `.execute(db.handles.owner);
  return rows;
}

async function snoozeKinds(db: TestDatabase, ids: readonly string[]): Promise<Map<string, string[]>> {
  const { rows } = await sql<{ job_id: string; kind: string }>`
    SELECT job_id, kind FROM app.job_snoozes WHERE job_id = ANY(${[...ids]}::uuid[]) ORDER BY n
  `.execute(db.handles.owner);
  const kinds = new Map<string, string[]>();
  for (const r of rows) kinds.set(r.job_id, [...(kinds.get(r.job_id) ?? []), r.kind]);
  return kinds;
}

async function upstream(t: Test): Promise<RateLimitedUpstream> {
  const fake = await startRateLimitedUpstream({ limit: 7 });
  t.teardown(() => fake.close());
  return fake;
}

t.test("jobs over their rate limit wait without spending an attempt, across two worker processes", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  // Its plan's cap on running jobs (free: 10) must not be what holds the 12 slots' jobs back here.
  await sql`SELECT ops.assign_plan(${orgId}::uuid, 'business')`.execute(db.handles.owner);
  const fake = await upstream(t);
  const busy = await enqueueCalls(
    db,
    orgId,
    Array.from({ length: 28 }, () => "acct-busy"),
  );
  const quiet = await enqueueCalls(
    db,
    orgId,
    Array.from({ length: 7 }, () => "acct-quiet"),
  );
  const env = { TEST_UPSTREAM_URL: fake.url, JOB_CONCURRENCY: "6" };
  const workers = [spawnWorker(t, db, env), spawnWorker(t, db, env)];
  await Promise.all(workers.map((w) => w.ready()));
  const rows = await waitFor(
    "every call completed",
    async () => {
      const rows = await jobs(db, [...busy, ...quiet]);
      return rows.every((r) => r.state === "completed") ? rows : undefined;
    },
    { timeoutMs: 30_000 },
  );
  t.same(
    rows.filter((r) => r.retry_count > 0).map((r) => r.id),
    [],
    "no attempt was spent: every job completed on its first",
  );
  const refused = fake.requests.filter((r) => r.status === 429).length;
  // Not 0: the fake runs in this busy test process, and its own event loop's stalls can bunch
  // arrivals. The benchmark, with the fake on its own, counts none (bench/README.md).
  t.ok(refused <= 3, `the upstream refused ${refused} of ${fake.requests.length} requests (28 at once would be refused 21 times)`);
  const kinds = await snoozeKinds(db, [...busy, ...quiet]);
  const heldBack = busy.filter((id) => kinds.get(id)?.includes("rate-limit")).length;
  t.ok(heldBack >= 14, `${heldBack} of the busy account's 28 jobs were held back by its budget`);
  t.same(
    quiet.filter((id) => kinds.get(id)?.includes("rate-limit")),
    [],
    "the quiet account's seven fit its own budget: none was held back behind the busy one",
  );
  const requested = rows.filter((r) => r.output?.accountId === "acct-busy").map((r) => r.output!.requestedAt!);
  const spanSeconds = (Math.max(...requested) - Math.min(...requested)) / 1000;
  t.ok(
    spanSeconds >= 27 / 7 - 0.5,
    `the busy account's 28 calls were spread over ${spanSeconds.toFixed(1)} s (7 a second: at least 3.4 s)`,
  );
});

t.test("a handler's snooze spends no attempt and shows on the job in the API; past the cap the job fails", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const fake = await upstream(t);
  const [once, forever] = await enqueueCalls(db, orgId, ["busy-once-1", "busy-forever"]);
  const worker = spawnWorker(t, db, { TEST_UPSTREAM_URL: fake.url });
  await worker.ready();
  const rows = await waitFor(
    "both jobs settled",
    async () => {
      const rows = await jobs(db, [once!, forever!]);
      return rows.every((r) => r.state === "completed" || r.state === "failed") ? rows : undefined;
    },
    { timeoutMs: 30_000 },
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  t.same(
    { state: byId.get(once!)!.state, retry_count: byId.get(once!)!.retry_count },
    { state: "completed", retry_count: 0 },
    "snoozed once after a 429, then completed by its first attempt",
  );
  t.equal(byId.get(forever!)!.state, "failed");
  t.equal(byId.get(forever!)!.retry_count, 0, "ten snoozes spent no attempt");
  t.match(
    byId.get(forever!)!.output?.message,
    /^snoozed 10 times, the most a test-upstream-call job may \(maxSnoozes\); last reason: the upstream answered 429/,
  );

  const api = await startWorkerApp(t, db.url);
  const token = await tokenFor(db, orgId);
  const response = await api.inject({ method: "GET", url: `/api/jobs/${once}`, headers: bearer(token) });
  t.equal(response.statusCode, 200);
  const { snoozes } = response.json() as { snoozes: { attempt: number; kind: string; reason: string; snoozedAt: string; until: string }[] };
  t.equal(snoozes.length, 1);
  t.match(snoozes[0], { attempt: 1, kind: "handler", reason: "the upstream answered 429 Too Many Requests" });
  t.ok(Date.parse(snoozes[0]!.until) >= Date.parse(snoozes[0]!.snoozedAt));
  const failed = await api.inject({ method: "GET", url: `/api/jobs/${forever}`, headers: bearer(token) });
  t.equal((failed.json() as { snoozes: unknown[] }).snoozes.length, 10, "each of the ten snoozes is listed");
});
