# Apache Airflow 3 (orchestration) for the local stack. Sourced by infra/local/stack.sh after lib.sh;
# defines airflow_{install,start,probe,port,timeout,grace} (and airflow_venv, airflow_env for scripts).
#   venv:     ~/.cache/pipeline/venvs/airflow-<version>, from infra/local/airflow/requirements.txt (Airflow and
#             the Livy and HTTP providers) + airflow/requirements-dev.txt (pytest), every version fixed by
#             infra/local/airflow/constraints.txt; re-created when one of the three files changes
#   state:    AIRFLOW_HOME=.stack/airflow (airflow.cfg with the generated secrets, SQLite airflow.db, task
#             logs under logs/); delete it while Airflow is stopped and the next start makes a fresh one
#   DAGs:     airflow/dags (AIRFLOW__CORE__DAGS_FOLDER), examples off
#   process:  infra/local/airflow/run.sh migrates the DB, writes the login, then supervises api-server,
#             scheduler (LocalExecutor), dag-processor and triggerer in one process group; their output,
#             prefixed with the component's name, is in .stack/logs/airflow.log
#   API:      http://127.0.0.1:8080 (AIRFLOW_PORT); REST under /api/v2 with a JWT from
#             POST /auth/token {"username": AIRFLOW_USERNAME, "password": AIRFLOW_PASSWORD}; UI at /
#   connection (env AIRFLOW_CONN_PIPELINE_API; when already set, it wins), the only one the DAGs use:
#             pipeline_api  -> PIPELINE_API_URL (http://127.0.0.1:$PORT, 3000) with PIPELINE_API_KEY (Airflow's
#                              own key, one of the API's API_KEYS; `make up` sets both) as the connection's
#                              password (the DAGs send it as X-API-Key)
#   env:      the Airflow processes get lib.sh's SERVICE_ENV_BASE, the AIRFLOW* variables and USER_PROFILES_URL;
#             not API_KEYS, PIPELINE_API_KEY itself or any secret of the API
#   tuning for 2 cores: 1 api worker, 1 parsing process, AIRFLOW_PARALLELISM (4) task slots; every
#   AIRFLOW__SECTION__KEY in the environment still overrides.
# shellcheck shell=bash

AIRFLOW_SRC="$ROOT/infra/local/airflow"
AIRFLOW_VERSION="$(sed -n 's/^apache-airflow==\(.*\)$/\1/p' "$AIRFLOW_SRC/requirements.txt")"
AIRFLOW_VENV="$CACHE_DIR/venvs/airflow-$AIRFLOW_VERSION"
AIRFLOW_STATE="$STACK_DIR/airflow"
AIRFLOW_REQUIREMENTS=("$AIRFLOW_SRC/requirements.txt" "$ROOT/airflow/requirements-dev.txt")
AIRFLOW_CONSTRAINTS="$AIRFLOW_SRC/constraints.txt"
AIRFLOW_DAG_IDS="user_profiles_ingest,spark_daily_rollup"

airflow_port()    { echo "${AIRFLOW_PORT:-8080}"; }
airflow_timeout() { echo "${AIRFLOW_START_TIMEOUT:-180}"; }
airflow_grace()   { echo 30; }
airflow_probe() {
  local py="$AIRFLOW_VENV/bin/python"; [ -x "$py" ] || py=python3
  AIRFLOW_URL="http://127.0.0.1:$(airflow_port)" AIRFLOW_EXPECTED_DAGS="${AIRFLOW_EXPECTED_DAGS:-$AIRFLOW_DAG_IDS}" \
    AIRFLOW_USERNAME="${AIRFLOW_USERNAME:-admin}" AIRFLOW_PASSWORD="${AIRFLOW_PASSWORD:-admin-local-password}" \
    "$py" "$AIRFLOW_SRC/probe.py"
}


airflow_venv() {
  local f reqs=()
  for f in "${AIRFLOW_REQUIREMENTS[@]}"; do reqs+=(-r "$f"); done
  python_venv airflow "Airflow $AIRFLOW_VERSION (about 140 packages)" "$AIRFLOW_VENV" "${AIRFLOW_BASE_PYTHON:-}" "${reqs[@]}" -c "$AIRFLOW_CONSTRAINTS"
}

