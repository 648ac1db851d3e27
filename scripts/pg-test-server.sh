#!/usr/bin/env bash
# A throwaway PostgreSQL server for runlife's store tests and benchmarks.
#
#   eval "$(scripts/pg-test-server.sh start)"   # starts one, exports RUNLIFE_TEST_POSTGRES_URL
#   python -m pytest tests/store                #   and RUNLIFE_TEST_PG_DIR
#   scripts/pg-test-server.sh stop              # stops it and deletes its files
#
# `start` installs PostgreSQL with apt-get when no server binaries are found (CI machines),
# creates a cluster in a fresh /tmp/pg.XXXXXX (trust auth, fsync off: fast, and never for
# real data), listening on 127.0.0.1 at a free port and on a unix socket in that directory,
# and prints `export` lines for eval (everything else goes to stderr).
# `stop [DIR]` stops the server started in DIR (default: $RUNLIFE_TEST_PG_DIR).
# `status [DIR]` exits 0 when that server is running.
set -euo pipefail

log() { printf 'pg-test-server: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] && command -v pg_ctl >/dev/null 2>&1; then
    dir=$(dirname "$(command -v pg_ctl)")
  fi
  printf '%s' "$dir"
}

as_owner() {
  # initdb and pg_ctl refuse to run as root: run them as the postgres user then.
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

install_postgres() {
  log "no PostgreSQL server binaries found: installing them with apt-get"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install PostgreSQL (apt-get install -y postgresql) and retry"
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  local bin dir port
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    install_postgres
    bin=$(pg_bin)
    [ -n "$bin" ] || die "PostgreSQL was installed but no server binaries were found"
  fi
  dir=$(mktemp -d /tmp/pg.XXXXXX)  # short: the socket path must stay under ~100 bytes
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres: "$dir"
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  local tries=0
  while :; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 3 ] || { cat "$dir/server.log" >&2; die "the server did not start"; }
  done
  printf '%s\n' "$bin" >"$dir/bin"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (socket dir $dir); stop with: scripts/pg-test-server.sh stop $dir"
  printf 'export RUNLIFE_TEST_POSTGRES_URL=%q\n' "postgresql://postgres@127.0.0.1:$port/postgres"
  printf 'export RUNLIFE_TEST_PG_DIR=%q\n' "$dir"
}

stop() {
  local dir=${1:-${RUNLIFE_TEST_PG_DIR:-}}
  [ -n "$dir" ] || die "stop: which server? pass its directory or set RUNLIFE_TEST_PG_DIR"
  [ -d "$dir/data" ] || die "stop: no server directory at $dir"
  local bin
  bin=$(cat "$dir/bin" 2>/dev/null || pg_bin)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || log "the server in $dir was not running"
  rm -rf "$dir"
  log "stopped and removed $dir"
}

status() {
  local dir=${1:-${RUNLIFE_TEST_PG_DIR:-}}
  [ -n "$dir" ] && [ -d "$dir/data" ] || exit 1
  as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" status >&2
}

case "${1:-}" in
  start) start ;;
  stop) shift; stop "$@" ;;
  status) shift; status "$@" ;;
  *) die "usage: $0 start | stop [DIR] | status [DIR]" ;;
esac
