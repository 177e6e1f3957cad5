#!/usr/bin/env bash
# Market pages against a static server, in one run: a release kairos-api (dev profile, SQLite,
# 200 imported markets, budgets raised) and a plain Axum server answering the same bytes
# (api/examples/static_body.rs), each driven by wrk for the same time with the same
# connections. Prints both rates and their ratio (the target is at least 0.5), for a page of 50
# and for a small page of 5.
#
#   scripts/bench-markets.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
conns=${2:-32}
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else echo "install wrk" >&2; exit 1; fi
fi
cargo build --release -q -p kairos-api --bins --example static_body
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
export KAIROS_PROFILE=dev KAIROS_DATA_DIR="$work" KAIROS_LOG=warn KAIROS_LOG_FORMAT=json \
  KAIROS_BIND=127.0.0.1:18180 KAIROS_METRICS_BIND=127.0.0.1:19180
for class in READ TRADE CANCEL AUTH; do for kind in ANONYMOUS USER KEY ACCOUNT; do
  export "KAIROS_RATE_LIMITS__${class}__${kind}=100000000"
done; done
python3 - "$work/markets.json" <<'PY'
import json, sys
markets = [{
    "id": str(100000 + i), "question": f"Will benchmark event {i} happen by the end of the quarter?",
    "conditionId": f"0x{i:064x}", "slug": f"bench-event-{i}", "description": "A market made for the page benchmark. " * 3,
    "endDate": "2027-06-30T12:00:00Z", "outcomes": "[\"Yes\", \"No\"]",
    "clobTokenIds": json.dumps([str(10**70 + 2 * i), str(10**70 + 2 * i + 1)]),
    "active": True, "closed": False, "orderPriceMinTickSize": 0.01, "orderMinSize": 5,
} for i in range(200)]
json.dump(markets, open(sys.argv[1], "w"))
PY
"$bin/kairos-api" markets import "$work/markets.json" --venue paper >/dev/null
"$bin/kairos-api" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server $static 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:18180/health >/dev/null 2>&1 && break; sleep 0.2; done
rate() { wrk -t2 -c"$conns" -d"${seconds}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
for limit in 50 5; do
  url="http://127.0.0.1:18180/v1/markets?limit=$limit"
  curl -fsS "$url" > "$work/page-$limit.json"
  "$bin/examples/static_body" 127.0.0.1:18181 "$work/page-$limit.json" &
  static=$!
  for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:18181/ >/dev/null 2>&1 && break; sleep 0.1; done
  ours=$(rate "$url")
  theirs=$(rate "http://127.0.0.1:18181/")
  kill $static; wait $static 2>/dev/null || true
  bytes=$(wc -c < "$work/page-$limit.json")
  python3 -c "import sys; o,t=float(sys.argv[1]),float(sys.argv[2]); print(f'limit=$limit ({int(sys.argv[3])} bytes): kairos {o:,.0f}/s, static {t:,.0f}/s, ratio {o/t:.2f}')" "$ours" "$theirs" "$bytes"
done
