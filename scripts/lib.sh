# Shared by the make targets: find or install what the project needs from the system.
#
# Each ensure_* function either makes the thing available (installing a Debian package
# when we are root, or starting a stopped service) or prints ONE line saying what is
# missing and how to get it, then exits 1.  Nothing here falls back to a lesser service.

say() { printf '%s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

_apt_updated=""
# apt_install PACKAGE... : install Debian packages, or say how to.
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing: $* — install with: sudo apt-get install $*"
  fi
  say "installing Debian package(s): $*"
  if [ -z "$_apt_updated" ]; then
    apt-get update -qq >/dev/null || die "apt-get update failed; install by hand: apt-get install $*"
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || die "apt-get could not install: $* — install by hand: sudo apt-get install $*"
}

# ensure_command COMMAND PACKAGE
ensure_command() {
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
  command -v "$1" >/dev/null 2>&1 || die "missing: $1 — install with: sudo apt-get install $2"
}

# port_open HOST PORT : is something listening?
port_open() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

wait_for_port() {
  for _ in $(seq 1 30); do
    port_open "$1" "$2" && return 0
    sleep 1
  done
  return 1
}

# PostgreSQL on 127.0.0.1:5432.  A cluster we install ourselves gets the password
# "postgres" for the postgres role, which is what the test URL uses; a cluster with
# trust authentication (the development machines and CI) ignores it.
ensure_postgres() {
  port_open 127.0.0.1 5432 && return 0
  local fresh=""
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql
    fresh=1
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || die "PostgreSQL is installed but has no cluster — create one: sudo pg_createcluster --start 15 main"
  if [ "$(id -u)" = 0 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  fi
  wait_for_port 127.0.0.1 5432 \
    || die "PostgreSQL is not running on 127.0.0.1:5432 — start it: sudo pg_ctlcluster $version main start"
  if [ -n "$fresh" ]; then
    runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD 'postgres'" >/dev/null
  fi
}

# Redis on 127.0.0.1:6379, started without persistence: it only carries ids.
ensure_redis() {
  port_open 127.0.0.1 6379 && return 0
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile "" >/dev/null 2>&1 || true
  wait_for_port 127.0.0.1 6379 \
    || die "Redis is not running on 127.0.0.1:6379 — start it: sudo systemctl start redis-server"
}

# Debian's Chromium, driven by Playwright (which never downloads a browser of its own).
ensure_chromium() {
  CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
  [ -x "$CHROMIUM_PATH" ] || apt_install chromium
  [ -x "$CHROMIUM_PATH" ] || die "missing: chromium at $CHROMIUM_PATH — install with: sudo apt-get install chromium"
  export CHROMIUM_PATH
}

# Debian's nginx, for tests/deploy/test_nginx.py, which runs the deploy/nginx/ files in an
# nginx of its own on free ports.  Debian's package also starts the system's nginx where
# it can: stop it, the tests do not need it.
ensure_nginx() {
  [ -x /usr/sbin/nginx ] && return 0
  apt_install nginx
  if [ -d /run/systemd/system ]; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
  [ -x /usr/sbin/nginx ] || die "missing: nginx — install with: sudo apt-get install nginx"
}

# The reference age implementation, to prove our files interoperate with it.
ensure_age() {
  command -v age >/dev/null 2>&1 || apt_install age
  command -v age >/dev/null 2>&1 || die "missing: age — install with: sudo apt-get install age"
}

# Node.js and npm, to build the browser code (frontend/) and run its unit tests.  Debian
# 12's nodejs is 18: esbuild and age-encryption run on it.
ensure_node() {
  command -v node >/dev/null 2>&1 || apt_install nodejs
  command -v npm >/dev/null 2>&1 || apt_install npm
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
    || die "missing: node and npm — install with: sudo apt-get install nodejs npm"
  # Node 18 keeps the Web Crypto global (crypto.getRandomValues, which the browser code
  # draws its randomness from) behind a flag; from 19 on it is always there.
  if ! node -e 'crypto.getRandomValues(new Uint8Array(1))' >/dev/null 2>&1; then
    export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-global-webcrypto"
  fi
}
