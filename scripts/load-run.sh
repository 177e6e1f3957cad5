#!/usr/bin/env bash
# The load figures of the README: a fresh database, four market makers with API keys, a
# release server, a warm-up run, then kairos-load at each concurrency of LEVELS (default 8, 16,
# 24 and 32; 20 s each, SECONDS_PER_LEVEL to change), each with the sequencer's batch rate,
# size and time and the machine's CPU use, and a second run offering RATE orders a second
# (default 3,000, issue #19's target; `kairos-load --rate`) whose latency counts from when each
# order was due, then `orders verify` and `ledger verify`.
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
# Per level, beside kairos-load's report: the sequencer's batches (how many a second, their
# mean size and time, from the metrics listener) and how busy the machine's CPUs and the server
# were, which tells a writer that waits from one that computes.
metric() { curl -fsS http://127.0.0.1:19090/metrics | grep -E "^$1(_sum|_count) " | awk '{print $2}' | paste -sd' '; }
for c in ${LEVELS:-8 16 24 32}; do
  b0=$(metric kairos_paper_batch_requests); d0=$(metric kairos_paper_batch_duration_seconds)
  cpu0=$(head -1 /proc/stat); s0=$(awk '{print $14+$15}' "/proc/$server/stat"); t0=$(date +%s.%N)
  report=$(load "$c")
  cpu1=$(head -1 /proc/stat); s1=$(awk '{print $14+$15}' "/proc/$server/stat"); t1=$(date +%s.%N)
  b1=$(metric kairos_paper_batch_requests); d1=$(metric kairos_paper_batch_duration_seconds)
  echo "concurrency $c: $report"
  echo "  offered ${RATE:-3000}/s: $("$bin/kairos-load" --url http://127.0.0.1:18080 --accounts "$work/accounts.json" \
    --seconds "${SECONDS_PER_LEVEL:-20}" --concurrency "$c" --rate "${RATE:-3000}" | tr -d '\n ')"
  python3 - "$b0" "$b1" "$d0" "$d1" "$cpu0" "$cpu1" "$s0" "$s1" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import sys
b0, b1, d0, d1, cpu0, cpu1, s0, s1, t0, t1, tck = sys.argv[1:]
(bs0, bc0), (bs1, bc1) = map(float, b0.split()), map(float, b1.split())
(ds0, _), (ds1, _) = map(float, d0.split()), map(float, d1.split())
seconds, batches = float(t1) - float(t0), max(bc1 - bc0, 1)
c0, c1 = [int(x) for x in cpu0.split()[1:]], [int(x) for x in cpu1.split()[1:]]
total, idle = sum(c1) - sum(c0), (c1[3] - c0[3]) + (c1[4] - c0[4])
print("  batches %.0f/s, mean %.1f requests in %.2f ms; CPUs %.0f %% busy, the server %.0f %% of one"
      % (batches / seconds, (bs1 - bs0) / batches, (ds1 - ds0) / batches * 1e3,
         100 * (1 - idle / max(total, 1)), 100 * (int(s1) - int(s0)) / float(tck) / seconds))
PY
done
"$bin/kairos-api" orders verify | python3 -c 'import json,sys; r=json.load(sys.stdin); print("orders verify:", r["live_orders"], "live orders, problems:", r["problems"])'
"$bin/kairos-api" ledger verify
