import { mkdtemp, writeFile, readFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import pg from "pg";
import t from "tap";
import { MigrationError, migrate, migrationStatus, MIGRATIONS_DIR, readMigrationFiles } from "../../core/db/migrator.ts";
import { releaseDatabase } from "../../core/ops/release.ts";
import { withQueueEngine } from "../../core/jobs/engine.ts";
import { runCodegen } from "../../scripts/lib/codegen.ts";
import { createEmptyDatabase } from "../helpers/database.ts";

async function query<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

t.test("release applies everything to an empty database, then again as a no-op", async (t) => {
  const db = await createEmptyDatabase(t);
  const files = await readMigrationFiles();
  const lines: string[] = [];
  await releaseDatabase(db.url, (line) => lines.push(line));
  t.ok(
    lines.some((l) => l === `migrations: applied ${files.length}`),
    "all migrations applied",
  );

  const ledger = await query<{ version: number }>(db.url, "SELECT version FROM ops.schema_migrations ORDER BY version");
  t.same(
    ledger.map((r) => r.version),
    files.map((f) => f.version),
  );
  const queues = await query<{ name: string }>(db.url, "SELECT name FROM pgboss.queue ORDER BY name");
  t.same(
    queues.map((q) => q.name),
    ["test-job", "test-job.dlq", "test-upstream-call", "test-upstream-call.dlq"],
    "catalogue queues exist",
  );
  const extensions = await query<{ extname: string }>(
    db.url,
    "SELECT extname FROM pg_extension WHERE extname IN ('vector','pg_trgm') ORDER BY 1",
  );
  t.same(
    extensions.map((e) => e.extname),
    ["pg_trgm", "vector"],
  );

  const again: string[] = [];
  await releaseDatabase(db.url, (line) => again.push(line));
  t.ok(again.includes("migrations: already current"), "second run is a no-op");
  const status = await migrationStatus(db.url);
  t.equal(status.pending.length, 0);
  t.equal(status.changed.length, 0);
});

/** An empty database with only pg-boss's schema, which our migrations build on. */
async function withEngineOnly(t: Parameters<typeof createEmptyDatabase>[0]) {
  const db = await createEmptyDatabase(t);
  await withQueueEngine(db.url, async () => {});
  return db;
}

t.test("two runners at once apply each migration exactly once", async (t) => {
  const db = await withEngineOnly(t);
  const waits: string[] = [];
  const [a, b] = await Promise.all([migrate(db.url, { log: (l) => waits.push(l) }), migrate(db.url, { log: (l) => waits.push(l) })]);
  const files = await readMigrationFiles();
  t.equal(a.length + b.length, files.length, "between them they applied each file once");
  t.ok(a.length === 0 || b.length === 0, "one runner did all the work, the other found nothing pending");
  const rows = await query<{ count: string }>(db.url, "SELECT count(*) FROM ops.schema_migrations");
  t.equal(Number(rows[0]!.count), files.length);
});

t.test("an applied migration that changed is refused", async (t) => {
  const db = await withEngineOnly(t);
  const dir = await mkdtemp(`${tmpdir()}/migrations-`);
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  await migrate(db.url, { dir });
  const first = (await readMigrationFiles(dir))[0]!;
  await writeFile(`${dir}/${first.fileName}`, `${await readFile(`${dir}/${first.fileName}`, "utf8")}\n-- edited\n`);
  await t.rejects(migrate(db.url, { dir }), { name: "MigrationError", message: /0001_\w+\.sql changed after being applied/ });
  const status = await migrationStatus(db.url, dir);
  t.same(
    status.changed.map((c) => c.file.version),
    [1],
  );
});

t.test("migration files must be numbered without gaps", async (t) => {
  const dir = await mkdtemp(`${tmpdir()}/migrations-`);
  await writeFile(`${dir}/0001_first.sql`, "SELECT 1;");
  await writeFile(`${dir}/0003_third.sql`, "SELECT 1;");
  await t.rejects(readMigrationFiles(dir), MigrationError);
  await t.rejects(readMigrationFiles(dir), { message: /0003_third\.sql: expected version 0002/ });
});

t.test("a failing migration rolls back and names the file", async (t) => {
  const db = await createEmptyDatabase(t);
  const dir = await mkdtemp(`${tmpdir()}/migrations-`);
  await writeFile(`${dir}/0001_ok.sql`, "CREATE SCHEMA IF NOT EXISTS ops; CREATE TABLE ops.t1 (id int);");
  await writeFile(`${dir}/0002_broken.sql`, "CREATE TABLE ops.t2 (id int); SELECT * FROM no_such_table;");
  await t.rejects(migrate(db.url, { dir }), {
    message: /0002_broken\.sql failed and was rolled back: relation "no_such_table" does not exist/,
  });
  const tables = await query<{ t2: string | null }>(db.url, "SELECT to_regclass('ops.t2')::text AS t2");
  t.equal(tables[0]!.t2, null, "the failed file's statements were rolled back");
  const status = await migrationStatus(db.url, dir);
  t.same(
    status.applied.map((a) => a.version),
    [1],
  );
  t.same(
    status.pending.map((p) => p.version),
    [2],
  );
});

t.test("the committed Kysely types match what the migrations produce", async (t) => {
  const db = await createEmptyDatabase(t);
  await releaseDatabase(db.url, () => {});
  const result = await runCodegen(db.url, { verify: true });
  t.ok(result.ok, `core/db/types.ts is current (run npm run db:codegen if not): ${result.output}`);
});
