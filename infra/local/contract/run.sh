#!/usr/bin/env bash
# make contract: schemathesis over the whole OpenAPI document of a running API, with every check,
# a fixed seed, and hooks (hooks.py) that keep the run from disturbing the pipeline.
#   CONTRACT_API_URL       the API (default http://127.0.0.1:$PORT, PORT 3000)
#   CONTRACT_API_KEY       its key (default: the first of API_KEYS)
#   CONTRACT_SEED          the seed (default 20261130); CONTRACT_MAX_EXAMPLES cases per operation and phase (default 40)
# Extra arguments go to `schemathesis run` (e.g. --include-path-regex /records to try one route).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"

CONTRACT_VERSION="$(sed -n 's/^schemathesis==\(.*\)$/\1/p' "$HERE/requirements.txt")"
CONTRACT_VENV="$CACHE_DIR/venvs/schemathesis-$CONTRACT_VERSION"

# The venv, once: re-created only when requirements.txt or constraints.txt change.
python_venv contract "schemathesis $CONTRACT_VERSION" "$CONTRACT_VENV" "${CONTRACT_BASE_PYTHON:-}" \
  -r "$HERE/requirements.txt" -c "$HERE/constraints.txt"

export CONTRACT_API_URL="${CONTRACT_API_URL:-http://127.0.0.1:${PORT:-3000}}"
export CONTRACT_API_KEY="${CONTRACT_API_KEY:-${API_KEYS%%,*}}"
[ -n "$CONTRACT_API_KEY" ] || { fail "contract: set CONTRACT_API_KEY (or API_KEYS)"; exit 2; }
report="$STACK_DIR/contract"
mkdir -p "$report"

step "schemathesis $CONTRACT_VERSION against $CONTRACT_API_URL/docs-json (seed ${CONTRACT_SEED:-20261130})"
set +e
(
  cd "$HERE"
  # --no-color and a fixed seed: the same cases every run, readable in a CI log.
  PYTHONPATH="$HERE" SCHEMATHESIS_HOOKS=hooks "$CONTRACT_VENV/bin/schemathesis" run "$CONTRACT_API_URL/docs-json" \
    --checks all \
    --seed "${CONTRACT_SEED:-20261130}" \
    --max-examples "${CONTRACT_MAX_EXAMPLES:-40}" \
    --phases examples,coverage,fuzzing \
    --workers 1 \
    --request-timeout 30 \
    --no-color \
    --exclude-path-regex '^/api/v1/streaming/(start|stop)$' \
    --header "X-API-Key: $CONTRACT_API_KEY" \
    --report junit --report-dir "$report" \
    "$@"
) 2>&1 | tee "$report/output.txt"
status=${PIPESTATUS[0]}
set -e
cases="$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$report/output.txt" | tail -n1)"
echo "contract: ${cases:-?} test cases generated over the whole document; exit status $status (report: $report)"
exit "$status"
