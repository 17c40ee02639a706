# Apache Spark (PySpark from PyPI) for the local stack. Not a service: Livy runs spark-submit from it.
# Source it (after lib.sh, or on its own) and call:
#   spark_install            venv ~/.cache/pipeline/venvs/pyspark-<version> with the pinned pyspark (once),
#                            conf rendered into .stack/spark/conf; exports SPARK_HOME, SPARK_CONF_DIR, ...
#   spark_prefetch_packages  resolves the Kafka and Cassandra connectors into the Ivy cache once
#                            (~/.cache/pipeline/ivy), so the first job that asks for them does not wait
#   spark_submit ARGS...     spark-submit with the stack's environment (for scripts and tests)
# Versions: infra/local/spark/requirements.txt (pyspark, py4j), spark-jobs/requirements*.txt (the jobs'
# own Python packages) and SPARK_CASSANDRA_CONNECTOR_VERSION below.
# Jobs ask for the connectors with spark.jars.packages="$SPARK_PACKAGES" (the Livy batch's "conf").
# shellcheck shell=bash

if [ -z "${ROOT:-}" ] || ! declare -F step >/dev/null; then
  # shellcheck source=../lib.sh
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
fi

SPARK_CONF_SRC="$ROOT/infra/local/spark"
SPARK_VERSION="$(sed -n 's/^pyspark==\(.*\)$/\1/p' "$SPARK_CONF_SRC/requirements.txt")"
SPARK_SCALA_BINARY=2.12
SPARK_CASSANDRA_CONNECTOR_VERSION=3.5.1
SPARK_PACKAGES="org.apache.spark:spark-sql-kafka-0-10_${SPARK_SCALA_BINARY}:${SPARK_VERSION},com.datastax.spark:spark-cassandra-connector_${SPARK_SCALA_BINARY}:${SPARK_CASSANDRA_CONNECTOR_VERSION}"
SPARK_VENV="$CACHE_DIR/venvs/pyspark-$SPARK_VERSION"
SPARK_PYTHON="$SPARK_VENV/bin/python"
SPARK_IVY_DIR="$CACHE_DIR/ivy"
SPARK_STATE="$STACK_DIR/spark"
export SPARK_VERSION SPARK_PACKAGES


# What the venv is built from: Spark's pins, the jobs' run-time needs (Livy's driver runs this Python),
# and their test tools. The marker hashes all three, so editing any of them re-creates the venv.
SPARK_REQUIREMENTS=("$SPARK_CONF_SRC/requirements.txt" "$ROOT/spark-jobs/requirements.txt" "$ROOT/spark-jobs/requirements-dev.txt")

spark_venv() {
  local f reqs=()
  for f in "${SPARK_REQUIREMENTS[@]}"; do reqs+=(-r "$f"); done
  python_venv spark "PySpark $SPARK_VERSION" "$SPARK_VENV" "${SPARK_BASE_PYTHON:-}" "${reqs[@]}"
}

# Renders FILE with the @...@ paths filled in.
spark_render() {
  sed -e "s#@SPARK_PYTHON@#$SPARK_PYTHON#g" -e "s#@SPARK_IVY_DIR@#$SPARK_IVY_DIR#g" \
      -e "s#@SPARK_CONF_SRC@#$SPARK_CONF_SRC#g" -e "s#@SPARK_STATE@#$SPARK_STATE#g" \
      -e "s#@JAVA_HOME@#$JAVA17_HOME#g" "$1"
}

spark_install() {
  spark_venv || return 1
  # The pip package's directory is a complete SPARK_HOME (bin/spark-submit, jars/).
  local homes=("$SPARK_VENV"/lib/python3*/site-packages/pyspark)
  SPARK_HOME="${homes[0]}"
  [ -x "$SPARK_HOME/bin/spark-submit" ] || { fail "spark: no bin/spark-submit under $SPARK_VENV"; return 1; }
  SPARK_CONF_DIR="$SPARK_STATE/conf"
  mkdir -p "$SPARK_CONF_DIR" "$SPARK_IVY_DIR" "$SPARK_STATE/tmp"
  spark_render "$SPARK_CONF_SRC/spark-defaults.conf" >"$SPARK_CONF_DIR/spark-defaults.conf"
  spark_render "$SPARK_CONF_SRC/spark-env.sh" >"$SPARK_CONF_DIR/spark-env.sh"
  cp "$SPARK_CONF_SRC/log4j2.properties" "$SPARK_CONF_DIR/log4j2.properties"
  export SPARK_HOME SPARK_CONF_DIR SPARK_PYTHON
  export PYSPARK_PYTHON="$SPARK_PYTHON" PYSPARK_DRIVER_PYTHON="$SPARK_PYTHON" SPARK_LOCAL_IP=127.0.0.1
  SPARK_INSTALLED=1
}

spark_submit() {
  [ "${SPARK_INSTALLED:-}" = 1 ] || spark_install || return 1
  "$SPARK_HOME/bin/spark-submit" "$@"
}

# Resolves SPARK_PACKAGES into the Ivy cache once (the marker remembers which list was fetched).
# Runs spark-submit --packages itself, so the cache holds exactly what Spark's resolver picks
# (with Spark's own modules excluded), and then checks the connector classes load.
spark_prefetch_packages() {
  [ "${SPARK_INSTALLED:-}" = 1 ] || spark_install || return 1
  local marker="$SPARK_IVY_DIR/.prefetched"
  if [ "$(cat "$marker" 2>/dev/null)" = "$SPARK_PACKAGES" ]; then return 0; fi
  step "resolving the Spark connectors from Maven Central into $SPARK_IVY_DIR (once)"
  local log="$LOG_DIR/spark-prefetch.log"
  if "$SPARK_HOME/bin/spark-submit" --master 'local[1]' --packages "$SPARK_PACKAGES" \
      --conf spark.ui.enabled=false "$SPARK_CONF_SRC/prefetch.py" >"$log" 2>&1; then
    echo "$SPARK_PACKAGES" >"$marker"
  else
    fail "spark: resolving $SPARK_PACKAGES failed (log: $log)"; tail -n 30 "$log" >&2; return 1
  fi
}
