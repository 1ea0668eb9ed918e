import { sql } from "kysely";
import t, { type Test } from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { spawnWorker } from "../helpers/worker-process.ts";

interface JobRow {
  id: string;
  state: string;
  retry_count: number;
  started_on: Date | null;
  output: { startedAt?: number; finishedAt?: number; attempt?: number } | null;
}

/** Sends `payloads` in one transaction, so a worker started afterwards finds them all waiting. */
async function enqueueAll(db: TestDatabase, orgId: string, payloads: Record<string, unknown>[]): Promise<string[]> {
  const results = await withOrg(db.handles.app, orgId, (trx) =>
    new JobClient().enqueueMany(
      trx,
      payloads.map((payload) => ({ type: "test-job", payload })),
    ),
  );
  return results.map((r) => r.id);
}

async function jobs(db: TestDatabase, ids: readonly string[]): Promise<JobRow[]> {
  const { rows } = await sql<JobRow>`
    SELECT id, state::text, retry_count, started_on, output FROM pgboss.job WHERE id = ANY(${[...ids]}::uuid[])
  `.execute(db.handles.owner);
  return rows;
}

async function setup(t: Test) {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  return { db, orgId };
}

t.test("a finished job is completed while the jobs claimed with it still run", async (t) => {
  const { db, orgId } = await setup(t);
  const [fast, ...slow] = await enqueueAll(db, orgId, [{ echo: "fast" }, ...Array.from({ length: 5 }, () => ({ delayMs: 4000 }))]);
  // 8 slots: a new runner's first claim asks for its free slots rounded down to a power of two,
  // so all six come in that one claim.
  const worker = spawnWorker(t, db, { JOB_CONCURRENCY: "8" });
  await worker.ready();
  const rows = await waitFor("the fast job completed", async () => {
    const rows = await jobs(db, [fast!, ...slow]);
    return rows.find((r) => r.id === fast)?.state === "completed" ? rows : undefined;
  });
  const slowRows = rows.filter((r) => r.id !== fast);
  t.same(
    slowRows.map((r) => r.state),
    ["active", "active", "active", "active", "active"],
    "its batch-mates are still running",
  );
  const claimedAt = new Set(rows.map((r) => r.started_on!.getTime()));
  t.equal(claimedAt.size, 1, "all six were claimed by the same statement");
});

