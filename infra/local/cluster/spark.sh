# The Spark standalone cluster of `make cluster`: a master on 127.0.0.1:7077 (web UI :8090) and two
# workers on 127.0.0.2 and 127.0.0.3 (2 cores and 2 GB each; web UIs :8091, :8092), from the PySpark
# install Livy uses (spark/install.sh). Livy submits to the master in client mode (cluster.sh sets
# LIVY_SPARK_MASTER): each job's driver runs beside Livy, its executors on the workers. An application
# takes at most 2 cores (spark.deploy.defaultCores), so the stream leaves room for the DAGs' batches.
# Sourced by stack.sh.
# shellcheck shell=bash
# shellcheck source=../spark/install.sh
source "$ROOT/infra/local/spark/install.sh"
SPARK_MASTER_UI=http://127.0.0.1:8090

# Whether the master's UI lists a live worker on this address (or, with none, answers at all).
spark_master_reports() {
  local status
  status="$(curl -fsS -m 3 "$SPARK_MASTER_UI/json/")" || return 1
  [ -z "${1:-}" ] && return 0
  printf '%s' "$status" | node -e '
    let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
      const workers = JSON.parse(s).workers || [];
      process.exit(workers.some((w) => w.host === process.argv[1] && w.state === "ALIVE") ? 0 : 1);
    });' "$1"
}

# spark_daemon NAME CLASS ARGS...: a master or worker process with Java 17 and the stack's Spark conf.
spark_daemon() {
  local name="$1"; shift
  mkdir -p "$STACK_DIR/$name"
  (cd "$STACK_DIR/$name" && launch "$name" env "JAVA_HOME=$JAVA17_HOME" "SPARK_HOME=$SPARK_HOME" \
    "SPARK_CONF_DIR=$SPARK_CONF_DIR" "PYSPARK_PYTHON=$SPARK_PYTHON" "SPARK_LOG_DIR=$LOG_DIR" \
    "SPARK_MASTER_OPTS=-Dspark.deploy.defaultCores=2" \
    "$SPARK_HOME/bin/spark-class" "$@")
}

spark_master_port() { echo 7077; }
spark_master_timeout() { echo 60; }
spark_master_grace() { echo 15; }
spark_master_probe() { spark_master_reports ''; }
spark_master_install() { spark_install; }
spark_master_start() {
  [ "${SPARK_INSTALLED:-}" = 1 ] || spark_install || return 1
  spark_daemon spark_master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 --webui-port 8090
}

for n in 1 2; do
  eval "
spark_worker${n}_host() { echo 127.0.0.$((n + 1)); }
spark_worker${n}_port() { echo 7078; }
spark_worker${n}_timeout() { echo 60; }
spark_worker${n}_grace() { echo 15; }
spark_worker${n}_probe() { spark_master_reports 127.0.0.$((n + 1)); }
spark_worker${n}_install() { spark_install; }
spark_worker${n}_start() {
  [ \"\${SPARK_INSTALLED:-}\" = 1 ] || spark_install || return 1
  SPARK_LOCAL_IP=127.0.0.$((n + 1)) spark_daemon spark_worker$n org.apache.spark.deploy.worker.Worker \
    --host 127.0.0.$((n + 1)) --port 7078 --webui-port $((8090 + n)) --cores 2 --memory 2g \
    --work-dir \"\$STACK_DIR/spark_worker$n/work\" spark://127.0.0.1:7077
}"
done
