# Apache Kafka (KRaft, one node) for the local stack. Sourced by infra/local/stack.sh.
# shellcheck shell=bash
KAFKA_CONF_SRC="$ROOT/infra/local/kafka"
KAFKA_VERSION="$(pom_property "$KAFKA_CONF_SRC/pom.xml" kafka.version)"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
KAFKA_STATE="$STACK_DIR/kafka"
KAFKA_JAVA_OPTS=(-Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$KAFKA_CONF_SRC/log4j2.yaml")

kafka_port() { echo 9092; }
kafka_timeout() { echo 120; }
kafka_grace() { echo 30; }
kafka_probe() { (cd "$ROOT" && node infra/local/probe.js kafka); }

kafka_install() {
  maven_fetch "$KAFKA_CONF_SRC/pom.xml" "$KAFKA_LIBS"
  mkdir -p "$KAFKA_STATE/data"
  { cat "$KAFKA_CONF_SRC/server.properties"; echo "log.dirs=$KAFKA_STATE/data"; } >"$KAFKA_STATE/server.properties"
  if [ ! -f "$KAFKA_STATE/data/meta.properties" ]; then
    step "formatting Kafka storage (KRaft, standalone controller)"
    local cluster_id
    cluster_id="$("$JAVA" -cp "$KAFKA_LIBS/*" "${KAFKA_JAVA_OPTS[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    "$JAVA" -cp "$KAFKA_LIBS/*" "${KAFKA_JAVA_OPTS[@]}" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$KAFKA_STATE/server.properties" --standalone >>"$(log_file kafka)" 2>&1 \
      || { fail "formatting Kafka storage failed"; show_log_tail kafka; return 1; }
  fi
}

kafka_start() {
  launch kafka "$JAVA" "${KAFKA_JAVA_OPTS[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_STATE/server.properties"
}
