#!/usr/bin/env bash
# Runs the PySpark jobs' pytest suite in the stack's PySpark venv (pyspark, the jobs' requirements, pytest).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/install.sh"
spark_install
cd "$ROOT"
exec env JAVA_HOME="$JAVA17_HOME" "$SPARK_PYTHON" -m pytest spark-jobs/tests "$@"
