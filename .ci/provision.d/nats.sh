# NATS with JetStream's MQTT: the clustered broker of the relay fleet (issue 19, docs/scale.md).
# Tests start their own 3-member clusters on ephemeral ports in temp folders
# (test/helpers/broker-cluster.ts), so only the program is needed: Debian's system service
# (a plain NATS server on 4222, no MQTT) is not wanted on a test machine and is stopped where
# systemd runs it. Sourced by .ci/run; idempotent.
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends nats-server >/dev/null
if [ -d /run/systemd/system ]; then systemctl disable --now nats-server.service >/dev/null 2>&1 || true; fi
nats-server --version
