# Apache Cassandra as a local process: jars from Maven Central (pom.xml), Java 17, one node on 127.0.0.1.
# Sourced by infra/local/stack.sh after lib.sh; defines cassandra_{install,start,probe,port,timeout,grace}.
#   config:  infra/local/cassandra/cassandra.yaml  (checked in; directories come from cassandra.storagedir)
#   logging: infra/local/cassandra/logback.xml      (INFO to stdout -> .stack/logs/cassandra.log)
#   JVM:     infra/local/cassandra/jvm17.options    (static flags, one per line; add more with CASSANDRA_JVM_EXTRA)
#   state:   .stack/cassandra/{data,commitlog,saved_caches,hints,cdc_raw,triggers}
#   nodetool: infra/local/cassandra/nodetool.sh status   (JMX on 127.0.0.1:7199)
# shellcheck shell=bash

CASSANDRA_CONF_DIR="$ROOT/infra/local/cassandra"
CASSANDRA_VERSION="$(pom_property "$CASSANDRA_CONF_DIR/pom.xml" cassandra.version)"
CASSANDRA_LIBS="$CACHE_DIR/cassandra-$CASSANDRA_VERSION/libs"
CASSANDRA_STATE="$STACK_DIR/cassandra"

cassandra_port()    { echo 9042; }
cassandra_timeout() { echo 180; }
# SIGTERM runs Cassandra's drain hook (flushes memtables, so the restart replays no commit log).
cassandra_grace()   { echo 40; }

cassandra_probe() { (cd "$ROOT" && node infra/local/probe.js cassandra); }

cassandra_install() {
  maven_fetch "$CASSANDRA_CONF_DIR/pom.xml" "$CASSANDRA_LIBS" || return 1
  local d
  for d in data commitlog saved_caches hints cdc_raw triggers; do mkdir -p "$CASSANDRA_STATE/$d"; done
}

# Static flags from jvm17.options: lines starting with '-', surrounding blanks and comments dropped.
cassandra_jvm_options() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%#*}"
    line="${line#"${line%%[![:space:]]*}"}"; line="${line%"${line##*[![:space:]]}"}"
    case "$line" in -*) printf '%s\n' "$line" ;; esac
  done <"$CASSANDRA_CONF_DIR/jvm17.options"
}

cassandra_start() { cassandra_launch cassandra "$CASSANDRA_STATE" "$CASSANDRA_CONF_DIR/cassandra.yaml"; }

# cassandra_launch NAME STATE_DIR CONFIG_FILE [JVM_OPTION...]: one Cassandra process (the node of
# `make up`, or one of `make cluster`'s), its log under NAME, its state in STATE_DIR.
cassandra_launch() {
  local name="$1" state="$2" config="$3"; shift 3
  # Cassandra always calls mlockall(MCL_CURRENT). As root (CAP_IPC_LOCK) that succeeds and pins the whole
  # committed heap and more (~1.5 GB resident at once, nothing to gain on a swapless dev box). Without the
  # capability it fails softly with a warning, as it does for any non-root user (RLIMIT_MEMLOCK).
  # Set CASSANDRA_MLOCK=1 to keep it.
  local -a wrap=()
  if [ "$(id -u)" = 0 ] && [ "${CASSANDRA_MLOCK:-0}" != 1 ] && command -v setpriv >/dev/null; then
    wrap=(setpriv --bounding-set=-ipc_lock --)
  fi
  local jamm jars=("$CASSANDRA_LIBS"/jamm-*.jar)
  jamm="${jars[0]}"
  [ -f "$jamm" ] || { fail "cassandra: no jamm jar in $CASSANDRA_LIBS (run: stack.sh install cassandra)"; return 1; }
  local -a opts extra
  mapfile -t opts < <(cassandra_jvm_options)
  read -r -a extra <<<"${CASSANDRA_JVM_EXTRA:-}"
  launch "$name" "${wrap[@]}" "$JAVA" \
    "${opts[@]}" \
    "-javaagent:$jamm" \
    -Dcassandra-foreground=yes \
    "-Dcassandra.config=file://$config" \
    "-Dcassandra.storagedir=$state" \
    "-Dcassandra.logdir=$LOG_DIR" \
    "-Dcassandra.triggers_dir=$state/triggers" \
    "-Dlogback.configurationFile=$CASSANDRA_CONF_DIR/logback.xml" \
    "$@" \
    "${extra[@]}" \
    -cp "$CASSANDRA_CONF_DIR:$CASSANDRA_LIBS/*" \
    org.apache.cassandra.service.CassandraDaemon
}
