# metrics (issue 15): promtool checks the node's /metrics output, and a real Prometheus scrapes
# it in one test (Debian's prometheus package; the service is not started: the test runs its own).
# Sourced by .ci/run; idempotent.
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >/dev/null
