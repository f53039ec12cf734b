#!/usr/bin/env bash
# A streaming replica (hot standby) of the project's cluster on this machine, PostgreSQL's own
# replication: `replica.sh start|stop|status|promote|remove`.
#   start    a copy by pg_basebackup -R (the first time), started on REPLICA_PORT (primary's + 10),
#            its URL written to .data/env as DATABASE_REPLICA_URL (the app's reads: blueprint/routers.py)
#   promote  make it the primary (pg_ctl promote), e.g. after the primary was lost
#   remove   stop it and delete its directory
# REPLICA_SYNC=true: synchronous replication (a commit waits until the replica has it), so that a
# failover loses no acknowledged write; the primary then stalls while the replica is down.
source "$(dirname "$0")/pg.sh"
load_env

REPLICA_DIR="${REPLICA_DIR:-$DATA_DIR/replica}"
REPLICA_NAME="${REPLICA_NAME:-blueprint_replica}"
REPLICATION_ROLE=blueprint_replication
PG_BIN="$(pg_bindir)"

# A role that may only stream WAL (not read or write tables), with its own password.
ensure_replication_role() {
  local pw; pw="$(role_password "$REPLICATION_ROLE")"
  su_psql -d postgres <<SQL
SELECT format('CREATE ROLE %I', '$REPLICATION_ROLE') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$REPLICATION_ROLE')
\gexec
ALTER ROLE "$REPLICATION_ROLE" LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$pw';
SQL
}

replica_port() {
  local port
  port="$(cat "$DATA_DIR/replica.port" 2>/dev/null || echo "${REPLICA_PORT:-$((PG_PORT + 10))}")"
  echo "$port" >"$DATA_DIR/replica.port"
  echo "$port"
}

running() { [ -f "$1/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$1/" status >/dev/null 2>&1; }

clone() {
  say "复制主库 / copying the primary (pg_basebackup) into $REPLICA_DIR"
  cluster_dir "$REPLICA_DIR"
  # -R writes standby.signal and primary_conninfo (with the replication role's password, mode 600).
  PGPASSWORD="$(role_password "$REPLICATION_ROLE")" as_owner "$PG_BIN/pg_basebackup" \
    -d "host=127.0.0.1 port=$PG_PORT user=$REPLICATION_ROLE application_name=$REPLICA_NAME" \
    -D "$REPLICA_DIR" -R -X stream -c fast
  # Long reads on the replica are not cancelled by the primary's vacuum; once promoted, it waits for
  # no standby of its own (the primary's synchronous_standby_names came with the copy).
  as_owner sed -i '/^synchronous_standby_names/d' "$REPLICA_DIR/postgresql.auto.conf"
  echo "hot_standby_feedback = on" | as_owner tee -a "$REPLICA_DIR/postgresql.auto.conf" >/dev/null
}

synchronous() {
  local names=""
  [ "${REPLICA_SYNC:-false}" = true ] && names="$REPLICA_NAME"
  su_psql -d postgres -c "ALTER SYSTEM SET synchronous_standby_names = '$names'"
  su_psql -d postgres -c "SELECT pg_reload_conf()" >/dev/null
}

start() {
  "$ROOT/scripts/pg.sh" start
  PG_PORT="$(cat "$DATA_DIR/pg.port")"
  ensure_replication_role
  # The primary keeps 1 GB of WAL for a replica that was stopped a while.
  su_psql -d postgres -c "ALTER SYSTEM SET wal_keep_size = '1GB'"
  [ -f "$REPLICA_DIR/PG_VERSION" ] || clone
  local port; port="$(replica_port)"
  if ! running "$REPLICA_DIR"; then
    say "启动只读副本 / starting the replica on 127.0.0.1:$port"
    start_server "$port" "$REPLICA_DIR" || die "副本启动失败 / the replica did not start, see $REPLICA_DIR/server.log"
  fi
  synchronous
  env_set DATABASE_REPLICA_URL "$(PG_PORT="$port" database_url "$APP_ROLE" "$DB_NAME")"
  say "副本就绪 / replica streaming; DATABASE_REPLICA_URL is in $ENV_FILE"
}

stop() {
  if running "$REPLICA_DIR"; then
    as_owner "$PG_BIN/pg_ctl" -D "$REPLICA_DIR/" -m fast -w stop >/dev/null
    say "副本已停止 / replica stopped"
  fi
  # A stopped synchronous replica would hold every commit of the primary.
  if [ "${REPLICA_SYNC:-false}" = true ] && [ -f "$DATA_DIR/pg.port" ]; then
    PG_PORT="$(cat "$DATA_DIR/pg.port")"; REPLICA_SYNC=false synchronous || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) as_owner "$PG_BIN/pg_ctl" -D "$REPLICA_DIR/" status ;;
  promote) as_owner "$PG_BIN/pg_ctl" -D "$REPLICA_DIR/" -w promote ;;
  remove) stop; rm -rf "$REPLICA_DIR" "$DATA_DIR/replica.port"; sed -i '/^DATABASE_REPLICA_URL=/d' "$ENV_FILE" ;;
  *) die "usage: scripts/replica.sh start|stop|status|promote|remove" ;;
esac
