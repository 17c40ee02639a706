# Shared helpers for the local stack runner. Sourced by stack.sh and the service files.
# shellcheck shell=bash

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
STACK_DIR="${STACK_DIR:-$ROOT/.stack}"
CACHE_DIR="${PIPELINE_CACHE_DIR:-$HOME/.cache/pipeline}"
LOG_DIR="$STACK_DIR/logs"
RUN_DIR="$STACK_DIR/run"
mkdir -p "$LOG_DIR" "$RUN_DIR" "$CACHE_DIR"

# Java 17 runs Kafka and Cassandra (Cassandra 5.0 supports 11 and 17 only).
if [ -z "${JAVA17_HOME:-}" ]; then
  for candidate in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64 /usr/lib/jvm/temurin-17-jdk-amd64; do
    [ -x "$candidate/bin/java" ] && JAVA17_HOME="$candidate" && break
  done
fi
JAVA17_HOME="${JAVA17_HOME:-${JAVA_HOME:-/usr}}"
# shellcheck disable=SC2034 # read by the service files that source this one
JAVA="$JAVA17_HOME/bin/java"

if [ -t 1 ]; then C_OK=$'\e[32m'; C_ERR=$'\e[31m'; C_DIM=$'\e[2m'; C_OFF=$'\e[0m'; else C_OK=; C_ERR=; C_DIM=; C_OFF=; fi
step() { printf '%s==>%s %s\n' "$C_DIM" "$C_OFF" "$*"; }
ok()   { printf '%s ok %s %s\n' "$C_OK" "$C_OFF" "$*"; }
fail() { printf '%sFAIL%s %s\n' "$C_ERR" "$C_OFF" "$*" >&2; }

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

# The pid of a service we started, if that process is still alive.
running_pid() {
  local f; f="$(pid_file "$1")"
  [ -f "$f" ] || return 1
  local pid; pid="$(cat "$f")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; return 0; fi
  rm -f "$f"; return 1
}

# Is something already listening on a TCP port on loopback (127.0.0.1, or the loopback address given)?
port_in_use() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# The variables of the caller's environment every service keeps: what any process needs to run. A
# service gets these, plus the names its start function lists in LAUNCH_ENV_KEEP, plus what it passes
# itself (`env NAME=value ...`), and nothing else. `make up` exports the API's keys and signing secrets
# (API_KEYS, PIPELINE_API_KEY, WEBHOOKS_SIGNING_SECRET, PAGE_TOKEN_SECRET, a source's `${NAME}` secret,
# KAFKA_SASL_PASSWORD, ...); only the API's start keeps them (LAUNCH_ENV_KEEP='*'). An allow-list, not a
# list of secrets to remove: a secret added later stays out of Livy, every Spark driver (any job's code),
# Kafka, Cassandra and Airflow without anyone remembering to list it here.
SERVICE_ENV_BASE=(PATH HOME USER LOGNAME LANG LANGUAGE 'LC_*' TZ TMPDIR TERM
  http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY
  SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE)

# service_env_keeps NAME PATTERNS: whether NAME matches SERVICE_ENV_BASE or one of PATTERNS (glob patterns,
# space separated: LAUNCH_ENV_KEEP).
service_env_keeps() {
  local name="$1" pattern
  # shellcheck disable=SC2086 # split into patterns on purpose; launch runs this with `set -f`
  for pattern in "${SERVICE_ENV_BASE[@]}" ${2:-}; do
    # shellcheck disable=SC2254 # a glob pattern on purpose
    case "$name" in $pattern) return 0 ;; esac
  done
  return 1
}

# launch NAME COMMAND...: runs COMMAND in the background, detached from this shell, with its output in the
# service's log and the environment described above (LAUNCH_ENV_KEEP='AIRFLOW_* ...' launch NAME ...).
# The variables are dropped from a subshell's exports, not passed as `env -i NAME=value` arguments, so no
# value ever shows on a command line.
launch() {
  local name="$1"; shift
  local log; log="$(log_file "$name")"
  echo "---- $(date -u +%FT%TZ) starting $name" >>"$log"
  (
    set -f
    local v keep="${LAUNCH_ENV_KEEP:-}"
    for v in $(compgen -e); do
      # shellcheck disable=SC2163 # the variable named by $v
      service_env_keeps "$v" "$keep" || unset "$v" 2>/dev/null || export -n "$v" 2>/dev/null || true
    done
    set +f
    setsid nohup "$@" >>"$log" 2>&1 </dev/null &
    echo $! >"$(pid_file "$name")"
  )
}

