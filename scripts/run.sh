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
    合规性检查 API         http://127.0.0.1:$PORT/api/docs/   (OpenAPI: /api/openapi.json)
    受理闸口 Gate          http://127.0.0.1:$PORT/api/gate/<统一项目代码>
    健康检查 Health        http://127.0.0.1:$PORT/healthz
  Stop with Ctrl-C; \`make stop\` stops the database too.

MSG
# The background worker runs huge checks; it stops with the web server.
"$VENV/bin/python" "$ROOT/manage.py" run_worker &
worker=$!
trap 'kill $worker 2>/dev/null' EXIT INT TERM
"$VENV/bin/gunicorn" blueprint.wsgi --chdir "$ROOT" --bind "127.0.0.1:$PORT" \
  --workers "${WEB_WORKERS:-2}" --access-logfile - --error-logfile -
