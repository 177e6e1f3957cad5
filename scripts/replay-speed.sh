#!/usr/bin/env bash
# How fast `kairos-api replay` re-derives the paper venue from its log: a fresh database, a
# load run of kairos-load (release), then the replay, which prints its report (orders, fills,
# batches, mismatches, orders per second) with its wall time and peak memory.
#
#   scripts/replay-speed.sh [sqlite|postgres] [SECONDS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}; seconds=${2:-30}; concurrency=${3:-16}
cargo build --release -q -p kairos-api -p kairos-load --bins
bin=${CARGO_TARGET_DIR:-target}/release
source scripts/load-common.sh
work=$(mktemp -d)
fresh_database "$backend" "$work" postgres://postgres@127.0.0.1:5432/kairos_replay
start_server "$bin" "$work"
"$bin/kairos-load" --url http://127.0.0.1:18080 --accounts "$work/accounts.json" --seconds "$seconds" \
  --concurrency "$concurrency" | python3 -c 'import json, sys
print("load: %.0f orders/s" % json.load(sys.stdin)["orders_per_second"])'
kill "$server"
wait "$server" 2>/dev/null || true
status=0
/usr/bin/time -f "replay: wall %es, peak RSS %M KB" "$bin/kairos-api" replay | python3 -c 'import json, sys
r = json.load(sys.stdin)
r["mismatches"] = r["mismatches"][:3]
print(json.dumps(r))' || status=$?
rm -rf "$work"
exit "$status"
