#!/usr/bin/env bash
# The project's own PostGIS cluster under .data/pg: `pg.sh start|stop|status`.
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
#
# Accounts (等保三级: the service never connects as a superuser, never without a password):
#   postgres        superuser, used only by this script; password in .data/pg.secrets
#   blueprint_owner owns the database and its tables; migrations and the test run (CREATEDB)
#   blueprint_app   what the service connects as (DATABASE_URL): reads and writes rows, may only
#                   SELECT and INSERT the audit log (grants: blueprint/db_roles.py, after migrate)
# Every connection, on 127.0.0.1 only, needs a scram-sha-256 password. Passwords are generated
# once into .data/pg.secrets (mode 600, never committed) and the URLs written to .data/env (and a
# libpq password file, .data/pgpass, for the two roles).
# Another database in this cluster (e.g. the provincial exchange): add it to `provision` with
# `ensure_role NAME` and `ensure_database NAME OWNER`, and write its URL with `database_url`.
source "$(dirname "$0")/lib.sh"

PGDIR="$DATA_DIR/pg"
SECRETS="$DATA_DIR/pg.secrets"
DB_NAME=blueprint
OWNER_ROLE=blueprint_owner
APP_ROLE=blueprint_app

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
  cluster_dir "$PGDIR"
}

# cluster_dir DIR: a directory for a cluster (the project's, a replica, a restored copy) that the
# cluster's owner can reach. When the checkout is not reachable by the postgres user (e.g. under
# /root), the cluster lives in /var/lib with a link where people expect it.
cluster_dir() {
  local dir="$1"
  mkdir -p "$DATA_DIR"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$DATA_DIR" 2>/dev/null; then
    local real="/var/lib/one-blueprint/$(echo "$DATA_DIR" | sha256sum | cut -c1-12)/$(basename "$dir")"
    mkdir -p "$real"; chown -R postgres: "$(dirname "$real")"
    [ -L "$dir" ] || ln -sfn "$real" "$dir"
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
}

port_in_use() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

choose_port() {
  local port
  port="$(cat "$DATA_DIR/pg.port" 2>/dev/null || echo "${BLUEPRINT_PG_PORT:-54329}")"
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port" >"$DATA_DIR/pg.port"
  echo "$port"
}

# --- passwords and roles (reusable: other databases of the cluster use the same functions) -------

# The generated password of a role (made once, kept in .data/pg.secrets).
role_password() {
  local name="$1" pw
  touch "$SECRETS"; chmod 600 "$SECRETS"
  pw="$(sed -n "s/^$name=//p" "$SECRETS")"
  if [ -z "$pw" ]; then
    pw="$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    echo "$name=$pw" >>"$SECRETS"
  fi
  echo "$pw"
}

# psql as the superuser (with its password) on the cluster's port; extra args go to psql.
su_psql() {
  PGPASSWORD="$(role_password postgres)" PGOPTIONS="-c client_min_messages=warning" \
    "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -Atq "$@"
}

# ensure_role NAME [ATTRIBUTE...]: a login role with its generated password (never a superuser).
ensure_role() {
  local name="$1"; shift
  local attrs="LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION ${*:-}"
  local pw; pw="$(role_password "$name")"
  su_psql -d postgres <<SQL
SELECT format('CREATE ROLE %I', '$name') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$name')
\gexec
ALTER ROLE "$name" $attrs PASSWORD '$pw';
SQL
}

# ensure_database NAME OWNER: the database (PostGIS comes from template1), owned by OWNER.
ensure_database() {
  local name="$1" owner="$2"
  if ! su_psql -d postgres -c "select 1 from pg_database where datname='$name'" | grep -q 1; then
    su_psql -d postgres -c "CREATE DATABASE \"$name\" OWNER \"$owner\""
  fi
  su_psql -d postgres -c "ALTER DATABASE \"$name\" OWNER TO \"$owner\""
  ensure_extensions "$name"
}

# PostGIS and btree_gist need a superuser to install; in template1 too, so that databases the owner
# creates (pytest-django's test database) have them already.
ensure_extensions() {
  su_psql -d "$1" -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS btree_gist;"
}

