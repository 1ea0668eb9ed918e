import pg from "pg";
import type { PgBoss } from "pg-boss";
import t from "tap";
import { createPool } from "../../core/db/connect.ts";
import { withOrg } from "../../core/db/org-scope.ts";
import { withQueueEngine } from "../../core/jobs/engine.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { notifyChannelSql } from "../../core/jobs/engine.ts";
import { claimAndCompleteSql, QueueStatements, queueTable } from "../../worker/runner/job-sql.ts";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";

const Q = "test-job";

async function stateOf(boss: PgBoss, id: string) {
  const [job] = await boss.findJobs(Q, { id });
  return job!;
}

t.test("the runner's statements keep pg-boss's job model", async (t) => {
  const db = await createTestDatabase(t);
  const org = await createOrganisation(db);
  const pool = createPool(db.url, { max: 3, applicationName: "test", settings: { enable_bitmapscan: "off", enable_seqscan: "off" } });
  t.teardown(() => pool.end());
  const statements = new QueueStatements(Q, await queueTable(pool, Q));

  await withQueueEngine(db.url, async (boss) => {
    const jobs = new JobClient();
    const send = (echo: unknown, priority = 0) =>
      withOrg(db.handles.app, org, (trx) => jobs.enqueue(trx, Q, { echo }, { priority })).then((r) => r.id);

    await t.test("claim: highest priority first, marked active with the organisation and pickup time", async (t) => {
      const low = await send("low");
      const high = await send("high", 5);
      const { claimed } = await statements.claimAndComplete(pool, [], 1);
      t.equal(claimed.length, 1);
      t.equal(claimed[0]!.id, high);
      t.match(claimed[0], { data: { echo: "high" }, retry_count: 0, retry_limit: 2, group_id: org, heartbeat_seconds: 10 });
      t.ok(claimed[0]!.pickup_ms >= 0, "pickup time comes from the database clock");
      const seen = await stateOf(boss, high);
      t.equal(seen.state, "active", "pg-boss sees the claim");
      await statements.claimAndComplete(pool, [{ id: claimed[0]!.id, retry_count: 0, outputJson: '{"done":1}' }], 0);
      t.same((await stateOf(boss, high)).output, { done: 1 });
      t.equal((await stateOf(boss, low)).state, "created", "a limit-0 turn only completes");
      const rest = await statements.claimAndComplete(pool, [], 10);
      t.same(
        rest.claimed.map((c) => c.id),
        [low],
      );
      await statements.claimAndComplete(pool, [{ id: low, retry_count: 0, outputJson: "null" }], 0);
    });

    await t.test("completion is fenced to the attempt that was claimed", async (t) => {
      const id = await send("fenced");
      const { claimed } = await statements.claimAndComplete(pool, [], 1);
      const stale = await statements.claimAndComplete(pool, [{ id, retry_count: claimed[0]!.retry_count + 1, outputJson: '"stale"' }], 0);
      t.notOk(stale.landed(id), "a completion for another attempt does not land");
      t.equal((await stateOf(boss, id)).state, "active");
      const fresh = await statements.claimAndComplete(pool, [{ id, retry_count: claimed[0]!.retry_count, outputJson: '"ok"' }], 0);
      t.ok(fresh.landed(id));
      t.equal((await stateOf(boss, id)).output, "ok", "the result is stored as sent");
    });

    await t.test("failures go through pg-boss: retry with backoff, then the dead-letter queue when exhausted", async (t) => {
      const id = await send("fails");
      const { claimed } = await statements.claimAndComplete(pool, [], 1);
      await boss.fail(Q, { id, retryCount: claimed[0]!.retry_count }, { message: "first" });
      const retrying = await stateOf(boss, id);
      t.equal(retrying.state, "retry");
      t.ok(new Date(retrying.startAfter).getTime() > Date.now() - 1000, "it waits for its retry delay");

      const permanent = await send("permanent");
      const [job] = (await statements.claimAndComplete(pool, [], 10)).claimed.filter((c) => c.id === permanent);
      await statements.exhaustRetries(pool, job!);
      await boss.fail(Q, { id: permanent, retryCount: job!.retry_count }, { message: "cannot work" });
      t.equal((await stateOf(boss, permanent)).state, "failed", "no retries left: failed for good");
      const dead = await boss.findJobs("test-job.dlq", { data: { echo: "permanent" } });
      t.equal(dead.length, 1, "copied to the dead-letter queue");
    });

    await t.test("release hands a running job back; its next claim is a new attempt and fences out the old one", async (t) => {
      const id = await send("released");
      const first = (await statements.claimAndComplete(pool, [], 10)).claimed.find((c) => c.id === id)!;
      t.equal(await statements.release(pool, [first], { message: "shutting down" }), 1);
      const released = await stateOf(boss, id);
      t.equal(released.state, "retry");
      t.same(released.output, { message: "shutting down" });
      const second = (await statements.claimAndComplete(pool, [], 10)).claimed.find((c) => c.id === id)!;
      t.equal(second.retry_count, first.retry_count + 1, "the next claim counts an attempt");
      const late = await statements.claimAndComplete(pool, [{ id, retry_count: first.retry_count, outputJson: '"late"' }], 0);
      t.notOk(late.landed(id), "the released worker's late result cannot land");
      await statements.claimAndComplete(pool, [{ id, retry_count: second.retry_count, outputJson: "null" }], 0);
    });

    await t.test("unclaim puts a job back as if it had not been claimed: no attempt spent", async (t) => {
      const id = await send("unclaimed");
      const first = (await statements.claimAndComplete(pool, [], 10)).claimed.find((c) => c.id === id)!;
      t.equal(first.fresh, true, "a job that never ran is claimed fresh");
      t.equal(await statements.unclaim(pool, [first]), 1);
      const { rows: fresh } = await pool.query("SELECT state, started_on, retry_count FROM pgboss.job WHERE id = $1", [id]);
      t.same(fresh, [{ state: "created", started_on: null, retry_count: 0 }], "created again, never started");

      const second = (await statements.claimAndComplete(pool, [], 10)).claimed.find((c) => c.id === id)!;
      await statements.release(pool, [second], { message: "shutting down" });
      const third = (await statements.claimAndComplete(pool, [], 10)).claimed.find((c) => c.id === id)!;
      t.equal(third.retry_count, 1, "after a real attempt, the next claim counts a retry");
      t.equal(third.fresh, false);
      t.equal(await statements.unclaim(pool, [third], 30), 1);
      const { rows: waiting } = await pool.query(
        "SELECT state, retry_count, start_after > now() + interval '25 seconds' AS later FROM pgboss.job WHERE id = $1",
        [id],
      );
      t.same(waiting, [{ state: "retry", retry_count: 0, later: true }], "back to retry with the count it had, due when asked");
      t.equal(await statements.unclaim(pool, [third]), 0, "an unclaim is fenced to the claim: a second one changes nothing");
      await pool.query("UPDATE pgboss.job SET start_after = now() WHERE id = $1", [id]);
      const fourth = (await statements.claimAndComplete(pool, [], 10)).claimed.find((c) => c.id === id)!;
      t.equal(fourth.retry_count, 1, "the unclaimed claim's attempt is counted once, by the claim that runs it");
      await statements.claimAndComplete(pool, [{ id, retry_count: 1, outputJson: "null" }], 0);
    });

    await t.test("a heartbeat refreshes its jobs, passes over a locked one without waiting, and names the jobs it lost", async (t) => {
      const [a, b, c] = [await send("beat a"), await send("beat b"), await send("beat c")];
      const claimed = (await statements.claimAndComplete(pool, [], 10)).claimed.filter((j) => [a, b, c].includes(j.id));
      t.equal(claimed.length, 3);
      await pool.query("UPDATE pgboss.job SET heartbeat_on = now() - interval '1 hour' WHERE id = ANY($1)", [[a, b, c]]);
      const before = claimed.find((j) => j.id === c)!;
      await statements.release(pool, [before], { message: "another attempt owns it now" });

      // Another transaction holds b's row, as a completion in flight does.
      const locker = new pg.Client({ connectionString: db.url });
      await locker.connect();
      t.teardown(() => locker.end());
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM pgboss.job WHERE id = $1 FOR UPDATE", [b]);
      const lost = await statements.heartbeat(pool, claimed);
      await locker.query("ROLLBACK");

      t.same(lost, [c], "the released job is reported lost; the locked one is not");
      const { rows } = await pool.query<{ id: string; fresh: boolean }>(
        "SELECT id, heartbeat_on > now() - interval '1 minute' AS fresh FROM pgboss.job WHERE id = ANY($1) ORDER BY id",
        [[a, b]],
      );
      t.same(
        Object.fromEntries(rows.map((r) => [r.id, r.fresh])),
        { [a]: true, [b]: false },
        "a is refreshed; b waits for the next heartbeat",
      );
      await statements.claimAndComplete(
        pool,
        claimed.filter((j) => j.id !== c).map((j) => ({ id: j.id, retry_count: j.retry_count, outputJson: "null" })),
        0,
      );
    });
  });
});

