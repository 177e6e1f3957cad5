#!/usr/bin/env bash
# The soak: a fresh database, four market makers with API keys, a release server, then
# kairos-soak for SOAK_MINUTES (default 30) of paced mixed load (orders and cancels, reads,
# websocket subscribers, a client that keeps reconnecting), sampled every SOAK_INTERVAL seconds
# (30; 10 for runs under 10 minutes). The verdict compares the first and the last third after a
# warm-up of a sixth (30 minutes: warm-up 5, stretches of 10). Then the server is stopped and
# `orders verify`, `ledger verify` and `audit verify` must be clean and its log free of errors.
# Exits non-zero on any failure.
#
#   scripts/soak.sh sqlite
#   scripts/soak.sh postgres postgres://postgres@127.0.0.1:5432/kairos_soak   # dropped and re-created
#   SOAK_MINUTES=3 SOAK_ARGS="--p99-tolerance-percent 100" scripts/soak.sh sqlite   # what CI runs
#
# SOAK_ARGS adds kairos-soak options (rates, clients, tolerances: kairos-soak --help).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?usage: scripts/soak.sh sqlite|postgres [postgres-url]}
minutes=${SOAK_MINUTES:-30}
interval=${SOAK_INTERVAL:-$(awk -v m="$minutes" 'BEGIN { print (m < 10 ? 10 : 30) }')}
cargo build --release -q --locked -p kairos-api -p kairos-load --bins
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
source scripts/load-common.sh
export KAIROS_LOG_FORMAT=json
fresh_database "$backend" "$work" "${2:-postgres://postgres@127.0.0.1:5432/kairos_soak}"
start_server "$bin" "$work"
vacuum=""
trap 'kill $server $vacuum 2>/dev/null || true' EXIT
# Production PostgreSQL runs autovacuum, which keeps the statistics current and the updated
# orders table from bloating; a server without it would measure something else.
if [ "$backend" = postgres ] && [ "$(psql -qtA "$KAIROS_DATABASE_URL" -c 'SHOW autovacuum')" = off ]; then
  echo "soak: this PostgreSQL runs with autovacuum off; a VACUUM (ANALYZE) every 60 s stands in for it"
  (while sleep 60; do psql -q "$KAIROS_DATABASE_URL" -c 'VACUUM (ANALYZE)' >/dev/null 2>&1 || true; done) &
  vacuum=$!
fi
echo "soak: $backend, $minutes min, a sample every $interval s (samples in $work/samples.jsonl)"
status=0
"$bin/kairos-soak" --url http://127.0.0.1:18080 --accounts "$work/accounts.json" --pid "$server" \
  --minutes "$minutes" --interval-secs "$interval" \
  --warmup-minutes "$(awk -v m="$minutes" 'BEGIN { print m / 6 }')" \
  --compare-minutes "$(awk -v m="$minutes" 'BEGIN { print m / 3 }')" \
  ${SOAK_ARGS:-} | tee "$work/samples.jsonl" || status=1
if [ -n "$vacuum" ]; then kill "$vacuum" 2>/dev/null || true; fi
kill -TERM "$server"
wait "$server" || { echo "soak: the server did not stop cleanly"; status=1; }
trap - EXIT
"$bin/kairos-api" orders verify | python3 -c 'import json,sys; r=json.load(sys.stdin); print("orders verify:", r["live_orders"], "live orders, problems:", r["problems"])' \
  || { echo "soak: orders verify failed"; status=1; }
"$bin/kairos-api" ledger verify || { echo "soak: ledger verify failed"; status=1; }
"$bin/kairos-api" audit verify || { echo "soak: audit verify failed"; status=1; }
if grep -q '"level":"ERROR"' "$work/server.log"; then
  echo "soak: the server logged errors:"; grep '"level":"ERROR"' "$work/server.log" | head -20; status=1
fi
if [ "$status" = 0 ]; then echo "soak passed ($backend, $minutes min)"; else echo "soak FAILED ($backend, $minutes min; files in $work)"; fi
exit "$status"
