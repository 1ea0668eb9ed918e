#!/usr/bin/env bash
# Nagios-style check: how old is the newest verified backup?
set -uo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/check-backup-status.sh [--dir DIR] [--warn-hours H] [--crit-hours H]

Finds the newest backup in DIR whose manifest says it was verified and whose dump is present
with the manifest's size, and compares its age with the thresholds. Prints one line, e.g.
  BACKUP OK - newest verified backup gpt_platform-20261122T021500Z.dump is 3.2 h old | age_hours=3.2;26;48
  --dir DIR        default: $BACKUP_DIR, else .data/backups in the checkout
  --warn-hours H   default 26 (a daily backup that is a little late)
  --crit-hours H   default 48 (two daily backups missed)
Exit codes: 0 OK, 1 WARNING, 2 CRITICAL (too old, or no verified backup at all), 3 UNKNOWN (bad usage).
EOF_USAGE
}

dir="$(ops_backup_dir)"
warn=26
crit=48
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
    --warn-hours) warn="${2:?--warn-hours needs a number}"; shift 2 ;;
    --crit-hours) crit="${2:?--crit-hours needs a number}"; shift 2 ;;
    *) echo "BACKUP UNKNOWN - unknown argument: $1 (see --help)"; exit 3 ;;
  esac
done
[[ "$warn" =~ ^[0-9]+([.][0-9]+)?$ && "$crit" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "BACKUP UNKNOWN - thresholds must be numbers of hours"; exit 3; }
command -v jq >/dev/null || { echo "BACKUP UNKNOWN - needs jq (Debian package jq)"; exit 3; }

newest="" newest_at=""
while IFS= read -r manifest; do
  dump="${manifest%.manifest.json}.dump"
  [[ -f "$dump" ]] || continue
  read -r verified size at < <(jq -r '[.verified, .size_bytes, .snapshot_at] | @tsv' "$manifest" 2>/dev/null) || continue
  [[ "$verified" == "true" && "$(stat -c %s "$dump")" == "$size" ]] || continue
  newest="$(basename "$dump")" newest_at="$at"
done < <(find "$dir" -maxdepth 1 -name '*.manifest.json' 2>/dev/null | sort)

if [[ -z "$newest" ]]; then
  echo "BACKUP CRITICAL - no verified backup in $dir; run scripts/backup-database.sh"
  exit 2
fi
age=$(ops_age_seconds "$newest_at")
hours=$(awk -v s="$age" 'BEGIN { printf "%.1f", s / 3600 }')
status=OK code=0
if awk -v h="$hours" -v c="$crit" 'BEGIN { exit !(h >= c) }'; then status=CRITICAL code=2
elif awk -v h="$hours" -v w="$warn" 'BEGIN { exit !(h >= w) }'; then status=WARNING code=1; fi
echo "BACKUP $status - newest verified backup $newest is $hours h old (warn ${warn} h, crit ${crit} h) | age_hours=$hours;$warn;$crit"
exit $code
