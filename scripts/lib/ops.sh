# Shared by the operator scripts in scripts/*.sh: logging, prerequisites, where the database and
# the backups are, and the SQL both the backup and the restore drill run. Source it; not a script.

OPS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OPS_SCRIPT="$(basename "$0" .sh)"

# Progress and errors go to stderr, each line stamped, so cron logs read as a timeline and stdout
# stays free for a script's result (a file name, a Nagios status line).
ops_log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$OPS_SCRIPT" "$*" >&2; }

# ops_die <exit code> <message>
ops_die() {
  local code="$1"
  shift
  printf '%s: %s\n' "$OPS_SCRIPT" "$*" >&2
  exit "$code"
}

# ops_need <command> <what provides it>: every script names what it is missing, then stops.
ops_need() {
  command -v "$1" >/dev/null 2>&1 || ops_die 2 "needs '$1' on PATH ($2)"
}

# A key from the environment, else the checkout's .env, else .data/local.env (written by npm start).
ops_env() {
  local key="$1" file line
  if [[ -n "${!key:-}" ]]; then
    printf '%s' "${!key}"
    return
  fi
  for file in "$OPS_ROOT/.env" "$OPS_ROOT/.data/local.env"; do
    [[ -f "$file" ]] || continue
    line="$(grep -E "^${key}=" "$file" | tail -n 1 || true)"
    if [[ -n "${line#*=}" ]]; then
      printf '%s' "${line#*=}"
      return
    fi
  done
}

# The database the platform uses; the embedded local default when nothing configures one.
ops_database_url() {
  local url
  url="$(ops_env DATABASE_URL)"
  printf '%s' "${url:-postgres://postgres@127.0.0.1:5432/gpt_platform}"
}

# ops_hide_password <variable>: takes the password out of the URL held in <variable> and puts it in
# a private password file (mode 600, PGPASSFILE, removed when the script exits), so the URL can go
# on psql/pg_dump/pg_restore command lines: every user of the machine can read command lines (ps),
# nobody else can read that file. URLs derived from it later (another database on the same server)
# use the same file. Call it in the script's own shell, not in $(...).
OPS_PASSFILE=""
ops_hide_password() {
  local -n url_ref="$1"
  if [[ ! "$url_ref" =~ ^([a-z][a-z0-9+.-]*://)([^:/@]+):([^@/]*)@(.*)$ ]]; then return 0; fi
  local scheme="${BASH_REMATCH[1]}" user="${BASH_REMATCH[2]}" encoded="${BASH_REMATCH[3]}" rest="${BASH_REMATCH[4]}" password
  encoded="${encoded//\\/\\\\}" # a literal backslash stays one through printf %b
  password="$(printf '%b' "${encoded//%/\\x}")"
  OPS_PASSFILE="$(mktemp "${TMPDIR:-/tmp}/gpt-ops-pgpass.XXXXXX")"
  chmod 600 "$OPS_PASSFILE"
  # .pgpass fields escape backslash and colon with a backslash; * matches any host, port, database, user.
  password="${password//\\/\\\\}"
  printf '*:*:*:*:%s\n' "${password//:/\\:}" >"$OPS_PASSFILE"
  export PGPASSFILE="$OPS_PASSFILE"
  url_ref="$scheme$user@$rest"
}

# Removes what ops_hide_password made; scripts with an EXIT trap of their own call it from theirs.
ops_cleanup() { if [[ -n "$OPS_PASSFILE" ]]; then rm -f "$OPS_PASSFILE"; fi; }
trap ops_cleanup EXIT

# A URL with its password hidden, for messages and logs.
ops_redact_url() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

# The same server as $1, another database.
ops_url_for_database() { sed -E "s#^([a-z]+://[^/]*/)[^?]*#\\1$2#" <<<"$1"; }

ops_backup_dir() {
  local dir
  dir="$(ops_env BACKUP_DIR)"
  printf '%s' "${dir:-$OPS_ROOT/.data/backups}"
}

# ops_psql <url> [psql args...]: unaligned, tuples only, stop at the first error.
ops_psql() {
  local url="$1"
  shift
  PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}" psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$url" "$@"
}

# Exact row counts of every table outside the system schemas, as one JSON object
# {"schema.table": count}. The backup runs it in the dump's own snapshot; the drill runs it on the
# restored copy, so the two must agree exactly.
OPS_ROW_COUNTS_SQL="
SELECT coalesce(jsonb_object_agg(t.name, t.n ORDER BY t.name), '{}')
FROM (
  SELECT format('%s.%s', n.nspname, c.relname) AS name,
         (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint AS n
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
) t"

# Newest manifest in a backup directory (by the time in its name); empty when there is none.
ops_newest_manifest() {
  find "$1" -maxdepth 1 -name '*.manifest.json' 2>/dev/null | sort | tail -n 1
}

# Seconds since an ISO 8601 UTC time.
ops_age_seconds() { echo $(($(date -u +%s) - $(date -u -d "$1" +%s))); }

# Seconds (one decimal) since a `date +%s%N` reading.
ops_seconds_since() { awk -v ns="$(($(date +%s%N) - $1))" 'BEGIN { printf "%.1f", ns / 1e9 }'; }

# ops_wait <pid> <command...>: waits for a background step, logging what <command> prints every
# 10 s (how far it got), and returns the step's exit status.
ops_wait() {
  local pid="$1" ticks=0
  shift
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    if ((++ticks % 50 == 0)) && kill -0 "$pid" 2>/dev/null; then ops_log "$("$@")"; fi
  done
  wait "$pid"
}

# The migration this code expects: how many numbered files migrations/ holds.
ops_code_migration_version() { find "$OPS_ROOT/migrations" -name '[0-9][0-9][0-9][0-9]_*.sql' | wc -l; }
