#!/usr/bin/env bash
# with-stack.sh SERVICE... -- COMMAND...
# Starts the named services that are not already running, runs COMMAND, then stops only
# the services it started (also on failure or Ctrl-C), and exits with COMMAND's status.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"

services=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do services+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 SERVICE... -- COMMAND..." >&2; exit 2; }

# Refused before anything is started or stopped: stopping "what this run started" would otherwise run
# for every service, beside a cluster that uses the same ports.
if [ "$STACK_DIR" = "$ROOT/.stack" ] && "$HERE/cluster.sh" running; then
  fail "make cluster's nodes are running (.stack/cluster): this stack would take their ports; stop them first (make cluster-down)"
  exit 1
fi

started=()
for s in "${services[@]}"; do
  running_pid "$s" >/dev/null || started+=("$s")
done
# shellcheck disable=SC2317 # run by the EXIT trap, which shellcheck does not follow
cleanup() {
  if [ ${#started[@]} -gt 0 ]; then
    step "stopping what this run started: ${started[*]}"
    "$HERE/stack.sh" down "${started[@]}" || true
  fi
}
trap cleanup EXIT
"$HERE/stack.sh" up "${services[@]}"
set +e
"$@"
status=$?
set -e
exit $status
