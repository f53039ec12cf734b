#!/usr/bin/env bash
# The project's own PostGIS cluster under .data/pg: `pg.sh start|stop|status`.
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
source "$(dirname "$0")/lib.sh"

PGDIR="$DATA_DIR/pg"
DB_NAME=blueprint

pg_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] || dir="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /x/x)")"
  [ -x "$dir/pg_ctl" ] || die "找不到 PostgreSQL 服务器 (pg_ctl)。请安装 / install: apt-get install postgresql-15 postgresql-15-postgis-3"
  echo "$dir"
}

# Run a PostgreSQL binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "以 root 运行时需要 postgres 用户 / running as root needs the postgres user (apt-get install postgresql-15)"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

prepare_dir() {
  mkdir -p "$DATA_DIR"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$DATA_DIR" 2>/dev/null; then
    # The checkout is not reachable by the postgres user (e.g. under /root): keep the cluster in
    # /var/lib and leave a link where people expect it.
    local real="/var/lib/one-blueprint/$(echo "$ROOT" | sha256sum | cut -c1-12)/pg"
    mkdir -p "$real"; chown -R postgres: "$(dirname "$real")"
    [ -L "$PGDIR" ] || ln -sfn "$real" "$PGDIR"
  fi
  mkdir -p "$PGDIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
  chmod 700 "$PGDIR"
}

port_in_use() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

choose_port() {
  local port
  port="$(cat "$DATA_DIR/pg.port" 2>/dev/null || echo "${BLUEPRINT_PG_PORT:-54329}")"
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port" >"$DATA_DIR/pg.port"
  echo "$port"
}

write_database_url() {
  local url="postgis://postgres@127.0.0.1:$1/$DB_NAME"
  touch "$ENV_FILE"
  sed -i '/^DATABASE_URL=/d' "$ENV_FILE"
  echo "DATABASE_URL=$url" >>"$ENV_FILE"
}

ensure_database() {
  local bin="$1" port="$2"
  if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -Atqc \
      "select 1 from pg_database where datname='$DB_NAME'" postgres | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME"
  fi
  PGOPTIONS="-c client_min_messages=warning" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc \
    "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS btree_gist;" "$DB_NAME" >/dev/null
}

# The province's front database (前置库) for the demo and tests: a second database in this cluster
# with the three 多规 tables (exchange/sql/front_tables.sql), named by EXCHANGE_DATABASE_URL.
ensure_exchange_database() {
  local bin="$1" port="$2" name="${DB_NAME}_exchange"
  if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -Atqc \
      "select 1 from pg_database where datname='$name'" postgres | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name"
  fi
  PGOPTIONS="-c client_min_messages=warning" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -q \
    -v ON_ERROR_STOP=1 -f "$ROOT/exchange/sql/front_tables.sql" "$name" >/dev/null
  sed -i '/^EXCHANGE_DATABASE_URL=/d' "$ENV_FILE"
  echo "EXCHANGE_DATABASE_URL=postgresql://postgres@127.0.0.1:$port/$name" >>"$ENV_FILE"
}

start() {
  local bin port
  bin="$(pg_bindir)"
  prepare_dir
  if [ -f "$PGDIR/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$PGDIR/" status >/dev/null 2>&1; then
    port="$(cat "$DATA_DIR/pg.port")"
    ensure_database "$bin" "$port"
    write_database_url "$port"
    ensure_exchange_database "$bin" "$port"
    return 0
  fi
  if [ ! -f "$PGDIR/PG_VERSION" ]; then
    say "初始化 PostGIS 集群 / initialising the PostGIS cluster in $PGDIR"
    as_owner "$bin/initdb" -D "$PGDIR/" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  port="$(choose_port)"
  say "启动 PostGIS / starting PostGIS on 127.0.0.1:$port"
  as_owner "$bin/pg_ctl" -D "$PGDIR/" -l "$PGDIR/server.log" -w -t 60 start -o \
    "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c shared_buffers=512MB \
     -c work_mem=32MB -c maintenance_work_mem=512MB -c max_wal_size=4GB -c jit=off" >/dev/null \
    || die "PostGIS 启动失败，请查看 / PostGIS did not start, see $PGDIR/server.log"
  ensure_database "$bin" "$port"
  write_database_url "$port"
  ensure_exchange_database "$bin" "$port"
}

stop() {
  local bin
  bin="$(pg_bindir)"
  if [ -f "$PGDIR/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$PGDIR/" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$PGDIR/" -m fast -w stop >/dev/null
    say "PostGIS 已停止 / PostGIS stopped"
  else
    say "PostGIS 未运行 / PostGIS is not running"
  fi
}

status() {
  local bin
  bin="$(pg_bindir)"
  as_owner "$bin/pg_ctl" -D "$PGDIR/" status
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: scripts/pg.sh start|stop|status" ;;
esac
