#!/usr/bin/env bash
# For cron: one backup-and-cleanup at a time, every run appended to a log, a meaningful exit code.
set -uo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/backup-database-cron.sh [--log FILE] [--lock FILE] [backup-and-cleanup options]

Runs scripts/backup-and-cleanup.sh under an exclusive lock (a run that finds the previous one
still going exits at once instead of piling up), appending everything it says, stamped, to the
log file. Example crontab line (daily at 02:15 UTC, DATABASE_URL and BACKUP_DIR set in the file):

  15 2 * * * /srv/gpt-platform/scripts/backup-database-cron.sh

  --log FILE    default: $BACKUP_LOG, else <backup dir>/backup.log
  --lock FILE   default: <backup dir>/.backup.lock

Exit codes: 0 backed up and cleaned; 1 the backup failed; 3 retention failed; 4 another backup is
still running; 2 bad usage or a missing tool. The last log line always says which.
EOF_USAGE
}

dir="$(ops_backup_dir)"
log="$(ops_env BACKUP_LOG)"
lock=""
pass=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --log) log="${2:?--log needs a file}"; shift 2 ;;
    --lock) lock="${2:?--lock needs a file}"; shift 2 ;;
    --dir) dir="${2:?--dir needs a directory}"; pass+=(--dir "$2"); shift 2 ;;
    *) pass+=("$1"); shift ;;
  esac
done
ops_need flock "util-linux"
mkdir -p "$dir" || ops_die 2 "cannot create the backup directory $dir"
log="${log:-$dir/backup.log}"
lock="${lock:-$dir/.backup.lock}"

exec 9>"$lock" || ops_die 2 "cannot open the lock file $lock"
if ! flock -n 9; then
  echo "$(date -u +%FT%TZ) skipped: another backup still holds $lock" >>"$log"
  ops_die 4 "another backup is still running (lock $lock held); not starting a second"
fi

{
  echo "$(date -u +%FT%TZ) backup started (pid $$)"
  "$(dirname "$0")/backup-and-cleanup.sh" "${pass[@]}" 2>&1
  status=$?
  case $status in
    0) outcome="ok" ;;
    1) outcome="FAILED: the backup did not complete; nothing was deleted" ;;
    3) outcome="PARTIAL: backed up, but retention failed" ;;
    *) outcome="FAILED with exit $status" ;;
  esac
  echo "$(date -u +%FT%TZ) backup finished: $outcome (exit $status)"
  exit $status
} >>"$log"
