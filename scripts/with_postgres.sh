#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster on 127.0.0.1, exported to the
# command as PLPTMS_TEST_PG_URL. If no PostgreSQL server binaries are found the
# command runs without it (the PostgreSQL tests then skip and say why).
# Usage: scripts/with_postgres.sh COMMAND [ARGS...]
set -euo pipefail

find_bin() {
  local name=$1 found
  found=$(command -v "$name" 2>/dev/null || true)
  if [ -z "$found" ]; then
    found=$(ls /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -1 || true)
  fi
  echo "$found"
}

INITDB=$(find_bin initdb)
PG_CTL=$(find_bin pg_ctl)
if [ -z "$INITDB" ] || [ -z "$PG_CTL" ] || [ -n "${PLPTMS_NO_POSTGRES:-}" ]; then
  echo "with_postgres: no PostgreSQL server found; PostgreSQL tests will be skipped" >&2
  exec "$@"
fi

PGDIR=$(mktemp -d /tmp/plptms-pg.XXXXXX)
PORT=${PLPTMS_PG_PORT:-$((20000 + RANDOM % 20000))}
RUN_AS=()
if [ "$(id -u)" = "0" ]; then
  # PostgreSQL refuses to run as root: use an unprivileged account
  id plptmspg >/dev/null 2>&1 || useradd --system --no-create-home plptmspg
  chown plptmspg "$PGDIR"
  RUN_AS=(runuser -u plptmspg --)
fi

cleanup() {
  "${RUN_AS[@]}" "$PG_CTL" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT

"${RUN_AS[@]}" "$INITDB" -D "$PGDIR/data" -U plptms -A trust --no-sync >/dev/null
"${RUN_AS[@]}" "$PG_CTL" -D "$PGDIR/data" -l "$PGDIR/log" -w \
  -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" \
  start >/dev/null
export PLPTMS_TEST_PG_URL="postgresql+psycopg://plptms@127.0.0.1:$PORT/postgres"
echo "with_postgres: PostgreSQL on 127.0.0.1:$PORT" >&2
set +e
"$@"
rc=$?
exit $rc
