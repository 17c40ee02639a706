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
- Sources: nothing is created, changed or archived (a new source is a new topic the stream starts
  reading, and an archived name is never free again). POST /sources always names a source that
  exists (409); PUT and DELETE /sources/{name} name one that does not (404). Their 2xx answers are
  covered by test/sources.e2e-spec.ts; GET /sources/{name} checks the resource's shape here.
- Keys: each key a case creates is revoked at once; rotation and revocation only ever name a key
  this run created (other ids are replaced by one that exists nowhere), never a key in use.
- Views: nothing is created or deleted (a view is a Spark query the streaming job runs until it is
  deleted). POST /views always names a source that cannot exist (400 at `source`, which
  schemathesis.toml lets a schema-valid case be answered); DELETE /views/{name}, GET /views/{name} and
  GET /views/{name}/results name a view that cannot exist (404). Their 2xx answers are covered by
  test/views.e2e-spec.ts and src/views/views.controller.spec.ts. POST /views/preview runs as generated:
  it creates nothing, and reads at most 10,000 stored events of the source it names (no guard needed).

Rules the document states in words only (valid data of the schema the server must still refuse):
- from/to: from < to and at most RECORDS_MAX_RANGE_DAYS apart (default 31; 24 hours for a view's
  preview), to defaulting to now: a schema-valid case gets a range that holds (the last hour), in the
  query and in the body of a replay or a preview.
- pageToken: only the API mints valid ones: a schema-valid case is sent without it.
- POST /ingest/{source}: a source with a schema of its own (or a signature) narrows "any object":
  a schema-valid case naming one is sent to a source without either, and without a Content-Encoding
  (the generated body is not compressed).
- POST /jobs/{name}/batches: a job's args must match that job's schema (GET /jobs): a schema-valid
  case for a catalog job gets the args its schema's examples give.
- POST /keys: expiresAt must be in the future: a schema-valid case gets tomorrow.
- POST /sources/{name}/schema-check: a candidate must stay within the JSON Schema subset the registry
  supports (docs/api.md): a schema-valid case checks a candidate that does.
- POST /sources: the settings obey the rules of a sources.yaml entry, but the taken name is answered
  first (409), so a generated body is sent as it is.
- schedules (and GET /schedules/preview): the cron must fire some day and the target exist: a
  schema-valid case gets a cron that does (`0 0 1 1 *`) and, for a target, a DAG GET /dags lists or a job with its example args.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import MutableMapping
from datetime import datetime, timedelta, timezone

import requests
import schemathesis

BASE = os.environ["CONTRACT_API_URL"].rstrip("/")
KEY = os.environ["CONTRACT_API_KEY"]
AUTH = {"X-API-Key": KEY}
MAX_BATCHES = int(os.environ.get("CONTRACT_MAX_BATCHES", "2"))
NO_SUCH = "contract_no_such_name"
# Names no source and no view can have: a dot is outside a source's name, a dash outside a view's.
NO_SOURCE = "contract.no-such-source"
NO_VIEW = "contract-no-such-view"

_lock = threading.Lock()
_submitted = 0
_created_batches: set[str] = set()
_created_schedules: set[str] = set()
_paused_before: dict[str, bool] = {}
_real_dags: set[str] | None = None
_created_keys: set[str] = set()


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
    # Dates and date-times only (the log's `from` is a line number).
    if not any(isinstance(query.get(name), str) for name in ("from", "to")):
        return
    now = datetime.now(timezone.utc).replace(microsecond=0)
    if isinstance(query.get("to"), str):
        query["to"] = now.isoformat().replace("+00:00", "Z")
    if isinstance(query.get("from"), str):
        query["from"] = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")


_job_args: dict[str, dict] | None = None


def _example_args(job: str) -> dict | None:
    """Args for a catalog job, built from the `examples` of its args schema (None for a job not in the catalog)."""
    global _job_args
    if _job_args is None:
        res = requests.get(f"{BASE}/api/v1/jobs", headers=AUTH, timeout=30)
        res.raise_for_status()
        _job_args = {}
        for entry in res.json()["jobs"]:
            properties = entry["args"].get("properties", {})
            _job_args[entry["name"]] = {k: v["examples"][0] for k, v in properties.items() if v.get("examples")}
    return _job_args.get(job)


def _repair_target(target: dict) -> None:
    if target.get("kind") == "job":
        if _example_args(target.get("name")) is None:
            target["name"] = "daily_rollup"
        target["args"] = _example_args(target["name"])
    elif target.get("kind") == "dag" and target.get("name") not in _real_dag_ids():
        target["name"] = sorted(_real_dag_ids())[0]


_plain_source: str | None = None


_source_rules: dict[str, bool] | None = None


def _sources() -> dict[str, bool]:
    """Each configured source, and whether it has a schema or a signature of its own."""
    global _source_rules
    if _source_rules is None:
        res = requests.get(f"{BASE}/api/v1/sources", headers=AUTH, timeout=30)
        res.raise_for_status()
        _source_rules = {s["name"]: bool(s.get("schema") or s.get("signatureScheme")) for s in res.json()["sources"]}
    return _source_rules


