import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import t from "tap";
import { createOrganisation, createTestDatabase } from "../helpers/database.ts";
import { runScript } from "../helpers/scripts.ts";
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from "../helpers/test-env.ts";
import { TEST_SESSION_SECRET } from "../helpers/web-process.ts";

const UNREACHABLE = "postgres://postgres@127.0.0.1:1/nowhere";

t.test("monitor-queue: thresholds give Nagios exit codes", async (t) => {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  const env = { DATABASE_URL: db.url };
  const enqueue = (jobs: unknown[]) => sql`SELECT * FROM ops.enqueue_many(${JSON.stringify(jobs)}::jsonb)`.execute(db.handles.owner);

  const idle = await runScript("monitor-queue.sh", [], env);
  t.equal(idle.code, 0);
  t.equal(idle.stdout.trim(), "QUEUE OK - 0 jobs waiting | waiting=0;500;1000 oldest_seconds=0");

  await enqueue(Array.from({ length: 6 }, (_, i) => ({ type: "test-job", org_id: orgId, payload: { echo: i } })));
  // Deferred jobs and dead letters are not backlog.
  await enqueue([{ type: "test-job", org_id: orgId, options: { startAfter: 3600 } }]);
  await sql`INSERT INTO pgboss.job (name, data, group_id) VALUES ('test-job.dlq', '{}', ${orgId})`.execute(db.handles.owner);

  const cases: [string[], number, string][] = [
    [["10", "20"], 0, "OK"],
    [["5", "20"], 1, "WARNING"],
    [["6", "20"], 0, "OK"], // 6 is not above 6
    [["2", "5"], 2, "CRITICAL"],
  ];
  for (const [args, code, status] of cases) {
    const result = await runScript("monitor-queue.sh", args, env);
    t.equal(result.code, code, `${args.join(" ")} → exit ${code}`);
    t.match(
      result.stdout,
      new RegExp(`^QUEUE ${status} - 6 jobs waiting \\(test-job 6\\); oldest waiting \\d+ s \\| waiting=6;${args[0]};${args[1]} `),
    );
  }
  const bad = await runScript("monitor-queue.sh", ["20", "10"], env);
  t.equal(bad.code, 3);
  t.match(bad.stdout, "QUEUE UNKNOWN - the warning threshold (20) is above the critical one (10)");
  const down = await runScript("monitor-queue.sh", [], { DATABASE_URL: UNREACHABLE });
  t.equal(down.code, 3);
  t.match(down.stdout, "QUEUE UNKNOWN - cannot read the queue from postgres://postgres@127.0.0.1:1/nowhere");
});

t.test("check-env: a missing variable fails, naming it", async (t) => {
  const complete = {
    DATABASE_URL: "postgres://app:not-a-real-password@db.internal:5432/gpt",
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    SESSION_SECRET: TEST_SESSION_SECRET,
  };
  const ok = await runScript("check-env.sh", [], complete);
  t.equal(ok.code, 0, ok.stdout);
  t.equal(ok.stdout, "worker: OK\nweb: OK\n");

  const { ENCRYPTION_KEY: _missing, ...withoutKey } = complete;
  const missing = await runScript("check-env.sh", [], { ...withoutKey, PORT: "99999" });
  t.equal(missing.code, 2);
  t.match(missing.stdout, /worker: INVALID[\s\S]*- ENCRYPTION_KEY: is required[\s\S]*- PORT: /);
  t.match(missing.stdout, "web: OK", "each process is judged by its own schema");
  t.notMatch(missing.stdout, "not-a-real-password", "secrets are never echoed");

  const web = await runScript("check-env.sh", ["--process", "web"], { DATABASE_URL: complete.DATABASE_URL, JWT_SECRET: TEST_JWT_SECRET });
  t.equal(web.code, 2);
  t.match(web.stdout, "- SESSION_SECRET: is required");
  t.notMatch(web.stdout, "worker:");
  t.equal((await runScript("check-env.sh", ["--process", "cron"], complete)).code, 64, "an unknown process is a usage error");
});

t.test("check-production-readiness: every check, and what to do when one fails", async (t) => {
  const db = await createTestDatabase(t);
  const dir = mkdtempSync(join(tmpdir(), "gpt-readiness-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    SESSION_SECRET: TEST_SESSION_SECRET,
  };

  const bare = await runScript("check-production-readiness.sh", ["--backup-dir", dir], env);
  t.equal(bare.code, 1);
  t.match(bare.stdout, "[ OK ] configuration  worker and web settings are valid");
  t.match(bare.stdout, /\[ OK \] migrations +all \d+ applied/);
  t.match(bare.stdout, /\[ OK \] pgvector +vector [\d.]+ installed/);
  t.match(bare.stdout, "[FAIL] backups        no verified backup in");
  t.match(bare.stdout, "[WARN] restore drill  none has passed yet: run scripts/restore-drill.sh");
  t.match(bare.stdout, "[FAIL] workers        no worker has sent a heartbeat in 30 s");
  t.match(bare.stdout, /NOT READY - 2 check\(s\) failed, 1 warning\(s\)\n$/);

  // A backup, a passing drill and a live worker make it ready.
  t.equal((await runScript("backup-database.sh", ["--dir", dir], env)).code, 0);
  t.equal((await runScript("restore-drill.sh", ["--dir", dir], env)).code, 0);
  await sql`
    INSERT INTO ops.worker_instances (id, hostname, pid, version, concurrency, job_types)
    VALUES (gen_random_uuid(), 'test-host', 4242, '0.1.0', 10, '{test-job}')`.execute(db.handles.owner);
  const ready = await runScript("check-production-readiness.sh", ["--backup-dir", dir], env);
  t.equal(ready.code, 0, ready.stdout);
  t.match(ready.stdout, "[ OK ] workers        1 worker(s) alive");
  t.match(ready.stdout, /READY - all checks passed\n$/);

  const misconfigured = await runScript("check-production-readiness.sh", ["--backup-dir", dir], { DATABASE_URL: db.url });
  t.equal(misconfigured.code, 1);
  t.match(misconfigured.stdout, "[FAIL] configuration  invalid or missing: ENCRYPTION_KEY, JWT_SECRET, SESSION_SECRET");

  const down = await runScript("check-production-readiness.sh", ["--backup-dir", dir, "--skip-env"], { DATABASE_URL: UNREACHABLE });
  t.equal(down.code, 1);
  t.match(down.stdout, "[FAIL] database       cannot connect to postgres://postgres@127.0.0.1:1/nowhere");
  t.match(down.stdout, "NOT READY - the database is unreachable");
});
