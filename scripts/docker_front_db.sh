#!/bin/sh
# docker-compose: the postgis image runs this once, on an empty data volume: the province's front
# database (前置库) with the three 多规 tables, as scripts/pg.sh makes it for `make run`: its own
# login role (EXCHANGE_DB_PASSWORD; not a superuser, no CREATEDB) owns the database and the tables.
set -e
: "${EXCHANGE_DB_PASSWORD:?set EXCHANGE_DB_PASSWORD (the blueprint_exchange role of the front database)}"
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -v pw="$EXCHANGE_DB_PASSWORD" <<'SQL'
CREATE ROLE blueprint_exchange LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
CREATE DATABASE blueprint_exchange OWNER blueprint_exchange;
REVOKE ALL ON DATABASE blueprint_exchange FROM PUBLIC;
SQL
PGPASSWORD="$EXCHANGE_DB_PASSWORD" psql -v ON_ERROR_STOP=1 -U blueprint_exchange -d blueprint_exchange \
  -f /front_tables.sql
