import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import t from "tap";
import { createPool } from "../../core/db/connect.ts";
import { withOrg } from "../../core/db/org-scope.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { type ClaimedJob, QueueStatements, queueTable } from "../../worker/runner/job-sql.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { spawnWorker } from "../helpers/worker-process.ts";

// The claim side of plans (migrations/0016, 0017): the fair-share weight and the cap on running
// jobs per queue. The default plan (free) has weight 1 and a cap of 10; business has 4 and 500.
const Q = "test-job";

async function enqueue(db: TestDatabase, org: string, count: number, payload: object = {}): Promise<string[]> {
  const results = await withOrg(db.handles.app, org, (trx) =>
    new JobClient().enqueueMany(
      trx,
      Array.from({ length: count }, (_, i) => ({ type: Q, payload: { echo: i, ...payload } })),
    ),
  );
  return results.map((r) => r.id);
}

async function assignPlan(db: TestDatabase, org: string, plan: string): Promise<void> {
  await sql`SELECT ops.assign_plan(${org}::uuid, ${plan}, 'test')`.execute(db.handles.owner);
}

async function activeOf(db: TestDatabase, org: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pgboss.job WHERE name = ${Q} AND state = 'active' AND group_id = ${org}`.execute(db.handles.owner);
  return rows[0]!.n;
}

function perOrganisation(claimed: readonly ClaimedJob[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const job of claimed) counts[job.group_id!] = (counts[job.group_id!] ?? 0) + 1;
  return counts;
}

const completionsOf = (claimed: readonly ClaimedJob[]) =>
  claimed.map((j) => ({ id: j.id, retry_count: j.retry_count, outputJson: "null" }));

t.test("a claim shares its batch by the plans' fair-share weights", async (t) => {
  const db = await createTestDatabase(t);
  const pool = createPool(db.url, { max: 2, applicationName: "test" });
  t.teardown(() => pool.end());
  const statements = new QueueStatements(Q, await queueTable(pool, Q));
  const business = await createOrganisation(db, "Business");
  const free = await createOrganisation(db, "Free");
  await assignPlan(db, business, "business");
  await enqueue(db, business, 20);
  await enqueue(db, free, 20);

  const { claimed } = await statements.claimAndComplete(pool, [], 10);
  t.same(perOrganisation(claimed), { [business]: 8, [free]: 2 }, "weights 4 and 1 split a batch of ten 8 to 2");
  t.same(new Set(claimed.map((j) => `${j.group_id === business ? "business" : "free"}:${j.weight}`)), new Set(["business:4", "free:1"]));

  await t.test("an organisation with fewer ready than its weighted share takes all of them; the rest go to the others", async (t) => {
    const few = await createOrganisation(db, "Few");
    await assignPlan(db, few, "business");
    await enqueue(db, few, 1);
    const next = await statements.claimAndComplete(pool, [], 9);
    const counts = perOrganisation(next.claimed);
    t.equal(counts[few], 1, "its one job");
    t.equal(next.claimed.length, 9, "nothing of the batch is lost to rounding");
    t.ok(counts[business]! > counts[free]!, `business before free (${JSON.stringify(counts)})`);
  });
});

t.test("a plan's cap on running jobs per queue holds an organisation back, and never the others", async (t) => {
  const db = await createTestDatabase(t);
  const pool = createPool(db.url, { max: 2, applicationName: "test" });
  t.teardown(() => pool.end());
  const statements = new QueueStatements(Q, await queueTable(pool, Q));
  const capped = await createOrganisation(db, "Capped");
  await enqueue(db, capped, 30);

  const first = await statements.claimAndComplete(pool, [], 25);
  t.equal(first.claimed.length, 10, "the free plan's cap: 10 running");
  t.equal(first.capped, true, "the claim says the cap held jobs back");
  const second = await statements.claimAndComplete(pool, [], 25);
  t.equal(second.claimed.length, 0, "none while ten run");
  t.equal(await activeOf(db, capped), 10);

  const other = await createOrganisation(db, "Other");
  await enqueue(db, other, 5);
  const third = await statements.claimAndComplete(pool, [], 25);
  t.same(perOrganisation(third.claimed), { [other]: 5 }, "another organisation's jobs are claimed at once");

  const finished = first.claimed.slice(0, 3);
  await statements.claimAndComplete(pool, completionsOf(finished), 0);
  const fourth = await statements.claimAndComplete(pool, [], 25);
  t.same(perOrganisation(fourth.claimed), { [capped]: 3 }, "three finished: three more start");
  t.equal(await activeOf(db, capped), 10);

  await t.test("a plan without a cap claims as many as the batch holds", async (t) => {
    await sql`UPDATE app.plans SET max_running_per_queue = NULL WHERE id = 'team'`.execute(db.handles.owner);
    await assignPlan(db, capped, "team");
    const fifth = await statements.claimAndComplete(pool, [], 25);
    t.equal(fifth.claimed.length, 17, "the rest of its thirty");
    t.equal(fifth.capped, false);
  });
});

t.test("claims racing on many connections never pass the cap together", async (t) => {
  const db = await createTestDatabase(t);
  const connections = 12;
  const pool = createPool(db.url, { max: connections, applicationName: "test" });
  t.teardown(() => pool.end());
  const statements = new QueueStatements(Q, await queueTable(pool, Q));
  const org = await createOrganisation(db, "Racing");
  await enqueue(db, org, 200);
  // Every connection open before the race, so the claims overlap rather than queue for a connection.
  await Promise.all(Array.from({ length: connections }, () => pool.query("SELECT 1")));

  const running: ClaimedJob[] = [];
  let peak = 0;
  for (let round = 0; round < 8; round++) {
    const results = await Promise.all(Array.from({ length: connections }, () => statements.claimAndComplete(pool, [], 4)));
    running.push(...results.flatMap((r) => r.claimed));
    const active = await activeOf(db, org);
    peak = Math.max(peak, active);
    t.ok(active <= 10, `round ${round}: ${active} running, the cap is 10`);
    t.equal(active, running.length, "every claimed job is counted as running");
    // Two finish between rounds: room for two more.
    await statements.claimAndComplete(pool, completionsOf(running.splice(0, 2)), 0);
  }
  t.equal(peak, 10, "the cap was reached, so the race was real");
});

t.test("two worker processes together keep an organisation's cap, and it does not hold up another organisation", async (t) => {
  const db = await createTestDatabase(t);
  const capped = await createOrganisation(db, "Capped");
  const other = await createOrganisation(db, "Other");
  const env = { JOB_CONCURRENCY: "20" };
  const workers = [spawnWorker(t, db, env), spawnWorker(t, db, env)];
  await Promise.all(workers.map((w) => w.ready()));

  const held = await enqueue(db, capped, 60, { delayMs: 300 });
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await activeOf(db, capped));
      await sleep(20);
    }
  })();
  await waitFor("the capped organisation to reach its cap", async () => (await activeOf(db, capped)) >= 10);
  const cappedAt = Date.now();
  const others = await enqueue(db, other, 5);
  const { rows: waitingThen } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY(${held}::uuid[]) AND state = 'created'`.execute(db.handles.owner);
  await waitFor("the other organisation's jobs completed", async () => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY(${others}::uuid[]) AND state = 'completed'`.execute(db.handles.owner);
    return rows[0]!.n === others.length;
  });
  const { rows: waitingAfter } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pgboss.job WHERE id = ANY(${held}::uuid[]) AND state = 'created'`.execute(db.handles.owner);
  t.ok(waitingAfter[0]!.n > 0, `the other organisation finished while the capped one still had jobs waiting (${waitingAfter[0]!.n})`);
  t.ok(waitingThen[0]!.n > 0);

  let retried = -1;
  await waitFor(
    "all of the capped organisation's jobs completed",
    async () => {
      const { rows } = await sql<{ n: number; retried: number }>`
        SELECT count(*) FILTER (WHERE state = 'completed')::int AS n, count(*) FILTER (WHERE retry_count > 0)::int AS retried
        FROM pgboss.job WHERE id = ANY(${held}::uuid[])`.execute(db.handles.owner);
      retried = rows[0]!.retried;
      return rows[0]!.n === held.length;
    },
    { timeoutMs: 30_000 },
  );
  sampling = false;
  await sampler;
  t.comment(
    `the capped organisation's 60 jobs of 300 ms ran in ${Date.now() - cappedAt} ms from reaching the cap (1,500 ms at 10 at once)`,
  );
  t.equal(retried, 0, "each ran once");
  t.ok(peak <= 10, `at most 10 running at once across both processes (peak ${peak})`);
  t.ok(peak >= 8, `the cap was used, not just respected (peak ${peak})`);
});
