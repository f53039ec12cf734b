#!/usr/bin/env bash
# `make run`: set up, load the demo data (a no-op when unchanged), serve with gunicorn.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh"
load_env
PORT="${PORT:-8000}"
"$VENV/bin/python" "$ROOT/manage.py" load_demo --size "${DEMO_SIZE:-small}"
cat >&2 <<MSG

  一张蓝图 One Blueprint is running:
    首页 Home              http://127.0.0.1:$PORT/
    管理后台 Admin         http://127.0.0.1:$PORT/admin/   (create a user: .venv/bin/python manage.py createsuperuser)
    健康检查 Health        http://127.0.0.1:$PORT/healthz
  Stop with Ctrl-C; \`make stop\` stops the database too.

MSG
exec "$VENV/bin/gunicorn" blueprint.wsgi --chdir "$ROOT" --bind "127.0.0.1:$PORT" \
  --workers "${WEB_WORKERS:-2}" --access-logfile - --error-logfile -
