#!/usr/bin/env bash
# A flame graph of a release server taking paper orders: a fresh database, four market makers,
# a warm-up, then kairos-load at CONCURRENCY (default 8) while `perf record` samples the server
# (499 Hz, DWARF call stacks: release builds keep no frame pointers) for 12 s. Writes
# OUT_DIR/flame.svg (frames under 0.5 % left out) and prints the load figures, the sequencer's
# batch metrics and the share of samples per thread beside it; the stacks themselves (one line
# each, for inferno-diff-folded between two runs) stay in the work directory it names.
#
#   scripts/flamegraph.sh sqlite docs/perf/sqlite
#   scripts/flamegraph.sh postgres docs/perf/postgres postgres://postgres@127.0.0.1:5432/kairos_load
#
# Needs perf (Debian: linux-perf) and inferno (`cargo install inferno`; INFERNO_BIN to point
# at its bin directory).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?usage: scripts/flamegraph.sh sqlite|postgres OUT_DIR [postgres-url]}
out=${2:?usage: scripts/flamegraph.sh sqlite|postgres OUT_DIR [postgres-url]}
concurrency=${CONCURRENCY:-8}
inferno=${INFERNO_BIN:-$HOME/.cargo/bin}
for tool in perf "$inferno/inferno-collapse-perf" "$inferno/inferno-flamegraph"; do
  command -v "$tool" >/dev/null || { echo "flamegraph: $tool is missing"; exit 1; }
done
cargo build --release -q --locked -p kairos-api -p kairos-load --bins
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
source scripts/load-common.sh
fresh_database "$backend" "$work" "${3:-}"
start_server "$bin" "$work"
trap 'kill $server 2>/dev/null || true' EXIT
echo "warm-up: $(load_json "$bin" "$work" 16 10)"
if [ "$backend" = postgres ]; then psql -q "$KAIROS_DATABASE_URL" -c ANALYZE; fi
mkdir -p "$out"
perf record -F 499 --call-graph dwarf,16384 -o "$work/perf.data" -p "$server" -- sleep 12 >/dev/null 2>&1 &
perf_pid=$!
echo "concurrency $concurrency under perf: $(load_json "$bin" "$work" "$concurrency" 15)"
wait "$perf_pid" || true
curl -fsS http://127.0.0.1:19090/metrics | grep -E '^kairos_paper_batch_(duration_seconds|requests)(_sum|_count|\{quantile="0.(5|99)"\})' || true
perf script -i "$work/perf.data" 2>/dev/null | "$inferno/inferno-collapse-perf" > "$work/folded.txt"
"$inferno/inferno-flamegraph" --minwidth 0.5 \
  --title "kairos-api serve: paper orders at concurrency $concurrency ($backend)" "$work/folded.txt" > "$out/flame.svg"
# Samples per thread: the sequencer, its database connection's thread (sqlx-sqlite-worker on
# SQLite), the HTTP workers.
awk '{ n = $NF; split($1, f, ";"); t[f[1]] += n; all += n } END { for (k in t) printf "%5.1f %% %s\n", 100 * t[k] / all, k }' \
  "$work/folded.txt" | sort -rn
echo "flamegraph: $out/flame.svg (stacks in $work/folded.txt)"
