import { createHash } from "node:crypto";
import { sql } from "kysely";
import t from "tap";
import { withOrg } from "../../core/db/org-scope.ts";
import { flushSentry } from "../../core/observability/sentry.ts";
import { createOrganisation, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { captureLines } from "../helpers/logs.ts";
import { startSentryIngest } from "../helpers/sentry-ingest.ts";
import { waitFor } from "../helpers/wait.ts";
import { startWorkerApp } from "../helpers/worker.ts";

interface JobRow {
  id: string;
  name: string;
  state: string;
  output: Record<string, unknown> | null;
  retry_count: number;
  started_on: Date | null;
  data: Record<string, unknown>;
  group_id: string | null;
  source_id: string | null;
  source_root_id?: string | null;
}

async function job(db: TestDatabase, id: string): Promise<JobRow | undefined> {
  const { rows } =
    await sql<JobRow>`SELECT id, name, state::text, output, retry_count, started_on, data, group_id, source_id FROM pgboss.job WHERE id = ${id}`.execute(
      db.handles.owner,
    );
  return rows[0];
}

function finished(db: TestDatabase, id: string, state: string) {
  return waitFor(`job ${id} to be ${state}`, async () => {
    const row = await job(db, id);
    return row?.state === state ? row : undefined;
  });
}

t.test("the worker runs jobs end to end", async (t) => {
  const db = await createTestDatabase(t);
  const sentry = await startSentryIngest(t);
  const logs = captureLines();
  const app = await startWorkerApp(t, db.url, {
    runJobs: true,
    env: { SENTRY_DSN: sentry.dsn, LOG_LEVEL: "info" },
    logStream: logs.stream,
  });
  const orgId = await createOrganisation(db);
  const enqueue = (payload: Record<string, unknown>) =>
    withOrg(db.handles.app, orgId, (trx) => app.jobs.enqueue(trx, "test-job", payload)).then((r) => r.id);

  await t.test("enqueue → worker → completed with its output", async (t) => {
    const payload = { echo: { hello: "world" } };
    const id = await enqueue(payload);
    const row = await finished(db, id, "completed");
    const { startedAt, finishedAt, pid, ...output } = row.output as { startedAt: number; finishedAt: number; pid: number };
    t.same(output, {
      echo: { hello: "world" },
      sha256: createHash("sha256").update(JSON.stringify(payload)).digest("hex"),
      attempt: 1,
    });
    t.ok(startedAt <= finishedAt && finishedAt <= Date.now(), "with when its handler ran");
    t.equal(pid, process.pid, "and in which process");
    t.equal(row.retry_count, 0, "first attempt");
  });

  await t.test("a job that fails once succeeds on its retry", async (t) => {
    const id = await enqueue({ failOnAttempts: 1 });
    const row = await finished(db, id, "completed");
    t.equal(row.output!.attempt, 2);
  });

  await t.test("retries with backoff, then the dead-letter queue, reported to Sentry", async (t) => {
    const id = await enqueue({ failOnAttempts: 1000, failMessage: "always broken" });
    const attempts: Date[] = [];
    const failed = await waitFor(
      `job ${id} to fail for good`,
      async () => {
        const row = await job(db, id);
        if (row?.started_on && !attempts.some((d) => d.getTime() === row.started_on!.getTime())) attempts.push(row.started_on);
        return row?.state === "failed" ? row : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    t.equal(failed.retry_count, 2, "ran 1 + retryLimit (2) times");
    t.match(failed.output, { message: "always broken", attempt: 3, name: "Error" });
    t.match(String(failed.output!.stack), /test-job\.ts/, "the stack is kept");
    t.equal(attempts.length, 3, "saw three attempts start");
    const gaps = attempts.slice(1).map((d, i) => d.getTime() - attempts[i]!.getTime());
    t.ok(
      gaps.every((gap) => gap >= 900),
      `each retry waited at least the 1 s retry delay (${gaps.join(", ")} ms)`,
    );

    const { rows: dead } =
      await sql<JobRow>`SELECT id, state::text, data, group_id, source_id, source_root_id FROM pgboss.job WHERE name = 'test-job.dlq'`.execute(
        db.handles.owner,
      );
    const copy = dead.find((d) => d.source_id === id);
    t.ok(copy, "a copy is in test-job.dlq");
    t.same(copy!.data, { failOnAttempts: 1000, failMessage: "always broken" });
    t.equal(copy!.group_id, orgId, "the dead-letter copy keeps its organisation");
    t.equal(copy!.source_root_id, id, "its chain starts at the failed job (retries find copies by it)");

    await flushSentry(2000);
    const event = await waitFor("the Sentry event", () => sentry.events.find((e) => e.tags?.job_id === id));
    t.match(event.tags, { queue: "test-job", job_id: id, org_id: orgId });
    t.equal(event.exception?.values[0]?.value, "always broken");
    t.equal(sentry.events.filter((e) => e.tags?.job_id === id).length, 1, "reported once: only the last failure");
  });

  await t.test("credentials quoted in a failure's message reach neither the logs nor Sentry", async (t) => {
    const message =
      "upstream refused postgres://app:not-a-real-password@db.internal/x with Bearer abcdef0123456789xyz (api_key=sk-or-v1-0123456789abcdefghij)";
    const id = await enqueue({ failOnAttempts: 1000, failMessage: message });
    await finished(db, id, "failed");
    await flushSentry(2000);
    const event = await waitFor("the Sentry event", () => sentry.events.find((e) => e.tags?.job_id === id));
    const logged = logs.lines().filter((line) => line.includes(id));
    t.ok(
      logged.some((line) => line.includes("upstream refused")),
      "the failure is logged",
    );
    for (const secret of ["not-a-real-password", "abcdef0123456789xyz", "sk-or-v1-0123456789abcdefghij"]) {
      t.notOk(
        logged.some((line) => line.includes(secret)),
        `${secret} is not in the logs`,
      );
      t.notMatch(JSON.stringify(event), secret, `${secret} is not sent to Sentry`);
    }
  });

  await t.test("a payload written by hand that fails the schema goes straight to the dead-letter queue", async (t) => {
    const { rows } = await sql<{ id: string }>`
      INSERT INTO pgboss.job (name, data, group_id, retry_limit, dead_letter, policy)
      VALUES ('test-job', '{"delayMs": "soon"}', ${orgId}, 2, 'test-job.dlq', 'standard') RETURNING id
    `.execute(db.handles.owner);
    const id = rows[0]!.id;
    await sql`SELECT pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), 'test-job')`.execute(db.handles.owner);
    const row = await finished(db, id, "failed");
    t.equal(row.retry_count, 0, "not retried: another attempt cannot fix the payload");
    t.match(row.output, {
      name: "PermanentJobError",
      message: /payload does not match the test-job schema/,
      details: { problems: [{ field: "payload.delayMs" }] },
    });
  });

  await t.test("crashOnAttempts is refused unless the worker opts in", async (t) => {
    const id = await enqueue({ crashOnAttempts: 1 });
    const row = await finished(db, id, "failed");
    t.match(row.output, { message: /TEST_JOB_CRASH_ENABLED/ });
    t.equal(process.exitCode ?? 0, 0, "this process is still alive");
  });
});

t.test("an idle worker is woken by NOTIFY, not by its poll", async (t) => {
  const db = await createTestDatabase(t);
  // A minute-long backstop poll: only a notification can start these jobs within seconds.
  const app = await startWorkerApp(t, db.url, { runJobs: true, env: { JOB_POLL_INTERVAL_SECONDS: "60" } });
  const orgId = await createOrganisation(db);
  const enqueue = () => withOrg(db.handles.app, orgId, (trx) => app.jobs.enqueue(trx, "test-job", {})).then((r) => r.id);

  const first = await enqueue();
  await waitFor("the job to complete after a NOTIFY", async () => (await job(db, first))?.state === "completed", { timeoutMs: 5000 });
  t.pass("picked up without waiting for the 60 s poll");

  await t.test("after the listening connection is killed, the listener reconnects and wakes the worker again", async (t) => {
    const { rows } = await sql<{ killed: boolean }>`
      SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
      WHERE application_name = 'gpt-platform:worker:listen' AND datname = current_database()
    `.execute(db.handles.owner);
    t.same(rows, [{ killed: true }], "the listener's connection was terminated");
    await waitFor("a new listening connection", async () => {
      const { rows } =
        await sql`SELECT 1 FROM pg_stat_activity WHERE application_name = 'gpt-platform:worker:listen' AND datname = current_database() AND state = 'idle'`.execute(
          db.handles.owner,
        );
      return rows.length === 1;
    });
    const second = await enqueue();
    await waitFor("the next job to complete", async () => (await job(db, second))?.state === "completed", { timeoutMs: 5000 });
    t.pass("notifications flow again");
  });
});
