#!/bin/sh
# docker-compose: the postgis image runs this once, on an empty data volume: the province's front
# database (前置库) with the three 多规 tables, as scripts/pg.sh makes it for `make run`.
set -e
createdb -U "$POSTGRES_USER" blueprint_exchange
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d blueprint_exchange -f /front_tables.sql
