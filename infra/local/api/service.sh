# The NestJS control plane, run from its build (dist/). Sourced by infra/local/stack.sh.
# shellcheck shell=bash
api_port() { echo "${PORT:-3000}"; }
api_timeout() { echo 60; }
api_grace() { echo 20; }
api_probe() { curl -fsS -m 3 "http://127.0.0.1:$(api_port)/health/ready" >/dev/null; }
api_install() {
  # Grouped: a failed cd must stop here, not run npm ci in the wrong directory.
  (cd "$ROOT" && { [ -d node_modules ] || npm ci --no-audit --no-fund; })
  step "building the API"
  (cd "$ROOT" && npm run -s build)
}
# The one service that keeps the whole environment: its keys and secrets (API_KEYS, WEBHOOKS_SIGNING_SECRET,
# PAGE_TOKEN_SECRET, ...) are its configuration. Every other service starts without them (lib.sh's launch).
api_start() { (cd "$ROOT" && LAUNCH_ENV_KEEP='*' launch api node --max-semi-space-size=4 dist/apps/api/main.js); }