# Builds a connection URI (Airflow's form: the URL scheme is the connection type, the path its "schema",
# which the HTTP hooks use as the URL scheme) from a base URL and optional credentials.
airflow_conn_uri() {
  local url="$1" user="${2:-}" pass="${3:-}"
  "$AIRFLOW_VENV/bin/python" - "$url" "$user" "$pass" <<'PY'
import sys
from urllib.parse import quote, urlsplit
url, user, password = sys.argv[1:4]
u = urlsplit(url if "://" in url else "http://" + url)
if u.path.strip("/"):
    sys.exit(f"airflow: {url}: a base path is not supported here; set AIRFLOW_CONN_<ID> yourself")
cred = f"{quote(user, safe='')}:{quote(password, safe='')}@" if (user or password) else ""
port = f":{u.port}" if u.port else ""
schema = "" if u.scheme == "http" else "/" + u.scheme
print(f"http://{cred}{u.hostname}{port}{schema}")
PY
}

# Exports the environment every Airflow process (and the DAG tests) runs with. AIRFLOW_HOME: $1 or .stack/airflow.
airflow_env() {
  local home="${1:-$AIRFLOW_STATE}" port; port="$(airflow_port)"
  export AIRFLOW_HOME="$home"
  export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$ROOT/airflow/dags}"
  export AIRFLOW__CORE__LOAD_EXAMPLES=False
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$home/airflow.db}"
  export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
  export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-${AIRFLOW_PARALLELISM:-4}}"
  export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
  export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
  export AIRFLOW_USERNAME="${AIRFLOW_USERNAME:-admin}" AIRFLOW_PASSWORD="${AIRFLOW_PASSWORD:-admin-local-password}"
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="$AIRFLOW_USERNAME:admin"
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$home/simple_auth_manager_passwords.json"
  export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT="$port"
  export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
  export AIRFLOW__API__BASE_URL="http://127.0.0.1:$port"
  # Task processes report to the api-server's execution API; the default would be localhost:8080.
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$port/execution/"
  export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="${AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES:-1}"
  # New DAG files are picked up within 30 s (default 300 s); changed ones are re-parsed every 30 s anyway.
  export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
  export AIRFLOW__LOGGING__COLORED_CONSOLE_LOG=False
  # Quieter .stack/logs/airflow.log: no line per HTTP request (the probe and the control plane poll), and
  # the DAG processor's stats table every 10 minutes instead of every 30 s.
  export AIRFLOW__LOGGING__NAMESPACE_LEVELS="${AIRFLOW__LOGGING__NAMESPACE_LEVELS:-http.access=WARNING}"
  export AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL="${AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL:-600}"
  export PYTHONUNBUFFERED=1 NO_COLOR=1

  # The DAGs reach the control plane only; it owns the Spark jobs, their packages and Cassandra's address.
  # They use a key of their own, not the API's list: revoking it (removing it from API_KEYS) cuts Airflow off alone.
  if [ -z "${AIRFLOW_CONN_PIPELINE_API:-}" ]; then
    AIRFLOW_CONN_PIPELINE_API="$(airflow_conn_uri "${PIPELINE_API_URL:-http://127.0.0.1:${PORT:-3000}}" "" "${PIPELINE_API_KEY:-local-dev-airflow-key-change-me}")" || return 1
  fi
  export AIRFLOW_CONN_PIPELINE_API
  export PATH="$AIRFLOW_VENV/bin:$PATH"
}

airflow_install() {
  airflow_venv || return 1
  mkdir -p "$AIRFLOW_STATE"
}

airflow_start() {
  [ -x "$AIRFLOW_VENV/bin/airflow" ] || airflow_install || return 1
  mkdir -p "$AIRFLOW_STATE"
  if [ -z "${AIRFLOW_CONN_PIPELINE_API:-}" ] && [ -n "${API_KEYS:-}" ] \
    && [[ ",$API_KEYS," != *",${PIPELINE_API_KEY:-local-dev-airflow-key-change-me},"* ]]; then
    fail "airflow: PIPELINE_API_KEY is not one of API_KEYS: the API will refuse the DAGs' calls (add it to API_KEYS)"
  fi
  # In a subshell: the exported settings stay out of the caller's environment. Only Airflow's own variables
  # reach its processes (see launch in lib.sh): the API's keys and secrets do not.
  (airflow_env "$AIRFLOW_STATE" && cd "$AIRFLOW_STATE" \
    && LAUNCH_ENV_KEEP='AIRFLOW* PYTHONUNBUFFERED NO_COLOR USER_PROFILES_URL' launch airflow bash "$AIRFLOW_SRC/run.sh")
}
