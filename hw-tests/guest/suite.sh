#!/bin/sh
# Guest entry of `npm run test:hw`: make the simulated board, then run the suite's one node process.
set -eu
HW=$(cd "$(dirname "$0")/.." && pwd)
env_lines=$("$HW/guest/hw-setup.sh")
echo "$env_lines"
for kv in $env_lines; do export "$kv"; done
export HIL_SIM_DIR="$HIL_OUT/sim"
if [ -f "$HIL_OUT/params.env" ]; then
  . "$HIL_OUT/params.env"
  export HIL_ONLY HIL_PHASES HIL_ACCEL HIL_DAEMON_LOG HIL_SUITE HIL_EDGECORE
  # shellcheck source=wired-rehearsal.sh
  if [ "${HIL_BOARD:-sim}" = wired ]; then . "$HW/guest/wired-rehearsal.sh"; fi
fi
echo "hil-guest: hardware ready (t=$(cut -d' ' -f1 /proc/uptime)s)"
export HIL_EDGECORE="${HIL_EDGECORE:-$HW/.cache/build/dist}"
cd "$HW/.."
# the suite's own serial cases run as the artifact's launchers run edgecore: without io_uring file
# reads (Node 20.11.0, the armv7 runtime, would hang an unplugged port; src/lib/runtime.ts)
export UV_USE_IO_URING=0
exec node "${HIL_SUITE:-$HW/.cache/build/suite.mjs}"
