# The two API replicas of `make cluster`: api1 on 127.0.0.1:3001 with 2 workers, api2 on 127.0.0.1:3002
# with one, both on the three Kafka and three Cassandra nodes (topics and keyspace with 3 replicas), the
# stream's checkpoint under .stack/cluster (never the single-node stack's, which holds another Kafka's offsets),
# behind the balancer on :3000 (cluster/balancer.sh). Sourced by stack.sh; builds like api/service.sh.
# shellcheck shell=bash
# shellcheck source=../api/service.sh
source "$ROOT/infra/local/api/service.sh"
CLUSTER_KAFKA_BROKERS=127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092
CLUSTER_CASSANDRA=127.0.0.1:9042,127.0.0.2:9042,127.0.0.3:9042

# api_replica_start N PORT WORKERS: one replica, with the environment of `make up`'s API plus the cluster's.
api_replica_start() {
  (
    cd "$ROOT" || return 1
    export PORT="$2" API_WORKERS="$3" KAFKA_BROKERS="$CLUSTER_KAFKA_BROKERS" KAFKA_TOPIC_REPLICATION_FACTOR=3 \
      CASSANDRA_CONTACT_POINTS="$CLUSTER_CASSANDRA" CASSANDRA_REPLICATION=NetworkTopologyStrategy:datacenter1=3 \
      STREAMING_CHECKPOINT_DIR="$STACK_DIR/spark/checkpoints/events_stream"
    LAUNCH_ENV_KEEP='*' launch "api$1" node --max-semi-space-size=4 dist/apps/api/main.js
  )
}

for n in 1 2; do
  eval "
api${n}_port() { echo $((3000 + n)); }
api${n}_timeout() { echo 90; }
api${n}_grace() { echo 20; }
api${n}_probe() { curl -fsS -m 3 http://127.0.0.1:$((3000 + n))/health/ready >/dev/null; }
api${n}_install() { api_install; }
api${n}_start() { api_replica_start $n $((3000 + n)) $((3 - n)); }"
done
