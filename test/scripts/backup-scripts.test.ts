import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import t, { type Test } from "tap";
import { createOrganisation, createTestDatabase, serverQuery, type TestDatabase } from "../helpers/database.ts";
import { runScript as script, SCRIPTS_DIR } from "../helpers/scripts.ts";

const MIGRATIONS = readdirSync(fileURLToPath(new URL("../../migrations/", import.meta.url))).filter((f) => /^\d{4}_.*\.sql$/.test(f));

function backupDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "gpt-backups-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Manifest = {
  sha256: string;
  size_bytes: number;
  migration_version: number;
  pgboss_schema_version: number;
  tables: Record<string, number>;
  verified: boolean;
};
const manifestOf = (dump: string): Manifest => JSON.parse(readFileSync(dump.replace(/\.dump$/, ".manifest.json"), "utf8")) as Manifest;

async function seeded(t: Test): Promise<{ db: TestDatabase; env: Record<string, string>; orgId: string }> {
  const db = await createTestDatabase(t);
  const orgId = await createOrganisation(db);
  await sql`SELECT * FROM ops.enqueue_many(${JSON.stringify([1, 2, 3].map((n) => ({ type: "test-job", org_id: orgId, payload: { echo: n } })))}::jsonb)`.execute(
    db.handles.owner,
  );
  return { db, env: { DATABASE_URL: db.url }, orgId };
}

async function drills(db: TestDatabase) {
  const { rows } = await sql<{
    ok: boolean;
    failure: string | null;
    rto_seconds: string | null;
    rpo_seconds: string | null;
    tables_checked: number;
  }>`
    SELECT ok, failure, rto_seconds, rpo_seconds, tables_checked FROM ops.restore_drills ORDER BY id
  `.execute(db.handles.owner);
  return rows;
}

t.test("every operator script explains itself with --help", async (t) => {
  for (const name of readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh") && !f.startsWith("install-"))) {
    const result = await script(name, ["--help"]);
    t.equal(result.code, 0, `${name} --help exits 0`);
    t.match(result.stdout, /^Usage: scripts\//, `${name} --help prints its usage`);
    t.match(result.stdout, /Exit codes:/, `${name} --help documents its exit codes`);
  }
});

t.test("backup, then a restore drill of it passes and is recorded", async (t) => {
  const { db, env } = await seeded(t);
  const dir = backupDir(t);

  const backup = await script("backup-database.sh", ["--dir", dir], env);
  t.equal(backup.code, 0, backup.stderr);
  const dump = backup.stdout.trim();
  t.match(dump, new RegExp(`^${dir}/${db.name}-\\d{8}T\\d{6}Z\\.dump$`));
  t.match(backup.stderr, "counting rows in every table (inside the snapshot)", "progress is shown");
  const manifest = manifestOf(dump);
  t.equal(manifest.sha256, createHash("sha256").update(readFileSync(dump)).digest("hex"));
  t.equal(manifest.migration_version, MIGRATIONS.length);
  t.ok(manifest.verified);
  t.match(manifest.tables, {
    "app.organisations": 1,
    "pgboss.job_common": 3,
    "app.job_refs": 3,
    "ops.schema_migrations": MIGRATIONS.length,
  });
  const recorded = await sql<{ file: string; sha256: string }>`SELECT file, sha256 FROM ops.backups`.execute(db.handles.owner);
  t.same(recorded.rows, [{ file: dump.split("/").pop(), sha256: manifest.sha256 }], "recorded for metrics and alerts");

  const drill = await script("restore-drill.sh", ["--dir", dir], env);
  t.equal(drill.code, 0, drill.stdout + drill.stderr);
  t.match(
    drill.stdout,
    /^DRILL OK - .*restored and checked in [\d.]+ s \(RTO\); backup is [\d.]+ h old \(RPO\); \d+ tables, \d+ rows match the manifest$/m,
  );
  t.match(drill.stderr, "4/4 smoke query");
  const [recordedDrill] = await drills(db);
  t.match(recordedDrill, { ok: true, failure: null, tables_checked: Object.keys(manifest.tables).length });
  t.ok(Number(recordedDrill!.rto_seconds) > 0 && recordedDrill!.rpo_seconds !== null, "RTO and RPO are recorded");
  const scratch = await serverQuery<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'gpt_drill_%'");
  t.same(scratch, [], "the scratch database is dropped");

  const kept = await script("restore-drill.sh", ["--keep", dump], env);
  t.equal(kept.code, 0, kept.stdout + kept.stderr);
  const name = /kept the scratch database: \S+\/(gpt_drill_\w+)/.exec(kept.stderr)?.[1];
  t.ok(name, "--keep names the scratch database");
  const orgs = await serverQuery<{ n: number }>(`SELECT count(*)::int AS n FROM pg_database WHERE datname = '${name}'`);
  t.same(orgs, [{ n: 1 }], "--keep keeps it");
  await serverQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

t.test("a drill refuses a damaged backup and says why", async (t) => {
  const { db, env } = await seeded(t);
  const dir = backupDir(t);
  const dump = (await script("backup-database.sh", ["--dir", dir], env)).stdout.trim();

  const bytes = readFileSync(dump);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  writeFileSync(dump, bytes);
  const flipped = await script("restore-drill.sh", ["--dir", dir], env);
  t.equal(flipped.code, 1);
  t.match(flipped.stdout, /DRILL FAILED - .*checksum mismatch: the manifest says sha256 [0-9a-f]{64} but the file is [0-9a-f]{64}/);
  t.match(await drills(db), [{ ok: false, failure: /checksum mismatch/ }], "the failed drill is recorded with its reason");

  // A dump that checks out but does not hold what the manifest promises (here: one organisation, not 5).
  const good = (await script("backup-database.sh", ["--dir", backupDir(t)], env)).stdout.trim();
  const manifestPath = good.replace(/\.dump$/, ".manifest.json");
  const manifest = manifestOf(good);
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, tables: { ...manifest.tables, "app.organisations": 5 } }));
  const counts = await script("restore-drill.sh", [good], env);
  t.equal(counts.code, 1);
  t.match(counts.stdout, "row counts differ from the manifest: app.organisations: backup had 5, restored 1");

  const none = await script("restore-drill.sh", ["--dir", backupDir(t)], env);
  t.equal(none.code, 1);
  t.match(none.stderr, "no backup in");
});

