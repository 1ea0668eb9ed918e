#!/usr/bin/env bash
# Builds and installs the pgvector extension for a local PostgreSQL from Debian's source package.
#
# Debian 12 ships no pgvector binary for PostgreSQL 15, but the next release's source package
# builds against it in seconds. Only the source comes from that release; no binary is mixed in.
# Called by scripts/lib/provision.ts when `vector` is missing; safe to run again.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install-pgvector.sh <postgres-major-version>

Builds pgvector from Debian's source package and installs it into the local PostgreSQL
<major> (for example 15). Needs root, apt and network access to Debian's package mirror.
Exit codes: 0 installed, 2 bad usage or not root, 3 download failed, 4 build failed.
EOF
}

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then usage; exit 0; fi
major="${1:-}"
[[ "$major" =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
[[ "$(id -u)" == 0 ]] || { echo "install-pgvector: must run as root (installs build dependencies and the extension)" >&2; exit 2; }

pg_config="/usr/lib/postgresql/${major}/bin/pg_config"
if [[ -f "/usr/share/postgresql/${major}/extension/vector.control" ]]; then
  echo "install-pgvector: pgvector is already installed for PostgreSQL ${major}"
  exit 0
fi

# Use the same mirror as the machine's existing Debian sources.
mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
src_list=/etc/apt/sources.list.d/gpt-platform-pgvector-src.sources
cat >"$src_list" <<EOF
Types: deb-src
URIs: ${mirror}
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

echo "install-pgvector: [1/4] refreshing package lists (adds trixie deb-src for the pgvector source only)"
apt-get update -qq || { echo "install-pgvector: apt-get update failed; check network access to ${mirror}" >&2; exit 3; }

echo "install-pgvector: [2/4] installing build dependencies (postgresql-server-dev-${major})"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-${major}" make gcc >/dev/null ||
  { echo "install-pgvector: could not install postgresql-server-dev-${major}" >&2; exit 3; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "install-pgvector: [3/4] downloading the pgvector source package"
apt-get source --download-only -qq pgvector >/dev/null 2>&1 ||
  { echo "install-pgvector: apt-get source pgvector failed; is the trixie deb-src reachable at ${mirror}?" >&2; exit 3; }
tar xf pgvector_*.orig.tar.*
cd "$(find . -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)"

echo "install-pgvector: [4/4] building and installing"
make -s PG_CONFIG="$pg_config" >/dev/null 2>build.log || { cat build.log >&2; echo "install-pgvector: build failed" >&2; exit 4; }
make -s install PG_CONFIG="$pg_config" >/dev/null || { echo "install-pgvector: make install failed" >&2; exit 4; }
echo "install-pgvector: installed pgvector for PostgreSQL ${major}"
