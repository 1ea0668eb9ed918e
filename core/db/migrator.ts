import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";

/**
 * Applies the numbered plain-SQL files in migrations/ in order, each in its own transaction with
 * its ledger row, under an advisory lock so two runners (two replicas releasing at once) apply
 * each file exactly once. Applied files are frozen: a changed checksum stops the run.
 */

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

/** Arbitrary constant shared by every runner; pg_advisory_lock takes a bigint. */
const MIGRATION_LOCK_ID = 7_204_611_903_311n;

/** A file whose first line is this runs outside a transaction (e.g. CREATE INDEX CONCURRENTLY). */
const NO_TRANSACTION_MARKER = "-- migrate:no-transaction";

export interface MigrationFile {
  version: number;
  name: string;
  fileName: string;
  sql: string;
  checksum: string;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt: Date;
  durationMs: number;
}

export interface MigrationStatus {
  applied: AppliedMigration[];
  pending: MigrationFile[];
  /** Applied files whose contents have changed since: a mistake someone must resolve by hand. */
  changed: { file: MigrationFile; applied: AppliedMigration }[];
  /** Versions recorded in the database that have no file here (running older code against a newer database). */
  unknown: AppliedMigration[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

export async function readMigrationFiles(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort();
  const files: MigrationFile[] = [];
  for (const fileName of names) {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(fileName);
    if (!match) {
      throw new MigrationError(
        `migrations/${fileName}: name must look like 0001_short_name.sql (four digits, underscore, lowercase words)`,
      );
    }
    const sql = await readFile(`${dir}/${fileName}`, "utf8");
    files.push({
      version: Number(match[1]),
      name: match[2]!,
      fileName,
      sql,
      checksum: createHash("sha256").update(sql).digest("hex"),
    });
  }
  files.forEach((file, index) => {
    if (file.version !== index + 1) {
      throw new MigrationError(
        `migrations/${file.fileName}: expected version ${String(index + 1).padStart(4, "0")} here; versions must run 0001, 0002, ... without gaps or repeats`,
      );
    }
  });
  return files;
}

const LEDGER_DDL = `
  CREATE SCHEMA IF NOT EXISTS ops;
  CREATE TABLE IF NOT EXISTS ops.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL
  );
  COMMENT ON TABLE ops.schema_migrations IS 'Internal: ledger of applied migrations/ files. Written only by npm run migrate.';
`;

async function readLedger(client: pg.ClientBase): Promise<AppliedMigration[]> {
  const exists = await client.query<{ exists: boolean }>("SELECT to_regclass('ops.schema_migrations') IS NOT NULL AS exists");
  if (!exists.rows[0]?.exists) return [];
  const { rows } = await client.query<{
    version: number;
    name: string;
    checksum: string;
    applied_at: Date;
    duration_ms: number;
  }>("SELECT version, name, checksum, applied_at, duration_ms FROM ops.schema_migrations ORDER BY version");
  return rows.map((r) => ({
    version: r.version,
    name: r.name,
    checksum: r.checksum,
    appliedAt: r.applied_at,
    durationMs: r.duration_ms,
  }));
}

function compare(files: MigrationFile[], applied: AppliedMigration[]): MigrationStatus {
  const byVersion = new Map(applied.map((a) => [a.version, a]));
  const fileVersions = new Set(files.map((f) => f.version));
  return {
    applied,
    pending: files.filter((f) => !byVersion.has(f.version)),
    changed: files.flatMap((file) => {
      const a = byVersion.get(file.version);
      return a && a.checksum !== file.checksum ? [{ file, applied: a }] : [];
    }),
    unknown: applied.filter((a) => !fileVersions.has(a.version)),
  };
}

export async function migrationStatus(url: string, dir?: string): Promise<MigrationStatus> {
  const files = await readMigrationFiles(dir);
  const client = new pg.Client({ connectionString: url, application_name: "gpt-platform:migrate" });
  await client.connect();
  try {
    return compare(files, await readLedger(client));
  } finally {
    await client.end();
  }
}

export interface MigrateOptions {
  dir?: string;
  log?: (line: string) => void;
}

/** Applies every pending migration; returns the files it applied (empty when already current). */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<MigrationFile[]> {
  const log = options.log ?? (() => {});
  const files = await readMigrationFiles(options.dir);
  const client = new pg.Client({ connectionString: url, application_name: "gpt-platform:migrate" });
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [MIGRATION_LOCK_ID.toString()]);
    if (!rows[0]?.locked) {
      log("another migration runner holds the lock; waiting for it to finish");
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_ID.toString()]);
    }
    try {
      await client.query(LEDGER_DDL);
      const status = compare(files, await readLedger(client));
      if (status.changed.length > 0) {
        const list = status.changed.map((c) => `migrations/${c.file.fileName}`).join(", ");
        throw new MigrationError(
          `${list} changed after being applied (checksum differs from the ledger). ` +
            "Applied migrations are frozen: restore the file from git and put the change in a new migration.",
        );
      }
      if (status.unknown.length > 0) {
        const list = status.unknown.map((u) => `${String(u.version).padStart(4, "0")}_${u.name}`).join(", ");
        throw new MigrationError(
          `the database has migrations this code does not know (${list}): it was migrated by newer code. Deploy that code instead.`,
        );
      }
      for (const file of status.pending) {
        log(`applying ${file.fileName}`);
        await applyOne(client, file);
      }
      return status.pending;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_ID.toString()]);
    }
  } finally {
    await client.end();
  }
}

async function applyOne(client: pg.Client, file: MigrationFile): Promise<void> {
  const transactional = !file.sql.startsWith(NO_TRANSACTION_MARKER);
  const started = performance.now();
  try {
    if (transactional) await client.query("BEGIN");
    await client.query(file.sql);
    await client.query("INSERT INTO ops.schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)", [
      file.version,
      file.name,
      file.checksum,
      Math.round(performance.now() - started),
    ]);
    if (transactional) await client.query("COMMIT");
  } catch (error) {
    if (transactional) await client.query("ROLLBACK").catch(() => {});
    const detail = error instanceof Error ? error.message : String(error);
    const position = (error as { position?: string }).position;
    throw new MigrationError(
      `migrations/${file.fileName} failed and was rolled back: ${detail}` +
        (position ? ` (at character ${position})` : "") +
        (transactional ? "" : ". It ran outside a transaction, so check what it left behind before re-running."),
    );
  }
}

/** The newest version applied, or 0: a cheap readiness probe (one indexed row). */
export async function appliedVersion(client: pg.ClientBase | pg.Pool): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>("SELECT max(version) AS version FROM ops.schema_migrations");
  return rows[0]?.version ?? 0;
}