t.test("backups are never overwritten", async (t) => {
  const { db, env } = await seeded(t);
  const dir = backupDir(t);
  // Occupy the names of the next few seconds, so whichever second the backup starts in is taken.
  const now = Date.now();
  const taken = Array.from({ length: 6 }, (_, i) => {
    const stamp = new Date(now + i * 1000)
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const path = join(dir, `${db.name}-${stamp}.dump`);
    writeFileSync(path, "someone else's file");
    return path;
  });
  const result = await script("backup-database.sh", ["--dir", dir], env);
  t.equal(result.code, 1);
  t.match(result.stderr, "already exists; backups are never overwritten");
  t.ok(
    taken.every((path) => readFileSync(path, "utf8") === "someone else's file"),
    "existing files are untouched",
  );
});

t.test("retention keeps the newest N and everything younger than D days", async (t) => {
  const dir = backupDir(t);
  const stampDaysAgo = (days: number) =>
    new Date(Date.now() - days * 86_400_000)
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
  const ages = [0, 2, 35, 40, 41];
  for (const days of ages) {
    writeFileSync(join(dir, `gpt-${stampDaysAgo(days)}.dump`), "x");
    writeFileSync(join(dir, `gpt-${stampDaysAgo(days)}.manifest.json`), "{}");
  }
  const left = () => readdirSync(dir).filter((f) => f.endsWith(".dump")).length;

  const dry = await script("cleanup-old-backups.sh", ["--dir", dir, "--keep-count", "3", "--keep-days", "30", "--dry-run"]);
  t.equal(dry.code, 0);
  t.match(dry.stderr, "dry run: kept 3, would delete 2");
  t.equal(left(), 5, "a dry run deletes nothing");

  const real = await script("cleanup-old-backups.sh", ["--dir", dir, "--keep-count", "3", "--keep-days", "30"]);
  t.equal(real.code, 0, real.stderr);
  t.equal(left(), 3, "the two oldest beyond the newest three went");
  t.notOk(
    readdirSync(dir).some((f) => f.includes(stampDaysAgo(41).slice(0, 8)) && f.endsWith(".manifest.json")),
    "manifests go with their dumps",
  );

  const young = await script("cleanup-old-backups.sh", ["--dir", dir, "--keep-count", "1", "--keep-days", "30"]);
  t.equal(young.code, 0);
  t.equal(left(), 2, "beyond the newest one, only the 35-day-old backup was old enough to go");

  const bad = await script("cleanup-old-backups.sh", ["--dir", dir, "--keep-count", "0"]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, "--keep-count must be a whole number of at least 1");
});

