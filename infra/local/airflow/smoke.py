#!/usr/bin/env python3
"""End-to-end smoke check of the local Airflow through its REST API (standard library only).

  python3 infra/local/airflow/smoke.py [--count 3] [--rollup] [--timeout 180]

1. POST /auth/token, then unpauses user_profiles_ingest (PATCH /api/v2/dags/{id} {"is_paused": false})
2. triggers it: POST /api/v2/dags/{id}/dagRuns {"dag_run_id", "logical_date": null, "conf": {"count": N}}
3. polls GET /api/v2/dags/{id}/dagRuns/{run_id} until success/failed, lists its task instances
4. reads the post_profiles XCom return_value (the eventIds) and polls the control plane's
   GET /api/v1/records/users until every one of them is there
5. with --rollup: triggers spark_daily_rollup with conf {"day": today, "sources": "users"} and waits for it
Each DAG's paused state is put back as it was. Prints one line per step with timings; exits 1 on failure.
Needs Airflow (AIRFLOW_URL, AIRFLOW_USERNAME, AIRFLOW_PASSWORD) and the API with its streaming job
(PIPELINE_API_URL, default http://127.0.0.1:3000; API key: the first of API_KEYS).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

AIRFLOW = os.environ.get("AIRFLOW_URL", "http://127.0.0.1:8080").rstrip("/")
API = os.environ.get("PIPELINE_API_URL", "http://127.0.0.1:3000").rstrip("/")
API_KEY = (os.environ.get("API_KEYS") or "local-dev-key-change-me").split(",")[0]


def http(method: str, url: str, body=None, headers: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json", **(headers or {})})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=15) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


class Airflow:
    def __init__(self) -> None:
        creds = {"username": os.environ.get("AIRFLOW_USERNAME", "admin"),
                 "password": os.environ.get("AIRFLOW_PASSWORD", "admin-local-password")}
        status, body = http("POST", f"{AIRFLOW}/auth/token", creds)
        if status != 201:
            sys.exit(f"POST /auth/token: {status} {body}")
        self.headers = {"Authorization": f"Bearer {body['access_token']}"}

    def call(self, method: str, path: str, body=None, ok=(200,)):
        status, data = http(method, f"{AIRFLOW}/api/v2{path}", body, self.headers)
        if status not in ok:
            raise RuntimeError(f"{method} /api/v2{path}: {status} {data}")
        return data

    def run_dag(self, dag_id: str, conf: dict, timeout: float) -> tuple[dict, float]:
        was_paused = self.call("GET", f"/dags/{dag_id}")["is_paused"]
        run_id = f"smoke__{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"
        try:
            if was_paused:
                self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
            t0 = time.monotonic()
            self.call("POST", f"/dags/{dag_id}/dagRuns", {"dag_run_id": run_id, "logical_date": None, "conf": conf})
            quoted = urllib.parse.quote(run_id, safe="")
            while True:
                run = self.call("GET", f"/dags/{dag_id}/dagRuns/{quoted}")
                if run["state"] in ("success", "failed"):
                    return run, time.monotonic() - t0
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f}s")
                time.sleep(1)
        finally:
            if was_paused:
                self.call("PATCH", f"/dags/{dag_id}", {"is_paused": True})

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        quoted = urllib.parse.quote(run_id, safe="")
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances")["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
        quoted = urllib.parse.quote(run_id, safe="")
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/xcomEntries/{key}")["value"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--rollup", action="store_true", help="also run spark_daily_rollup for today")
    ap.add_argument("--timeout", type=float, default=180)
    args = ap.parse_args()

    af = Airflow()
    run, took = af.run_dag("user_profiles_ingest", {"count": args.count}, args.timeout)
    tis = af.task_instances("user_profiles_ingest", run["dag_run_id"])
    print(f"user_profiles_ingest {run['dag_run_id']}: {run['state']} in {took:.1f}s "
          f"(tasks: {', '.join(t['task_id'] + '=' + str(t['state']) for t in tis)})")
    if run["state"] != "success":
        return 1
    event_ids = af.xcom("user_profiles_ingest", run["dag_run_id"], "post_profiles")
    print(f"eventIds: {event_ids}")

    t0 = time.monotonic()
    while True:
        status, body = http("GET", f"{API}/api/v1/records/users?limit=1000", headers={"X-API-Key": API_KEY})
        found = {r["eventId"] for r in body.get("items", [])} if status == 200 and isinstance(body, dict) else set()
        missing = [e for e in event_ids if e not in found]
        if not missing:
            print(f"all {len(event_ids)} users in GET /api/v1/records/users after {time.monotonic() - t0:.1f}s")
            break
        if time.monotonic() - t0 > 60:
            print(f"not in /records after 60s: {missing} (last status {status})", file=sys.stderr)
            return 1
        time.sleep(1)

    if args.rollup:
        day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        run, took = af.run_dag("spark_daily_rollup", {"day": day, "sources": "users"}, max(args.timeout, 600))
        print(f"spark_daily_rollup {run['dag_run_id']} (day {day}): {run['state']} in {took:.1f}s, "
              f"batch {af.xcom('spark_daily_rollup', run['dag_run_id'], 'daily_rollup')}")
        if run["state"] != "success":
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
