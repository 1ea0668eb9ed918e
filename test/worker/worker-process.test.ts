import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import t, { type Test } from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { JobClient } from "../../core/jobs/enqueue.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { spawnWorker } from "../helpers/worker-process.ts";

interface JobRow {
  state: string;
  output: { attempt?: number; message?: string } | null;
  retry_count: number;
}

async function setup(t: Test) {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const enqueue = (payload: Record<string, unknown>) =>
    withOrg(db.handles.app, orgId, (trx) => new JobClient().enqueue(trx, "test-job", payload)).then((r) => r.id);
  return { db, orgId, enqueue };
}

async function jobState(db: TestDatabase, id: string): Promise<JobRow | undefined> {
  const { rows } = await sql<JobRow>`SELECT state::text, output, retry_count FROM pgboss.job WHERE id = ${id}`.execute(db.handles.owner);
  return rows[0];
}

const inState = (db: TestDatabase, id: string, state: string, timeoutMs = 20_000) =>
  waitFor(
    `job ${id} in state ${state}`,
    async () => {
      const row = await jobState(db, id);
      return row?.state === state ? row : undefined;
    },
    { timeoutMs },
  );

/**
 * A job is 'active' from the moment its claim commits, a moment before the worker reads the claim
 * and starts the handler; a stop in between hands the job back unstarted (runner-completion.test.ts).
 * These tests are about jobs whose handler runs.
 */
const handlerStarted = () => sleep(500);

t.test("a worker killed with SIGKILL mid-job: the job completes on another worker, once", async (t) => {
  const { db, enqueue } = await setup(t);
  const first = spawnWorker(t, db);
  await first.ready();
  const id = await enqueue({ echo: "survivor", delayMs: 60_000, delayOnAttempts: 1 });
  await inState(db, id, "active");

  first.child.kill("SIGKILL");
  t.same(await first.exited, { code: null, signal: "SIGKILL" });

  const second = spawnWorker(t, db);
  await second.ready();
  // The dead worker's heartbeat goes stale after 10 s; supervision (every 1 s here) then retries the job.
  const row = await inState(db, id, "completed", 45_000);
  t.equal(row.output?.attempt, 2, "completed by the second attempt");
  t.equal(row.retry_count, 1);
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job WHERE id = ${id} OR source_id = ${id}`.execute(
    db.handles.owner,
  );
  t.equal(Number(rows[0]!.n), 1, "one job row, no dead-letter copy: nothing lost, nothing duplicated");
  await second.child.kill("SIGTERM");
  t.equal((await second.exited).code, 0);
  const { rows: rollup } = await sql<{
    completed: string;
  }>`SELECT sum(completed_count) AS completed FROM ops.job_rollup_minute WHERE queue = 'test-job'`.execute(db.handles.owner);
  t.equal(Number(rollup[0]!.completed), 1, "the result was recorded once");
});

t.test("the crash knob kills the worker when enabled; the job still completes", async (t) => {
  const { db, enqueue } = await setup(t);
  const crashing = spawnWorker(t, db, { TEST_JOB_CRASH_ENABLED: "true" });
  await crashing.ready();
  const id = await enqueue({ crashOnAttempts: 1, echo: "phoenix" });
  t.equal((await crashing.exited).signal, "SIGKILL", "the worker process died hard");
  const next = spawnWorker(t, db);
  await next.ready();
  const row = await inState(db, id, "completed", 45_000);
  t.equal(row.output?.attempt, 2);
});

t.test("SIGTERM drains: running jobs finish, then the process exits 0", async (t) => {
  const { db, enqueue } = await setup(t);
  const worker = spawnWorker(t, db, { SHUTDOWN_TIMEOUT_SECONDS: "20" });
  await worker.ready();
  const id = await enqueue({ delayMs: 1500 });
  await inState(db, id, "active");
  await handlerStarted();
  worker.child.kill("SIGTERM");
  const exit = await worker.exited;
  t.equal(exit.code, 0, "clean exit");
  const row = await jobState(db, id);
  t.equal(row?.state, "completed", "the in-flight job finished before the process exited");
  t.match(worker.output(), /stopping: no new jobs; waiting for running jobs to finish/);
  const { rows } = await sql<{
    stopped: boolean;
  }>`SELECT stopped_at IS NOT NULL AS stopped FROM ops.worker_instances WHERE pid = ${worker.child.pid!}`.execute(db.handles.owner);
  t.same(rows, [{ stopped: true }], "the worker marked itself stopped");
});

t.test("past SHUTDOWN_TIMEOUT_SECONDS unfinished jobs go back to the queue, not lost", async (t) => {
  const { db, enqueue } = await setup(t);
  const worker = spawnWorker(t, db, { SHUTDOWN_TIMEOUT_SECONDS: "1" });
  await worker.ready();
  const id = await enqueue({ delayMs: 60_000, delayOnAttempts: 1 });
  await inState(db, id, "active");
  await handlerStarted();
  const stopping = Date.now();
  worker.child.kill("SIGTERM");
  t.equal((await worker.exited).code, 0);
  t.ok(Date.now() - stopping < 10_000, "it did not wait for the job");
  t.match(worker.output(), /shutdown deadline passed/);
  const row = await jobState(db, id);
  t.equal(row?.state, "retry", "the job waits for another worker");

  const next = spawnWorker(t, db);
  await next.ready();
  const done = await inState(db, id, "completed");
  t.equal(done.output?.attempt, 2);
});

t.test("a bad configuration exits 2 and lists every problem", async (t) => {
  const { db } = await setup(t);
  const worker = spawnWorker(t, db, { JWT_SECRET: "short", JOB_CONCURRENCY: "many" });
  t.equal((await worker.exited).code, 2);
  t.match(worker.output(), /JWT_SECRET: must be at least 32 characters/);
  t.match(worker.output(), /JOB_CONCURRENCY: must be a whole number/);
  t.notMatch(worker.output(), /short/, "the bad secret is not printed");
});
