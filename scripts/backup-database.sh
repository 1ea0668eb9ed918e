#!/usr/bin/env bash
# Backs up the whole database (tenant data, ops tables and pg-boss's queue schema) with pg_dump's
# custom format, verifies the file can be read back, and writes a manifest beside it.
set -euo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF'
Usage: scripts/backup-database.sh [--dir DIR] [--keep-count N] [--keep-days D]

Writes DIR/<database>-<UTC time>.dump (pg_dump -Fc of the whole database, queue schema included)
and DIR/<same>.manifest.json: sha256 and size of the dump, server and pg_dump versions, the
migration and pg-boss schema versions, and the exact row count of every table, all taken from
the one snapshot the dump is consistent to. The dump is checked with pg_restore --list before it
is kept, and recorded in the database's ops.backups table (read by metrics and alerts).

  --dir DIR        where backups go (default: $BACKUP_DIR, else .data/backups in the checkout)
  --keep-count N   afterwards, apply retention (scripts/cleanup-old-backups.sh) keeping the
  --keep-days D    newest N backups and anything younger than D days

The database is $DATABASE_URL (else .env, else the local default). An existing file is never
overwritten. Prints the dump's path on stdout; progress goes to stderr.
Exit codes: 0 backed up; 1 the backup failed (nothing kept); 2 bad usage or a missing tool.
EOF
}

dir="$(ops_backup_dir)"
cleanup_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
    --keep-count | --keep-days) cleanup_args+=("$1" "${2:?$1 needs a number}"); shift 2 ;;
    *) usage >&2; ops_die 2 "unknown argument: $1" ;;
  esac
done

for tool in psql pg_dump pg_restore; do ops_need "$tool" "Debian package postgresql-client, the server's major version or newer"; done
ops_need sha256sum "coreutils"
ops_need jq "Debian package jq"

url="$(ops_database_url)"
ops_hide_password url
mkdir -p "$dir"
chmod 700 "$dir"
started_ns=$(date +%s%N)
database="$(ops_psql "$url" -c 'SELECT current_database()')" ||
  ops_die 1 "cannot connect to $(ops_redact_url "$url"); is the database up and DATABASE_URL right?"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
base="$dir/$database-$stamp"
dump="$base.dump"
manifest="$base.manifest.json"
partial="$base.partial"
if [[ -e "$dump" || -e "$manifest" ]]; then
  ops_die 1 "$dump already exists; backups are never overwritten (wait a second and run again)"
fi

cleanup() {
  ops_cleanup
  rm -f "$partial" "$partial.manifest"
  if [[ -n "${COPROC_PID:-}" ]]; then kill "$COPROC_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# One read-only transaction holds the snapshot: pg_dump dumps exactly it, and the manifest's
# facts and row counts are read inside it, so a drill can demand exact equality.
ops_log "opening a snapshot of $database on $(ops_redact_url "$url")"
coproc PGSNAP { ops_psql "$url" 2>&1; }
COPROC_PID=$PGSNAP_PID
echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();" >&"${PGSNAP[1]}"
read -r -t 30 snapshot <&"${PGSNAP[0]}" || ops_die 1 "could not open a snapshot (no answer from psql)"
[[ "$snapshot" =~ ^[0-9A-F-]+$ ]] || ops_die 1 "could not open a snapshot: $snapshot"

ops_log "counting rows in every table (inside the snapshot)"
cat >&"${PGSNAP[1]}" <<SQL
SELECT json_build_object(
  'snapshot_at', to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  'database', current_database(),
  'server_version', current_setting('server_version'),
  'migration_version', (SELECT max(version) FROM ops.schema_migrations),
  'pgboss_schema_version', (SELECT max(version) FROM pgboss.version),
  'tables', ($OPS_ROW_COUNTS_SQL));
SQL
read -r -t 600 facts <&"${PGSNAP[0]}" || ops_die 1 "counting rows failed (no answer from psql)"
jq -e .tables <<<"$facts" >/dev/null 2>&1 ||
  ops_die 1 "reading the database's facts failed: $facts (is this the platform's database? npm run migrate sets it up)"
ops_log "$(jq '.tables | length' <<<"$facts") tables, $(jq '[.tables[]] | add' <<<"$facts") rows; dumping"

pg_dump --format=custom --snapshot="$snapshot" --file="$partial" --dbname="$url" 2>"$partial.log" &
dump_progress() { echo "dumping: $(du -h "$partial" 2>/dev/null | cut -f1) written so far"; }
if ! ops_wait $! dump_progress; then
  cat "$partial.log" >&2
  rm -f "$partial.log"
  ops_die 1 "pg_dump failed (above); nothing was kept"
fi
rm -f "$partial.log"
printf 'COMMIT;\n\\q\n' >&"${PGSNAP[1]}"
wait "$COPROC_PID" 2>/dev/null || true
COPROC_PID=

ops_log "verifying the dump reads back (pg_restore --list)"
entries="$(pg_restore --list "$partial" | grep -cv '^;')" || ops_die 1 "pg_restore cannot read the dump; nothing was kept"
sha="$(sha256sum "$partial" | cut -d' ' -f1)"
size=$(stat -c %s "$partial")
duration="$(ops_seconds_since "$started_ns")"
jq -n --argjson facts "$facts" --arg file "$(basename "$dump")" --arg sha "$sha" --argjson size "$size" \
  --arg pg_dump "$(pg_dump --version)" --argjson entries "$entries" --arg duration "$duration" --arg host "$(hostname)" \
  '$facts + {file: $file, sha256: $sha, size_bytes: $size, pg_dump_version: $pg_dump, archive_entries: $entries,
             duration_seconds: ($duration | tonumber), host: $host, verified: true, format: 1}' >"$partial.manifest"

# Only a verified pair is published, and never over an existing file.
mv -n "$partial" "$dump"
[[ ! -e "$partial" ]] || ops_die 1 "$dump appeared while backing up; kept nothing"
mv -n "$partial.manifest" "$manifest"
chmod 600 "$dump" "$manifest"

if ! ops_psql "$url" -v file="$(basename "$dump")" -v sha="$sha" -v size="$size" -v at="$(jq -r .snapshot_at "$manifest")" \
  -v duration="$duration" -v host="$(hostname)" \
  <<<"INSERT INTO ops.backups (file, sha256, size_bytes, snapshot_at, duration_seconds, host) VALUES (:'file', :'sha', :'size', :'at', :'duration', :'host')"; then
  ops_log "warning: the backup is good but could not be recorded in ops.backups (backup-age alerts will not see it)"
fi
ops_log "done: $(basename "$dump") ($(du -h "$dump" | cut -f1), sha256 ${sha:0:12}…) in ${duration}s"
echo "$dump"

if [[ ${#cleanup_args[@]} -gt 0 ]]; then
  "$(dirname "$0")/cleanup-old-backups.sh" --dir "$dir" "${cleanup_args[@]}"
fi
