#!/usr/bin/env bash
# Paper-order throughput of two builds, measured in turns in one session: this machine's speed
# moves by more than most changes do, so a change is judged against a reference run beside it.
# Each turn starts a fresh database and server from one build, warms up, and runs kairos-load.
#
#   scripts/load-ab.sh OLD_BIN_DIR NEW_BIN_DIR [sqlite|postgres] [ROUNDS] [CONCURRENCY] [SECONDS]
#
# A bin dir holds `kairos-api` built in release (e.g. a `git worktree` of the old commit built
# with `cargo build --release -p kairos-api`); the load generator is this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: scripts/load-ab.sh OLD_BIN_DIR NEW_BIN_DIR [sqlite|postgres] [ROUNDS] [CONCURRENCY] [SECONDS]}
new=${2:?usage: scripts/load-ab.sh OLD_BIN_DIR NEW_BIN_DIR [sqlite|postgres] [ROUNDS] [CONCURRENCY] [SECONDS]}
backend=${3:-sqlite}; rounds=${4:-3}; concurrency=${5:-8}; seconds=${6:-12}
cargo build --release -q -p kairos-load --bins
load=${CARGO_TARGET_DIR:-target}/release/kairos-load
source scripts/load-common.sh

turn() {
  local bin=$1 work
  work=$(mktemp -d)
  fresh_database "$backend" "$work" postgres://postgres@127.0.0.1:5432/kairos_ab
  start_server "$bin" "$work"
  "$load" --url http://127.0.0.1:18080 --accounts "$work/accounts.json" --seconds 5 --concurrency 16 >/dev/null
  if [ "$backend" = postgres ]; then psql -q "$KAIROS_DATABASE_URL" -c ANALYZE; fi
  "$load" --url http://127.0.0.1:18080 --accounts "$work/accounts.json" --seconds "$seconds" \
    --concurrency "$concurrency" | python3 -c 'import json, sys
r = json.load(sys.stdin)
l = r["latency_ms"]
print("%.0f/s p50 %.1f ms p99 %.1f ms" % (r["orders_per_second"], l["p50"], l["p99"]))'
  kill "$server"
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}

for round in $(seq 1 "$rounds"); do
  echo "round $round old: $(turn "$old")"
  echo "round $round new: $(turn "$new")"
done
