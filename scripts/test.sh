#!/usr/bin/env bash
# `make test`: set up, then the whole suite against the real PostGIS. Extra args go to pytest.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh" --test
load_env
cd "$ROOT"
exec "$VENV/bin/pytest" "$@"
