# Hardware-in-the-loop suite (hw-tests/): QEMU in software emulation (TCG) for the x86_64 and arm64
# guests, the tools to build the simulated-chip kernel modules out of tree (natively and cross for
# arm64) and the guests' initramfs, the arm64 and armhf C/C++ runtimes the arm64 guest borrows
# from the host (armhf: the linux-armv7 artifact in compat mode), then the one-time, cached
# kernel setups (hw-tests/setup.sh). Sourced by .ci/run; idempotent.
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
  qemu-system-x86 qemu-system-arm busybox-static kmod cpio xz-utils gzip gcc-12 make libc6-dev libelf1 \
  gcc-12-aarch64-linux-gnu libc6-arm64-cross libstdc++6-arm64-cross \
  libc6-armhf-cross libstdc++6-armhf-cross socat >/dev/null
bash hw-tests/setup.sh x86_64
bash hw-tests/setup.sh arm64
