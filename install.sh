#!/usr/bin/env bash
# edgecore installer — one file, shipped inside every artifact and beside it in builds/<target>/.
#
#   install.sh [--from FILE.tar.gz|URL|DIR] [--sha256 HEX] [--config FILE] [--relay URL --token T --ca-hash H]
#   install.sh --upgrade [--from ...] [--health-timeout SEC]
#   install.sh --uninstall [--purge]
#
# Installs an edgecore artifact (air-gapped from a local tarball, or from a URL), verifies its
# checksums, creates the service user, lays out /etc/edgecore, /var/lib/edgecore and
# /opt/edgecore/<version> (+ `current`), writes a config, installs and starts the systemd unit,
# and waits until the daemon reports healthy. Idempotent. `--upgrade` keeps the previous version
# and rolls back by itself when the new one is not healthy in time. Every failure exits non-zero
# and undoes this run's changes. Details: docs/packaging.md.
set -Eeuo pipefail
umask 022

PROG=edgecore-install
OPT_DIR=${EDGECORE_OPT_DIR:-/opt/edgecore}
ETC_DIR=${EDGECORE_ETC_DIR:-/etc/edgecore}
DATA_DIR=${EDGECORE_DATA_DIR:-/var/lib/edgecore}
UNIT_DIR=${EDGECORE_UNIT_DIR:-/etc/systemd/system}
BIN_DIR=${EDGECORE_BIN_DIR:-/usr/local/bin}
RUN_DIR=${EDGECORE_RUN_DIR:-/run/edgecore-install}
LOG_FILE=${EDGECORE_NOSYSTEMD_LOG:-/var/log/edgecore.log}
SVC_USER=edgecore
SVC_GROUPS=(gpio i2c dialout docker)
UNIT=edgecore.service
CONFIG="$ETC_DIR/edgecore.yaml"
ENTRIES=(edgecore edgectl edgerelay kubectl-edge)  # kubectl-edge: edgectl as the kubectl plugin `kubectl edge`

MODE=install FROM="" SHA256="" USER_CONFIG="" RELAY="" TOKEN="" CA_HASH="" CA_FILE="" PURGE=0 NO_SYSTEMD=0
HEALTH_TIMEOUT=90 HEALTH_URL="http://127.0.0.1:10350/healthz"

