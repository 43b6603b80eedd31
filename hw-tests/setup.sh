#!/usr/bin/env bash
# One-time, cached setup of the simulated board for the hardware-in-the-loop suite (x86_64 guest).
#
#   hw-tests/setup.sh            -> prints the path of the env file describing the guest
#
# What it makes (under $HIL_CACHE, default hw-tests/.cache, keyed by the Debian kernel version):
#   x86_64/<kver>_<debver>/vmlinux            Debian's kernel, uncompressed (booted through its PVH note:
#                                             no in-guest XZ decompression, which is slow under TCG)
#   x86_64/<kver>_<debver>/kroot/lib/modules  Debian's modules + gpio-sim, gpio-mockup, irq_sim built here
#   x86_64/<kver>_<debver>/initramfs-<hash>.cpio.gz   busybox-static + the modules the guest needs + guest/init.sh
#   x86_64/current.env                        KVER=, KERNEL=, INITRD= (read by run-vm.sh)
#
# Debian does not enable CONFIG_GPIO_SIM / GPIO_MOCKUP / IRQ_SIM, so the three are compiled out of tree
# against the same version's headers and sources, fetched with `apt-get download` (no system install).
# irq_sim is not meant to be a module: irq_to_desc() is not exported, so its work handler is rewritten to
# call generic_handle_domain_irq(), and it gets a MODULE_LICENSE. The modules are unsigned (Debian does
# not force signatures; loading taints the kernel, which is fine for a test guest).
#
# Offline: when apt cannot resolve the kernel, the newest complete cache entry is used.
# Env: HIL_CACHE, HIL_KVER (pin a kernel ABI like 6.1.0-56-amd64), HIL_FORCE=1 (rebuild).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${HIL_CACHE:-$HERE/.cache}
ARCHDIR=$CACHE/x86_64
mkdir -p "$ARCHDIR"
log() { echo "hil-setup: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "missing tool '$1' (install: $2)"; exit 3; }; }
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need depmod kmod
need make make
need gcc-12 gcc-12
need busybox busybox-static
need perl perl
BUSYBOX=${HIL_BUSYBOX:-/bin/busybox}   # from busybox-static: a static binary runs in the bare initramfs
[ -x "$BUSYBOX" ] || { log "no $BUSYBOX (install busybox-static)"; exit 3; }

# The modules the guest loads: transport for the shared folders + the simulated chips.
GUEST_MODULES="virtio_pci 9pnet_virtio 9p overlay configfs irq_sim gpio-sim gpio-mockup i2c-dev hil-i2c-stub"

resolve_kernel() {
  local kver ver
  kver=${HIL_KVER:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {sub(/^linux-image-/, "", $2); print $2; exit}')}
  [ -n "$kver" ] || return 1
  ver=$(apt-cache show "linux-image-$kver" 2>/dev/null | awk '/^Version:/ {print $2; exit}')
  [ -n "$ver" ] || return 1
  echo "$kver $ver"
}

if read -r KVER DEBVER < <(resolve_kernel); then
  W=$ARCHDIR/${KVER}_${DEBVER}
else
  W=$(ls -d "$ARCHDIR"/*_*/ 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$W" ] && [ -f "$W/vmlinux" ] || { log "cannot resolve the Debian kernel (apt-get update?) and no cache"; exit 3; }
  W=${W%/}; KVER=$(basename "$W"); DEBVER=${KVER#*_}; KVER=${KVER%%_*}
  log "apt cannot resolve linux-image-amd64: using cached $KVER ($DEBVER)"
fi
[ "${HIL_FORCE:-0}" = 1 ] && rm -rf "$W"
ABI=${KVER%-amd64}                      # 6.1.0-56
SERIES=$(echo "$KVER" | cut -d. -f1-2)  # 6.1
mkdir -p "$W"

# ---- 1. kernel, headers, sources -> vmlinux + out-of-tree modules (once per kernel version) ----
# bump MODREV when the module build below changes: cached kernels are rebuilt
MODREV=2
if [ "$(head -1 "$W/kernel.done" 2>/dev/null)" != "rev $MODREV" ]; then
  t0=$(date +%s)
  log "kernel $KVER ($DEBVER): downloading"
  rm -rf "$W/debs" "$W/kroot" "$W/hdr" "$W/mod"; mkdir -p "$W/debs"
  (cd "$W/debs" && apt-get download -q "linux-image-$KVER=$DEBVER" "linux-headers-$KVER=$DEBVER" \
      "linux-headers-$ABI-common=$DEBVER" "linux-kbuild-$SERIES=$DEBVER" "linux-source-$SERIES=$DEBVER" 2>&1 \
    | grep -v -e 'unsandboxed' -e '^Get:' -e '^Fetched' >&2 || true)
  for p in linux-image-$KVER linux-headers-$KVER linux-headers-$ABI-common linux-kbuild-$SERIES linux-source-$SERIES; do
    ls "$W/debs/${p}_"*.deb >/dev/null 2>&1 || { log "download of $p failed"; exit 3; }
  done
  dpkg-deb -x "$W/debs/linux-image-${KVER}_"*.deb "$W/kroot"
  for d in "$W/debs/linux-headers-"*.deb "$W/debs/linux-kbuild-"*.deb; do dpkg-deb -x "$d" "$W/hdr"; done
  H=$W/hdr/usr/src/linux-headers-$KVER
  # the arch headers' Makefile includes the common one by an absolute /usr/src path: point it at ours
  printf 'include %s\n' "$W/hdr/usr/src/linux-headers-$ABI-common/Makefile" >"$H/Makefile"

  log "extracting simulator sources"
  mkdir -p "$W/mod"
  src=linux-source-$SERIES
  dpkg-deb --fsys-tarfile "$W/debs/${src}_"*.deb | tar -xO "./usr/src/$src.tar.xz" \
    | tar -xJ -C "$W/mod" --strip-components=1 \
        "$src/drivers/gpio/gpio-sim.c" "$src/drivers/gpio/gpio-mockup.c" "$src/drivers/gpio/gpiolib.h" \
        "$src/kernel/irq/irq_sim.c" "$src/drivers/i2c/i2c-stub.c" "$src/scripts/extract-vmlinux"
  rm -f "$W/debs/${src}_"*.deb   # 140 MB, not needed again
  cd "$W/mod"
  cp drivers/gpio/gpio-sim.c drivers/gpio/gpio-mockup.c drivers/gpio/gpiolib.h kernel/irq/irq_sim.c .
  # irq_sim as a loadable module (see the header): dispatch through the domain instead of irq_to_desc()
  perl -0pi -e '
    s/\n\tint irqnum;\n/\n/ or die "irq_sim.c: irqnum declaration not found\n";
    s/\t\tirqnum = irq_find_mapping\(work_ctx->domain, offset\);\n\t\thandle_simple_irq\(irq_to_desc\(irqnum\)\);\n/\t\tgeneric_handle_domain_irq(work_ctx->domain, offset);\n/
      or die "irq_sim.c: dispatch lines not found\n";
    s/^(#include <linux\/irq\.h>)$/#include <linux\/module.h>\n$1/m or die "irq_sim.c: include not found\n";
    $_ .= "\nMODULE_DESCRIPTION(\"interrupt simulator (out-of-tree build for the edgecore HIL guest)\");\nMODULE_LICENSE(\"GPL\");\n";
  ' irq_sim.c
  # hil-i2c-stub: Debian's i2c-stub plus a writable parameter absent_mask (bit i = the i-th chip_addr
  # stops answering, -ENODEV): unplugging one I2C device while the daemon keeps /dev/i2c-N open
  # (an open i2c-dev pins the adapter module, so rmmod would fail with EBUSY)
  cp drivers/i2c/i2c-stub.c hil-i2c-stub.c
  perl -0pi -e '
    s/(module_param_array\(chip_addr, ushort, NULL, S_IRUGO\);\n)/$1static unsigned int absent_mask;\nmodule_param(absent_mask, uint, 0644);\nMODULE_PARM_DESC(absent_mask, "bit i set: the chip at chip_addr[i] does not answer");\n/
      or die "i2c-stub.c: chip_addr parameter not found\n";
    s/(\t\}\n\tif \(!chip)\)\n\t\treturn -ENODEV;/$1 || (absent_mask & (1u << i)))\n\t\treturn -ENODEV;/ or die "i2c-stub.c: chip lookup not found\n";
  ' hil-i2c-stub.c
  printf 'obj-m := irq_sim.o gpio-sim.o gpio-mockup.o hil-i2c-stub.o\n' >Kbuild
  log "building irq_sim, gpio-sim, gpio-mockup, hil-i2c-stub"
  make -s -C "$H" M="$W/mod" CC=gcc-12 modules >&2
  strip --strip-debug ./*.ko
  mkdir -p "$W/kroot/lib/modules/$KVER/extra"
  cp ./*.ko "$W/kroot/lib/modules/$KVER/extra/"
  depmod -b "$W/kroot" "$KVER"
  log "uncompressing the kernel"
  sh scripts/extract-vmlinux "$W/kroot/boot/vmlinuz-$KVER" >"$W/vmlinux.tmp"
  mv "$W/vmlinux.tmp" "$W/vmlinux"
  rm -rf "$W/hdr" "$W/debs" "$W/kroot/usr" "$W/mod/drivers" "$W/mod/kernel"
  printf 'rev %s\nbuilt %s in %ss\n' "$MODREV" "$(date -u +%FT%TZ)" "$(( $(date +%s) - t0 ))" >"$W/kernel.done"
  log "kernel ready in $(( $(date +%s) - t0 ))s"
fi

# ---- 2. initramfs (rebuilt when guest/init.sh or the module list changes; ~1 s) ----
KEY=$( { cat "$HERE/guest/init.sh" "$W/kernel.done"; echo "$GUEST_MODULES"; sha256sum "$BUSYBOX"; } | sha256sum | cut -c1-12)
INITRD=$W/initramfs-$KEY.cpio.gz
if [ ! -f "$INITRD" ]; then
  T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
  MD=$W/kroot/lib/modules/$KVER
  mkdir -p "$T/bin" "$T/proc" "$T/sys" "$T/dev" "$T/lower" "$T/rw" "$T/root" "$T/lib/modules/$KVER"
  cp "$BUSYBOX" "$T/bin/busybox"
  for m in $GUEST_MODULES; do
    for f in $(modprobe -d "$W/kroot" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'); do
      rel=${f#"$MD"/}; mkdir -p "$T/lib/modules/$KVER/$(dirname "$rel")"; cp "$f" "$T/lib/modules/$KVER/$rel"
    done
  done
  cp "$MD"/modules.builtin* "$MD"/modules.order "$T/lib/modules/$KVER/" 2>/dev/null || true
  depmod -b "$T" "$KVER"
  install -m 0755 "$HERE/guest/init.sh" "$T/init"
  (cd "$T" && find . | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
  rm -f "$W"/initramfs-*.cpio.gz.old
  for old in "$W"/initramfs-*.cpio.gz; do [ "$old" = "$INITRD" ] || rm -f "$old"; done
  log "initramfs $(basename "$INITRD") ($(du -k "$INITRD" | cut -f1) KiB)"
fi

cat >"$ARCHDIR/current.env.tmp" <<EOF
KVER=$KVER
DEBVER=$DEBVER
KERNEL=$W/vmlinux
INITRD=$INITRD
EOF
mv "$ARCHDIR/current.env.tmp" "$ARCHDIR/current.env"
echo "$ARCHDIR/current.env"
