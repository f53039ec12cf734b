#!/usr/bin/env bash
# Backups of the project's cluster with pgBackRest, and the imagery files beside them.
#   backup.sh configure            pgbackrest.conf, WAL archiving (one restart the first time), the stanza
#   backup.sh backup [full|diff|incr]   a backup (full when the repository has none), then the imagery
#   backup.sh restore [TARGET]     the cluster back to the latest state, or to TARGET (a time,
#                                  '2026-12-03 17:00:00+00'); RESTORE_DIR/RESTORE_PORT: into another
#                                  cluster, the project's own left running (RESTORE_IMAGERY_DIR:
#                                  where its imagery goes)
#   backup.sh info [--output=json] pgbackrest info
# Settings (environment or .data/env; README "Backup and restore"):
#   BACKUP_REPO (.data/backup) BACKUP_STANZA (blueprint) BACKUP_RETENTION_FULL (2 full backups and
#   the WAL to replay from them) BACKUP_RETENTION_DIFF (7) BACKUP_ARCHIVE_TIMEOUT (60 s: the longest
#   a quiet database's last commits wait in an unfinished WAL segment) BACKUP_PROCESSES (1)
# The repository is encrypted (aes-256-cbc) with the passphrase `backup_cipher` of .data/pg.secrets:
# keep a copy of that file elsewhere, a repository without it cannot be read.
source "$(dirname "$0")/pg.sh"
load_env

BACKUP_REPO="${BACKUP_REPO:-$DATA_DIR/backup}"
STANZA="${BACKUP_STANZA:-blueprint}"
CONF_DIR="$DATA_DIR/pgbackrest"
CONF="$CONF_DIR/pgbackrest.conf"
IMAGERY_DIR="${IMAGERY_DIR:-$DATA_DIR/imagery}"
PG_BIN="$(pg_bindir)"

pgbackrest_cmd() {
  command -v pgbackrest >/dev/null || die "找不到 pgBackRest。请安装 / install: apt-get install pgbackrest (scripts/setup.sh does)"
  PGPASSWORD="$(role_password postgres)" as_owner pgbackrest --config="$CONF" --stanza="$STANZA" "$@"
}

# Directories pgBackRest writes to belong to the cluster's owner.
owned_dir() {
  mkdir -p "$1"
  [ "$(id -u)" = 0 ] && chown postgres: "$1"
  chmod 750 "$1"
}

write_config() {
  cluster_dir "$CONF_DIR"; cluster_dir "$BACKUP_REPO"; owned_dir "$CONF_DIR/log"; owned_dir "$CONF_DIR/lock"
  local tmp; tmp="$(mktemp)"
  cat >"$tmp" <<CONF
# Written by scripts/backup.sh; edit the BACKUP_* settings instead (README "Backup and restore").
[global]
repo1-path=$BACKUP_REPO
repo1-retention-full=${BACKUP_RETENTION_FULL:-2}
repo1-retention-diff=${BACKUP_RETENTION_DIFF:-7}
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$(role_password backup_cipher)
compress-type=zst
process-max=${BACKUP_PROCESSES:-1}
start-fast=y
archive-timeout=${BACKUP_ARCHIVE_TIMEOUT:-60}
log-path=$CONF_DIR/log
lock-path=$CONF_DIR/lock
log-level-console=warn
log-level-file=info

[$STANZA]
pg1-path=$PGDIR
pg1-port=$PG_PORT
pg1-socket-path=$PGDIR/run
pg1-user=postgres
# The socket and its lock file (scripts/pg.sh): not data.
exclude=run/
CONF
  install -m 600 "$tmp" "$CONF"; rm -f "$tmp"
  [ "$(id -u)" = 0 ] && chown postgres: "$CONF"
  return 0
}

# archive_mode needs a restart, archive_command a reload; both only when they change.
enable_archiving() {
  local command="pgbackrest --config=$CONF --stanza=$STANZA archive-push %p"
  local mode current
  mode="$(su_psql -d postgres -c "show archive_mode")"
  current="$(su_psql -d postgres -c "show archive_command")"
  if [ "$current" != "$command" ]; then
    su_psql -d postgres -c "ALTER SYSTEM SET archive_command = '$command'"
    su_psql -d postgres -c "ALTER SYSTEM SET archive_timeout = '${BACKUP_ARCHIVE_TIMEOUT:-60}s'"
    su_psql -d postgres -c "SELECT pg_reload_conf()" >/dev/null
  fi
  if [ "$mode" != "on" ]; then
    say "开启 WAL 归档，重启数据库一次 / turning on WAL archiving: restarting PostgreSQL once"
    su_psql -d postgres -c "ALTER SYSTEM SET archive_mode = 'on'"
    as_owner "$PG_BIN/pg_ctl" -D "$PGDIR/" -m fast -w stop >/dev/null
    start_server "$PG_PORT" "$PGDIR" || die "PostgreSQL 未能重启 / did not restart, see $PGDIR/server.log"
  fi
}

