#!/usr/bin/env bash
# Runs the DAG tests (airflow/tests) in the Airflow venv, with a throwaway AIRFLOW_HOME (a temp dir holding
# its own airflow.cfg and SQLite DB), so the tests never touch .stack/airflow or a running Airflow.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
source "$HERE/service.sh"
airflow_install
home="$(mktemp -d "${TMPDIR:-/tmp}/airflow-pytest.XXXXXX")"
trap 'rm -rf "$home"' EXIT
airflow_env "$home"
cd "$ROOT"
# Not exec: the trap removes the temp home afterwards.
"$AIRFLOW_VENV/bin/python" -m pytest airflow/tests -p no:cacheprovider "$@"
