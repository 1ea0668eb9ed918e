#!/usr/bin/env bash
# Proves a backup restores: restores it into a scratch database, checks it against its manifest,
# reports RTO and RPO, and records the drill in ops.restore_drills.
set -uo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/restore-drill.sh [--dir DIR] [--keep] [BACKUP]

Restores BACKUP (a .dump or its .manifest.json; default: the newest backup in DIR) into a new
scratch database on the same server, then checks, in order:
  1. the dump's sha256 and size against its manifest (before restoring anything);
  2. every table's row count against the manifest (exact: both come from the dump's snapshot);
  3. the migration ledger and pg-boss's queue schema version against the manifest;
  4. a smoke query through the operator views and the application role's grants.
Reports RTO (seconds from starting the restore to a checked database) and RPO (the backup's age),
records the drill in the live database's ops.restore_drills (the dashboard and the drill-age
alert read it), and drops the scratch database.

  --dir DIR   backup directory (default: $BACKUP_DIR, else .data/backups in the checkout)
  --keep      keep the scratch database for inspection (its name is printed)

The live database is $DATABASE_URL (else .env, else the local default); the scratch database is
created beside it, so the connecting role needs CREATEDB. The roles the dump grants to (gpt_app)
must exist on that server, as they do wherever migrations have run.
Exit codes: 0 the drill passed; 1 it failed (the last line says why); 2 bad usage or a missing tool.
EOF_USAGE
}

dir="$(ops_backup_dir)"
keep=false
target=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
    --keep) keep=true; shift ;;
    -*) usage >&2; ops_die 2 "unknown option: $1" ;;
    *) [[ -z "$target" ]] || ops_die 2 "name one backup, not several"; target="$1"; shift ;;
  esac
done
for tool in psql pg_restore; do ops_need "$tool" "Debian package postgresql-client"; done
ops_need sha256sum "coreutils"
ops_need jq "Debian package jq"

if [[ -z "$target" ]]; then
  target="$(ops_newest_manifest "$dir")"
  [[ -n "$target" ]] || ops_die 1 "DRILL FAILED - no backup in $dir to drill; run scripts/backup-database.sh first"
fi
manifest="${target%.dump}"
manifest="${manifest%.manifest.json}.manifest.json"
dump="${manifest%.manifest.json}.dump"
[[ -f "$manifest" ]] || ops_die 2 "no manifest $manifest (a dump without its manifest cannot be checked)"

url="$(ops_database_url)"
ops_hide_password url
scratch="gpt_drill_$(date -u +%Y%m%d%H%M%S)_$$"
scratch_url="$(ops_url_for_database "$url" "$scratch")"
admin_url="$(ops_url_for_database "$url" postgres)"
started_at="$(date -u +%FT%T.%NZ)"
started_ns=$(date +%s%N)
created=false
rto="" rpo="" tables_checked=0 snapshot_at=""

# Every outcome, pass or fail, is recorded in the live database and ends with one status line.
finish() {
  local failure="$1"
  if $created && ! $keep; then
    ops_psql "$admin_url" -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" || ops_log "warning: could not drop the scratch database $scratch"
  fi
  ops_psql "$url" -v file="$(basename "$dump")" -v snapshot="$snapshot_at" -v failure="$failure" -v rto="$rto" -v rpo="$rpo" \
    -v tables="$tables_checked" -v host="$(hostname)" -v started="$started_at" <<'SQL' || ops_log "warning: could not record the drill in ops.restore_drills"
INSERT INTO ops.restore_drills (backup_file, backup_snapshot_at, ok, failure, rto_seconds, rpo_seconds, tables_checked, host, started_at)
VALUES (:'file', nullif(:'snapshot', '')::timestamptz, :'failure' = '', nullif(:'failure', ''), nullif(:'rto', '')::numeric,
        nullif(:'rpo', '')::numeric, :'tables', :'host', :'started')
SQL
  if [[ -n "$failure" ]]; then
    echo "DRILL FAILED - $(basename "$dump"): $failure"
    exit 1
  fi
}
fail() { finish "$1"; }

jq -e '.sha256 and .tables' "$manifest" >/dev/null 2>&1 || fail "the manifest $manifest is not a backup manifest (unreadable JSON or missing sha256/tables)"
snapshot_at="$(jq -r .snapshot_at "$manifest")"
[[ -f "$dump" ]] || fail "the dump $dump is missing"

