-- 0008: what the backup scripts and restore drills did, where the worker's metrics, alert rules
-- and the dashboard can see it. scripts/backup-database.sh writes ops.backups after a backup is
-- verified; scripts/restore-drill.sh writes ops.restore_drills after every drill, failed or not.

CREATE TABLE ops.backups (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  file text NOT NULL,                   -- the dump's file name (in BACKUP_DIR on the host that made it)
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes bigint NOT NULL,
  snapshot_at timestamptz NOT NULL,     -- the instant the dump is consistent to: what a restore gets back
  duration_seconds numeric NOT NULL,
  host text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX backups_snapshot_idx ON ops.backups (snapshot_at DESC);

CREATE TABLE ops.restore_drills (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  backup_file text NOT NULL,
  backup_snapshot_at timestamptz,
  ok boolean NOT NULL,
  failure text,                         -- why it failed, in words; NULL when ok
  rto_seconds numeric,                  -- seconds from starting the restore to a checked database
  rpo_seconds numeric,                  -- age of the backup when the drill ran: data a restore would lose
  tables_checked integer NOT NULL DEFAULT 0,
  host text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  CHECK (ok = (failure IS NULL))
);
CREATE INDEX restore_drills_finished_idx ON ops.restore_drills (finished_at DESC);

-- The newest backup and the newest successful drill, for metrics and the dashboard.
CREATE VIEW ops.backup_status AS
SELECT
  (SELECT max(snapshot_at) FROM ops.backups) AS last_backup_at,
  (SELECT max(finished_at) FROM ops.restore_drills WHERE ok) AS last_ok_drill_at,
  (SELECT row_to_json(d) FROM (SELECT backup_file, ok, failure, rto_seconds, rpo_seconds, finished_at
                                FROM ops.restore_drills ORDER BY finished_at DESC LIMIT 1) d) AS last_drill;

-- The worker's metrics read this as gpt_app; it carries no tenant data.
GRANT SELECT ON ops.backup_status, ops.backups, ops.restore_drills TO gpt_app;