usage() {
  cat <<EOF
Usage: install.sh [options]

  (default)              install; re-running with the same artifact changes nothing
  --upgrade              install a newer version, keep the previous one, roll back if unhealthy
  --uninstall            remove program, unit and links; keep config and data
  --purge                with --uninstall: also remove config, data and the service user

  --from FILE|URL|DIR    artifact: edgecore-<version>-<target>.tar.gz, an http(s) URL to one, or an
                         unpacked artifact directory (default: the artifact this script sits in or beside)
  --sha256 HEX           expected SHA-256 of the tarball (default: read FILE.sha256 / URL.sha256)
  --config FILE          install this config (validated) instead of the defaults
  --relay URL --token T  join a relay (runs \`edgecore join\`), with the relay's CA pinned by
  --ca-hash sha256:HEX   (as \`edgerelay token\` prints it) or given as --ca-file FILE
  --health-timeout SEC   how long the daemon gets to report healthy (default $HEALTH_TIMEOUT)
  --health-url URL       the daemon's local health endpoint (default $HEALTH_URL)
  --no-systemd           no service manager (containers, tests): the daemon is started with
                         start-stop-daemon, logging to $LOG_FILE; nothing is enabled at boot
  -h, --help

Exit status: 0 done (or nothing to do), 1 failed (changes of this run undone), 2 usage error.
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { say "error: $*"; exit 1; }
USAGE_EXIT=0
usage_error() { say "$*"; say "see install.sh --help"; USAGE_EXIT=1; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --upgrade) MODE=upgrade ;;
    --uninstall) MODE=uninstall ;;
    --purge) PURGE=1 ;;
    --from) FROM=${2:?--from needs a value}; shift ;;
    --sha256) SHA256=${2:?--sha256 needs a value}; shift ;;
    --config) USER_CONFIG=${2:?--config needs a value}; shift ;;
    --relay) RELAY=${2:?--relay needs a value}; shift ;;
    --token) TOKEN=${2:?--token needs a value}; shift ;;
    --ca-hash) CA_HASH=${2:?--ca-hash needs a value}; shift ;;
    --ca-file) CA_FILE=${2:?--ca-file needs a value}; shift ;;
    --health-timeout) HEALTH_TIMEOUT=${2:?--health-timeout needs a value}; shift ;;
    --health-url) HEALTH_URL=${2:?--health-url needs a value}; shift ;;
    --no-systemd) NO_SYSTEMD=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown option: $1" ;;
  esac
  shift
done
[ "$PURGE" = 1 ] && [ "$MODE" != uninstall ] && usage_error "--purge goes with --uninstall"
{ [ -n "$RELAY" ] && [ -z "$TOKEN" ]; } || { [ -z "$RELAY" ] && [ -n "$TOKEN" ]; } && usage_error "--relay and --token go together"
{ [ -n "$CA_HASH" ] || [ -n "$CA_FILE" ]; } && [ -z "$RELAY" ] && usage_error "--ca-hash and --ca-file go with --relay"
case "$HEALTH_TIMEOUT" in ''|*[!0-9]*) usage_error "--health-timeout: not a number of seconds: $HEALTH_TIMEOUT" ;; esac
[ -n "$SHA256" ] && ! [[ "$SHA256" =~ ^[0-9a-fA-F]{64}$ ]] && usage_error "--sha256: not a SHA-256 hex digest"
[ "$(id -u)" = 0 ] || die "must run as root (sudo $0 ...)"

# --- undo journal: every change pushes its inverse; a failure replays them newest first ---------
UNDO=()
COMMITTED=0
TMP=""
undo_push() { UNDO+=("$1"); }
run_undo() {
  local i
  [ ${#UNDO[@]} -eq 0 ] && return 0
  say "undoing this run's changes"
  for ((i = ${#UNDO[@]} - 1; i >= 0; i--)); do
    eval "${UNDO[$i]}" || say "warning: undo step failed: ${UNDO[$i]}"
  done
  UNDO=()
}
on_exit() {
  local rc=$?
  set +e
  if [ "$COMMITTED" != 1 ] && [ $rc -ne 0 ]; then run_undo; fi
  [ -n "$TMP" ] && rm -rf "$TMP"
  # 2 is for usage errors only; any other failure (a command's own status) is 1
  case "$rc" in 0|1|130|143) ;; 2) [ "$USAGE_EXIT" = 1 ] || rc=1 ;; *) rc=1 ;; esac
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RUN_DIR"
exec 9>"$RUN_DIR/lock"
flock -n 9 || die "another install.sh is running"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/edgecore-install.XXXXXX")

# --- service manager: systemd, or a start-stop-daemon stand-in (--no-systemd) ----------------------
PIDFILE="$RUN_DIR/edgecore.pid"
svc_reload() { [ "$NO_SYSTEMD" = 1 ] || systemctl daemon-reload; }
svc_enable() { [ "$NO_SYSTEMD" = 1 ] || systemctl enable --quiet "$UNIT"; }
svc_disable() { [ "$NO_SYSTEMD" = 1 ] || systemctl disable --quiet "$UNIT" 2>/dev/null || true; }
pid_alive() { [ -n "$1" ] && [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
svc_pid() { cat "$PIDFILE" 2>/dev/null || true; }
svc_active() {
  # a zombie counts as stopped (a container's PID 1 may not reap)
  if [ "$NO_SYSTEMD" = 1 ]; then pid_alive "$(svc_pid)"; else systemctl is-active --quiet "$UNIT"; fi
}
svc_start() {
  if [ "$NO_SYSTEMD" = 1 ]; then
    svc_active && return 0
    if [ ! -e "$LOG_FILE" ]; then touch "$LOG_FILE"; undo_push "rm -f '$LOG_FILE'"; fi
    chown "$SVC_USER" "$LOG_FILE"
    # like the unit: the service user with its groups, the config, stdout/stderr to a log
    start-stop-daemon --start --background --make-pidfile --pidfile "$PIDFILE" --chuid "$SVC_USER" \
      --chdir "$DATA_DIR" --startas /bin/sh -- -c 'exec "$0" run --config "$1" >>"$2" 2>&1' \
      "$OPT_DIR/current/bin/edgecore" "$CONFIG" "$LOG_FILE"
  else
    systemctl reset-failed "$UNIT" 2>/dev/null || true
    systemctl start --no-block "$UNIT"
    RESTARTS_BASE=0 # systemd zeroes NRestarts on an explicit start
  fi
}
svc_stop() {
  if [ "$NO_SYSTEMD" = 1 ]; then
    local pid i
    pid=$(svc_pid)
    if pid_alive "$pid"; then # like the unit: SIGTERM, TimeoutStopSec=200, then SIGKILL
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 200; i++)); do pid_alive "$pid" || break; sleep 1; done
      pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$PIDFILE"
  else
    systemctl stop "$UNIT" 2>/dev/null || true
  fi
}
svc_restart() { svc_stop; svc_start; }
installed_unit() { [ -f "$UNIT_DIR/$UNIT" ]; }

# --- health: service active, the daemon's /healthz answers (twice in a row) ------------------------
# Gives up early, without waiting out the timeout, once the daemon cannot become healthy: under
# systemd when the unit is failed (the start limit was hit, or systemd gave up otherwise) or has
# been restarted GIVE_UP_RESTARTS times since this run started it (a crash loop); without systemd
# when the daemon process is gone. HEALTH_FAILURE then says why (it is empty for a timeout).
GIVE_UP_RESTARTS=3
HEALTH_FAILURE=""
RESTARTS_BASE=""
restarts() { systemctl show -p NRestarts --value "$UNIT" 2>/dev/null || echo 0; }
http_ok() { "$OPT_DIR/current/node/bin/node" -e 'fetch(process.argv[1],{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"; }
gave_up() { # sets HEALTH_FAILURE when the daemon cannot become healthy any more
  local n
  if [ "$NO_SYSTEMD" = 1 ]; then
    # (start-stop-daemon writes the pid file; until it is there the daemon is still starting)
    [ -s "$PIDFILE" ] && ! pid_alive "$(svc_pid)" && HEALTH_FAILURE="the daemon exited"
  elif systemctl is-failed --quiet "$UNIT"; then
    HEALTH_FAILURE="systemd gave up on $UNIT (failed, result: $(systemctl show -p Result --value "$UNIT" 2>/dev/null))"
  else
    n=$(restarts)
    [ "${n:-0}" -ge $((RESTARTS_BASE + GIVE_UP_RESTARTS)) ] && HEALTH_FAILURE="$UNIT crashed and was restarted $((n - RESTARTS_BASE)) times"
  fi
  [ -n "$HEALTH_FAILURE" ]
}
wait_healthy() {
  local deadline=$(( $(date +%s) + HEALTH_TIMEOUT )) streak=0
  HEALTH_FAILURE=""
  # an explicit start (svc_start) zeroes the unit's counter; otherwise count from now
  [ "$NO_SYSTEMD" = 1 ] || [ -n "$RESTARTS_BASE" ] || RESTARTS_BASE=$(restarts)
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if svc_active && http_ok "$HEALTH_URL"; then
      streak=$((streak + 1))
      [ $streak -ge 2 ] && return 0
    else
      streak=0
      gave_up && return 1
    fi
    sleep 1
  done
  return 1
}
unhealthy_reason() { # after wait_healthy failed
  if [ -n "$HEALTH_FAILURE" ]; then echo "did not become healthy: $HEALTH_FAILURE (not waiting out the ${HEALTH_TIMEOUT}s health timeout)"
  else echo "did not report healthy within ${HEALTH_TIMEOUT}s"; fi
}
show_failure_log() {
  if [ "$NO_SYSTEMD" = 1 ]; then tail -n 20 "$LOG_FILE" 2>/dev/null | sed 's/^/  | /' >&2 || true
  else journalctl -u "$UNIT" -n 20 --no-pager 2>/dev/null | sed 's/^/  | /' >&2 || true; fi
}
# `edgecore check` as the service user, before the daemon starts (it probes ports the daemon holds)
preflight() {
  local out
  if ! out=$(runuser -u "$SVC_USER" -- "$OPT_DIR/current/bin/edgecore" check --config "$CONFIG" 2>&1); then
    printf '%s\n' "$out" | sed 's/^/  | /' >&2
    return 1
  fi
}

# --- the artifact ---------------------------------------------------------------------------------
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
host_target() {
  case "$(uname -m)" in
    aarch64|arm64) echo linux-arm64 ;;
    armv7l|armv8l) echo linux-armv7 ;;
    x86_64) echo linux-x64 ;;
    *) echo "unsupported-$(uname -m)" ;;
  esac
}
manifest_field() { sed -n "s/^  \"$2\": \"\\([^\"]*\\)\",\\{0,1\\}\$/\\1/p" "$1/manifest.json" | head -n 1; }
fetch() {
  if command -v curl >/dev/null; then curl -fsSL --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null; then wget -q -O "$2" "$1"
  else die "downloading $1 needs curl or wget (or copy the tarball here and use --from FILE)"; fi
}
verify_tarball() {
  local tgz=$1 expected=$2 actual
  actual=$(sha256sum "$tgz" | cut -d' ' -f1)
  [ "${actual,,}" = "${expected,,}" ] || die "checksum mismatch for $(basename "$tgz"): expected $expected, got $actual"
  say "checksum ok: $(basename "$tgz")"
}
# Stage the artifact into $STAGE (a verified, unpacked tree); sets VERSION and TARGET.
stage_artifact() {
  local src=$FROM tgz expected
  if [ -z "$src" ]; then
    if [ -f "$SCRIPT_DIR/manifest.json" ] && [ -f "$SCRIPT_DIR/SHA256SUMS" ]; then src=$SCRIPT_DIR
    else
      src=$(ls "$SCRIPT_DIR"/edgecore-*-"$(host_target)".tar.gz 2>/dev/null | sort -V | tail -n 1 || true)
      [ -n "$src" ] || die "no artifact given and none found beside $0 (use --from)"
    fi
  fi
  mkdir -p "$TMP/unpack"
  case "$src" in
    http://*|https://*)
      tgz="$TMP/$(basename "${src%%\?*}")"
      say "downloading $src"
      fetch "$src" "$tgz" || die "download failed: $src"
      if [ -n "$SHA256" ]; then expected=$SHA256
      else fetch "$src.sha256" "$TMP/expected.sha256" || die "no checksum at $src.sha256 (pass --sha256 HEX)"; expected=$(cut -d' ' -f1 "$TMP/expected.sha256"); fi
      verify_tarball "$tgz" "$expected"
      tar -xzf "$tgz" -C "$TMP/unpack" || die "cannot unpack $tgz" ;;
    *)
      if [ -d "$src" ]; then
        cp -a "$src" "$TMP/unpack/artifact" || die "cannot copy $src"
      else
        [ -f "$src" ] || die "artifact not found: $src"
        if [ -n "$SHA256" ]; then expected=$SHA256
        elif [ -f "$src.sha256" ]; then expected=$(cut -d' ' -f1 "$src.sha256")
        else die "no checksum for $src: put $(basename "$src").sha256 beside it or pass --sha256 HEX"; fi
        verify_tarball "$src" "$expected"
        tar -xzf "$src" -C "$TMP/unpack" || die "cannot unpack $src"
      fi ;;
  esac
  # shellcheck disable=SC2012
  [ "$(ls "$TMP/unpack" | wc -l)" = 1 ] || die "the artifact must hold exactly one top directory"
  STAGE="$TMP/unpack/$(ls "$TMP/unpack")"
  [ -f "$STAGE/manifest.json" ] && [ -f "$STAGE/SHA256SUMS" ] || die "not an edgecore artifact (no manifest.json / SHA256SUMS)"
  (cd "$STAGE" && sha256sum --check --quiet --strict SHA256SUMS) >&2 || die "the artifact's files do not match its SHA256SUMS"
  VERSION=$(manifest_field "$STAGE" version)
  TARGET=$(manifest_field "$STAGE" target)
  [[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || die "bad version in manifest: '$VERSION'"
  [ "$TARGET" = "$(host_target)" ] || die "artifact is for $TARGET, this machine is $(host_target) ($(uname -m))"
  local v
  v=$("$STAGE/bin/edgecore" --version 2>&1) || die "the artifact's edgecore does not run here: $v"
  [ "$v" = "$VERSION" ] || die "edgecore --version says '$v', manifest says '$VERSION'"
  say "artifact edgecore $VERSION for $TARGET verified"
}

# --- steps (each pushes its undo) -------------------------------------------------------------------
ensure_user() {
  local g
  for g in "${SVC_GROUPS[@]}"; do
    if ! getent group "$g" >/dev/null; then
      groupadd --system "$g"; undo_push "groupdel $g"; say "created group $g"
    fi
  done
  if ! getent passwd "$SVC_USER" >/dev/null; then
    useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin \
      --comment "edgecore daemon" "$SVC_USER"
    undo_push "userdel $SVC_USER; groupdel $SVC_USER 2>/dev/null || true"
    say "created user $SVC_USER"
  fi
  usermod -a -G "$(IFS=,; echo "${SVC_GROUPS[*]}")" "$SVC_USER"
}
ensure_dir() { # path mode owner
  if [ ! -d "$1" ]; then mkdir -p "$1"; undo_push "rm -rf '$1'"; fi
  chmod "$2" "$1"; chown "$3" "$1"
}
data_dir() { # dataDir from the config (top-level `dataDir:`), else the default
  local d
  d=$(sed -n 's/^dataDir:[[:space:]]*["'\'']\{0,1\}\([^"'\''#]*[^"'\''#[:space:]]\).*$/\1/p' "$CONFIG" 2>/dev/null | head -n 1)
  echo "${d:-$DATA_DIR}"
}
# Place $STAGE as $OPT_DIR/$VERSION (reuse an identical one).
place_version() {
  local dest="$OPT_DIR/$VERSION"
  if [ -d "$dest" ] && cmp -s "$dest/SHA256SUMS" "$STAGE/SHA256SUMS" && (cd "$dest" && sha256sum --check --quiet --strict SHA256SUMS >/dev/null 2>&1); then
    say "$dest already in place"
    return 0
  fi
  if [ -d "$dest" ]; then
    mv "$dest" "$dest.replaced-$$"; undo_push "rm -rf '$dest'; mv '$dest.replaced-$$' '$dest'"
  else
    undo_push "rm -rf '$dest'"
  fi
  cp -a "$STAGE" "$dest.tmp-$$" && mv "$dest.tmp-$$" "$dest"
  chown -R root:root "$dest"; chmod -R go-w "$dest"
  rm -rf "$dest.replaced-$$" 2>/dev/null || true
  say "installed $dest"
  CHANGED=1
}
set_link() { # name target  (atomic; undo restores the old target or removes the link)
  local link="$OPT_DIR/$1" old
  old=$(readlink "$link" 2>/dev/null || true)
  [ "$old" = "$2" ] && return 0
  ln -sfn "$2" "$link.new-$$" && mv -Tf "$link.new-$$" "$link"
  if [ -n "$old" ]; then undo_push "ln -sfn '$old' '$link.u' && mv -Tf '$link.u' '$link'"; else undo_push "rm -f '$link'"; fi
  CHANGED=1
}
link_binaries() {
  local e
  mkdir -p "$BIN_DIR"
  for e in "${ENTRIES[@]}"; do
    if [ "$(readlink "$BIN_DIR/$e" 2>/dev/null)" != "$OPT_DIR/current/bin/$e" ]; then
      ln -sfn "$OPT_DIR/current/bin/$e" "$BIN_DIR/$e"; undo_push "rm -f '$BIN_DIR/$e'"
    fi
  done
}
install_config() {
  local ec="$OPT_DIR/current/bin/edgecore"
  if [ -n "$USER_CONFIG" ]; then
    [ -f "$USER_CONFIG" ] || die "--config: no such file: $USER_CONFIG"
    "$ec" config --validate "$USER_CONFIG" >&2 || die "--config $USER_CONFIG is not valid (see above)"
    if ! cmp -s "$USER_CONFIG" "$CONFIG"; then
      if [ -f "$CONFIG" ]; then cp -p "$CONFIG" "$TMP/config.old"; undo_push "cp -p '$TMP/config.old' '$CONFIG'"; else undo_push "rm -f '$CONFIG'"; fi
      install -m 0640 -o root -g "$SVC_USER" "$USER_CONFIG" "$CONFIG"
      say "wrote $CONFIG from $USER_CONFIG"; CHANGED=1
    fi
  elif [ ! -f "$CONFIG" ]; then
    undo_push "rm -f '$CONFIG'"
    "$ec" config --defaults >"$CONFIG.tmp-$$" && mv "$CONFIG.tmp-$$" "$CONFIG"
    chmod 0640 "$CONFIG"; chown "root:$SVC_USER" "$CONFIG"
    say "wrote default config $CONFIG"; CHANGED=1
  else
    "$ec" config --validate "$CONFIG" >/dev/null || die "existing $CONFIG is not valid for edgecore $VERSION"
  fi
}
has_join() { "$1/bin/edgecore" --help 2>/dev/null | grep -qE '^[[:space:]]+edgecore join'; }
join_relay() {
  [ -n "$RELAY" ] || return 0
  cp -p "$CONFIG" "$TMP/config.prejoin"; undo_push "cp -p '$TMP/config.prejoin' '$CONFIG'"
  say "joining relay $RELAY"
  local pin=() ca="${CONFIG%.*}.relay-ca.crt"
  [ -n "$CA_HASH" ] && pin+=(--ca-hash "$CA_HASH")
  [ -n "$CA_FILE" ] && pin+=(--ca-file "$CA_FILE")
  [ -e "$ca" ] || undo_push "rm -f '$ca'"
  "$OPT_DIR/current/bin/edgecore" join --relay "$RELAY" --token "$TOKEN" "${pin[@]}" --config "$CONFIG" >&2 || die "edgecore join failed"
  [ -e "$ca" ] && chown "root:$SVC_USER" "$ca"
  chmod 0640 "$CONFIG"; chown "root:$SVC_USER" "$CONFIG"
  CHANGED=1
}
install_unit() { # from the current version
  local src="$OPT_DIR/current/systemd/$UNIT"
  mkdir -p "$UNIT_DIR"
  cmp -s "$src" "$UNIT_DIR/$UNIT" && return 0
  if [ -f "$UNIT_DIR/$UNIT" ]; then cp -p "$UNIT_DIR/$UNIT" "$TMP/unit.old.$$"; undo_push "cp -p '$TMP/unit.old.$$' '$UNIT_DIR/$UNIT'; svc_reload"
  else undo_push "rm -f '$UNIT_DIR/$UNIT'; svc_reload"; fi
  install -m 0644 "$src" "$UNIT_DIR/$UNIT"
  svc_reload
  say "installed $UNIT_DIR/$UNIT"; CHANGED=1
}
backup_store() { # sqlite files of the data dir, for a rollback after a migrating upgrade
  local d b f
  d=$(data_dir); b="$d/.pre-upgrade"
  rm -rf "$b"; mkdir -p "$b"
  for f in "$d"/edgecore.db "$d"/edgecore.db-wal "$d"/edgecore.db-shm; do [ -f "$f" ] && cp -p "$f" "$b/"; done
  undo_push "restore_store '$d'"
}
restore_store() {
  local d=$1 f
  rm -f "$d"/edgecore.db "$d"/edgecore.db-wal "$d"/edgecore.db-shm
  for f in "$d"/.pre-upgrade/*; do [ -f "$f" ] && cp -p "$f" "$d/"; done
  say "restored the store from before the upgrade"
}
prune_versions() { # keep current and previous
  local cur prev d
  cur=$(readlink "$OPT_DIR/current" || true); prev=$(readlink "$OPT_DIR/previous" 2>/dev/null || true)
  for d in "$OPT_DIR"/*/; do
    d=$(basename "$d")
    case "$d" in
      "$cur"|"$prev"|current|previous) ;;
      *) if [ -f "$OPT_DIR/$d/manifest.json" ]; then rm -rf "${OPT_DIR:?}/$d"; say "removed old version $d"; fi ;;
    esac
  done
  return 0
}

# --- modes ------------------------------------------------------------------------------------------
start_and_verify() { # preflight, start, wait for health; returns 1 (with the reason said) on failure
  say "preflight: edgecore check"
  preflight || { say "edgecore check failed (see above): fix the host or the config, then re-run"; return 1; }
  svc_enable
  svc_start; undo_push "svc_stop"
  say "waiting up to ${HEALTH_TIMEOUT}s for edgecore $VERSION to report healthy"
  if ! wait_healthy; then show_failure_log; say "edgecore $VERSION $(unhealthy_reason)"; return 1; fi
}

do_install() {
  local cur
  cur=$(readlink "$OPT_DIR/current" 2>/dev/null || true)
  if [ -n "$cur" ] && [ "$cur" != "$VERSION" ] && [ "$MODE" = install ]; then
    die "edgecore $cur is installed; use --upgrade to install $VERSION"
  fi
  CHANGED=0
  ensure_user
  ensure_dir "$OPT_DIR" 0755 root:root
  ensure_dir "$ETC_DIR" 0750 "root:$SVC_USER"
  ensure_dir "$DATA_DIR" 0750 "$SVC_USER:$SVC_USER"
  place_version
  set_link current "$VERSION"
  link_binaries
  install_config
  join_relay
  ensure_dir "$(data_dir)" 0750 "$SVC_USER:$SVC_USER"
  install_unit
  if svc_active && [ "$CHANGED" = 0 ]; then
    svc_enable
    wait_healthy || { show_failure_log; die "edgecore is running but not healthy"; }
    say "edgecore $VERSION already installed and healthy: nothing to do"
  else
    if svc_active; then svc_stop; undo_push "svc_start"; fi
    start_and_verify || die "installation of edgecore $VERSION failed"
    say "edgecore $VERSION installed and healthy"
  fi
}

do_upgrade() {
  local old was_active=0
  old=$(readlink "$OPT_DIR/current" 2>/dev/null || true)
  if [ -z "$old" ]; then say "nothing installed yet: installing"; do_install; return; fi
  if [ "$old" = "$VERSION" ]; then say "edgecore $VERSION is already the current version"; do_install; return; fi
  [ -d "$OPT_DIR/$old" ] || die "current points at a missing version $old"
  CHANGED=0
  ensure_user
  place_version
  say "upgrading $old -> $VERSION"
  if svc_active; then was_active=1; svc_stop; undo_push "svc_start"; fi
  backup_store
  set_link previous "$old"
  set_link current "$VERSION"
  link_binaries
  install_config
  join_relay
  install_unit
  if ! start_and_verify; then
    say "upgrade to $VERSION failed: rolling back to $old"
    run_undo
    if [ "$was_active" = 1 ]; then
      # the version that ran before gets at least the default time to come back
      [ "$HEALTH_TIMEOUT" -ge 90 ] || HEALTH_TIMEOUT=90
      wait_healthy || { show_failure_log; die "rolled back to $old, but it is not healthy either ($(unhealthy_reason))"; }
      die "upgrade to $VERSION failed; rolled back to $old (healthy)"
    fi
    die "upgrade to $VERSION failed; rolled back to $old (it was not running before, and is not started)"
  fi
  COMMITTED=1
  prune_versions
  say "edgecore upgraded $old -> $VERSION and healthy (previous version kept in $OPT_DIR/$old)"
}

do_uninstall() {
  local e removed=0 purged=0
  if installed_unit || svc_active; then svc_stop; svc_disable; removed=1; fi
  if [ -f "$UNIT_DIR/$UNIT" ]; then rm -f "$UNIT_DIR/$UNIT"; svc_reload; fi
  for e in "${ENTRIES[@]}"; do
    if [ "$(readlink "$BIN_DIR/$e" 2>/dev/null)" = "$OPT_DIR/current/bin/$e" ]; then rm -f "$BIN_DIR/$e"; removed=1; fi
  done
  [ -d "$OPT_DIR" ] && { rm -rf "$OPT_DIR"; removed=1; }
  rm -f "$PIDFILE"
  if [ "$PURGE" = 1 ]; then
    local d p
    d=$(data_dir)
    # the --no-systemd log is ours too (it would stay owned by the deleted user's uid)
    for p in "$ETC_DIR" "$DATA_DIR" "$d" "$LOG_FILE"; do [ -e "$p" ] && { rm -rf "$p"; purged=1; }; done
    if getent passwd "$SVC_USER" >/dev/null; then userdel "$SVC_USER"; purged=1; fi
    getent group "$SVC_USER" >/dev/null && { groupdel "$SVC_USER"; purged=1; }
  fi
  if [ "$removed" = 0 ] && [ "$purged" = 0 ]; then say "edgecore is not installed: nothing to remove"
  elif [ "$PURGE" = 1 ]; then say "purged program, config ($ETC_DIR), data ($d), log and user $SVC_USER"
  else say "removed edgecore; kept config $ETC_DIR and data $DATA_DIR (--purge removes them)"; fi
}

# --- main -------------------------------------------------------------------------------------------
if [ "$NO_SYSTEMD" = 0 ] && ! [ -d /run/systemd/system ]; then
  # removing needs no service manager: stop what --no-systemd started, if anything
  [ "$MODE" = uninstall ] && NO_SYSTEMD=1
fi
if [ "$NO_SYSTEMD" = 0 ] && ! [ -d /run/systemd/system ]; then
  die "systemd is not running here; use --no-systemd to run the daemon without a service manager"
fi
case "$MODE" in
  uninstall) do_uninstall ;;
  install|upgrade)
    stage_artifact
    if [ -n "$RELAY" ] && ! has_join "$STAGE"; then
      die "--relay: this edgecore $VERSION has no 'join' command; install without --relay, then set modules.edgehub in $CONFIG"
    fi
    if [ "$MODE" = upgrade ]; then do_upgrade; else do_install; fi ;;
esac
COMMITTED=1
exit 0
