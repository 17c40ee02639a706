#!/usr/bin/env bash
# The local stack runner: real Apache services as plain local processes, no Docker.
#   stack.sh up [service...]      install (cached) and start, in dependency order, waiting for health
#   stack.sh start [service...]   install and start without waiting (nodes that need each other to answer)
#   stack.sh down [service...]    stop, in reverse order
#   stack.sh status               one line per service
#   stack.sh logs [service]       follow the logs
#   stack.sh install [service...] download and prepare only
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

read -r -a ALL_SERVICES <<<"${STACK_SERVICES:-kafka cassandra livy airflow api}"
# A service's functions come from <service>/service.sh; a cluster's nodes (kafka1, cassandra2, ...) from
# cluster/<the name up to a digit or an underscore>.sh (kafka1: cluster/kafka.sh; spark_worker2: cluster/spark.sh),
# each sourced once (infra/local/cluster.sh lists them).
sourced=" "
for s in "${ALL_SERVICES[@]}"; do
  f="$HERE/$s/service.sh"
  [ -f "$f" ] || f="$HERE/cluster/${s%%[0-9_]*}.sh"
  case "$sourced" in *" $f "*) continue ;; esac
  # shellcheck disable=SC1090
  source "$f"
  sourced+="$f "
done
# The loopback address a service listens on: its <service>_host, else 127.0.0.1.
host_of() { if declare -F "${1}_host" >/dev/null; then "${1}_host"; else echo 127.0.0.1; fi; }

services_or_all() { if [ $# -gt 0 ]; then echo "$@"; else echo "${ALL_SERVICES[@]}"; fi; }

up_one() {
  local s="$1"
  if running_pid "$s" >/dev/null && "${s}_probe" >/dev/null 2>&1; then
    ok "$s already running and healthy (pid $(running_pid "$s"))"; return 0
  fi
  "${s}_install"
  if ! running_pid "$s" >/dev/null; then
    local port; port="$("${s}_port")"
    local host; host="$(host_of "$s")"
    if port_in_use "$port" "$host"; then
      if "${s}_probe" >/dev/null 2>&1; then
        ok "$s is already served on $host:$port by a process this runner did not start; using it"; return 0
      fi
      fail "$s: $host:$port is taken by another process; stop it or change the port"; return 1
    fi
    step "starting $s (log: $(log_file "$s"))"
    "${s}_start"
  fi
  step "waiting for $s to answer"
  if wait_until "$s" "$("${s}_timeout")" "${s}_probe"; then
    ok "$s is up (pid $(running_pid "$s"), port $("${s}_port"))"
  else
    show_log_tail "$s"; return 1
  fi
}

cmd="${1:-status}"; shift || true
case "$cmd" in
  install)
    for s in $(services_or_all "$@"); do "${s}_install"; done ;;
  up)
    if [ "$STACK_DIR" = "$ROOT/.stack" ] && "$HERE/cluster.sh" running; then
      fail "make cluster's nodes are running (.stack/cluster): this stack would take their ports; stop them first (make cluster-down)"
      exit 1
    fi
    for s in $(services_or_all "$@"); do up_one "$s"; done
    echo "logs: $LOG_DIR   state: $STACK_DIR" ;;
  start)
    # Started together, without waiting for each to answer: nodes that answer only once a quorum of
    # them runs (Kafka's KRaft controllers). `up` then waits for each.
    for s in $(services_or_all "$@"); do
      running_pid "$s" >/dev/null && continue
      "${s}_install"
      step "starting $s (log: $(log_file "$s"))"
      "${s}_start"
    done ;;
  down)
    read -r -a list <<<"$(services_or_all "$@")"
    for (( i=${#list[@]}-1; i>=0; i-- )); do
      stop_pid "${list[$i]}" "$("${list[$i]}_grace" 2>/dev/null || echo 30)"
      # A service may leave processes that are no longer in its group (livy: orphaned drivers).
      if declare -F "${list[$i]}_after_stop" >/dev/null; then "${list[$i]}_after_stop"; fi
    done ;;
  status)
    rc=0
    for s in "${ALL_SERVICES[@]}"; do
      pid="$(running_pid "$s" || true)"
      if "${s}_probe" >/dev/null 2>&1; then state="healthy"; else state="down"; rc=1; fi
      printf '%-10s %-8s pid=%-8s port=%s log=%s\n' "$s" "$state" "${pid:--}" "$("${s}_port")" "$(log_file "$s")"
    done
    exit $rc ;;
  logs)
    if [ $# -gt 0 ]; then tail -n 100 -F "$(log_file "$1")"; else tail -n 20 -F "$LOG_DIR"/*.log; fi ;;
  *)
    echo "usage: $0 up|start|down|status|logs|install [service...]" >&2; exit 2 ;;
esac
