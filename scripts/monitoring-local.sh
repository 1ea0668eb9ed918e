#!/usr/bin/env bash
# Runs a real Prometheus (Debian's package) against the local worker and web app, with the
# platform's alert and service-level rules loaded: for anyone who wants to look.
set -euo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/monitoring-local.sh [--port P] [--worker HOST:PORT] [--web HOST:PORT] [--scrape-interval 15s] [--data DIR] [--check]

Starts Prometheus in the foreground (Ctrl-C stops it) with scripts/monitoring/prometheus.yml's
jobs, alerts.yml and slo-rules.yml, scraping the worker and web app that `npm start` runs. Open
http://127.0.0.1:9090/alerts for the alerts, /targets for what it scrapes. Data goes to
.data/prometheus (deleted with the checkout's .data). Grafana users: import
scripts/monitoring/grafana-dashboard.json.

  --port P              Prometheus's own port (default 9090)
  --worker HOST:PORT    the worker to scrape (default 127.0.0.1:3001)
  --web HOST:PORT       the web app to scrape (default 127.0.0.1:3000)
  --scrape-interval D   how often to scrape (default 15s; 1s to watch closely)
  --data DIR            where Prometheus keeps its data (default .data/prometheus)
  --check               only validate the configuration and run the rules' unit tests (promtool)

Prometheus comes from Debian's `prometheus` package, installed when missing if run as root.
Exit codes: 0 stopped normally or checks passed; 1 a check failed; 2 bad usage or Prometheus missing.
EOF_USAGE
}

port=9090
worker=127.0.0.1:3001
web=127.0.0.1:3000
interval=15s
check_only=false
data="$OPS_ROOT/.data/prometheus"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --port) port="${2:?--port needs a number}"; shift 2 ;;
    --worker) worker="${2:?--worker needs HOST:PORT}"; shift 2 ;;
    --web) web="${2:?--web needs HOST:PORT}"; shift 2 ;;
    --scrape-interval) interval="${2:?--scrape-interval needs a duration such as 15s}"; shift 2 ;;
    --data) data="${2:?--data needs a directory}"; shift 2 ;;
    --check) check_only=true; shift ;;
    *) usage >&2; ops_die 2 "unknown argument: $1" ;;
  esac
done
[[ "$port" =~ ^[0-9]+$ ]] || ops_die 2 "--port must be a number, got '$port'"
[[ "$interval" =~ ^[0-9]+(ms|s|m)$ ]] || ops_die 2 "--scrape-interval must be a duration such as 15s, got '$interval'"

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    ops_log "installing Debian's prometheus package (about a minute)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) >/dev/null ||
      ops_die 2 "apt-get could not install prometheus"
  else
    ops_die 2 "needs prometheus and promtool: sudo apt-get install prometheus"
  fi
fi

rules="$OPS_ROOT/scripts/monitoring"
ops_log "validating the rules and running their unit tests"
promtool check rules "$rules/alerts.yml" "$rules/slo-rules.yml" >&2 || ops_die 1 "the rules do not validate"
(cd "$rules" && promtool test rules alerts.test.yml slo-rules.test.yml) >&2 || ops_die 1 "the rules' unit tests failed"
$check_only && { promtool check config "$rules/prometheus.yml" >&2 || ops_die 1 "prometheus.yml does not validate"; exit 0; }

# The committed config with this run's targets and interval; rule files by absolute path.
mkdir -p "$data"
config="$data/prometheus.yml"
sed -e "s#\"127.0.0.1:3001\"#\"$worker\"#" -e "s#\"127.0.0.1:3000\"#\"$web\"#" \
  -e "s#^  scrape_interval: .*#  scrape_interval: $interval#" -e "s#^  evaluation_interval: .*#  evaluation_interval: $interval#" \
  -e "s#^  - alerts.yml#  - $rules/alerts.yml#" -e "s#^  - slo-rules.yml#  - $rules/slo-rules.yml#" \
  "$rules/prometheus.yml" >"$config"
promtool check config "$config" >&2 || ops_die 1 "the generated configuration $config does not validate"

ops_log "Prometheus on http://127.0.0.1:$port (alerts: /alerts, targets: /targets), scraping worker $worker and web $web every $interval; Ctrl-C stops"
exec prometheus --config.file="$config" --storage.tsdb.path="$data/tsdb" --web.listen-address="127.0.0.1:$port" \
  --storage.tsdb.retention.time=7d --log.level=warn