ops_log "1/4 checking $(basename "$dump") against its manifest (sha256)"
expected_sha="$(jq -r .sha256 "$manifest")"
actual_sha="$(sha256sum "$dump" | cut -d' ' -f1)"
[[ "$actual_sha" == "$expected_sha" ]] ||
  fail "checksum mismatch: the manifest says sha256 $expected_sha but the file is $actual_sha (size $(stat -c %s "$dump"), manifest says $(jq -r .size_bytes "$manifest")); the dump changed or was damaged after the backup. Drill an older backup and take a new one."

ops_log "2/4 restoring into scratch database $scratch"
ops_psql "$admin_url" -c "CREATE DATABASE \"$scratch\"" || fail "could not create the scratch database $scratch (does the role have CREATEDB?)"
created=true
restore_log="$(mktemp)"
pg_restore --exit-on-error --jobs="${DRILL_JOBS:-2}" --dbname="$scratch_url" "$dump" 2>"$restore_log" &
restore_progress() { echo "restoring: $(ops_psql "$scratch_url" -c "SELECT pg_size_pretty(pg_database_size(current_database()))" 2>/dev/null) so far"; }
if ! ops_wait $! restore_progress; then
  reason="$(grep -m1 -E 'error|ERROR' "$restore_log" || head -n1 "$restore_log")"
  rm -f "$restore_log"
  fail "pg_restore failed: ${reason:-no message}"
fi
rm -f "$restore_log"

ops_log "3/4 comparing row counts, migrations and the queue schema with the manifest"
restored_counts="$(ops_psql "$scratch_url" -c "$OPS_ROW_COUNTS_SQL")" || fail "counting rows in the restored database failed"
mismatches="$(jq -r --argjson restored "$restored_counts" '
  .tables as $backup
  | ([$backup | keys[]] + [$restored | keys[]] | unique)[] as $t
  | select($backup[$t] != $restored[$t])
  | "\($t): backup had \($backup[$t] // "no table"), restored \($restored[$t] // "no table")"' "$manifest")"
tables_checked=$(jq 'length' <<<"$restored_counts")
[[ -z "$mismatches" ]] || fail "row counts differ from the manifest: $(paste -sd';' <<<"$mismatches")"

read -r migration pgboss < <(ops_psql "$scratch_url" -F ' ' -c "SELECT (SELECT max(version) FROM ops.schema_migrations), (SELECT max(version) FROM pgboss.version)") ||
  fail "the restored database has no migration ledger or queue schema"
[[ "$migration" == "$(jq -r .migration_version "$manifest")" ]] ||
  fail "migration version is $migration after restore, the manifest says $(jq -r .migration_version "$manifest")"
[[ "$pgboss" == "$(jq -r .pgboss_schema_version "$manifest")" ]] ||
  fail "pg-boss schema version is $pgboss after restore, the manifest says $(jq -r .pgboss_schema_version "$manifest")"
code_version=$(ops_code_migration_version)
if ((migration < code_version)); then
  ops_log "note: the backup is at migration $migration and this code has $code_version; after a real restore run npm run migrate"
fi

ops_log "4/4 smoke query: operator views and the application role"
smoke_log="$(mktemp)"
ops_psql "$scratch_url" <<'SQL' >/dev/null 2>"$smoke_log" || fail "smoke query failed: $(head -n1 "$smoke_log")"
SELECT count(*) FROM app.organisations;
SELECT count(*) FROM ops.queue_depth;
SELECT count(*) FROM ops.queue_stats_24h;
SELECT count(*) FROM ops.job_catalogue;
SET ROLE gpt_app;
SELECT count(*) FROM app.jobs;
SELECT count(*) FROM app.job_refs;
RESET ROLE;
SQL
rm -f "$smoke_log"

rto="$(ops_seconds_since "$started_ns")"
rpo="$(ops_age_seconds "$snapshot_at")"
rows=$(jq '[.[]] | add // 0' <<<"$restored_counts")
$keep && ops_log "kept the scratch database: $(ops_redact_url "$scratch_url")"
finish ""
echo "DRILL OK - $(basename "$dump"): restored and checked in ${rto} s (RTO); backup is $(awk -v s="$rpo" 'BEGIN { printf "%.1f", s / 3600 }') h old (RPO); $tables_checked tables, $rows rows match the manifest"
