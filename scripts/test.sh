#!/usr/bin/env bash
# `make test`: set up, then the whole suite against the real PostGIS. Extra args go to pytest.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh" --test
load_env
cd "$ROOT"
# The test run creates its own database, so it connects as the owner role (CREATEDB); tests that
# prove the app role's limits connect as DATABASE_URL's role to the test database.
if [ -n "${DATABASE_OWNER_URL:-}" ]; then export DATABASE_AS_OWNER=true; fi
# A replica of the developer's own database (make replica, .data/env) is not the test database's:
# tests that need one start their own (tests/ops).
export DATABASE_REPLICA_URL=""
exec "$VENV/bin/pytest" "$@"