# postgis://ROLE:PASSWORD@127.0.0.1:PORT/DB
database_url() {
  echo "postgis://$1:$(role_password "$1")@127.0.0.1:$PG_PORT/$2"
}

# Set KEY=VALUE in .data/env (replacing an earlier value).
env_set() {
  touch "$ENV_FILE"; chmod 600 "$ENV_FILE"
  sed -i "/^$1=/d" "$ENV_FILE"
  echo "$1=$2" >>"$ENV_FILE"
}

# Objects made before the owner role existed (clusters of earlier runs: everything the postgres
# superuser's) go to the owner; extension members stay the superuser's.
REASSIGN_SQL="
DO \$\$
DECLARE obj record;
BEGIN
  FOR obj IN
    SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                ELSE 'TABLE' END AS kind, c.oid::regclass::text AS name
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
      AND pg_get_userbyid(c.relowner) = 'postgres'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
      AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO $OWNER_ROLE', obj.kind, obj.name);
  END LOOP;
  FOR obj IN
    SELECT p.oid::regprocedure::text AS name FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND pg_get_userbyid(p.proowner) = 'postgres'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO $OWNER_ROLE', obj.name);
  END LOOP;
END \$\$;"

# The roles of the blueprint database; an earlier run's test database is handed to the owner so
# that the test run may drop and recreate it.
provision() {
  su_psql -d postgres -c "select 1" >/dev/null 2>&1 || die "无法以 postgres 口令连接数据库 (.data/pg.secrets 丢失或不符)。
Cannot sign in as postgres with the password in $SECRETS (lost or changed?): restore it, or remove $PGDIR to start a new cluster."
  ensure_extensions template1
  ensure_role "$APP_ROLE"
  ensure_role "$OWNER_ROLE" CREATEDB
  # The owner may act as the app role: it hands the app the partitioned feature tables (imports
  # attach partitions to them) and can end the app's sessions on the test database.
  su_psql -d postgres -c "GRANT \"$APP_ROLE\" TO \"$OWNER_ROLE\"; GRANT pg_signal_backend TO \"$OWNER_ROLE\";"
  ensure_database "$DB_NAME" "$OWNER_ROLE"
  su_psql -d "$DB_NAME" -c "$REASSIGN_SQL"
  if su_psql -d postgres -c "select 1 from pg_database where datname='test_$DB_NAME'" | grep -q 1; then
    su_psql -d postgres -c "ALTER DATABASE \"test_$DB_NAME\" OWNER TO \"$OWNER_ROLE\""
  fi
  env_set DATABASE_URL "$(database_url "$APP_ROLE" "$DB_NAME")"
  env_set DATABASE_OWNER_URL "$(database_url "$OWNER_ROLE" "$DB_NAME")"
  write_pgpass "$APP_ROLE" "$OWNER_ROLE"
}

# A libpq password file for the given roles (not the superuser), named by PGPASSFILE in .data/env:
# local tools and tests that connect without a password in their URL (psql, psycopg2.connect
# with the settings' user) find it there.
write_pgpass() {
  local file="$DATA_DIR/pgpass" role
  : >"$file"; chmod 600 "$file"
  for role in "$@"; do echo "127.0.0.1:$PG_PORT:*:$role:$(role_password "$role")" >>"$file"; done
  env_set PGPASSFILE "$file"
}

# A cluster of an earlier run trusts every local connection: give the superuser its password and
# require scram-sha-256 from everyone (a reload, no restart).
require_passwords() {
  grep -Eq '^[[:space:]]*[^#[:space:]].*[[:space:]]trust[[:space:]]*$' "$PGDIR/pg_hba.conf" || return 0
  say "启用数据库口令认证 / switching the cluster from trust to scram-sha-256 passwords"
  PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atq \
    -v ON_ERROR_STOP=1 -d postgres -c "ALTER ROLE postgres PASSWORD '$(role_password postgres)'"
  as_owner sed -i -E '/^[[:space:]]*#/! s/[[:space:]]trust[[:space:]]*$/ scram-sha-256/' "$PGDIR/pg_hba.conf"
  as_owner "$PG_BIN/pg_ctl" -D "$PGDIR/" reload >/dev/null
}