t.test("a claim takes organisations in turn, not the oldest jobs first", async (t) => {
  const db = await createTestDatabase(t);
  const pool = createPool(db.url, { max: 2, applicationName: "test", settings: { enable_bitmapscan: "off", enable_seqscan: "off" } });
  t.teardown(() => pool.end());
  const statements = new QueueStatements(Q, await queueTable(pool, Q));
  const jobs = new JobClient();
  // Unequal backlogs, the biggest one oldest: oldest-first would run all of its jobs first.
  const backlog = new Map<string, number>();
  for (const count of [6, 3, 1]) {
    const org = await createOrganisation(db);
    backlog.set(org, count);
    await withOrg(db.handles.app, org, (trx) =>
      jobs.enqueueMany(
        trx,
        Array.from({ length: count }, (_, i) => ({ type: Q, payload: { echo: i } })),
      ),
    );
  }
  const orgs = [...backlog.keys()].sort();

  const share = await statements.claimAndComplete(pool, [], 3);
  t.same(share.claimed.map((c) => c.group_id).sort(), orgs, "a batch of three takes one job of each organisation");
  for (const c of share.claimed) backlog.set(c.group_id!, backlog.get(c.group_id!)! - 1);

  // One job per claim: the turn moves on to the next organisation that has work, wrapping round.
  const expected: string[] = [];
  let at = orgs.indexOf(share.cursor);
  const remaining = new Map(backlog);
  while ([...remaining.values()].some((n) => n > 0)) {
    at = (at - 1 + orgs.length) % orgs.length; // the turn walks organisations in descending order
    const org = orgs[at]!;
    if (remaining.get(org)! === 0) continue;
    remaining.set(org, remaining.get(org)! - 1);
    expected.push(org);
  }
  const order: string[] = [];
  let cursor = share.cursor;
  for (;;) {
    const next = await statements.claimAndComplete(pool, [], 1, cursor);
    if (next.claimed.length === 0) break;
    order.push(next.claimed[0]!.group_id!);
    cursor = next.cursor;
  }
  t.same(order, expected, "round robin over the organisations with waiting jobs");
  t.equal(order.length, 7);
});

