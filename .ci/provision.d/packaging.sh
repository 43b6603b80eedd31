# packaging (issue 6): cross toolchains for the ARM addons, qemu-user to run the ARM artifacts,
# debootstrap for the installer's clean Debian root, systemd-analyze for the units.
# Sourced by .ci/run; idempotent.
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
  qemu-user-static g++-aarch64-linux-gnu g++-arm-linux-gnueabihf binutils \
  build-essential python3 make debootstrap systemd >/dev/null
# Bootstrap the clean Debian root in the background while the rest of CI provisions and runs;
# it imports the image once dockerd answers. The installer test waits for it (and builds it
# itself when this did not run). Cached under builds/.cache/rootfs/.
node test/integration/packaging/debian-image.mjs --background || true
