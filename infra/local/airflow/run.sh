#!/usr/bin/env bash
# Runs the Airflow 3 components as one supervised group; infra/local/airflow/service.sh launches it with
# the environment (AIRFLOW_HOME, AIRFLOW__* settings, AIRFLOW_CONN_*) already set, and PATH starting with
# the Airflow venv's bin/.
#   1. `airflow db migrate` (creates or upgrades the SQLite metadata DB; quick when it is current)
#   2. writes the simple auth manager's passwords file from AIRFLOW_USERNAME / AIRFLOW_PASSWORD
#   3. starts api-server, scheduler, dag-processor and triggerer, each line of output prefixed with its name
#   4. waits: when one component exits, it stops the others and exits non-zero (so the stack sees it died);
#      on SIGTERM/SIGINT (stack.sh down sends SIGTERM to the whole process group) it waits for them to stop
#      (AIRFLOW_STOP_TIMEOUT, 20 s), kills what is left of the group, and exits 0.
# Used instead of `airflow standalone`, which cannot bind its log servers to loopback, keeps running when
# a component dies, and adds one more Python process.
set -uo pipefail

: "${AIRFLOW_HOME:?}" "${AIRFLOW_USERNAME:?}" "${AIRFLOW_PASSWORD:?}" "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?}"
say() { echo "supervisor    | $(date -u +%FT%TZ) $*"; }

mkdir -p "$AIRFLOW_HOME"
say "airflow $(airflow version 2>/dev/null), home $AIRFLOW_HOME, dags $AIRFLOW__CORE__DAGS_FOLDER"
say "migrating the metadata database"
airflow db migrate 2>&1 | sed -u 's/^/db-migrate    | /'
[ "${PIPESTATUS[0]}" -eq 0 ] || { say "airflow db migrate failed"; exit 1; }

# The simple auth manager reads {"user": "password"} from this file (and only generates a password for
# a user missing from it), so writing it makes the login deterministic.
umask 077
python3 - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" <<'PY' || { say "could not write the passwords file"; exit 1; }
import json, os, sys
with open(sys.argv[1], "w") as f:
    json.dump({os.environ["AIRFLOW_USERNAME"]: os.environ["AIRFLOW_PASSWORD"]}, f)
    f.write("\n")
PY
# A 64-byte JWT signing key kept with the state (the one Airflow generates into airflow.cfg is 16 bytes,
# and PyJWT warns it is below the 64 recommended for HS512); tokens stay valid across restarts.
[ -s "$AIRFLOW_HOME/jwt_secret" ] || python3 -c 'import secrets; print(secrets.token_urlsafe(64))' >"$AIRFLOW_HOME/jwt_secret"
export AIRFLOW__API_AUTH__JWT_SECRET="${AIRFLOW__API_AUTH__JWT_SECRET:-$(cat "$AIRFLOW_HOME/jwt_secret")}"
umask 022

declare -A names=()
start() {
  local name="$1"; shift
  # The prefixing sed ignores SIGTERM: stack.sh signals the whole group, and a component still shutting
  # down must not lose its stdout (the scheduler then dies on a broken pipe before it stops its workers).
  airflow "$@" > >(trap '' TERM INT; exec sed -u "s/^/$(printf '%-13s' "$name")| /") 2>&1 &
  names[$!]="$name"
  say "started $name (pid $!)"
}

alive() { local pid out=(); for pid in "${!names[@]}"; do kill -0 "$pid" 2>/dev/null && out+=("${names[$pid]}"); done; echo "${out[*]}"; }

# Waits up to AIRFLOW_STOP_TIMEOUT (20 s, below stack.sh's 30 s grace) for the components to exit, then
# kills whatever is left of this process group (LocalExecutor workers, task processes, the seds), this
# script included, so nothing outlives `stack.sh down airflow`.
stop_all() {
  local deadline=$((SECONDS + ${AIRFLOW_STOP_TIMEOUT:-20}))
  while [ -n "$(alive)" ] && (( SECONDS < deadline )); do sleep 0.5; done
  local left; left="$(alive)"
  if [ -n "$left" ]; then
    say "still running after ${AIRFLOW_STOP_TIMEOUT:-20}s: $left; killing the process group"
    kill -KILL -- "-$$"
  fi
  # The components are gone; give the seds a moment to drain, then end any straggler of the group.
  local others _
  for _ in 1 2 3 4; do
    # exec: no subshell of ours in the list; -r: zombies (reaped by pid 1 in its own time) do not count.
    local all p; all="$(exec pgrep -g "$$" -r D,R,S,T,t)"; others=""
    for p in $all; do [ "$p" = "$$" ] || others+="$p "; done
    [ -n "$others" ] || return 0
    sleep 0.5
  done
  say "killing leftover processes of the group: $others"
  kill -KILL -- "-$$"
}

stopping=0
# stack.sh down sends SIGTERM to the whole group, so every component already has it: only wait here.
trap 'stopping=1; say "signal received: waiting for the components to stop"; stop_all; say "stopped"; exit 0' TERM INT

start api-server api-server --host "$AIRFLOW__API__HOST" --port "$AIRFLOW__API__PORT" --workers "${AIRFLOW__API__WORKERS:-1}"
start scheduler scheduler --skip-serve-logs
start dag-processor dag-processor
start triggerer triggerer --skip-serve-logs

# wait -n returns when any component exits (or a trapped signal interrupts it).
wait -n "${!names[@]}"
rc=$?
if [ "$stopping" = 0 ]; then
  for pid in "${!names[@]}"; do
    kill -0 "$pid" 2>/dev/null || say "${names[$pid]} exited (status $rc); stopping the others"
  done
  for pid in "${!names[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  stop_all
  exit 1
fi
