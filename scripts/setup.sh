#!/usr/bin/env bash
# Set up everything `make run` and `make test` need; idempotent and quick when nothing is missing.
#   1. system packages (apt)   2. Python >= 3.12 and .venv   3. PostGIS (DATABASE_URL or our own cluster)
#   4. migrations, translations and static files
source "$(dirname "$0")/lib.sh"

APT_PACKAGES=(postgresql-15-postgis-3 postgresql-15 gdal-bin libgdal-dev gettext
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils
  pgbackrest rsync)  # backups (scripts/backup.sh)
# `setup.sh --test` (what `make test` runs) also installs the browser the browser tests drive and
# QGIS's Python bindings (tests/api/test_qgis.py drives its OAPIF provider; ~2 min to install).
[ "${1:-}" = "--test" ] && APT_PACKAGES+=(chromium chromium-driver python3-qgis)
# promtool (in Debian's prometheus) checks and unit-tests the alert rules file; the backup probe's
# test asks a real pgbackrest.
[ "${1:-}" = "--test" ] && APT_PACKAGES+=(prometheus pgbackrest)

install_system_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "缺少系统软件包: ${missing[*]}。本机没有 apt-get，请用系统的包管理器安装它们后重试。
Missing system packages: ${missing[*]}. There is no apt-get here: install them with your package manager and retry."
  say "安装系统软件包 / installing system packages: ${missing[*]}"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; then
    as_root apt-get update -q >/dev/null || die "无法运行 apt-get (需要 root 或免密 sudo)。请执行 / run as root:
  apt-get update && apt-get install -y ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || die "apt-get 安装失败 / apt-get install failed: ${missing[*]}"
  fi
}

find_python() {
  local candidates=()
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  # 3.12 first (what the project is developed and tested on), then newer ones.
  candidates+=(python3.12)
  if command -v pyenv >/dev/null; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])' | sort -V); do
      candidates+=("$(pyenv root)/versions/$v/bin/python3")
    done
  fi
  candidates+=(python3 python3.13)
  for py in "${candidates[@]}"; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$py"; return 0
    fi
  done
  return 1
}

setup_python() {
  local stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  local py
  py="$(find_python)" || die "找不到 Python 3.12 或更高版本。请安装 (Debian 12: pyenv install 3.12；Ubuntu 24.04: apt-get install python3 python3-venv)，或设置 PYTHON=/path/to/python3.12。
No Python >= 3.12 found. Install one (pyenv install 3.12 / apt-get install python3-venv on Ubuntu 24.04) or set PYTHON=/path/to/python3.12."
  if [ ! -x "$VENV/bin/python" ]; then
    say "创建虚拟环境 / creating .venv with $py"
    "$py" -m venv "$VENV" || die "无法创建虚拟环境 / cannot create a venv (Debian/Ubuntu: apt-get install python3-venv)"
  fi
  say "安装 Python 依赖 / installing Python dependencies (pyproject.toml)"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e "$ROOT[test]"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
}

# The OGC API Features test suite from PyPI (tests/api/test_ogc_suite.py runs it against the live
# server). Its own venv: ogctests pins pytest < 9, httpx < 0.28 and pyarrow < 18, older than ours.
OGCTESTS="ogctests==0.1.15"
setup_conformance_suite() {
  local venv="$VENV/ogctests" stamp="$VENV/ogctests/.installed-$OGCTESTS"
  [ -f "$stamp" ] && return 0
  say "安装 OGC API Features 测试套件 / installing the OGC API Features test suite ($OGCTESTS)"
  rm -rf "$venv"
  "$(find_python)" -m venv "$venv" && "$venv/bin/pip" install -q "$OGCTESTS" \
    || die "无法安装 $OGCTESTS / cannot install $OGCTESTS"
  touch "$stamp"
}

write_env_file() {
  mkdir -p "$DATA_DIR"
  [ -f "$ENV_FILE" ] && grep -q '^SECRET_KEY=' "$ENV_FILE" && return 0
  say "生成本地配置 / writing $ENV_FILE (local secret key; never committed)"
  {
    echo "SECRET_KEY=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
    echo "ALLOWED_HOSTS=127.0.0.1,localhost"
  } >> "$ENV_FILE"
}

main() {
  install_system_packages
  setup_python
  [ "${1:-}" = "--test" ] && setup_conformance_suite
  write_env_file
  if [ -z "${DATABASE_URL:-}" ]; then
    "$ROOT/scripts/pg.sh" start
  fi
  load_env
  say "数据库迁移 / migrating the database"
  # As the owner of the tables when there is one; the app role is then granted (blueprint/db_roles.py).
  as_db_owner "$VENV/bin/python" "$ROOT/manage.py" migrate --noinput -v 0
  "$VENV/bin/python" "$ROOT/manage.py" compilemessages -v 0 --ignore=.venv
  "$VENV/bin/python" "$ROOT/manage.py" collectstatic --noinput -v 0
}

main "$@"
