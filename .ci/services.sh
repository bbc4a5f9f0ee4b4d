# shellcheck shell=bash
# PostgreSQL 15 (+ pgvector) and Redis on loopback for the test suite, with no docker engine.
#
#   source .ci/services.sh
#   services_up      # installs what is missing, starts both, prints the URLs to export
#   services_down    # stops both (safe to call twice, or when nothing runs)
#
# .ci/run uses the same functions. Everything lives in one folder (default
# /tmp/academy-ci-services) that is wiped at every services_up, so each run gets an empty
# database. Ports: PostgreSQL 55432, Redis 56379 (override with the variables below).
# Works as root (CI); as another user it uses sudo for apt-get and `make install`, and runs
# PostgreSQL as that user.

: "${ACADEMY_SERVICES_DIR:=/tmp/academy-ci-services}"
: "${ACADEMY_PG_PORT:=55432}"
: "${ACADEMY_REDIS_PORT:=56379}"
: "${ACADEMY_PG_DB:=academy_test}"

_SVC_PG_BIN=/usr/lib/postgresql/15/bin
_SVC_PACKAGES=(postgresql-15 postgresql-server-dev-15 redis-server build-essential dpkg-dev)

_svc_log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

_svc_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs a PostgreSQL command as the user owning the cluster (postgres when we are root:
# initdb refuses root).
_svc_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_svc_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

_svc_install_packages() {
  local missing=() p
  for p in "${_SVC_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    _svc_log "apt packages already installed"
    return 0
  fi
  _svc_log "apt-get install ${missing[*]}"
  _svc_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  _svc_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" </dev/null || return 1
}

# Debian 12 has no pgvector for PostgreSQL 15: build it from trixie's source package, using a
# private apt source list/state/cache so the system's apt configuration is never touched.
_svc_build_pgvector() {
  if [ -f /usr/share/postgresql/15/extension/vector.control ]; then
    _svc_log "pgvector already installed"
    return 0
  fi
  local work src rc=0
  work=$(mktemp -d /tmp/academy-pgvector.XXXXXX)
  mkdir -p "$work/sources" "$work/lists/partial" "$work/cache/archives/partial" "$work/build"
  # The machine's own first source entry (mirror, keyring), as deb-src for trixie.
  awk 'BEGIN{RS=""; ORS="\n\n"} NR==1' /etc/apt/sources.list.d/debian.sources \
    | sed -e 's/^Types:.*/Types: deb-src/' -e 's/^Suites:.*/Suites: trixie/' \
    >"$work/sources/trixie-src.sources"
  local apt_opts=(
    -o Dir::Etc::SourceList=/dev/null
    -o "Dir::Etc::SourceParts=$work/sources"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
    -o APT::Sandbox::User=root
  )
  _svc_log "building pgvector from Debian trixie's source package"
  (
    set -e
    cd "$work/build"
    apt-get "${apt_opts[@]}" update -qq
    apt-get "${apt_opts[@]}" source -qq pgvector </dev/null
    src=$(find . -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
    [ -n "$src" ] || { echo "apt-get source pgvector produced no folder" >&2; exit 1; }
    cd "$src"
    make -s PG_CONFIG="$_SVC_PG_BIN/pg_config" -j"$(nproc)"
    _svc_root make -s PG_CONFIG="$_SVC_PG_BIN/pg_config" install
  ) || rc=$?
  rm -rf "$work"
  [ "$rc" -eq 0 ] || { _svc_log "pgvector build failed ($rc)"; return "$rc"; }
  [ -f /usr/share/postgresql/15/extension/vector.control ] || {
    _svc_log "pgvector installed no vector.control"; return 1; }
  _svc_log "pgvector installed"
}

_svc_pg_start() {
  local d=$ACADEMY_SERVICES_DIR
  mkdir -p "$d/pgdata" "$d/pgsock" && chmod 755 "$d" && : >"$d/postgres.log" || return 1
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$d/pgdata" "$d/pgsock" "$d/postgres.log" || return 1
  fi
  chmod 700 "$d/pgdata" || return 1
  _svc_log "initdb $d/pgdata"
  _svc_pg "$_SVC_PG_BIN/initdb" -D "$d/pgdata" --auth=trust --username=postgres \
    --encoding=UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 \
    || { cat "$d/initdb.log" >&2; return 1; }
  _svc_log "starting PostgreSQL on 127.0.0.1:$ACADEMY_PG_PORT"
  if ! _svc_pg "$_SVC_PG_BIN/pg_ctl" -D "$d/pgdata" -l "$d/postgres.log" -w -t 60 \
      -o "-p $ACADEMY_PG_PORT -c listen_addresses=127.0.0.1 -k $d/pgsock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null; then
    tail -n 30 "$d/postgres.log" >&2
    return 1
  fi
  local i
  for i in $(seq 1 60); do
    "$_SVC_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$ACADEMY_PG_PORT" && break
    [ "$i" -lt 60 ] || { _svc_log "PostgreSQL not ready"; tail -n 30 "$d/postgres.log" >&2; return 1; }
    sleep 0.5
  done
  "$_SVC_PG_BIN/createdb" -h 127.0.0.1 -p "$ACADEMY_PG_PORT" -U postgres "$ACADEMY_PG_DB" || return 1
  # Fail here, not in the tests, if the extension cannot be created.
  "$_SVC_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$ACADEMY_PG_PORT" -U postgres \
    -d "$ACADEMY_PG_DB" -c 'CREATE EXTENSION IF NOT EXISTS vector' >/dev/null || return 1
}

_svc_redis_start() {
  local d=$ACADEMY_SERVICES_DIR
  mkdir -p "$d/redis" || return 1
  _svc_log "starting Redis on 127.0.0.1:$ACADEMY_REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$ACADEMY_REDIS_PORT" --save '' --appendonly no \
    --daemonize yes --pidfile "$d/redis.pid" --dir "$d/redis" --logfile "$d/redis.log"
  local i
  for i in $(seq 1 50); do
    [ "$(redis-cli -h 127.0.0.1 -p "$ACADEMY_REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.2
  done
  _svc_log "Redis not answering"; tail -n 30 "$d/redis.log" >&2 2>/dev/null
  return 1
}

# Stops what a previous services_up started (found through $ACADEMY_SERVICES_DIR). Never fails.
services_down() {
  local d=$ACADEMY_SERVICES_DIR pid i
  if [ -f "$d/pgdata/postmaster.pid" ]; then
    _svc_log "stopping PostgreSQL"
    _svc_pg "$_SVC_PG_BIN/pg_ctl" -D "$d/pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 || {
      pid=$(head -n1 "$d/pgdata/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
        _svc_log "pg_ctl stop failed; sending SIGQUIT to $pid"
        kill -QUIT "$pid" 2>/dev/null || true
      fi
    }
  fi
  if [ -f "$d/redis.pid" ]; then
    pid=$(cat "$d/redis.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ]; then
      _svc_log "stopping Redis (pid $pid)"
      kill "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$d/redis.pid"
  fi
  return 0
}

services_up() {
  local d=$ACADEMY_SERVICES_DIR
  _svc_install_packages || return 1
  _svc_build_pgvector || return 1
  # Idempotent: stop what an earlier run left, then start afresh with an empty database.
  services_down
  case "$d" in /tmp/?*) ;; *) _svc_log "refusing to wipe $d (must be under /tmp)"; return 1 ;; esac
  rm -rf "$d"
  mkdir -p "$d"
  local port
  for port in "$ACADEMY_PG_PORT" "$ACADEMY_REDIS_PORT"; do
    if _svc_port_open "$port"; then
      _svc_log "port $port is taken by a process this script did not start; stop it or set ACADEMY_PG_PORT/ACADEMY_REDIS_PORT"
      return 1
    fi
  done
  _svc_pg_start || { services_down; return 1; }
  _svc_redis_start || { services_down; return 1; }
  export ACADEMY_TEST_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:$ACADEMY_PG_PORT/$ACADEMY_PG_DB"
  export ACADEMY_TEST_REDIS_URL="redis://127.0.0.1:$ACADEMY_REDIS_PORT/0"
  _svc_log "ready: ACADEMY_TEST_DATABASE_URL=$ACADEMY_TEST_DATABASE_URL ACADEMY_TEST_REDIS_URL=$ACADEMY_TEST_REDIS_URL"
}
