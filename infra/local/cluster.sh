#!/usr/bin/env bash
# The pipeline on clusters, on one machine, without Docker: `make cluster`.
#   cluster.sh up       starts what is missing (idempotent): three Kafka nodes (KRaft; 127.0.0.1-3:9092,
#                       replication factor 3, min.insync.replicas 2), three Cassandra nodes (127.0.0.1-3:9042;
#                       the keyspace with 3 replicas, read and written at LOCAL_QUORUM), a Spark standalone master
#                       and two workers (cluster/spark.sh) that Livy submits to, Airflow as in `make up`, two API
#                       replicas (:3001 with 2 workers, :3002) and nginx in front of them on :3000
#   cluster.sh down     stops them
#   cluster.sh status   one line per node
# State and logs under .stack/cluster/. It shares ports with `make up`'s stack, so each refuses to start
# beside the other. The nodes listen on loopback aliases, as three hosts would (Linux routes all of
# 127.0.0.0/8 to the loopback interface).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export STACK_DIR="$ROOT/.stack/cluster"
KAFKA_NODES="kafka1 kafka2 kafka3"
CASSANDRA_NODES="cassandra1 cassandra2 cassandra3"
export STACK_SERVICES="$KAFKA_NODES $CASSANDRA_NODES spark_master spark_worker1 spark_worker2 livy airflow api1 api2 balancer"
# Livy submits to the standalone master (client deploy mode: drivers beside Livy, executors on the workers).
export LIVY_SPARK_MASTER=spark://127.0.0.1:7077

# Whether a process started by the runner with state in $1 still runs.
alive_in() {
  local f
  for f in "$1"/run/*.pid; do
    [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && return 0
  done
  return 1
}

cmd="${1:-status}"
case "$cmd" in
  up)
    if alive_in "$ROOT/.stack"; then
      echo "FAIL make up's stack is running (.stack/run): the cluster would take its ports; stop it first (make down)" >&2
      exit 1
    fi
    # The controllers answer only once two of the three run: start the brokers together, then wait.
    # shellcheck disable=SC2086 # the node lists are words
    "$HERE/stack.sh" start $KAFKA_NODES
    # shellcheck disable=SC2086
    "$HERE/stack.sh" up ;;
  running)
    alive_in "$STACK_DIR" ;;
  down | status | logs)
    shift
    "$HERE/stack.sh" "$cmd" "$@" ;;
  *)
    echo "usage: $0 up|down|status|logs [node]" >&2; exit 2 ;;
esac
