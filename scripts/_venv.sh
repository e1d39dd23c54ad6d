# Sourced by scripts/run and scripts/test: create .venv and install the pinned requirements
# (again only when the requirements files change).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PEERLY_VENV:-$ROOT/.venv}"
REQS="$1"
PYTHON_BIN="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv in $VENV"
  "$PYTHON_BIN" -m venv "$VENV"
fi
stamp="$VENV/.requirements-$(basename "$REQS").sha"
want="$(cat "$ROOT"/requirements*.txt | sha256sum | cut -d' ' -f1)"
dev_stamp="$VENV/.requirements-requirements-dev.txt.sha"  # requirements-dev.txt includes requirements.txt
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] && [ "$(cat "$dev_stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing $(basename "$REQS")"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/$REQS"
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
