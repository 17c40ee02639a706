# The three Kafka nodes of `make cluster` (kafka1, kafka2, kafka3 on 127.0.0.1-3:9092, controllers on
# :9093), sourced by stack.sh after kafka/service.sh's settings (jars, JVM options). Each node has its
# state in $STACK_DIR/kafkaN; the storage of all three is formatted with one cluster id, kept in
# $STACK_DIR/kafka-cluster-id, and the static quorum of cluster/kafka-broker.properties.
# shellcheck shell=bash
# shellcheck source=../kafka/service.sh
source "$ROOT/infra/local/kafka/service.sh"
KAFKA_NODES=3

kafka_node_install() {
  local n="$1" state="$STACK_DIR/kafka$1"
  maven_fetch "$KAFKA_CONF_SRC/pom.xml" "$KAFKA_LIBS" || return 1
  mkdir -p "$state/data"
  {
    cat "$ROOT/infra/local/cluster/kafka-broker.properties"
    echo "node.id=$n"
    echo "listeners=PLAINTEXT://127.0.0.$n:9092,CONTROLLER://127.0.0.$n:9093"
    echo "advertised.listeners=PLAINTEXT://127.0.0.$n:9092,CONTROLLER://127.0.0.$n:9093"
    echo "log.dirs=$state/data"
  } >"$state/server.properties"
  if [ ! -f "$state/data/meta.properties" ]; then
    local id_file="$STACK_DIR/kafka-cluster-id"
    if [ ! -s "$id_file" ]; then
      "$JAVA" -cp "$KAFKA_LIBS/*" "${KAFKA_JAVA_OPTS[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1 >"$id_file"
    fi
    step "formatting the storage of kafka$n (KRaft, a static quorum of $KAFKA_NODES controllers)"
    "$JAVA" -cp "$KAFKA_LIBS/*" "${KAFKA_JAVA_OPTS[@]}" kafka.tools.StorageTool format \
      -t "$(cat "$id_file")" -c "$state/server.properties" >>"$(log_file "kafka$n")" 2>&1 \
      || { fail "formatting the storage of kafka$n failed"; show_log_tail "kafka$n"; return 1; }
  fi
}

for n in $(seq 1 "$KAFKA_NODES"); do
  eval "
kafka${n}_host() { echo 127.0.0.$n; }
kafka${n}_port() { echo 9092; }
kafka${n}_timeout() { echo 120; }
kafka${n}_grace() { echo 30; }
kafka${n}_probe() { (cd \"\$ROOT\" && KAFKA_BROKERS=127.0.0.$n:9092 node infra/local/probe.js kafka); }
kafka${n}_install() { kafka_node_install $n; }
kafka${n}_start() {
  launch kafka$n \"\$JAVA\" \"\${KAFKA_JAVA_OPTS[@]}\" -cp \"\$KAFKA_LIBS/*\" kafka.Kafka \"\$STACK_DIR/kafka$n/server.properties\"
}"
done