def _source_without_rules() -> str:
    """A configured source with no schema and no signature: any JSON object is a valid event for it."""
    global _plain_source
    if _plain_source is None:
        res = requests.get(f"{BASE}/api/v1/sources", headers=AUTH, timeout=30)
        res.raise_for_status()
        sources = res.json()["sources"]
        _plain_source = next(s["name"] for s in sources if not s.get("schema") and not s.get("signatureScheme"))
    return _plain_source


_dag_lock = threading.Lock()


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    """One JSON document per line: an array is its events, anything else one event."""
    events = value if isinstance(value, list) else [value]
    return "".join(json.dumps(event) + "\n" for event in events).encode()


@schemathesis.hook
def before_call(context, case, kwargs):
    global _submitted
    method, path = _op(case)
    query = case.query if isinstance(case.query, dict) else None
    if _positive(case) and query is not None:
        _repair_range(query)
        query.pop("pageToken", None)
        if method == "GET" and path == "/api/v1/schedules/preview" and "cron" in query:
            query["cron"] = "0 0 1 1 *"

    params = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    ranged_body = path in ("/api/v1/dead-letters/{source}/replay", "/api/v1/views/preview")
    if method == "POST" and ranged_body and _positive(case) and isinstance(case.body, dict):
        # A replay's or a preview's range obeys the same rule as a query's: from before to.
        _repair_range(case.body)
    if method == "POST" and path == "/api/v1/ingest/{source}" and _positive(case):
        # The body schema is any object; a source's own schema (GET /sources) narrows it per source.
        sources = _sources()
        if params.get("source") in sources and sources[params["source"]]:
            params["source"] = _source_without_rules()
        # The body is sent as generated, uncompressed: a Content-Encoding would have to be true of it.
        if isinstance(case.headers, MutableMapping):
            for name in [h for h in case.headers if h.lower() == "content-encoding"]:
                del case.headers[name]
    if method == "POST" and path == "/api/v1/jobs/{name}/batches":
        args = _example_args(params.get("name"))
        if _positive(case) and args is not None and isinstance(case.body, dict):
            case.body["args"] = dict(args)
        with _lock:
            if _submitted >= MAX_BATCHES:
                params["name"] = NO_SUCH
    elif method == "DELETE" and path in ("/api/v1/batches/{id}", "/api/v1/schedules/{id}"):
        created = _created_batches if "batches" in path else _created_schedules
        if params.get("id") not in created:
            params["id"] = str(uuid.uuid4())
    elif method == "POST" and path == "/api/v1/sources":
        if isinstance(case.body, dict) and isinstance(case.body.get("name"), str):
            case.body["name"] = sorted(_sources())[0]
    elif method == "POST" and path == "/api/v1/sources/{name}/schema-check":
        if _positive(case) and isinstance(case.body, dict):
            case.body["schema"] = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 200}}}
    elif method in ("PUT", "DELETE") and path == "/api/v1/sources/{name}":
        params["name"] = NO_SUCH
        if isinstance(case.body, dict) and isinstance(case.body.get("name"), str) and _positive(case):
            case.body["name"] = NO_SUCH
    elif method == "POST" and path == "/api/v1/views":
        if isinstance(case.body, dict):
            case.body["source"] = NO_SOURCE
    elif path in ("/api/v1/views/{name}", "/api/v1/views/{name}/results"):
        params["name"] = NO_VIEW
    elif method == "POST" and path == "/api/v1/keys":
        if _positive(case) and isinstance(case.body, dict) and isinstance(case.body.get("expiresAt"), str):
            tomorrow = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
            case.body["expiresAt"] = tomorrow.isoformat().replace("+00:00", "Z")
    elif path in ("/api/v1/keys/{id}", "/api/v1/keys/{id}/rotate") and method in ("POST", "DELETE"):
        if params.get("id") not in _created_keys:
            params["id"] = uuid.uuid4().hex[:12]
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
            if "cron" in case.body:
                case.body["cron"] = "0 0 1 1 *"
            if isinstance(case.body.get("target"), dict):
                _repair_target(case.body["target"])


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
    elif method == "POST" and path == "/api/v1/keys" and response.status_code == 201:
        key_id = response.json()["id"]
        _created_keys.add(key_id)
        # A key nobody holds is revoked at once: the run leaves no working credential behind.
        requests.delete(f"{BASE}/api/v1/keys/{key_id}", headers=AUTH, timeout=30).raise_for_status()
    elif method == "PATCH" and path == "/api/v1/dags/{dagId}":
        dag_id = (case.path_parameters or {}).get("dagId")
        if dag_id in _paused_before:
            _restore_paused(dag_id)


def _restore_paused(dag_id: str) -> None:
    """Puts the DAG's paused state back, whatever the case did (Airflow's SQLite may refuse a write now and then: retried)."""
    want = _paused_before[dag_id]
    for attempt in range(10):
        if _paused(dag_id) == want:
            return
        requests.patch(
            f"{BASE}/api/v1/dags/{dag_id}",
            headers={**AUTH, "Content-Type": "application/json"},
            data=json.dumps({"isPaused": want}),
            timeout=30,
        )
        time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"could not put DAG {dag_id} back to isPaused={want}")
