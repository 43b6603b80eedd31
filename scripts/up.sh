#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running edgecore demo on embedded defaults:
# installs what is missing (Docker engine, Node.js 20+ if absent), the npm dependencies and the
# bundle, then starts a local relay and one edge node joined to it (scripts/demo.mjs), with all
# data under .edgecore/ in this checkout. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
need_root() { [ "$(id -u)" = 0 ] || { echo "run as root (or with sudo) to install $1" >&2; exit 1; }; }

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  need_root "Node.js 20"
  say "installing Node.js from Debian"
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi

if ! command -v dockerd >/dev/null; then
  need_root "Docker"
  say "installing Docker engine (docker.io)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io
fi
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  if command -v systemctl >/dev/null && systemctl start docker 2>/dev/null; then :; else
    need_root "dockerd"; (dockerd >/tmp/edgecore-dockerd.log 2>&1 &)
  fi
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  say "npm ci"
  npm ci --no-audit --no-fund
fi
say "bundling"
node build.mjs
say "starting relay + node (data in .edgecore/)"
exec node scripts/demo.mjs "$@"
