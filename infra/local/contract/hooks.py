"""Schemathesis hooks for `make contract`: the run may test every operation of the document, but it
must leave the pipeline as it found it and respect rules JSON Schema cannot state.

Side effects (the real stack serves other users while this runs):
- POST /streaming/start and /streaming/stop are not run at all (excluded in run.sh): the streaming
  job is never stopped, restarted or given other args.
- POST /jobs/{name}/batches: at most MAX_BATCHES batches are really submitted (each is killed at
  once); later cases name a job that does not exist, so they are answered 404 before Livy.
- DELETE /batches/{id} and DELETE /schedules/{id} only ever name what this run created; other ids
  are replaced by an id that exists nowhere.
- PATCH /dags/{dagId}: the DAG's paused state is read before and put back after.
- POST /dags/{dagId}/runs never names a real DAG (its runs would queue up and run, a rollup would
  submit Spark batches): the id is replaced by one Airflow does not have.
- Schedules are created disabled (a schedule that fires would trigger DAGs or Spark batches), and
  each one created is deleted at once.

Rules the document states in words only (valid data of the schema the server must still refuse):
- from/to: from < to and at most RECORDS_MAX_RANGE_DAYS apart (default 31), to defaulting to now:
  a schema-valid case gets a range that holds (the last hour).
- pageToken: only the API mints valid ones: a schema-valid case is sent without it.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone

import requests
import schemathesis

BASE = os.environ["CONTRACT_API_URL"].rstrip("/")
KEY = os.environ["CONTRACT_API_KEY"]
AUTH = {"X-API-Key": KEY}
MAX_BATCHES = int(os.environ.get("CONTRACT_MAX_BATCHES", "2"))
NO_SUCH = "contract_no_such_name"

_lock = threading.Lock()
_submitted = 0
_created_batches: set[str] = set()
_created_schedules: set[str] = set()
_paused_before: dict[str, bool] = {}
_real_dags: set[str] | None = None


def _op(case) -> tuple[str, str]:
    return case.operation.method.upper(), case.operation.path


def _positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _real_dag_ids() -> set[str]:
    global _real_dags
    if _real_dags is None:
        res = requests.get(f"{BASE}/api/v1/dags", headers=AUTH, timeout=30)
        res.raise_for_status()
        _real_dags = {d["dagId"] for d in res.json()["dags"]}
    return _real_dags


def _paused(dag_id: str) -> bool | None:
    res = requests.get(f"{BASE}/api/v1/dags/{dag_id}", headers=AUTH, timeout=30)
    return res.json()["isPaused"] if res.status_code == 200 else None


def _repair_range(query: dict) -> None:
    if "from" not in query and "to" not in query:
        return
    now = datetime.now(timezone.utc).replace(microsecond=0)
    if "to" in query:
        query["to"] = now.isoformat().replace("+00:00", "Z")
    if "from" in query:
        query["from"] = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")


@schemathesis.hook
def before_call(context, case, kwargs):
    global _submitted
    method, path = _op(case)
    query = case.query if isinstance(case.query, dict) else None
    if _positive(case) and query is not None:
        _repair_range(query)
        query.pop("pageToken", None)

    params = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    if method == "POST" and path == "/api/v1/jobs/{name}/batches":
        with _lock:
            if _submitted >= MAX_BATCHES:
                params["name"] = NO_SUCH
    elif method == "DELETE" and path in ("/api/v1/batches/{id}", "/api/v1/schedules/{id}"):
        created = _created_batches if "batches" in path else _created_schedules
        if params.get("id") not in created:
            params["id"] = str(uuid.uuid4())
    elif method == "PATCH" and path == "/api/v1/dags/{dagId}":
        dag_id = params.get("dagId")
        if isinstance(dag_id, str) and dag_id in _real_dag_ids() and dag_id not in _paused_before:
            before = _paused(dag_id)
            if before is not None:
                _paused_before[dag_id] = before
    elif method == "POST" and path == "/api/v1/dags/{dagId}/runs":
        if params.get("dagId") in _real_dag_ids():
            params["dagId"] = NO_SUCH
    elif method in ("POST", "PATCH") and path in ("/api/v1/schedules", "/api/v1/schedules/{id}"):
        if _positive(case) and isinstance(case.body, dict):
            case.body["enabled"] = False


@schemathesis.hook
def after_call(context, case, response):
    global _submitted
    method, path = _op(case)
    if method == "POST" and path == "/api/v1/jobs/{name}/batches" and response.status_code == 201:
        batch_id = response.json()["id"]
        with _lock:
            _submitted += 1
            _created_batches.add(batch_id)
        # Kill it at once: one submission proves the route; a running Spark job only costs the machine.
        requests.delete(f"{BASE}/api/v1/batches/{batch_id}", headers=AUTH, timeout=60)
    elif method == "POST" and path == "/api/v1/schedules" and response.status_code == 201:
        schedule_id = response.json()["id"]
        _created_schedules.add(schedule_id)
        requests.delete(f"{BASE}/api/v1/schedules/{schedule_id}", headers=AUTH, timeout=30)
    elif method == "PATCH" and path == "/api/v1/dags/{dagId}":
        dag_id = (case.path_parameters or {}).get("dagId")
        if dag_id in _paused_before and response.status_code == 200:
            requests.patch(
                f"{BASE}/api/v1/dags/{dag_id}",
                headers={**AUTH, "Content-Type": "application/json"},
                data=json.dumps({"isPaused": _paused_before[dag_id]}),
                timeout=30,
            )
