#!/usr/bin/env bash
# Walks docs/runbook.md end to end against PostgreSQL and Redis (TEST_DATABASE_URL,
# TEST_REDIS_URL, as for the test suite): preflight, kill switch, SIGHUP reload, failover after
# SIGKILL, backup / destroy / restore / verify. The walk itself is api/tests/api/runbook.rs, so
# it is also part of `cargo test --workspace` and of CI; this runs it alone, with its output.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --locked -p kairos-api --test api runbook -- --nocapture
