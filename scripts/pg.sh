# Sourced by scripts/test and scripts/run: start a PostgreSQL server on 127.0.0.1 and export DATABASE_URL.
#   scripts/test: a throwaway server (data in a temp dir, durability off), stopped and removed on exit.
#   scripts/run (PEERLY_PG_DATA=<folder>): a server whose data stays in that folder and is reused by the
#     next run; stopped (not removed) on exit. A server already running on the folder is reused as it is.
# As root, the server runs as the unprivileged `postgres` user (PostgreSQL refuses to run as root).
# TCP on 127.0.0.1 only, no Unix socket (a socket path in a deep or spaced checkout would not fit).
set -euo pipefail
PG_BIN="${PG_BIN:-}"
if [ -z "$PG_BIN" ]; then
  # readlink: initdb may be a symlink into the folder that also holds createdb and postgres
  if command -v initdb >/dev/null 2>&1; then PG_BIN="$(dirname "$(readlink -f "$(command -v initdb)")")"
  else PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"; fi
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing PostgreSQL (Debian package postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 postgresql >/dev/null
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  else
    echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install the 'postgresql' package" >&2
    exit 1
  fi
fi
AS=()
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); fi
pg_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [ -n "${PEERLY_PG_DATA:-}" ]; then
  PG_DIR="$PEERLY_PG_DATA"
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PG_DIR"
    if ! runuser -u postgres -- test -w "$PG_DIR"; then
      # e.g. a clone under /root (mode 700): the postgres user cannot reach the folder.
      PG_DIR="/var/lib/peerly/pgdata-$(printf %s "$PEERLY_PG_DATA" | sha256sum | cut -c1-12)"
      echo "==> the postgres user cannot reach $PEERLY_PG_DATA; keeping the data in $PG_DIR instead"
      mkdir -p "$PG_DIR" && chown postgres: "$PG_DIR"
    fi
  fi
  PG_DB=peerly
  PG_TUNING=""
else
  PG_DIR="$(mktemp -d -t peerly-pg.XXXXXX)"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_DIR"; fi
  PG_DB=postgres
  # Throwaway data: durability buys nothing.
  PG_TUNING="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi

PG_OWN_SERVER=1
if [ -f "$PG_DIR/data/PG_VERSION" ] && "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
  PG_OWN_SERVER=0  # another ./scripts/run started it: use it, leave it running
  PG_PORT="$(cat "$PG_DIR/port")"
else
  PG_PORT="$(pg_free_port)"
fi

pg_stop() {
  if [ "$PG_OWN_SERVER" = 1 ]; then
    if [ -n "${PEERLY_PG_DATA:-}" ]; then
      "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    else
      "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
      rm -rf "$PG_DIR"
    fi
  fi
}
trap pg_stop EXIT INT TERM

if [ "$PG_OWN_SERVER" = 1 ]; then
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    "${AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U peerly --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
  fi
  # shellcheck disable=SC2086  # PG_TUNING is a list of options
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-h 127.0.0.1 -p $PG_PORT -c unix_socket_directories='' -c max_connections=200 $PG_TUNING" \
    >/dev/null || { tail -n 20 "$PG_DIR/server.log" >&2; exit 1; }
  echo "$PG_PORT" > "$PG_DIR/port"
  # scripts/manage finds the server through this file (also when the data had to move, see above).
  if [ -n "${PEERLY_PG_DATA:-}" ] && [ "$PG_DIR" != "$PEERLY_PG_DATA" ]; then echo "$PG_PORT" > "$PEERLY_PG_DATA/port"; fi
  # Also after a first run that stopped between initdb and here: create the database when it is missing.
  if [ "$PG_DB" != postgres ] && [ -z "$("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U peerly -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U peerly "$PG_DB"
  fi
fi
export DATABASE_URL="postgres://peerly@127.0.0.1:$PG_PORT/$PG_DB"
echo "==> PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (data in $PG_DIR)"
