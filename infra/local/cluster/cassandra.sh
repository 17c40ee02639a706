# The three Cassandra nodes of `make cluster` (cassandra1, cassandra2, cassandra3 on 127.0.0.1-3:9042;
# gossip on :7000 of each address; JMX on 127.0.0.1:7199, 7299, 7399), sourced by stack.sh after
# cassandra/service.sh's settings (jars, JVM options). Each node's cassandra.yaml is the single node's
# (cassandra/cassandra.yaml) with its own addresses and an evenly spaced token; 127.0.0.1 is the seed.
# They use the snitch real clusters use (GossipingPropertyFileSnitch, cassandra/cassandra-rackdc.properties):
# a coordinator that holds a replica reads its own first, which SimpleSnitch does not promise.
# They are started one after another (a node joins the ring only while no other is joining).
# shellcheck shell=bash
# shellcheck source=../cassandra/service.sh
source "$ROOT/infra/local/cassandra/service.sh"
CASSANDRA_NODES=3
# How long a joining node waits for the ring before it checks that it sees a seed alive (the single node's
# 1 s, jvm17.options, is too short here): measured, with three nodes starting on two busy cores a joiner
# saw the seed ~2 s after its 1 s wait ended and gave up ("Unable to contact any seeds").
CASSANDRA_NODE_RING_DELAY_MS=5000
# Murmur3 tokens splitting the ring in three equal parts: with one token per node, each owns a third.
CASSANDRA_NODE_TOKENS=(-9223372036854775808 -3074457345618258603 3074457345618258602)

cassandra_node_install() {
  local n="$1" state="$STACK_DIR/cassandra$1" d
  maven_fetch "$CASSANDRA_CONF_DIR/pom.xml" "$CASSANDRA_LIBS" || return 1
  for d in data commitlog saved_caches hints cdc_raw triggers; do mkdir -p "$state/$d"; done
  sed -e "s/^listen_address: .*/listen_address: 127.0.0.$n/" \
    -e "s/^rpc_address: .*/rpc_address: 127.0.0.$n/" \
    -e "s/^cluster_name: .*/cluster_name: 'pipeline-cluster'/" \
    -e "s/^endpoint_snitch: .*/endpoint_snitch: GossipingPropertyFileSnitch/" \
    "$CASSANDRA_CONF_DIR/cassandra.yaml" >"$state/cassandra.yaml"
  echo "initial_token: ${CASSANDRA_NODE_TOKENS[$((n - 1))]}" >>"$state/cassandra.yaml"
}

# nodetool against node N: cassandra_nodetool N status
cassandra_nodetool() {
  local n="$1"; shift
  CASSANDRA_JMX_PORT="$((7099 + 100 * n))" "$ROOT/infra/local/cassandra/nodetool.sh" "$@"
}

for n in $(seq 1 "$CASSANDRA_NODES"); do
  eval "
cassandra${n}_host() { echo 127.0.0.$n; }
cassandra${n}_port() { echo 9042; }
cassandra${n}_timeout() { echo 240; }
cassandra${n}_grace() { echo 40; }
cassandra${n}_probe() { (cd \"\$ROOT\" && CASSANDRA_CONTACT_POINTS=127.0.0.$n:9042 node infra/local/probe.js cassandra); }
cassandra${n}_install() { cassandra_node_install $n; }
cassandra${n}_start() {
  cassandra_launch cassandra$n \"\$STACK_DIR/cassandra$n\" \"\$STACK_DIR/cassandra$n/cassandra.yaml\" -Dcassandra.jmx.local.port=$((7099 + 100 * n)) \\
    -Dcassandra.ring_delay_ms=$CASSANDRA_NODE_RING_DELAY_MS
}"
done