# wait_until NAME TIMEOUT_SECONDS PROBE... : polls PROBE until it succeeds; fails early if the process died.
wait_until() {
  local name="$1" timeout="$2"; shift 2
  local start=$SECONDS
  while (( SECONDS - start < timeout )); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! running_pid "$name" >/dev/null; then
      fail "$name exited while starting"; return 1
    fi
    sleep 1
  done
  fail "$name did not answer within ${timeout}s"; return 1
}

show_log_tail() {
  local log; log="$(log_file "$1")"
  echo "---- last 40 lines of $log" >&2
  tail -n 40 "$log" >&2 || true
}

# Stops a service: SIGTERM, then SIGKILL after a grace period.
stop_pid() {
  local name="$1" grace="${2:-30}" pid
  pid="$(running_pid "$name")" || { ok "$name not running"; return 0; }
  step "stopping $name (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local start=$SECONDS
  while kill -0 "$pid" 2>/dev/null && (( SECONDS - start < grace )); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$name")"
  ok "$name stopped"
}

# Fetches a Maven project's runtime dependencies into a cache directory once.
maven_fetch() {
  local pom="$1" dest="$2"
  local sum; sum="$(sha256sum "$pom" | cut -c1-16)"
  # The marker holds the pom's checksum, so editing the pom refreshes the cache.
  if [ "$(cat "$dest/.complete" 2>/dev/null)" = "$sum" ]; then return 0; fi
  step "downloading $(basename "$(dirname "$pom")") jars from Maven Central into $dest"
  rm -rf "$dest"; mkdir -p "$dest"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dest" \
    || { fail "maven could not fetch $(basename "$(dirname "$pom")")"; return 1; }
  echo "$sum" >"$dest/.complete"
}

# The interpreter a virtualenv is made from: the given override if set, else python3.11, else python3.
base_python() {
  local p
  for p in "${1:-}" python3.11 python3; do
    [ -n "$p" ] && command -v "$p" >/dev/null 2>&1 && { command -v "$p"; return 0; }
  done
  return 1
}

# Builds a virtualenv once: `python_venv NAME WHAT DIR BASE_PYTHON PIP_ARGS...` creates DIR from
# base_python BASE_PYTHON and pip-installs PIP_ARGS into it. The files PIP_ARGS names with -r and -c
# must exist; the checksum of their contents is the marker DIR/.complete, so editing any of them
# re-creates the venv and an unchanged one is left alone. NAME prefixes the failures, WHAT names the
# venv in the progress line.
python_venv() {
  local name="$1" what="$2" dir="$3" base="$4"; shift 4
  local files=() args=("$@") i
  for (( i=0; i<${#args[@]}; i++ )); do
    case "${args[$i]}" in -r|-c) files+=("${args[$((i+1))]}") ;; esac
  done
  for i in "${files[@]}"; do [ -r "$i" ] || { fail "$name: $i is missing"; return 1; }; done
  local want; want="$(cat "${files[@]}" | sha256sum | cut -c1-16)"
  if [ "$(cat "$dir/.complete" 2>/dev/null)" = "$want" ]; then return 0; fi
  local py; py="$(base_python "$base")" || { fail "$name: no python3 found to create the $what virtualenv"; return 1; }
  step "creating the $what virtualenv in $dir (with $py)"
  rm -rf "$dir"; mkdir -p "$(dirname "$dir")"
  "$py" -m venv "$dir" || { fail "$name: python -m venv failed"; return 1; }
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --no-input "$@" \
    || { fail "$name: pip install of ${files[*]} failed"; return 1; }
  echo "$want" >"$dir/.complete"
}

# Runs a command as root: directly when this is root, else through sudo.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs a tool from Debian packages: `apt_install WHAT ELSEWHERE APT_ARGS...`, WHAT naming the tool
# in the messages and ELSEWHERE saying how to get it on a system without apt-get.
apt_install() {
  local what="$1" elsewhere="$2"; shift 2
  command -v apt-get >/dev/null || { fail "$what is missing and this is not a Debian-like system: $elsewhere"; return 1; }
  [ "$(id -u)" = 0 ] || command -v sudo >/dev/null || { fail "$what is missing; installing it needs root: apt-get install $*"; return 1; }
  step "installing $what (apt-get install $*)"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# Reads <name.version> from a pom so the version is written down in one place.
pom_property() { sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$1" | head -n1; }