t.test("claims walk pg-boss's index even when statistics lag a burst", async (t) => {
  const db = await createTestDatabase(t);
  const client = new pg.Client({ connectionString: db.url, options: "-c enable_bitmapscan=off -c enable_seqscan=off" });
  await client.connect();
  t.teardown(() => client.end());
  await client.query("VACUUM ANALYZE pgboss.job_common"); // statistics of an empty table
  await client.query(
    "INSERT INTO pgboss.job (name, data, group_id, policy) SELECT 'test-job', '{}', gen_random_uuid()::text, 'standard' FROM generate_series(1, 5000)",
  );
  const table = (await client.query<{ table_name: string }>("SELECT table_name FROM pgboss.queue WHERE name = 'test-job'")).rows[0]!
    .table_name;
  const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${claimAndCompleteSql(table, 400)}`, ["test-job", "[]", ""]);
  const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
  t.match(
    plan,
    /Index (Only )?Scan using job_common_name_group_id_priority_created_on_idx/,
    "organisations and their jobs are read from the fair-share index, in order, stopping at the limit",
  );
  t.notMatch(plan, /Seq Scan|Bitmap Heap Scan/, "never a scan of the whole backlog");
});

t.test("our LISTEN channel is the one pg-boss notifies on", async (t) => {
  const db = await createTestDatabase(t);
  const org = await createOrganisation(db);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  t.teardown(() => client.end());
  const channel = (await client.query<{ channel: string }>(`SELECT ${notifyChannelSql()} AS channel`)).rows[0]!.channel;
  await client.query(`LISTEN "${channel}"`);
  const heard = new Promise<string | undefined>((resolve) => client.on("notification", (m) => resolve(m.payload)));
  // pg-boss's own insert, not ours: the channel must be the one pg-boss itself notifies on.
  await withQueueEngine(db.url, (boss) => boss.send(Q, {}, { group: { id: org } }));
  t.equal(await heard, Q, "pg-boss's send announces its queue on our channel");
});