configure() {
  [ -f "$PGDIR/PG_VERSION" ] || die "没有数据库集群 / no cluster in $PGDIR: run make setup first"
  as_owner "$PG_BIN/pg_ctl" -D "$PGDIR/" status >/dev/null 2>&1 || "$ROOT/scripts/pg.sh" start
  PG_PORT="$(cat "$DATA_DIR/pg.port")"
  write_config
  enable_archiving
  pgbackrest_cmd stanza-create >/dev/null
  pgbackrest_cmd check
}

# Imagery files are named by their content's SHA-256 and never changed or removed: one growing copy
# holds every file that any backup's database refers to.
backup_imagery() {
  [ -d "$IMAGERY_DIR" ] || return 0
  mkdir -p "$BACKUP_REPO/imagery"
  rsync -a "$IMAGERY_DIR/" "$BACKUP_REPO/imagery/"
}

backup() {
  local type="${1:-}"
  configure
  if [ -z "$type" ]; then
    if pgbackrest_cmd info --output=json | grep -q '"label"'; then type=incr; else type=full; fi
  fi
  case "$type" in full|diff|incr) ;; *) die "备份类型 / backup type must be full, diff or incr, not '$type'" ;; esac
  say "备份 / pgBackRest $type backup of $PGDIR into $BACKUP_REPO"
  pgbackrest_cmd backup --type="$type"
  backup_imagery
  record
}

# The repository's backups, as rows of the database (blueprint.backups): what the operator page
# and the alerts read, on every app machine and on the replicas.
record() {
  pgbackrest_cmd info --output=json | "$VENV/bin/python" "$ROOT/manage.py" record_backups
}

# TARGET as pgBackRest wants it (UTC, YYYY-MM-DD HH:MM:SS.mmm+00), read by PostgreSQL, which knows
# every usual way to write a time; checked before anything is stopped.
normalise_target() {
  su_psql -d postgres -c "select to_char('$1'::timestamptz at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '+00'" \
    2>/dev/null || die "恢复时间无法识别 / '$1' is not a time: use e.g. TARGET='2026-12-03 17:00:00+00'"
}

# Archive recovery replays the WAL up to the target (or all there is), then the cluster promotes.
wait_for_promotion() {
  local waited=0
  while [ "$(PG_PORT="$1" su_psql -d postgres -c "select pg_is_in_recovery()")" = t ]; do
    sleep 0.5; waited=$((waited + 1))
    [ "$waited" -lt 7200 ] || die "恢复未结束 / recovery did not finish in an hour, see $2/server.log"
  done
  as_owner "$PG_BIN/pg_ctl" -D "$2/" status >/dev/null || die "恢复失败 / recovery failed (a TARGET after the last archived WAL?), see $2/server.log"
}

restore() {
  local target="${1:-}" into="${RESTORE_DIR:-}" port="${RESTORE_PORT:-}"
  PG_PORT="$(cat "$DATA_DIR/pg.port")"
  [ -f "$CONF" ] || write_config
  local args=()
  if [ -n "$target" ]; then
    # (With the cluster lost, pgBackRest itself reads the time: write it as YYYY-MM-DD HH:MM:SS+00.)
    if as_owner "$PG_BIN/pg_ctl" -D "$PGDIR/" status >/dev/null 2>&1; then target="$(normalise_target "$target")"; fi
    args+=(--type=time "--target=$target" --target-action=promote)
  fi
  if [ -n "$into" ]; then
    [ -n "$port" ] || die "RESTORE_DIR needs RESTORE_PORT (the restored cluster's port)"
    port_in_use "$port" && die "端口已占用 / port $port is in use: choose another RESTORE_PORT"
    cluster_dir "$into"
    # A copy beside the running cluster: it must not push WAL into the same repository.
    args+=("--pg1-path=$into" --archive-mode=off)
  else
    into="$PGDIR"; port="$PG_PORT"
    "$ROOT/scripts/pg.sh" stop
  fi
  [ -f "$into/PG_VERSION" ] && args+=(--delta)  # only the files that differ from the backup
  say "恢复 / restoring $STANZA ${target:-to the latest state} into $into"
  pgbackrest_cmd restore "${args[@]}"
  if [ -d "$BACKUP_REPO/imagery" ]; then
    mkdir -p "${RESTORE_IMAGERY_DIR:-$IMAGERY_DIR}"
    rsync -a "$BACKUP_REPO/imagery/" "${RESTORE_IMAGERY_DIR:-$IMAGERY_DIR}/"
  fi
  PG_START_TIMEOUT=3600 start_server "$port" "$into" || die "恢复后启动失败 / did not start after the restore, see $into/server.log"
  wait_for_promotion "$port" "$into"
  say "已恢复 / restored: PostgreSQL on 127.0.0.1:$port. Take a new full backup: make backup TYPE=full"
}

case "${1:-}" in
  configure) configure ;;
  backup) backup "${2:-}" ;;
  restore) restore "${2:-}" ;;
  info) PG_PORT="$(cat "$DATA_DIR/pg.port")"; [ -f "$CONF" ] || write_config; pgbackrest_cmd info "${@:2}" ;;
  *) die "usage: scripts/backup.sh configure | backup [full|diff|incr] | restore [TARGET] | info" ;;
esac
