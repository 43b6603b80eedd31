#!/usr/bin/env bash
# One-time, cached setup of the simulated board for the hardware-in-the-loop suite.
#
#   hw-tests/setup.sh [x86_64|arm64]   -> prints the path of the env file describing the guest
#
# What it makes (under $HIL_CACHE, default hw-tests/.cache, keyed by the Debian kernel version):
#   <arch>/<kver>_<debver>/vmlinux            the kernel: x86_64 uncompressed (booted through its PVH
#                                             note: no in-guest XZ decompression, slow under TCG);
#                                             arm64 Debian's Image as is
#   <arch>/<kver>_<debver>/kroot/lib/modules  Debian's modules + irq_sim, gpio-sim, gpio-mockup, hil-i2c-stub
#   <arch>/<kver>_<debver>/initramfs-<hash>.cpio.gz   busybox-static + the guest's modules + guest/init*.sh
#   <arch>/current.env                        KVER=, KERNEL=, INITRD= (read by run-vm.sh)
# arm64: the arm64 packages come from a private apt state in the cache (the host's apt and dpkg
# configuration is not touched); the modules are cross-built with aarch64-linux-gnu-gcc against the
# arm64 headers and the host's (amd64) kbuild tools of the same version.
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
ARCH=${1:-${HIL_ARCH:-x86_64}}
case "$ARCH" in x86_64 | arm64) ;; *) echo "hil-setup: unknown arch $ARCH (x86_64 | arm64)" >&2; exit 2;; esac
ARCHDIR=$CACHE/$ARCH
mkdir -p "$ARCHDIR"
log() { echo "hil-setup: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "missing tool '$1' (install: $2)"; exit 3; }; }
if [ "$ARCH" = arm64 ]; then
  need qemu-system-aarch64 qemu-system-arm
  need aarch64-linux-gnu-gcc-12 gcc-12-aarch64-linux-gnu
  [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || { log "no arm64 libc (install libc6-arm64-cross libstdc++6-arm64-cross)"; exit 3; }
  [ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || { log "no arm64 libstdc++ (install libstdc++6-arm64-cross)"; exit 3; }
else
  need qemu-system-x86_64 qemu-system-x86
fi
need cpio cpio
need depmod kmod
need make make
need gcc-12 gcc-12
need busybox busybox-static
need perl perl
BUSYBOX=${HIL_BUSYBOX:-/bin/busybox}   # from busybox-static: a static binary runs in the bare initramfs
[ -x "$BUSYBOX" ] || { log "no $BUSYBOX (install busybox-static)"; exit 3; }

# apt for the guest's architecture: the host's own for x86_64, a private state dir for arm64
APT=()
if [ "$ARCH" = arm64 ]; then
  A=$CACHE/apt-arm64
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
  printf 'deb [arch=arm64] http://deb.debian.org/debian %s main\n' bookworm bookworm-updates >"$A/sources.list"
  printf 'deb [arch=arm64] http://deb.debian.org/debian-security bookworm-security main\n' >>"$A/sources.list"
  APT=(-o "Dir::Etc::sourcelist=$A/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$A/lists"
    -o "Dir::Cache=$A/cache" -o Dir::State::status=/dev/null -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
  # refresh the private index at most daily (it is what "keyed by versions" resolves against)
  if [ -z "$(find "$A/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
    apt-get "${APT[@]}" update -qq >&2 || log "arm64 apt index update failed (offline?)"
  fi
fi
KARCH=$([ "$ARCH" = arm64 ] && echo arm64 || echo amd64)

# The modules the guest loads: transport for the shared folders + the simulated chips.
GUEST_MODULES="virtio_pci 9pnet_virtio 9p overlay configfs irq_sim gpio-sim gpio-mockup i2c-dev hil-i2c-stub"

resolve_kernel() {
  local kver ver
  kver=${HIL_KVER:-$(apt-cache "${APT[@]}" depends "linux-image-$KARCH" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {sub(/^linux-image-/, "", $2); print $2; exit}')}
  [ -n "$kver" ] || return 1
  ver=$(apt-cache "${APT[@]}" show "linux-image-$kver" 2>/dev/null | awk '/^Version:/ {print $2; exit}')
  [ -n "$ver" ] || return 1
  echo "$kver $ver"
}

# same_upstream PKG DEBVER: DEBVER when the host's apt lists it for PKG, else the newest listed version
# with the same upstream part (DEBVER without its Debian revision); fails when there is none
same_upstream() {
  local versions
  versions=$(apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}')
  if printf '%s\n' "$versions" | grep -qxF "$2"; then echo "$2"; return 0; fi
  printf '%s\n' "$versions" | grep -F "${2%-*}-" | sort -V | tail -1 | grep .
}

if read -r KVER DEBVER < <(resolve_kernel); then
  W=$ARCHDIR/${KVER}_${DEBVER}
else
  W=$(ls -d "$ARCHDIR"/*_*/ 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$W" ] && [ -f "$W/vmlinux" ] || { log "cannot resolve the Debian kernel (apt-get update?) and no cache"; exit 3; }
  W=${W%/}; KVER=$(basename "$W"); DEBVER=${KVER#*_}; KVER=${KVER%%_*}
  log "apt cannot resolve linux-image-$KARCH: using cached $KVER ($DEBVER)"
fi
[ "${HIL_FORCE:-0}" = 1 ] && rm -rf "$W"
ABI=${KVER%-"$KARCH"}                   # 6.1.0-56
SERIES=$(echo "$KVER" | cut -d. -f1-2)  # 6.1
mkdir -p "$W"

# ---- 1. kernel, headers, sources -> vmlinux + out-of-tree modules (once per kernel version) ----
# bump MODREV when the module build below changes: cached kernels are rebuilt
MODREV=2
if [ "$(head -1 "$W/kernel.done" 2>/dev/null)" != "rev $MODREV" ]; then
  t0=$(date +%s)
  log "kernel $KVER ($DEBVER): downloading"
  rm -rf "$W/debs" "$W/kroot" "$W/hdr" "$W/mod"; mkdir -p "$W/debs"
  quiet() { grep -v -e 'unsandboxed' -e '^Get:' -e '^Fetched' >&2 || true; }
  # the kbuild helpers (fixdep, modpost) run on the host: always the host's (amd64) package
  # The archive drops a superseded build of linux-kbuild (arch-specific) before the image it belongs
  # to moves on (e.g. image 6.1.192-2 while kbuild is already 6.1.192-3): the same upstream version
  # builds the same modules, so take the exact build if listed, else the newest of that upstream.
  KBUILDVER=$(same_upstream "linux-kbuild-$SERIES" "$DEBVER") || { log "no linux-kbuild-$SERIES for ${DEBVER%-*}"; exit 3; }
  SOURCEVER=$(same_upstream "linux-source-$SERIES" "$DEBVER") || { log "no linux-source-$SERIES for ${DEBVER%-*}"; exit 3; }
  [ "$KBUILDVER" = "$DEBVER" ] || log "linux-kbuild-$SERIES $DEBVER is gone from the archive: using $KBUILDVER"
  [ "$SOURCEVER" = "$DEBVER" ] || log "linux-source-$SERIES $DEBVER is gone from the archive: using $SOURCEVER"
  (cd "$W/debs" && apt-get download -q "linux-kbuild-$SERIES=$KBUILDVER" "linux-source-$SERIES=$SOURCEVER" 2>&1 | quiet)
  (cd "$W/debs" && apt-get "${APT[@]}" download -q "linux-image-$KVER=$DEBVER" "linux-headers-$KVER=$DEBVER" \
      "linux-headers-$ABI-common=$DEBVER" 2>&1 | quiet)
  if [ "$ARCH" = arm64 ]; then
    (cd "$W/debs" && apt-get "${APT[@]}" download -q busybox-static 2>&1 | quiet)
    ls "$W/debs/busybox-static_"*_arm64.deb >/dev/null 2>&1 || { log "download of busybox-static:arm64 failed"; exit 3; }
  fi
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
  if [ "$ARCH" = arm64 ]; then
    make -s -C "$H" M="$W/mod" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- CC=aarch64-linux-gnu-gcc-12 modules >&2
    aarch64-linux-gnu-strip --strip-debug ./*.ko
    dpkg-deb -x "$W/debs/busybox-static_"*_arm64.deb "$W/bb"
  else
    make -s -C "$H" M="$W/mod" CC=gcc-12 modules >&2
    strip --strip-debug ./*.ko
  fi
  mkdir -p "$W/kroot/lib/modules/$KVER/extra"
  cp ./*.ko "$W/kroot/lib/modules/$KVER/extra/"
  depmod -b "$W/kroot" "$KVER"
  if [ "$ARCH" = arm64 ]; then
    cp "$W/kroot/boot/vmlinuz-$KVER" "$W/vmlinux"   # an arm64 Image: QEMU loads it directly
  else
    log "uncompressing the kernel"
    sh scripts/extract-vmlinux "$W/kroot/boot/vmlinuz-$KVER" >"$W/vmlinux.tmp"
    mv "$W/vmlinux.tmp" "$W/vmlinux"
  fi
  rm -rf "$W/hdr" "$W/debs" "$W/kroot/usr" "$W/mod/drivers" "$W/mod/kernel"
  printf 'rev %s\nbuilt %s in %ss\n' "$MODREV" "$(date -u +%FT%TZ)" "$(( $(date +%s) - t0 ))" >"$W/kernel.done"
  log "kernel ready in $(( $(date +%s) - t0 ))s"
fi

# ---- 2. initramfs (rebuilt when guest/init.sh or the module list changes; ~1 s) ----
if [ "$ARCH" = arm64 ]; then
  BUSYBOX=$W/bb/bin/busybox
  INIT=$HERE/guest/init-arm64.sh
else
  INIT=$HERE/guest/init.sh
fi
KEY=$( { cat "$INIT" "$W/kernel.done"; echo "$GUEST_MODULES"; sha256sum "$BUSYBOX"; } | sha256sum | cut -c1-12)
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
  install -m 0755 "$INIT" "$T/init"
  (cd "$T" && find . | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
  rm -f "$W"/initramfs-*.cpio.gz.old
  for old in "$W"/initramfs-*.cpio.gz; do [ "$old" = "$INITRD" ] || rm -f "$old"; done
  log "initramfs $(basename "$INITRD") ($(du -k "$INITRD" | cut -f1) KiB)"
fi

cat >"$ARCHDIR/current.env.tmp" <<EOF
ARCH=$ARCH
KVER=$KVER
DEBVER=$DEBVER
KERNEL=$W/vmlinux
INITRD=$INITRD
EOF
mv "$ARCHDIR/current.env.tmp" "$ARCHDIR/current.env"
echo "$ARCHDIR/current.env"
