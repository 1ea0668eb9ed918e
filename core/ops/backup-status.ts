import type { Kysely } from "kysely";
import type { DB } from "../db/types.ts";

/** What scripts/backup-database.sh and scripts/restore-drill.sh last recorded (ops.backup_status). */
export interface BackupStatus {
  /** Snapshot time of the newest backup: what a restore would bring back. */
  lastBackupAt: Date | null;
  /** When the newest successful restore drill finished. */
  lastOkDrillAt: Date | null;
  lastDrill: {
    backupFile: string;
    ok: boolean;
    failure: string | null;
    rtoSeconds: number | null;
    rpoSeconds: number | null;
    finishedAt: Date;
  } | null;
}

interface DrillRow {
  backup_file: string;
  ok: boolean;
  failure: string | null;
  rto_seconds: number | string | null;
  rpo_seconds: number | string | null;
  finished_at: string;
}

const asNumber = (value: number | string | null) => (value === null ? null : Number(value));

/** Platform-wide, no tenant data: readable by the app role, shown on every dashboard and in metrics. */
export async function backupStatusRead(db: Kysely<DB>): Promise<BackupStatus> {
  const row = await db.selectFrom("ops.backup_status").selectAll().executeTakeFirst();
  const drill = (row?.last_drill ?? null) as DrillRow | null;
  return {
    lastBackupAt: row?.last_backup_at ?? null,
    lastOkDrillAt: row?.last_ok_drill_at ?? null,
    lastDrill: drill && {
      backupFile: drill.backup_file,
      ok: drill.ok,
      failure: drill.failure,
      rtoSeconds: asNumber(drill.rto_seconds),
      rpoSeconds: asNumber(drill.rpo_seconds),
      finishedAt: new Date(drill.finished_at),
    },
  };
}
