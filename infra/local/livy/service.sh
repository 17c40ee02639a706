# Apache Livy (REST front for spark-submit) for the local stack. Sourced by infra/local/stack.sh after
# lib.sh; defines livy_{install,start,probe,port,timeout,grace}.
#   jars:    infra/local/livy/pom.xml -> ~/.cache/pipeline/livy-<version>/libs (Livy 0.7.1-incubating, the
#            newest on Maven Central; a Scala 2.11 server, fine for batches, which are plain spark-submit runs)
#   Spark:   infra/local/spark/install.sh (PySpark venv = SPARK_HOME, conf in .stack/spark/conf, connectors
#            pre-resolved into ~/.cache/pipeline/ivy; skip that with LIVY_PREFETCH_PACKAGES=0)
#   config:  infra/local/livy/livy.conf rendered into .stack/livy/conf/ (LIVY_SPARK_MASTER overrides
#            livy.spark.master, LIVY_CONF_EXTRA appends "key = value" lines); logging: log4j.properties
#   HTTP request log: .stack/livy/logs/<date>.request.log (Jetty, rolled daily)
#   API:     http://127.0.0.1:8998  POST /batches {"file": "<repo>/spark-jobs/x.py", "conf": {...}}, with the
#            header X-Requested-By (CSRF protection is on: a POST or DELETE without it is a 400)
#   env:     launch gives Livy, and so every spark-submit driver it starts, only the variables below and
#            lib.sh's SERVICE_ENV_BASE: none of the API's keys or secrets
# Stopping Livy (SIGTERM to its process group) also ends the spark-submit drivers of running batches;
# livy_after_stop ends those that are no longer in it (a driver whose Livy was killed, not stopped).
# shellcheck shell=bash

LIVY_CONF_SRC="$ROOT/infra/local/livy"
LIVY_VERSION="$(pom_property "$LIVY_CONF_SRC/pom.xml" livy.version)"
LIVY_LIBS="$CACHE_DIR/livy-$LIVY_VERSION/libs"
LIVY_STATE="$STACK_DIR/livy"
LIVY_JAVA_OPTS=(-Xms64m -Xmx384m -XX:+UseSerialGC -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$LIVY_STATE/conf/log4j.properties")

# shellcheck source=../spark/install.sh
source "$ROOT/infra/local/spark/install.sh"

livy_port()    { echo 8998; }
livy_timeout() { echo 90; }
livy_grace()   { echo 15; }
livy_probe()   { curl -fsS -m 3 "http://127.0.0.1:$(livy_port)/batches" >/dev/null; }

# Drivers this stack's Livy submitted that outlived it (their Livy was killed: they are nobody's child
# any more). They are this checkout's and this stack's: the JVM's classpath starts with this stack's Spark
# conf, and its Python process, a child of such a JVM (or an orphan, once its JVM is gone), runs a job
# file of this checkout by its absolute path. The drivers of the other stack of this checkout (make
# cluster's, whose JVMs have their own conf) are left alone.
livy_stack_drivers() {
  local jvm="-cp $STACK_DIR/spark/conf/.* org\.apache\.spark\.deploy\.SparkSubmit" py="python[0-9.]* $ROOT/spark-jobs/" jvms p parent
  jvms="$(pgrep -f -- "$jvm" || true)"
  [ -n "$jvms" ] && echo "$jvms"
  for p in $(pgrep -f -- "$py" || true); do
    parent="$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')"
    if [ "$parent" = 1 ] || grep -qxF -- "$parent" <<<"$jvms"; then echo "$p"; fi
  done
}

livy_after_stop() {
  local pids start
  pids="$(livy_stack_drivers | sort -u | tr '\n' ' ')"
  [ -n "${pids// /}" ] || return 0
  step "stopping spark-submit drivers left by an earlier Livy (pids $pids)"
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  start=$SECONDS
  while [ -n "$(livy_stack_drivers)" ] && (( SECONDS - start < 15 )); do sleep 0.5; done
  pids="$(livy_stack_drivers | tr '\n' ' ')"
  # shellcheck disable=SC2086
  [ -z "${pids// /}" ] || kill -KILL $pids 2>/dev/null || true
  ok "drivers stopped"
}

livy_render_conf() {
  local conf="$LIVY_STATE/conf"
  mkdir -p "$conf" "$LIVY_STATE/tmp" "$LIVY_STATE/logs"
  {
    sed -e "s#@JOBS_DIR@#$(cd "$ROOT/spark-jobs" && pwd -P)#g" -e "s#@SPARK_HOME@#$SPARK_HOME#g" "$LIVY_CONF_SRC/livy.conf"
    if [ -n "${LIVY_SPARK_MASTER:-}" ]; then echo "livy.spark.master = $LIVY_SPARK_MASTER"; fi
    if [ -n "${LIVY_CONF_EXTRA:-}" ]; then printf '%s\n' "$LIVY_CONF_EXTRA"; fi
  } >"$conf/livy.conf"
  cp "$LIVY_CONF_SRC/log4j.properties" "$conf/log4j.properties"
}

livy_install() {
  spark_install || return 1
  if [ "${LIVY_PREFETCH_PACKAGES:-1}" = 1 ]; then spark_prefetch_packages || return 1; fi
  maven_fetch "$LIVY_CONF_SRC/pom.xml" "$LIVY_LIBS" || return 1
  livy_render_conf
}

livy_start() {
  [ "${SPARK_INSTALLED:-}" = 1 ] || spark_install || return 1
  [ -f "$LIVY_STATE/conf/livy.conf" ] || livy_render_conf
  # The environment every batch's spark-submit inherits: Java 17, the stack's Spark conf, loopback.
  # Working directory .stack/livy: whatever a driver drops in its cwd (derby.log, ...) lands there.
  (cd "$LIVY_STATE" && launch livy env \
    "JAVA_HOME=$JAVA17_HOME" \
    "SPARK_HOME=$SPARK_HOME" \
    "SPARK_CONF_DIR=$SPARK_CONF_DIR" \
    "PYSPARK_PYTHON=$SPARK_PYTHON" \
    "PYSPARK_DRIVER_PYTHON=$SPARK_PYTHON" \
    "SPARK_LOCAL_IP=127.0.0.1" \
    "LIVY_CONF_DIR=$LIVY_STATE/conf" \
    "LIVY_HOME=$LIVY_STATE" \
    "LIVY_LOG_DIR=$LIVY_STATE/logs" \
    "$JAVA" "${LIVY_JAVA_OPTS[@]}" "-Djava.io.tmpdir=$LIVY_STATE/tmp" \
    -cp "$LIVY_STATE/conf:$LIVY_LIBS/*" org.apache.livy.server.LivyServer)
}
