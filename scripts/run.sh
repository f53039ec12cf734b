#!/usr/bin/env bash
# `make run`: set up, load the demo data (a no-op when unchanged), serve with gunicorn.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh"
load_env
PORT="${PORT:-8000}"
"$VENV/bin/python" "$ROOT/manage.py" load_demo --size "${DEMO_SIZE:-small}"
# Local demo only (the command refuses with HTTPS=true): one account per role and a demo token.
"$VENV/bin/python" "$ROOT/manage.py" demo_users >/dev/null
cat >&2 <<MSG

  一张蓝图 One Blueprint is running:
    首页 Home              http://127.0.0.1:$PORT/
    登录 Sign in           http://127.0.0.1:$PORT/accounts/login/
    管理后台 Admin         http://127.0.0.1:$PORT/admin/
  演示账号 Demo accounts (local demo only):
    sysadmin / Layers-Demo-2025 (系统管理员)   secadmin / Accounts-Demo-2025 (安全管理员)
    auditor / Records-Demo-2025 (审计管理员)   — the three administrators bind a TOTP app at first sign-in
    city / Jining-Plan-2025 (市级规划)   county / Rencheng-Plan-2025 (任城区 370811)
    applicant / Builder-Demo-2025 (建设单位)
    系统令牌 token: Authorization: Bearer bp_demo-approval-system-token
    合规性检查 API         http://127.0.0.1:$PORT/api/docs/   (OpenAPI: /api/openapi.json)
    受理闸口 Gate          http://127.0.0.1:$PORT/api/gate/<统一项目代码>
    健康检查 Health        http://127.0.0.1:$PORT/healthz
  Stop with Ctrl-C; \`make stop\` stops the database too.

MSG
# Metrics of the queue worker (background checks) and of every gunicorn worker are added up from
# one folder (blueprint/gunicorn_conf.py wipes what earlier runs left there).
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$DATA_DIR/prometheus}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
# procrastinate's worker (huge checks, sharing pushes, feedback polls); it stops with the web server.
"$VENV/bin/python" "$ROOT/manage.py" procrastinate worker &
worker=$!
trap 'kill $worker 2>/dev/null' EXIT INT TERM
"$VENV/bin/gunicorn" -c python:blueprint.gunicorn_conf blueprint.wsgi --chdir "$ROOT" --bind "127.0.0.1:$PORT" \
  --workers "${WEB_WORKERS:-2}" --access-logfile - --error-logfile -