init_cluster() {
  say "初始化 PostGIS 集群 / initialising the PostGIS cluster in $PGDIR"
  local pwfile
  pwfile="$(mktemp)"
  role_password postgres >"$pwfile"
  [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
  as_owner "$PG_BIN/initdb" -D "$PGDIR/" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" -E UTF8 \
    --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
}

# The province's front database (前置库) for the demo and tests: a second database of this cluster,
# its own role, the three 多规 tables (exchange/sql/front_tables.sql); EXCHANGE_DATABASE_URL names it.
EXCHANGE_ROLE=blueprint_exchange
provision_exchange() {
  local name="${DB_NAME}_exchange"
  ensure_role "$EXCHANGE_ROLE"
  ensure_database "$name" "$EXCHANGE_ROLE"
  PGPASSWORD="$(role_password "$EXCHANGE_ROLE")" PGOPTIONS="-c client_min_messages=warning" \
    "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$EXCHANGE_ROLE" -d "$name" -v ON_ERROR_STOP=1 -q \
    -f "$ROOT/exchange/sql/front_tables.sql" >/dev/null
  env_set EXCHANGE_DATABASE_URL "$(database_url "$EXCHANGE_ROLE" "$name" | sed 's|^postgis://|postgresql://|')"
}

# The server's options: PORT DIR. Its socket is in DIR/run, for its owner only: pgBackRest
# (scripts/backup.sh) reaches PostgreSQL through a socket; everyone else on 127.0.0.1.
server_options() {
  echo "-p $1 -c listen_addresses=127.0.0.1 -c unix_socket_directories='$2/run' -c unix_socket_permissions=0700 \
    -c shared_buffers=512MB -c work_mem=32MB -c maintenance_work_mem=512MB -c max_wal_size=4GB -c jit=off"
}

# Start the cluster in DIR on PORT (the project's cluster, a restored copy, a replica).
start_server() {
  as_owner mkdir -p "$2/run"
  as_owner "$PG_BIN/pg_ctl" -D "$2/" -l "$2/server.log" -w -t "${PG_START_TIMEOUT:-60}" start \
    -o "$(server_options "$1" "$2")" >/dev/null
}

start() {
  PG_BIN="$(pg_bindir)"
  prepare_dir
  if [ -f "$PGDIR/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$PGDIR/" status >/dev/null 2>&1; then
    PG_PORT="$(cat "$DATA_DIR/pg.port")"
  else
    [ -f "$PGDIR/PG_VERSION" ] || init_cluster
    PG_PORT="$(choose_port)"
    say "启动 PostGIS / starting PostGIS on 127.0.0.1:$PG_PORT"
    start_server "$PG_PORT" "$PGDIR" \
      || die "PostGIS 启动失败，请查看 / PostGIS did not start, see $PGDIR/server.log"
  fi
  require_passwords
  provision
  provision_exchange
}

stop() {
  PG_BIN="$(pg_bindir)"
  if [ -f "$PGDIR/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$PGDIR/" status >/dev/null 2>&1; then
    as_owner "$PG_BIN/pg_ctl" -D "$PGDIR/" -m fast -w stop >/dev/null
    say "PostGIS 已停止 / PostGIS stopped"
  else
    say "PostGIS 未运行 / PostGIS is not running"
  fi
}

status() {
  PG_BIN="$(pg_bindir)"
  as_owner "$PG_BIN/pg_ctl" -D "$PGDIR/" status
}

# Sourced (scripts/backup.sh, scripts/replica.sh): the functions only.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
  start) start ;;
  prepare) prepare_dir ;;  # only the directory (tests/ops/sites.py fills it with pg_basebackup)
  stop) stop ;;
  status) status ;;
  *) die "usage: scripts/pg.sh start|stop|status" ;;
esac
