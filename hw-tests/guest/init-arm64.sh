#!/bin/busybox sh
# /init of the arm64 HIL guest's initramfs (busybox only; copied in by hw-tests/setup.sh arm64).
#
# Unlike the x86_64 guest this one cannot chroot into the host's root (its binaries are x86), so
# it stays in the initramfs and borrows from the host, shared read-only over virtio-9p at /host:
#   - the arm64 C/C++ runtime of the host's cross packages (/usr/aarch64-linux-gnu/lib:
#     libc6-arm64-cross, libstdc++6-arm64-cross) as the guest's /lib, and the armhf one
#     (/usr/arm-linux-gnueabihf/lib) for armv7 binaries in compat mode (the loader skips the
#     libraries of the other architecture on the shared LD_LIBRARY_PATH)
#   - the project tree (hil_root) at its host path, holding the arm64 edgecore artifact
#     (its node runtime and addons) unpacked by run.sh
# Results go to the writable 9p share "out" at hil_out. Kernel parameters used:
#   hil_cmd, hil_out, hil_root, hil_path (extra PATH: the artifact's node/bin), hil_uarts
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc none /proc
mount -t sysfs none /sys
mount -t devtmpfs none /dev
say() { echo "hil-init: $* (t=$(cut -d' ' -f1 /proc/uptime)s)"; }
say "initramfs running"
for m in virtio_pci 9pnet_virtio 9p; do modprobe "$m" 2>/dev/null; done
opts9p=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /host /tmp /run /etc /dev/pts /dev/shm
mount -t 9p -o "$opts9p,ro,cache=loose" hostroot /host || { say "cannot mount the host root"; poweroff -f; }
mount -t tmpfs none /tmp
mount -t tmpfs none /run
mount -t devpts none /dev/pts
mount -t tmpfs none /dev/shm
mount -t debugfs none /sys/kernel/debug 2>/dev/null
X=/host/usr/aarch64-linux-gnu/lib
ln -s "$X/ld-linux-aarch64.so.1" /lib/ld-linux-aarch64.so.1
# armv7 binaries run too (AArch32 at EL0, the kernel's compat layer), on libc6-armhf-cross
H=/host/usr/arm-linux-gnueabihf/lib
ln -s "$H/ld-linux-armhf.so.3" /lib/ld-linux-armhf.so.3
ln -s /host/etc/hosts /etc/hosts
ROOTDIR=${hil_root:-/}
if [ "$ROOTDIR" != / ]; then mkdir -p "$ROOTDIR" && mount --bind "/host$ROOTDIR" "$ROOTDIR"; fi
OUT=${hil_out:-/tmp/hil-out}
mkdir -p "$OUT" 2>/dev/null
mount -t 9p -o "$opts9p" out "$OUT" || say "cannot mount the results share"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
hostname hil-guest-arm64
say "root ready, running ${hil_cmd:-/bin/sh}"
env -i PATH="/bin:${hil_path:-}" HOME=/tmp TERM=dumb LD_LIBRARY_PATH="$X:$H" HIL_OUT="$OUT" HIL_UARTS="${hil_uarts:-}" \
  /bin/sh -c "${hil_cmd:-/bin/sh}" </dev/console >/dev/console 2>&1
rc=$?
echo "$rc" >"$OUT/exitcode"
say "command exited with $rc"
sync
umount "$OUT" 2>/dev/null
poweroff -f
