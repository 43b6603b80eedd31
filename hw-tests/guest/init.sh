#!/bin/busybox sh
# /init of the HIL guest's initramfs (copied in by hw-tests/setup.sh; busybox only).
#
# Root: the HOST's / shared read-only over virtio-9p (tag "hostroot"), with a tmpfs overlay on top,
# so the guest runs the host's own node, node_modules and dist/ unchanged and every write vanishes
# at power-off. Results go to a second, writable 9p share (tag "out") mounted at the host path
# given by hil_out, so the same path works on both sides.
#
# Kernel parameters the kernel does not know (key=value) arrive here as environment variables:
#   hil_cmd   script to run inside the new root (no spaces: it travels on the kernel command line)
#   hil_out   host path of the results folder
#   hil_uarts the guest's UARTs wired to the host simulator (e.g. ttyS1,ttyS2), passed on as HIL_UARTS
# The command's exit status is written to $hil_out/exitcode, then the guest powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc none /proc
mount -t sysfs none /sys
mount -t devtmpfs none /dev
say() { echo "hil-init: $* (t=$(cut -d' ' -f1 /proc/uptime)s)"; }
say "initramfs running"
for m in virtio_pci 9pnet_virtio 9p overlay; do modprobe "$m" || say "modprobe $m failed"; done

R=/root
opts9p=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts9p,ro,cache=loose" hostroot /lower || { say "cannot mount the host root"; poweroff -f; }
mount -t tmpfs -o size=1536m,mode=0755 none /rw
mkdir -p /rw/up /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/up,workdir=/rw/work none $R
mount -t proc none $R/proc
mount -t sysfs none $R/sys
mount -t devtmpfs none $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts none $R/dev/pts
mount -t tmpfs none $R/dev/shm
mount -t tmpfs none $R/run
# A clean /tmp, unless the project itself lives under /tmp (a CI clone): then the overlay's /tmp
# (host files read-only below, guest writes in tmpfs above) keeps the tree visible.
case "${hil_root:-}" in /tmp|/tmp/*) ;; *) mount -t tmpfs none $R/tmp ;; esac
mount -t debugfs none $R/sys/kernel/debug 2>/dev/null
# the host's /lib/modules has no modules for this kernel: show the initramfs' set instead
mkdir -p $R/lib/modules && mount --bind /lib/modules $R/lib/modules
OUT=${hil_out:-/tmp/hil-out}
mkdir -p "$R$OUT"
mount -t 9p -o "$opts9p" out "$R$OUT" || say "cannot mount the results share"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
hostname hil-guest
say "root ready, running ${hil_cmd:-/bin/sh}"
chroot $R /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
  LANG=C.UTF-8 HIL_OUT="$OUT" HIL_UARTS="${hil_uarts:-}" /bin/sh -c "${hil_cmd:-/bin/sh}" </dev/console >/dev/console 2>&1
rc=$?
echo "$rc" >"$R$OUT/exitcode"
say "command exited with $rc"
sync
umount "$R$OUT" 2>/dev/null
poweroff -f
