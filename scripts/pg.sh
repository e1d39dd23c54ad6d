# Sourced by scripts/test: start a throwaway PostgreSQL server (initdb into a temp dir, a free
# port on 127.0.0.1, a socket dir of its own) and stop it on exit, also on failure.
# Exports DATABASE_URL. As root, the server runs as the unprivileged `postgres` user.
set -euo pipefail
PG_BIN="${PG_BIN:-}"
if [ -z "$PG_BIN" ]; then
  if command -v initdb >/dev/null 2>&1; then PG_BIN="$(dirname "$(command -v initdb)")"
  else PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"; fi
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing PostgreSQL (Debian package postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  else
    echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install the 'postgresql' package" >&2
    exit 1
  fi
fi
PG_DIR="$(mktemp -d -t peerly-pg.XXXXXX)"
AS=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$PG_DIR"
  AS=(runuser -u postgres --)
fi
PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
pg_stop() {
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap pg_stop EXIT INT TERM
"${AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U peerly --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
  || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
  -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  >/dev/null || { cat "$PG_DIR/server.log" >&2; exit 1; }
export DATABASE_URL="postgres://peerly@127.0.0.1:$PG_PORT/postgres"
echo "==> PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (data in $PG_DIR)"
