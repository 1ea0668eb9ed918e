#!/usr/bin/env bash
# A backup, then retention: old backups are deleted only after a new one has been written and verified.
set -euo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/backup-and-cleanup.sh [--dir DIR] [--keep-count N] [--keep-days D]

Runs scripts/backup-database.sh, and only when it succeeds, scripts/cleanup-old-backups.sh with
the same directory. Retention defaults come from BACKUP_KEEP_COUNT (14) and BACKUP_KEEP_DAYS (30).
Prints the new dump's path on stdout.
Exit codes: 0 backed up and cleaned; 1 the backup failed (nothing deleted); 3 backed up, but
retention failed (disk may fill: see the messages); 2 bad usage or a missing tool.
EOF_USAGE
}

backup_args=()
cleanup_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) backup_args+=(--dir "${2:?--dir needs a directory}"); cleanup_args+=(--dir "$2"); shift 2 ;;
    --keep-count | --keep-days) cleanup_args+=("$1" "${2:?$1 needs a number}"); shift 2 ;;
    *) usage >&2; ops_die 2 "unknown argument: $1" ;;
  esac
done

here="$(dirname "$0")"
status=0
"$here/backup-database.sh" "${backup_args[@]}" || status=$?
if ((status != 0)); then
  ops_log "backup failed (exit $status); retention skipped so no old backup is deleted"
  exit "$status"
fi
"$here/cleanup-old-backups.sh" "${cleanup_args[@]}" || { ops_log "backup written, but retention failed"; exit 3; }
