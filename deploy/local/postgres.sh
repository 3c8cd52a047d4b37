#!/usr/bin/env bash
# A real PostgreSQL server from Debian's packages, with its own data directory and port, for
# tests and for pointing `make run` at PostgreSQL instead of the embedded SQLite default.
#
#   deploy/local/postgres.sh start   # installs postgresql when missing (as root), idempotent
#   deploy/local/postgres.sh stop    # pg_ctl stop -m fast
#   deploy/local/postgres.sh status  # prints GATHER_DATABASE_URL=... when running, exit 1 if not
#   deploy/local/postgres.sh env     # same line, for `eval "$(deploy/local/postgres.sh env)"`
#
# The server listens on 127.0.0.1 only, with trust auth for the local role `gather`: it is a
# throwaway development instance, never a production database.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
base=${GATHER_LOCAL_DIR:-$repo/.local}/postgres
portfile=$base/port
ready_timeout=${POSTGRES_READY_TIMEOUT:-60}

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $d && -x $d/initdb ]] && echo "$d"
}

install_postgres() {
  pg_bin >/dev/null && return 0
  [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed; run: sudo apt-get install -y postgresql"
  log "installing PostgreSQL from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bin >/dev/null || die "apt-get installed postgresql but no initdb was found"
}

# initdb and postgres refuse to run as root: as root, run them as the `postgres` system user,
# and keep the data directory where that user can reach it.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

data_dir() {
  if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$base" 2>/dev/null; then
    echo "/var/tmp/gather-sync-pg-$(echo "$base" | md5sum | cut -c1-12)"
  else
    echo "$base/data"
  fi
}

url_line() { echo "GATHER_DATABASE_URL=postgresql+psycopg://gather@127.0.0.1:$(cat "$portfile")/gather"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

init_cluster() {
  local data=$1 bin=$2
  [[ -f $data/PG_VERSION ]] && return 0
  log "initialising a cluster in $data"
  mkdir -p "$data"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$data"
  chmod 700 "$data"
  as_owner "$bin/initdb" -D "$data" -U gather --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$base/initdb.log" 2>&1 || die "initdb failed; see $base/initdb.log"
}

running() {
  local data bin
  data=$(data_dir); bin=$(pg_bin) || return 1
  [[ -f $portfile ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
  local data bin port
  mkdir -p "$base"
  chmod 755 "$base"
  install_postgres
  bin=$(pg_bin)
  data=$(data_dir)
  if running; then log "already running"; url_line; return 0; fi
  init_cluster "$data" "$bin"
  port=$(cat "$portfile" 2>/dev/null || free_port)
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && port=$(free_port)
  echo "$port" >"$portfile"
  as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t "$ready_timeout" \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=200" \
    start >/dev/null || die "server did not start; see $data/server.log"
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U gather -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='gather'" | grep -q 1 \
    || as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U gather gather
  log "ready on 127.0.0.1:$port, log in $data/server.log"
  url_line
}

stop() {
  local bin data
  bin=$(pg_bin) || { log "not installed"; return 0; }
  data=$(data_dir)
  running || { log "not running"; return 0; }
  as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  log "stopped"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status | env) running && url_line || { log "not running"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
