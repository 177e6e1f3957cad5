#!/usr/bin/env bash
# Checks the systemd units in deploy/systemd with `systemd-analyze verify` and fails on ANY
# output: a misspelt key is only a warning to systemd (the unit still loads, without it), and
# that is how a restart policy or a hardening line silently disappears. The units name
# /usr/local/bin/kairos-*, which a build machine does not have: the check runs on a copy that
# points at the binaries in BIN_DIR (default: the debug build). The sysusers file is applied to
# an empty root.
#
#   scripts/check-units.sh [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-${CARGO_TARGET_DIR:-target}/debug}")
for b in kairos-api kairos-keepers; do
  [ -x "$bin/$b" ] || { echo "check-units: $bin/$b is missing (cargo build -p kairos-api -p kairos-keepers)"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in deploy/systemd/*.service deploy/systemd/*.timer; do
  sed "s#/usr/local/bin/#$bin/#g" "$unit" > "$work/$(basename "$unit")"
done
status=0
out=$(systemd-analyze verify "$work"/*.service "$work"/*.timer 2>&1) || status=1
if [ -n "$out" ] || [ "$status" != 0 ]; then
  echo "check-units: systemd-analyze verify complained:"; echo "$out"; exit 1
fi
mkdir -p "$work/root/etc"
touch "$work/root/etc/passwd" "$work/root/etc/group"
out=$(systemd-sysusers --root="$work/root" "$(realpath deploy/systemd/kairos.sysusers.conf)" 2>&1) || status=1
if grep -qv '^Creating ' <<< "$out" || [ "$status" != 0 ] || ! grep -q '^kairos:' "$work/root/etc/passwd"; then
  echo "check-units: systemd-sysusers did not create the kairos user:"; echo "$out"; exit 1
fi
echo "check-units: $(ls deploy/systemd/*.service deploy/systemd/*.timer | wc -l) units and the sysusers file verify cleanly"
