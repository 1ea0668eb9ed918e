#!/usr/bin/env bash
# One checklist before (and after) a deploy: is this installation fit to take traffic?
set -uo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/check-production-readiness.sh [--backup-dir DIR] [--skip-env]

Checks, in order, and prints one line per check ([ OK ], [WARN] or [FAIL] with what to do):
  configuration      the worker's and web app's settings (scripts/check-env.sh)
  database           reachable, PostgreSQL 15 or newer
  migrations         every migration in migrations/ applied
  pgvector           the vector extension installed in the database
  catalogue          the job catalogue published and every queue created (npm run migrate)
  backups            the newest verified backup is fresh (scripts/check-backup-status.sh)
  restore drill      a successful drill in the last 8 days (scripts/restore-drill.sh)
  workers            at least one worker has sent a heartbeat in the last 30 seconds
  queue              the backlog is under the alert thresholds (scripts/monitor-queue.sh)

  --backup-dir DIR   where backups are (default: $BACKUP_DIR, else .data/backups)
  --skip-env         skip the configuration check (when this shell lacks the processes' env)

The database is $DATABASE_URL (else .env, else the local default).
Exit codes: 0 ready (warnings allowed); 1 at least one check failed; 2 bad usage.
EOF_USAGE
}

backup_dir="$(ops_backup_dir)"
skip_env=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --backup-dir) backup_dir="${2:?--backup-dir needs a directory}"; shift 2 ;;
    --skip-env) skip_env=true; shift ;;
    *) usage >&2; ops_die 2 "unknown argument: $1" ;;
  esac
done
ops_need psql "Debian package postgresql-client"

here="$(dirname "$0")"
url="$(ops_database_url)"
ops_hide_password url
failures=0 warnings=0
report() { # report <OK|WARN|FAIL> <check> <text>
  local mark
  case "$1" in OK) mark="[ OK ]" ;; WARN) mark="[WARN]"; warnings=$((warnings + 1)) ;; *) mark="[FAIL]"; failures=$((failures + 1)) ;; esac
  printf '%s %-14s %s\n' "$mark" "$2" "$3"
}
query() { ops_psql "$url" -c "$1" 2>&1; }
# A Nagios line's text: without its "SERVICE STATUS - " prefix and its " | perfdata".
status_text() { local text="${1#* - }"; printf '%s' "${text%% | *}"; }

if $skip_env; then
  report WARN configuration "skipped (--skip-env)"
elif env_out="$("$here/check-env.sh" 2>&1)"; then
  report OK configuration "worker and web settings are valid"
else
  keys="$(grep -oE '^\s+- [A-Z_]+' <<<"$env_out" | awk '{ print $2 }' | sort -u | paste -sd, - | sed 's/,/, /g')"
  report FAIL configuration "invalid or missing: ${keys:-see scripts/check-env.sh} (scripts/check-env.sh says why)"
fi

if ! version="$(query "SELECT current_setting('server_version_num')::int")"; then
  report FAIL database "cannot connect to $(ops_redact_url "$url"): $(head -n1 <<<"$version")"
  echo "NOT READY - the database is unreachable; the remaining checks need it"
  exit 1
fi
if ((version >= 150000)); then report OK database "PostgreSQL $((version / 10000)).$((version % 100)) answers"
else report FAIL database "PostgreSQL $((version / 10000)) is too old; the platform needs 15 or newer"; fi

files=$(ops_code_migration_version)
applied="$(query "SELECT coalesce(max(version), 0) FROM ops.schema_migrations")" || applied=0
if [[ "$applied" == "$files" ]]; then report OK migrations "all $files applied"
else report FAIL migrations "database is at migration $applied, this code has $files: run npm run migrate (the release step)"; fi

vector="$(query "SELECT extversion FROM pg_extension WHERE extname = 'vector'")"
if [[ -n "$vector" && "$vector" != *ERROR* ]]; then report OK pgvector "vector $vector installed"
else report FAIL pgvector "the vector extension is not installed: install pgvector on the server, then npm run migrate"; fi

missing_queues="$(query "SELECT string_agg(t.name, ', ') FROM ops.job_types t LEFT JOIN pgboss.queue q ON q.name = t.name WHERE q.name IS NULL")"
types="$(query "SELECT count(*) FROM ops.job_types")"
if [[ "$types" =~ ^[1-9][0-9]*$ && -z "$missing_queues" ]]; then report OK catalogue "$types job type(s) published, every queue exists"
else report FAIL catalogue "catalogue not published or queues missing (${missing_queues:-none published}): run npm run migrate"; fi

backup_line="$("$here/check-backup-status.sh" --dir "$backup_dir")"
case $? in
  0) report OK backups "$(status_text "$backup_line")" ;;
  1) report WARN backups "$(status_text "$backup_line")" ;;
  *) report FAIL backups "$(status_text "$backup_line") (scheduled backups: scripts/backup-database-cron.sh)" ;;
esac

drill_age="$(query "SELECT coalesce(extract(epoch FROM now() - last_ok_drill_at)::bigint, -1) FROM ops.backup_status")"
if [[ "$drill_age" =~ ^[0-9]+$ ]] && ((drill_age <= 8 * 86400)); then report OK "restore drill" "last passed $((drill_age / 3600)) h ago"
elif [[ "$drill_age" =~ ^[0-9]+$ ]]; then report WARN "restore drill" "last passed $((drill_age / 86400)) days ago: run scripts/restore-drill.sh (weekly)"
else report WARN "restore drill" "none has passed yet: run scripts/restore-drill.sh after the first backup"; fi

workers="$(query "SELECT workers FROM app.workers_alive")"
if [[ "$workers" =~ ^[1-9][0-9]*$ ]]; then report OK workers "$workers worker(s) alive"
else report FAIL workers "no worker has sent a heartbeat in 30 s: start one (npm run start:worker; Procfile worker:)"; fi

queue_line="$("$here/monitor-queue.sh")"
case $? in
  0) report OK queue "$(status_text "$queue_line")" ;;
  1) report WARN queue "$(status_text "$queue_line")" ;;
  *) report FAIL queue "$(status_text "$queue_line")" ;;
esac

if ((failures > 0)); then
  echo "NOT READY - $failures check(s) failed, $warnings warning(s)"
  exit 1
fi
echo "READY - all checks passed$( ((warnings > 0)) && echo " with $warnings warning(s)")"
