#!/usr/bin/env bash
# `npm run test:hw`: the hardware-in-the-loop suite on the simulated board.
#
#   hw-tests/run.sh [x86_64|arm64|armv7]      (armv7: the arm64 guest running armv7 binaries in compat mode)
#
#   1. hw-tests/setup.sh           kernel + simulator modules + initramfs (cached in hw-tests/.cache)
#   2. hw-tests/build-suite.mjs    the suite and the edgecore bundle, as plain JS for the guest
#      arm64: the field artifact from `node build.mjs --target linux-arm64 --if-changed` (its arm64
#      node runtime, addons and bundle; HIL_ARTIFACT=<tar.gz> to use a given one), unpacked in the cache
#   3. hw-tests/host/sim.mjs       the devices on the guest's UART cables (Modbus RTU slave, line device)
#   4. hw-tests/run-vm.sh          boots the guest, which runs guest/suite.sh
# Results: $HIL_OUT_DIR/results.json (default hw-tests/.cache/out/<arch>), console in console.log.
# Exit status: the suite's (0 = every case passed); 3 = the machine cannot run the guest.
# Env: HIL_OUT_DIR, HIL_ONLY (regex of case names), HIL_PHASES (drivers,daemon), HIL_DAEMON_LOG (debug...),
# DEBUG (the `debug` package's namespaces in the guest, e.g. serialport/*), HIL_BOARD (sim, or
# wired: the real-board wiring-file path rehearsed on the simulated board),
# and run-vm.sh's HIL_*.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ARCH=${1:-${HIL_ARCH:-x86_64}}
case "$ARCH" in
  x86_64) VMARCH=x86_64 ;;
  arm64 | armv7) VMARCH=arm64 ;;
  *) echo "hil: unknown arch $ARCH (x86_64 | arm64 | armv7)" >&2; exit 2 ;;
esac
export HIL_ARCH=$VMARCH
BOARD=${HIL_BOARD:-sim}
case "$BOARD" in sim) UART2=line; SUFFIX= ;; wired) UART2=loopback; SUFFIX=-wired ;; *) echo "hil: HIL_BOARD is sim or wired" >&2; exit 2 ;; esac
OUT=${HIL_OUT_DIR:-$HERE/.cache/out/$ARCH$SUFFIX}
t0=$(date +%s%N)
stamp() { echo "hil: [+$(( ($(date +%s%N) - t0) / 100000000 ))ds] $*"; }

stamp "setup (cached)"
bash "$HERE/setup.sh" "$VMARCH" >/dev/null
stamp "bundling the suite and edgecore"
node "$HERE/build-suite.mjs"
SUITE=$HERE/.cache/build/suite.mjs
EDGECORE=$HERE/.cache/build/dist
if [ "$VMARCH" = arm64 ]; then
  ART=${HIL_ARTIFACT:-}
  T=linux-$ARCH
  if [ -z "$ART" ]; then
    stamp "$ARCH field artifact (build.mjs --target $T --if-changed)"
    (cd "$ROOT" && node build.mjs --target "$T" --if-changed) >&2
    ART=$(ls -t "$ROOT/builds/$T/edgecore-"*"-$T.tar.gz" 2>/dev/null | head -1)
  fi
  [ -f "$ART" ] || { echo "hil: no $T artifact (node build.mjs --target $T)"; exit 3; }
  sum=$(sha256sum "$ART" | cut -c1-16)
  U=$HERE/.cache/artifact-$ARCH/$sum
  if [ ! -d "$U/lib" ]; then
    rm -rf "$HERE/.cache/artifact-$ARCH"; mkdir -p "$U"
    tar xzf "$ART" -C "$U" --strip-components=1
  fi
  # the suite runs next to the artifact's lib/node_modules, so it loads the arm64 addons
  rm -rf "$U/lib/hil"; mkdir -p "$U/lib/hil"
  cp -r "$HERE/.cache/build/suite.mjs" "$HERE/.cache/build/suite.mjs.map" "$U/lib/hil/"
  [ ! -d "$HERE/.cache/build/chunks" ] || cp -r "$HERE/.cache/build/chunks" "$U/lib/hil/"
  SUITE=$U/lib/hil/suite.mjs
  EDGECORE=$U/lib
  export HIL_GUEST_PATH=$U/node/bin
fi

rm -rf "$OUT"; mkdir -p "$OUT/sim"
# unix socket paths must stay short (108 bytes): keep them in /tmp
UARTS=$(mktemp -d /tmp/hil-uart.XXXXXX)
SIM=
cleanup() {
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null && wait "$SIM" 2>/dev/null
  rm -rf "$UARTS"
}
trap cleanup EXIT
# HIL_BOARD=wired: the wiring-file path of a real board, rehearsed on the simulated one
# (guest/wired-rehearsal.sh); its serial loopback is uart2 with TX tied to RX
node "$HERE/host/sim.mjs" --uart-dir "$UARTS" --state-dir "$OUT/sim" --uart2 "$UART2" 2>"$OUT/sim.log" &
SIM=$!

stamp "booting the guest"
rc=0
# guest parameters travel on the kernel command line as hil_* (see guest/init.sh); pass the filters
# through a file in the results folder instead, so they may contain anything
{
  [ -n "${HIL_ONLY:-}" ] && printf 'HIL_ONLY=%q\n' "$HIL_ONLY"
  [ -n "${HIL_PHASES:-}" ] && printf 'HIL_PHASES=%q\n' "$HIL_PHASES"
  [ -n "${HIL_DAEMON_LOG:-}" ] && printf 'HIL_DAEMON_LOG=%q\n' "$HIL_DAEMON_LOG"
  [ -n "${DEBUG:-}" ] && printf 'DEBUG=%q\n' "$DEBUG"
  printf 'HIL_ACCEL=%q\n' "${HIL_ACCEL:-tcg}"
  printf 'HIL_BOARD=%q\n' "$BOARD"
  printf 'HIL_SUITE=%q\nHIL_EDGECORE=%q\n' "$SUITE" "$EDGECORE"
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
