#!/usr/bin/env bash
# ruff over the Python of spark-jobs/ and airflow/: lint (ruff check) and format (ruff format --check).
# The pinned ruff (requirements.txt beside this file) lives in ~/.cache/pipeline/venvs/ruff-<version>,
# created on first use. Extra arguments go to both commands (e.g. a list of files).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
RUFF_VERSION="$(sed -n 's/^ruff==\(.*\)$/\1/p' "$HERE/requirements.txt")"
RUFF_VENV="$CACHE_DIR/venvs/ruff-$RUFF_VERSION"
python_venv ruff "ruff $RUFF_VERSION" "$RUFF_VENV" "" -r "$HERE/requirements.txt"
cd "$ROOT"
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(spark-jobs airflow)
"$RUFF_VENV/bin/ruff" check --no-cache "${paths[@]}"
"$RUFF_VENV/bin/ruff" format --no-cache --check "${paths[@]}"