t.test("check-backup-status: Nagios line and exit codes", async (t) => {
  const { env } = await seeded(t);
  const dir = backupDir(t);
  const empty = await script("check-backup-status.sh", ["--dir", dir]);
  t.equal(empty.code, 2);
  t.match(empty.stdout, /^BACKUP CRITICAL - no verified backup in .*; run scripts\/backup-database.sh/);

  await script("backup-database.sh", ["--dir", dir], env);
  const ok = await script("check-backup-status.sh", ["--dir", dir]);
  t.equal(ok.code, 0);
  t.match(ok.stdout, /^BACKUP OK - newest verified backup \S+\.dump is 0\.\d h old \(warn 26 h, crit 48 h\) \| age_hours=0\.\d;26;48$/m);
  t.equal((await script("check-backup-status.sh", ["--dir", dir, "--warn-hours", "0"])).code, 1, "WARNING past the warning age");
  t.equal(
    (await script("check-backup-status.sh", ["--dir", dir, "--warn-hours", "0", "--crit-hours", "0"])).code,
    2,
    "CRITICAL past the critical age",
  );
  t.equal((await script("check-backup-status.sh", ["--dir", dir, "--warn-hours", "soon"])).code, 3, "UNKNOWN for bad usage");
});

t.test("the cron wrapper logs each run and never runs two at once", async (t) => {
  const { env } = await seeded(t);
  const dir = backupDir(t);
  const first = await script("backup-database-cron.sh", ["--dir", dir], env);
  t.equal(first.code, 0, readFileSync(join(dir, "backup.log"), "utf8"));
  t.match(readFileSync(join(dir, "backup.log"), "utf8"), /backup started[\s\S]*done: \S+\.dump[\s\S]*backup finished: ok \(exit 0\)/);

  // Another run holds the lock: this one must step aside at once.
  // One process holding the lock (exec keeps the descriptor), so killing it releases the lock.
  const holder = spawn("bash", ["-c", 'exec 9>"$0"; flock 9; exec sleep 30', join(dir, ".backup.lock")]);
  t.teardown(() => void holder.kill());
  await new Promise((r) => setTimeout(r, 300));
  const second = await script("backup-database-cron.sh", ["--dir", dir], env);
  t.equal(second.code, 4);
  t.match(second.stderr, "another backup is still running");
  t.match(readFileSync(join(dir, "backup.log"), "utf8"), "skipped: another backup still holds");

  const failing = await script("backup-database-cron.sh", ["--dir", dir], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere" });
  t.equal(failing.code, 4, "still locked");
  holder.kill();
  await new Promise((r) => holder.once("exit", r));
  const unreachable = await script("backup-database-cron.sh", ["--dir", dir], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere" });
  t.equal(unreachable.code, 1);
  t.match(
    readFileSync(join(dir, "backup.log"), "utf8"),
    /cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere[\s\S]*backup finished: FAILED/,
  );
  t.ok(existsSync(join(dir, "backup.log")));
});

t.test("backups and drills never put the database password on a command line", async (t) => {
  const { db } = await seeded(t);
  const dir = backupDir(t);
  // The local server trusts its clients, so any password connects: this one only has to stay secret.
  const password = "S3cret:pa55\\word@home";
  const url = new URL(db.url);
  url.password = encodeURIComponent(password);
  // Shims record what every PostgreSQL client was started with, then run the real one.
  const shims = mkdtempSync(join(tmpdir(), "gpt-shims-"));
  t.teardown(() => rmSync(shims, { recursive: true, force: true }));
  const calls = join(shims, "calls.log");
  for (const tool of ["psql", "pg_dump", "pg_restore"]) {
    const real = await new Promise<string>((resolve) =>
      spawn("bash", ["-c", `command -v ${tool}`]).stdout.on("data", (d: Buffer) => resolve(d.toString().trim())),
    );
    writeFileSync(
      join(shims, tool),
      `#!/usr/bin/env bash\nprintf '%s PGPASSFILE=%s\\n' "${tool} $*" "$PGPASSFILE" >>"${calls}"\nexec "${real}" "$@"\n`,
      { mode: 0o755 },
    );
  }
  const env = { DATABASE_URL: url.toString(), PATH: `${shims}:${process.env.PATH}` };

  const backup = await script("backup-database.sh", ["--dir", dir], env);
  t.equal(backup.code, 0, backup.stderr);
  const drill = await script("restore-drill.sh", [backup.stdout.trim()], env);
  t.equal(drill.code, 0, drill.stderr);
  const log = readFileSync(calls, "utf8");
  t.ok(log.split("\n").filter(Boolean).length >= 5, "the clients ran through the shims");
  t.notMatch(log, "S3cret", "no command line carries the password");
  t.notMatch(backup.stderr + drill.stderr, "S3cret", "nor does anything the scripts print");
  const passfiles = [...new Set([...log.matchAll(/PGPASSFILE=(\S+)/g)].map((m) => m[1]!))];
  t.ok(passfiles.length > 0, "the password went through a password file");
  t.notOk(
    passfiles.some((file) => existsSync(file)),
    "which is gone when the script ends",
  );
});
