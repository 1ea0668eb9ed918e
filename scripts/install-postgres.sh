#!/usr/bin/env bash
# Installs (when missing) and starts a local PostgreSQL from Debian's packages, listening on
# 127.0.0.1:5432 with trust authentication for local connections: a development database only.
# Called by scripts/lib/provision.ts when nothing answers on 127.0.0.1:5432; safe to run again.
set -euo pipefail

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  cat <<'EOF'
Usage: scripts/install-postgres.sh

Installs PostgreSQL from Debian's packages if it is missing, then starts the cluster.
Needs root and apt. Exit codes: 0 running, 2 not root, 3 install failed, 4 start failed.
EOF
  exit 0
fi
[[ "$(id -u)" == 0 ]] || { echo "install-postgres: must run as root" >&2; exit 2; }

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "install-postgres: [1/2] installing PostgreSQL from Debian's packages"
  apt-get update -qq || { echo "install-postgres: apt-get update failed" >&2; exit 3; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null ||
    { echo "install-postgres: apt-get install postgresql failed" >&2; exit 3; }
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  hba="/etc/postgresql/${version}/main/pg_hba.conf"
  # Development machine: trust local TCP connections so DATABASE_URL needs no password.
  sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(host\s+all\s+all\s+::1\/128\s+)\S+/\1trust/' "$hba"
else
  echo "install-postgres: [1/2] PostgreSQL is installed"
fi

version="$(ls /etc/postgresql | sort -V | tail -n 1)"
echo "install-postgres: [2/2] starting cluster ${version}/main"
pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  if pg_isready -q -h 127.0.0.1 -p 5432; then echo "install-postgres: PostgreSQL ${version} is accepting connections on 127.0.0.1:5432"; exit 0; fi
  sleep 1
done
echo "install-postgres: PostgreSQL ${version} did not start; see /var/log/postgresql/postgresql-${version}-main.log" >&2
exit 4
