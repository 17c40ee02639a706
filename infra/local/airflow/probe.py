#!/usr/bin/env python3
"""Health probe of the local Airflow 3 (standard library only, any python3).

Exit 0 only when
  1. GET  /api/v2/monitor/health answers and reports the metadatabase, the scheduler and the DAG processor
     healthy (the triggerer too unless AIRFLOW_PROBE_TRIGGERER=0),
  2. POST /auth/token {"username", "password"} gives a JWT (the simple auth manager's user),
  3. GET  /api/v2/importErrors reports total_entries 0, and
  4. GET  /api/v2/dags lists every DAG id of AIRFLOW_EXPECTED_DAGS (comma-separated).
Otherwise it prints what is missing to stderr and exits 1.

Environment: AIRFLOW_URL (default http://127.0.0.1:8080), AIRFLOW_USERNAME (admin), AIRFLOW_PASSWORD
(admin-local-password), AIRFLOW_EXPECTED_DAGS (user_profiles_ingest,spark_daily_rollup),
PROBE_TIMEOUT_S (5 per request).
"""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

BASE = os.environ.get("AIRFLOW_URL", "http://127.0.0.1:8080").rstrip("/")
TIMEOUT = float(os.environ.get("PROBE_TIMEOUT_S", "5"))
EXPECTED = [d for d in os.environ.get("AIRFLOW_EXPECTED_DAGS", "user_profiles_ingest,spark_daily_rollup").split(",") if d]


class ProbeError(Exception):
    pass


def call(method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
            return json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise ProbeError(f"{method} {path}: HTTP {e.code} {e.read()[:300]!r}") from None
    except (urllib.error.URLError, OSError) as e:
        raise ProbeError(f"{method} {path}: {e}") from None


def probe() -> str:
    health = call("GET", "/api/v2/monitor/health")
    wanted = ["metadatabase", "scheduler", "dag_processor"]
    if os.environ.get("AIRFLOW_PROBE_TRIGGERER", "1") != "0":
        wanted.append("triggerer")
    unhealthy = [c for c in wanted if (health.get(c) or {}).get("status") != "healthy"]
    if unhealthy:
        raise ProbeError(f"not healthy yet: {', '.join(unhealthy)} ({json.dumps(health)})")

    creds = {
        "username": os.environ.get("AIRFLOW_USERNAME", "admin"),
        "password": os.environ.get("AIRFLOW_PASSWORD", "admin-local-password"),
    }
    token = call("POST", "/auth/token", creds).get("access_token")
    if not token:
        raise ProbeError("POST /auth/token gave no access_token")

    errors = call("GET", "/api/v2/importErrors?limit=20", token=token)
    if errors.get("total_entries", 0) != 0:
        lines = [f"{e.get('filename')}: {(e.get('stack_trace') or '').strip().splitlines()[-1:]}" for e in errors.get("import_errors", [])]
        raise ProbeError(f"{errors['total_entries']} DAG import error(s): " + "; ".join(lines))

    dags = call("GET", "/api/v2/dags?limit=100", token=token)
    listed = {d["dag_id"] for d in dags.get("dags", [])}
    missing = [d for d in EXPECTED if d not in listed]
    if missing:
        raise ProbeError(f"DAGs not parsed yet: {', '.join(missing)} (listed: {', '.join(sorted(listed)) or 'none'})")
    return f"healthy; dags={','.join(sorted(listed))}"


if __name__ == "__main__":
    try:
        print(f"airflow: {probe()}")
    except ProbeError as e:
        print(f"airflow: {e}", file=sys.stderr)
        sys.exit(1)
