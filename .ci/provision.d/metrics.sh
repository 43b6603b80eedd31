# metrics (issue 15): promtool checks the node's and the relay's /metrics output, and real
# Prometheus processes scrape them in two tests (Debian's prometheus package). The tests run their
# own Prometheus on ephemeral ports; the package's service must not run (it would hold :9090 and
# scrape for nothing). Its maintainer scripts start it through invoke-rc.d / deb-systemd-invoke,
# which both obey policy-rc.d: a temporary one that says "no" keeps it from starting at all, on
# systemd machines and elsewhere; on systemd it is also disabled, so a reboot does not start it.
# --no-install-recommends leaves prometheus-node-exporter out. Sourced by .ci/run; idempotent.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >/dev/null
  [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
  if [ -d /run/systemd/system ]; then systemctl disable prometheus.service >/dev/null 2>&1 || true; fi
fi
