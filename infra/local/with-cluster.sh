#!/usr/bin/env bash
# with-cluster.sh -- COMMAND...
# Runs COMMAND against `make cluster`: starts the nodes that are not running, runs COMMAND, then stops the
# cluster if this run started it (also on failure or Ctrl-C), and exits with COMMAND's status. The
# single-node stack of `make up` takes the same ports: what of it runs is stopped first and started again
# afterwards, so a pipeline started by `make up` is flowing again when this ends.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"

[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 -- COMMAND..." >&2; exit 2; }

single=()
for s in kafka cassandra livy airflow api; do
  running_pid "$s" >/dev/null && single+=("$s")
done
cluster_was_up=0
"$HERE/cluster.sh" running && cluster_was_up=1

# shellcheck disable=SC2317 # run by the EXIT trap, which shellcheck does not follow
cleanup() {
  if [ "$cluster_was_up" = 0 ]; then
    step "stopping the cluster this run started"
    "$HERE/cluster.sh" down || true
  fi
  if [ ${#single[@]} -gt 0 ]; then
    step "starting make up's stack again: ${single[*]}"
    "$HERE/stack.sh" up "${single[@]}" || true
  fi
}
trap cleanup EXIT
if [ ${#single[@]} -gt 0 ]; then
  step "stopping make up's stack for the cluster (it comes back afterwards): ${single[*]}"
  "$HERE/stack.sh" down "${single[@]}"
fi
"$HERE/cluster.sh" up
set +e
"$@"
status=$?
set -e
exit $status
