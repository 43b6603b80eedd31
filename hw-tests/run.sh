#!/usr/bin/env bash
# `npm run test:hw`: the hardware-in-the-loop suite on the simulated board.
#
#   1. hw-tests/setup.sh           kernel + simulator modules + initramfs (cached in hw-tests/.cache)
#   2. hw-tests/build-suite.mjs    the suite and the edgecore bundle, as plain JS for the guest
#   3. hw-tests/host/sim.mjs       the devices on the guest's UART cables (Modbus RTU slave, line device)
#   4. hw-tests/run-vm.sh          boots the guest, which runs guest/suite.sh
# Results: $HIL_OUT_DIR/results.json (default hw-tests/.cache/out/x86_64), console in console.log.
# Exit status: the suite's (0 = every case passed); 3 = the machine cannot run the guest.
# Env: HIL_OUT_DIR, HIL_ONLY (regex of case names), HIL_PHASES (drivers,daemon), HIL_DAEMON_LOG (debug...),
# and run-vm.sh's HIL_*.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${HIL_OUT_DIR:-$HERE/.cache/out/x86_64}
t0=$(date +%s%N)
stamp() { echo "hil: [+$(( ($(date +%s%N) - t0) / 100000000 ))ds] $*"; }

stamp "setup (cached)"
bash "$HERE/setup.sh" >/dev/null
stamp "bundling the suite and edgecore"
node "$HERE/build-suite.mjs"

rm -rf "$OUT"; mkdir -p "$OUT/sim"
# unix socket paths must stay short (108 bytes): keep them in /tmp
UARTS=$(mktemp -d /tmp/hil-uart.XXXXXX)
SIM=
cleanup() {
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null && wait "$SIM" 2>/dev/null
  rm -rf "$UARTS"
}
trap cleanup EXIT
node "$HERE/host/sim.mjs" --uart-dir "$UARTS" --state-dir "$OUT/sim" 2>"$OUT/sim.log" &
SIM=$!

stamp "booting the guest"
rc=0
# guest parameters travel on the kernel command line as hil_* (see guest/init.sh); pass the filters
# through a file in the results folder instead, so they may contain anything
{
  [ -n "${HIL_ONLY:-}" ] && printf 'HIL_ONLY=%q\n' "$HIL_ONLY"
  [ -n "${HIL_PHASES:-}" ] && printf 'HIL_PHASES=%q\n' "$HIL_PHASES"
  [ -n "${HIL_DAEMON_LOG:-}" ] && printf 'HIL_DAEMON_LOG=%q\n' "$HIL_DAEMON_LOG"
  printf 'HIL_ACCEL=%q\n' "${HIL_ACCEL:-tcg}"
  true
} >"$OUT/params.env"
HIL_UART_DIR=$UARTS bash "$HERE/run-vm.sh" "$HERE/guest/suite.sh" "$OUT" 2>&1 | tee "$OUT/console.log" || true
rc=$(cat "$OUT/exitcode" 2>/dev/null || echo 125)
stamp "guest done (rc=$rc)"
if [ -f "$OUT/results.json" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`hil: ${r.passed} passed, ${r.failed} failed, suite ${r.wallMs} ms in the guest (${r.arch}, ${r.accel})`);
    for (const c of r.cases.filter((c) => !c.ok)) console.log(`  FAIL ${c.name}: ${c.detail}`);
  ' "$OUT/results.json"
else
  echo "hil: no results.json (see $OUT/console.log)"
  [ "$rc" = 0 ] && rc=125
fi
exit "$rc"
