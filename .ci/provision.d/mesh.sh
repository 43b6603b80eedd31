# Mesh integration tests (test/integration/mesh/hosts.ts): network namespaces as test hosts need
# iproute2 and iptables (Docker's DOCKER-USER chain), curl to read a node's /metrics inside its
# host, and socat for each host's counted link to the relay. Sourced by .ci/run; idempotent.
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends iproute2 iptables curl socat >/dev/null
