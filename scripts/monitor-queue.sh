#!/usr/bin/env bash
# Nagios-style check of the job backlog: jobs ready to run that no worker has claimed yet.
set -uo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/monitor-queue.sh [WARN] [CRIT]

Counts jobs waiting to run (queued or due for retry, not deferred) in the job catalogue's
queues (dead-letter queues excluded), and prints one line with the busiest queues and perfdata:
  QUEUE WARNING - 612 jobs waiting (test-job 612); oldest waiting 4 min | waiting=612;500;1000
A count above WARN is a warning, above CRIT critical (defaults 500 and 1000, as the alert rules). The database is $DATABASE_URL (else .env, else local).
Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad usage, database unreachable).
EOF_USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
warn="${1:-500}"
crit="${2:-1000}"
[[ "$warn" =~ ^[0-9]+$ && "$crit" =~ ^[0-9]+$ ]] || { echo "QUEUE UNKNOWN - thresholds must be whole numbers, got '$warn' '$crit' (see --help)"; exit 3; }
((warn <= crit)) || { echo "QUEUE UNKNOWN - the warning threshold ($warn) is above the critical one ($crit)"; exit 3; }
command -v psql >/dev/null || { echo "QUEUE UNKNOWN - needs psql (Debian package postgresql-client)"; exit 3; }

url="$(ops_database_url)"
ops_hide_password url
if ! result="$(ops_psql "$url" -F '|' 2>&1 <<'SQL'
WITH waiting AS (
  SELECT d.queue, sum(d.jobs) AS jobs, min(d.oldest_created_at) AS oldest
  FROM ops.queue_depth d JOIN ops.job_types t ON t.name = d.queue
  WHERE d.state IN ('queued', 'retry')
  GROUP BY d.queue
), ranked AS (
  SELECT *, row_number() OVER (ORDER BY jobs DESC, queue) AS n FROM waiting
)
SELECT coalesce(sum(jobs), 0)::bigint,
       coalesce(string_agg(queue || ' ' || jobs, ', ' ORDER BY n) FILTER (WHERE n <= 3), 'none'),
       coalesce(extract(epoch FROM now() - min(oldest))::bigint, 0)
FROM ranked;
SQL
)"; then
  echo "QUEUE UNKNOWN - cannot read the queue from $(ops_redact_url "$url"): $(head -n1 <<<"$result")"
  exit 3
fi
IFS='|' read -r waiting busiest oldest <<<"$result"
if ((oldest >= 120)); then oldest_text="$((oldest / 60)) min"; else oldest_text="${oldest} s"; fi
status=OK code=0
# Above the threshold, as the QueueBacklog alert rules count.
if ((waiting > crit)); then status=CRITICAL code=2
elif ((waiting > warn)); then status=WARNING code=1; fi
detail="$waiting jobs waiting"
((waiting > 0)) && detail="$detail ($busiest); oldest waiting $oldest_text"
echo "QUEUE $status - $detail | waiting=$waiting;$warn;$crit oldest_seconds=$oldest"
exit $code
