# Shared helpers for the project's shell scripts. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${BLUEPRINT_DATA_DIR:-$ROOT/.data}"
VENV="$ROOT/.venv"
ENV_FILE="$DATA_DIR/env"

say() { printf '\033[1;34m[一张蓝图]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[一张蓝图] 错误 / error:\033[0m %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through passwordless sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1
  fi
}

# Load the generated environment (.data/env) unless the caller already set the variables.
load_env() {
  if [ -f "$ENV_FILE" ]; then
    while IFS='=' read -r key value; do
      [ -z "$key" ] && continue
      case "$key" in \#*) continue ;; esac
      if [ -z "${!key:-}" ]; then export "$key=$value"; fi
    done < "$ENV_FILE"
  fi
}

# Run a command connected to the database as the owner of its tables (DATABASE_OWNER_URL) when
# there is one: migrations, the test run. The service itself uses DATABASE_URL's role.
as_db_owner() {
  if [ -n "${DATABASE_OWNER_URL:-}" ]; then DATABASE_AS_OWNER=true "$@"; else "$@"; fi
}
