#!/usr/bin/env bash
# Applies backup retention: keeps the newest N backups and every backup younger than D days,
# deletes the rest (dump and manifest together), and clears leftovers of interrupted backups.
set -euo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/cleanup-old-backups.sh [--dir DIR] [--keep-count N] [--keep-days D] [--dry-run]

Deletes a backup (its .dump and .manifest.json) only when it is both outside the newest N and
older than D days, so the newest backups always survive however old they are, and a burst of
manual backups never pushes out last week's. Leftover .partial files older than a day (from an
interrupted backup) are removed too.

  --dir DIR        backup directory (default: $BACKUP_DIR, else .data/backups in the checkout)
  --keep-count N   newest backups always kept (default: $BACKUP_KEEP_COUNT, else 14; at least 1)
  --keep-days D    backups younger than this are always kept (default: $BACKUP_KEEP_DAYS, else 30)
  --dry-run        say what would be deleted, delete nothing

Exit codes: 0 done; 1 a file could not be deleted; 2 bad usage.
EOF_USAGE
}

dir="$(ops_backup_dir)"
keep_count="$(ops_env BACKUP_KEEP_COUNT)"
keep_count="${keep_count:-14}"
keep_days="$(ops_env BACKUP_KEEP_DAYS)"
keep_days="${keep_days:-30}"
dry_run=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
    --keep-count) keep_count="${2:?--keep-count needs a number}"; shift 2 ;;
    --keep-days) keep_days="${2:?--keep-days needs a number}"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    *) usage >&2; ops_die 2 "unknown argument: $1" ;;
  esac
done
[[ "$keep_count" =~ ^[0-9]+$ && "$keep_count" -ge 1 ]] || ops_die 2 "--keep-count must be a whole number of at least 1, got '$keep_count'"
[[ "$keep_days" =~ ^[0-9]+$ ]] || ops_die 2 "--keep-days must be a whole number of days, got '$keep_days'"
[[ -d "$dir" ]] || { ops_log "no backup directory at $dir; nothing to clean"; exit 0; }

now=$(date -u +%s)
# Backups by the UTC time in their names, newest first (a dump without its manifest counts too).
mapfile -t bases < <(find "$dir" -maxdepth 1 \( -name '*.dump' -o -name '*.manifest.json' \) -printf '%f\n' |
  sed -E 's/\.(dump|manifest\.json)$//' | grep -E -- '-[0-9]{8}T[0-9]{6}Z$' | sort -u |
  awk -F- '{ print $NF "\t" $0 }' | sort -r | cut -f2)

deleted=0 kept=0 failed=0
for i in "${!bases[@]}"; do
  base="${bases[$i]}"
  stamp="${base##*-}"
  taken=$(date -u -d "${stamp:0:4}-${stamp:4:2}-${stamp:6:2}T${stamp:9:2}:${stamp:11:2}:${stamp:13:2}Z" +%s)
  age_days=$(((now - taken) / 86400))
  if ((i < keep_count || age_days < keep_days)); then
    kept=$((kept + 1))
    continue
  fi
  if $dry_run; then
    ops_log "would delete $base (${age_days} days old, number $((i + 1)) by age)"
  elif rm -f -- "$dir/$base.dump" "$dir/$base.manifest.json"; then
    ops_log "deleted $base (${age_days} days old, number $((i + 1)) by age)"
  else
    ops_log "could not delete $base"
    failed=$((failed + 1))
    continue
  fi
  deleted=$((deleted + 1))
done

while IFS= read -r leftover; do
  if $dry_run; then ops_log "would delete leftover $(basename "$leftover")"; else rm -f -- "$leftover" && ops_log "deleted leftover $(basename "$leftover")"; fi
done < <(find "$dir" -maxdepth 1 -name '*.partial*' -mmin +1440)

ops_log "$($dry_run && echo "dry run: ")kept $kept, $($dry_run && echo "would delete" || echo deleted) $deleted (policy: newest $keep_count, and anything younger than $keep_days days)"
((failed == 0)) || exit 1
