# Shared by scripts/load-run.sh and scripts/load-ab.sh (sourced, not run): the server's settings
# for a load run, a fresh database, and a started server with four market makers.

export KAIROS_PROFILE=test KAIROS_RISK__MAX_OPEN_ORDERS=0 KAIROS_LOG=warn \
  KAIROS_BIND=127.0.0.1:18080 KAIROS_METRICS_BIND=127.0.0.1:19090
for class in READ TRADE CANCEL AUTH; do for kind in ANONYMOUS USER KEY ACCOUNT; do
  export "KAIROS_RATE_LIMITS__${class}__${kind}=1000000"
done; done

# fresh_database sqlite|postgres WORK_DIR [POSTGRES_URL]: exports KAIROS_DATABASE_URL for an
# empty database (a PostgreSQL one is dropped and re-created).
fresh_database() {
  if [ "$1" = postgres ]; then
    local url=${3:-postgres://postgres@127.0.0.1:5432/kairos_load}
    psql -q "${url%/*}/postgres" -c "DROP DATABASE IF EXISTS ${url##*/}" -c "CREATE DATABASE ${url##*/}" 2>/dev/null
    export KAIROS_DATABASE_URL=$url
  else
    export KAIROS_DATABASE_URL=sqlite:$2/load.db
  fi
}

# start_server BIN_DIR WORK_DIR: writes WORK_DIR/accounts.json, starts `kairos-api serve` (its
# PID in $server, its log in WORK_DIR/server.log) and waits until it answers.
start_server() {
  export KAIROS_DATA_DIR=$2
  "$1/kairos-api" dev-accounts --makers 4 > "$2/accounts.json"
  "$1/kairos-api" serve > "$2/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:18080/health >/dev/null 2>&1 && break; sleep 0.2; done
}

# load_json BIN_DIR WORK_DIR CONCURRENCY SECONDS: one kairos-load run against the started
# server, its JSON report on one line.
load_json() {
  "$1/kairos-load" --url http://127.0.0.1:18080 --accounts "$2/accounts.json" --seconds "$4" \
    --concurrency "$3" | tr -d '\n '
  echo
}
