#!/usr/bin/env bash
# Boot the simulated board (QEMU guest, Debian kernel from hw-tests/setup.sh) and run one script
# in it; exit with the script's status.
#
#   hw-tests/run-vm.sh GUEST_SCRIPT OUT_DIR
#
# GUEST_SCRIPT  absolute path, no spaces: the guest sees the host's / (read-only + tmpfs overlay),
#               so host paths are valid in the guest.
# OUT_DIR       host folder shared read-write at the same path in the guest (results, exitcode).
# Env:
#   HIL_ARCH      x86_64 (default: q35, the guest chroots into the host's root) or arm64 (virt,
#                 cortex-a72; the guest runs from its initramfs with the project tree bound in,
#                 see guest/init-arm64.sh; HIL_GUEST_PATH is added to its PATH)
#   HIL_UART_DIR  when set, the guest gets two extra 16550 UARTs (ttyS1, ttyS2) whose far ends are
#                 unix sockets $HIL_UART_DIR/uart1.sock and uart2.sock (QEMU listens; the host side
#                 connects: a socat bridge, a device simulator, or nothing = unplugged cable).
#   HIL_ACCEL     default tcg,thread=multi. KVM here is PVM and cannot run a stock kernel; on a CI
#                 machine with real VMX/SVM use HIL_ACCEL=kvm HIL_CPU=host.
#   HIL_CPU (max) HIL_SMP (2) HIL_MEM (2048) HIL_TIMEOUT (seconds, 300) HIL_CONSOLE (file, default stdout)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPT=${1:?usage: run-vm.sh GUEST_SCRIPT OUT_DIR}
OUT=${2:?usage: run-vm.sh GUEST_SCRIPT OUT_DIR}
case "$SCRIPT$OUT" in *[[:space:]]*) echo "run-vm: paths must not contain spaces (they go on the kernel command line)" >&2; exit 2;; esac
ARCH=${HIL_ARCH:-x86_64}
ENVF=${HIL_CACHE:-$HERE/.cache}/$ARCH/current.env
[ -f "$ENVF" ] || { echo "run-vm: $ENVF missing: run hw-tests/setup.sh first" >&2; exit 3; }
# shellcheck source=/dev/null
. "$ENVF"
mkdir -p "$OUT"; rm -f "$OUT/exitcode"

ROOT=$(cd "$HERE/.." && pwd)
APPEND="quiet loglevel=3 panic=-1 cryptomgr.notests mitigations=off hil_cmd=$SCRIPT hil_out=$OUT hil_root=$ROOT"
if [ "$ARCH" = arm64 ]; then
  QEMU=(qemu-system-aarch64 -machine virt -cpu "${HIL_CPU:-cortex-a72}")
  APPEND="console=ttyAMA0 $APPEND hil_path=${HIL_GUEST_PATH:-}"
  GUEST_UARTS=ttyS0,ttyS1
else
  QEMU=(qemu-system-x86_64 -machine q35 -cpu "${HIL_CPU:-max}")
  # Debian's HZ is 250; passing loops_per_jiffy spares the guest a delay-loop calibration per CPU
  LPJ=$(awk '/^cpu MHz/ {printf "%d", $4 * 1000000 / 250; exit}' /proc/cpuinfo)
  APPEND="console=ttyS0 $APPEND tsc=reliable${LPJ:+ lpj=$LPJ}"
  GUEST_UARTS=ttyS1,ttyS2
fi

UARTS=()
if [ -n "${HIL_UART_DIR:-}" ]; then
  APPEND="$APPEND hil_uarts=$GUEST_UARTS"
  for i in 1 2; do
    rm -f "$HIL_UART_DIR/uart$i.sock"
    UARTS+=(-chardev "socket,id=uart$i,path=$HIL_UART_DIR/uart$i.sock,server=on,wait=off")
    if [ "$ARCH" = arm64 ]; then UARTS+=(-device "pci-serial,chardev=uart$i"); else UARTS+=(-serial "chardev:uart$i"); fi
  done
fi
CONSOLE=(-serial stdio)
[ -n "${HIL_CONSOLE:-}" ] && CONSOLE=(-serial "file:$HIL_CONSOLE")

set +e
timeout --kill-after=10 "${HIL_TIMEOUT:-300}" "${QEMU[@]}" -accel "${HIL_ACCEL:-tcg,thread=multi}" \
  -smp "${HIL_SMP:-2}" -m "${HIL_MEM:-2048}" \
  -nodefaults -no-user-config -nographic -display none -no-reboot \
  "${CONSOLE[@]}" ${UARTS[@]+"${UARTS[@]}"} \
  -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
  -fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev "local,id=out,path=$OUT,security_model=none" \
  -device virtio-9p-pci,fsdev=out,mount_tag=out </dev/null
qrc=$?
set -e
if [ ! -f "$OUT/exitcode" ]; then
  [ "$qrc" = 124 ] && echo "run-vm: guest timed out after ${HIL_TIMEOUT:-300}s" >&2 || echo "run-vm: guest ended without a result (qemu rc=$qrc)" >&2
  exit 125
fi
exit "$(cat "$OUT/exitcode")"
