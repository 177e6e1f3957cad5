#!/usr/bin/env bash
# The load figures of the README: a fresh database, four market makers with API keys, a
# release server, a warm-up run, then kairos-load at each concurrency of LEVELS (default 8, 16,
# 24 and 32; 20 s each, SECONDS_PER_LEVEL to change), the sequencer's batch sizes and times
# from the metrics listener, then `orders verify` and `ledger verify`.
#
#   scripts/load-run.sh sqlite
#   scripts/load-run.sh postgres postgres://postgres@127.0.0.1:5432/kairos_load   # dropped and re-created
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?usage: scripts/load-run.sh sqlite|postgres [postgres-url]}
cargo build --release -q -p kairos-api -p kairos-load --bins
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
source scripts/load-common.sh
fresh_database "$backend" "$work" "${2:-}"
start_server "$bin" "$work"
trap 'kill $server 2>/dev/null || true' EXIT
load() { load_json "$bin" "$work" "$1" "${SECONDS_PER_LEVEL:-20}"; }
echo "warm-up: $(load 16)"
# A new PostgreSQL database plans its statements on empty tables until it is analysed.
if [ "$backend" = postgres ]; then psql -q "$KAIROS_DATABASE_URL" -c ANALYZE; fi
for c in ${LEVELS:-8 16 24 32}; do echo "concurrency $c: $(load "$c")"; done
curl -fsS http://127.0.0.1:19090/metrics | grep -E '^kairos_paper_batch_(duration_seconds|requests)(_sum|_count|\{quantile="0.(5|99)"\})' || true
"$bin/kairos-api" orders verify | python3 -c 'import json,sys; r=json.load(sys.stdin); print("orders verify:", r["live_orders"], "live orders, problems:", r["problems"])'
"$bin/kairos-api" ledger verify
