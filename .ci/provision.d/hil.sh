# Hardware-in-the-loop suite (hw-tests/): QEMU in software emulation (TCG), tools to build the
# simulated-chip kernel modules out of tree and the guest's initramfs, then the one-time,
# cached kernel setup (hw-tests/setup.sh). Sourced by .ci/run; idempotent.
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
  qemu-system-x86 busybox-static kmod cpio xz-utils gzip gcc-12 make libc6-dev libelf1 socat >/dev/null
bash hw-tests/setup.sh