t.test("JOB_CONCURRENCY is the number of handlers of a job type running at once in a process", async (t) => {
  const { db, orgId } = await setup(t);
  const ids = await enqueueAll(
    db,
    orgId,
    Array.from({ length: 24 }, () => ({ delayMs: 250 })),
  );
  const worker = spawnWorker(t, db, { JOB_CONCURRENCY: "4", JOB_FETCH_LOOPS: "4" });
  await worker.ready();
  const rows = await waitFor("all jobs completed", async () => {
    const rows = await jobs(db, ids);
    return rows.every((r) => r.state === "completed") ? rows : undefined;
  });
  // Handlers at once, from each attempt's own start and end.
  const edges = rows.flatMap((r) => [
    { at: r.output!.startedAt!, delta: 1 },
    { at: r.output!.finishedAt!, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let running = 0;
  let most = 0;
  for (const edge of edges) {
    running += edge.delta;
    most = Math.max(most, running);
  }
  t.equal(most, 4, "never more than 4 at once, and all 4 slots were used");
});

t.test("after a SIGKILL only the jobs that had not finished run again", async (t) => {
  const { db, orgId } = await setup(t);
  const ids = await enqueueAll(
    db,
    orgId,
    Array.from({ length: 60 }, () => ({ delayMs: 300 })),
  );
  const first = spawnWorker(t, db, { JOB_CONCURRENCY: "4" });
  await first.ready();
  await waitFor("a third of the jobs completed", async () => {
    const rows = await jobs(db, ids);
    return rows.filter((r) => r.state === "completed").length >= 20;
  });
  first.child.kill("SIGKILL");
  await first.exited;
  const atKill = await jobs(db, ids);
  const held = atKill.filter((r) => r.state === "active").length;
  t.ok(held <= 6, `the dead worker held ${held} jobs: its 4 slots and what they would start within 100 ms, not a batch`);

  const second = spawnWorker(t, db, { JOB_CONCURRENCY: "4" });
  await second.ready();
  const rows = await waitFor(
    "every job completed",
    async () => {
      const rows = await jobs(db, ids);
      return rows.every((r) => r.state === "completed") ? rows : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const rerun = rows.filter((r) => r.retry_count > 0).length;
  t.equal(rerun, held, "exactly the jobs the dead worker held ran again");
  t.ok(rerun <= 6, `${rerun} of 60 ran twice`);
});

t.test("a stopping worker hands the jobs it had not started back without spending an attempt", async (t) => {
  const { db, orgId } = await setup(t);
  // Short jobs teach the runner to prefetch; the long one then keeps it stopping while others wait.
  const warmup = await enqueueAll(
    db,
    orgId,
    Array.from({ length: 40 }, () => ({ echo: "warm-up" })),
  );
  const worker = spawnWorker(t, db, { JOB_CONCURRENCY: "1", SHUTDOWN_TIMEOUT_SECONDS: "20" });
  await worker.ready();
  await waitFor("the warm-up completed", async () => (await jobs(db, warmup)).every((r) => r.state === "completed"));
  const [long] = await enqueueAll(db, orgId, [{ delayMs: 1500 }]);
  await waitFor("the long job running", async () => (await jobs(db, [long!]))[0]!.state === "active");
  const rest = await enqueueAll(
    db,
    orgId,
    Array.from({ length: 5 }, () => ({ echo: "queued" })),
  );
  await waitFor("the others claimed, waiting for the slot", async () => (await jobs(db, rest)).every((r) => r.state === "active"));
  worker.child.kill("SIGTERM");
  const exit = await worker.exited;
  t.equal(exit.code, 0, `the worker stopped cleanly (its last output: ${exit.code === 0 ? "" : worker.output().slice(-4000)})`);
  const after = await jobs(db, [long!, ...rest]);
  t.equal(after.find((r) => r.id === long)!.state, "completed", "the running job finished");
  t.same(
    after.filter((r) => r.id !== long).map((r) => ({ state: r.state, retry_count: r.retry_count, started_on: r.started_on })),
    Array.from({ length: 5 }, () => ({ state: "created", retry_count: 0, started_on: null })),
    "the five that were waiting for the slot are waiting in the queue again, never started",
  );
  t.match(worker.output(), /handed 5 claimed jobs that had not started back to the queue/);
});

t.test("one organisation's backlog does not delay another's job (fair claim)", async (t) => {
  const { db, orgId: noisy } = await setup(t);
  const quiet = await createOrganisation(db);
  const backlog = await enqueueAll(
    db,
    noisy,
    Array.from({ length: 3000 }, () => ({ delayMs: 5 })),
  );
  const worker = spawnWorker(t, db, { JOB_CONCURRENCY: "10" });
  await worker.ready();
  await waitFor("the noisy backlog being worked", async () => {
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job WHERE state = 'completed'`.execute(db.handles.owner);
    return Number(rows[0]!.n) > 50;
  });
  const [quietJob] = await enqueueAll(db, quiet, [{ echo: "quiet" }]);
  await waitFor("the quiet job completed", async () => (await jobs(db, [quietJob!]))[0]!.state === "completed");
  const waiting = (await jobs(db, backlog)).filter((r) => r.state === "created").length;
  t.ok(waiting > 1000, `the quiet job ran while ${waiting} of the noisy organisation's 3,000 older jobs were still waiting`);
});

t.test("a slow job type holds what its slots run, however many jobs are queued meanwhile", async (t) => {
  const { db, orgId } = await setup(t);
  const worker = spawnWorker(t, db, { JOB_CONCURRENCY: "2" });
  await worker.ready();
  const first = await enqueueAll(db, orgId, [{ delayMs: 3000 }, { delayMs: 3000 }]);
  await waitFor("both slots busy", async () => (await jobs(db, first)).every((r) => r.state === "active"));
  // Each enqueue is a transaction of its own, so each sends a NOTIFY to the busy worker.
  const more: string[] = [];
  for (let i = 0; i < 10; i++) more.push(...(await enqueueAll(db, orgId, [{ delayMs: 3000 }])));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const active = (await jobs(db, [...first, ...more])).filter((r) => r.state === "active").length;
  t.equal(active, 2, "only the two running jobs are claimed; the ten new ones wait for other workers or a free slot");
});
