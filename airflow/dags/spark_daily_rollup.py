"""spark_daily_rollup: the control plane's `daily_rollup` job (spark-jobs/daily_rollup.py), once a day.

One task, `daily_rollup`: it asks the control plane to run the job, through the connection `pipeline_api`
(host and port; its password is the API key, sent as X-API-Key):
  POST /api/v1/jobs/daily_rollup/batches {"args": {"day": DAY, "sources": [SOURCES]}}
then polls GET /api/v1/batches/{id} every 5 s until the batch ends, and returns its id (XCom return_value).
The control plane owns everything else about the job: its file and pyFiles (spark-jobs/jobs.yaml), the Spark
packages (SPARK_PACKAGES), the Cassandra address and keyspace, and Livy.

Success only when the batch ends in `success`. A batch that ends otherwise (dead, killed, error, or lost: Livy
forgot it) fails the task at once, with the tail of its driver log in the task log; clear the task to run it
again. A 4xx from the control plane (bad args, bad key) fails it at once with the control plane's message; a
5xx or no answer is retried (2 retries). While waiting, the control plane may be unavailable for up to 5
minutes; if the task stops waiting for any other reason (timeout after 1 h, marked failed), it kills the batch.

DAY: dag_run.conf {"day": "YYYY-MM-DD"} (params.day) if given; else the run's logical date (`ds`), which
for the scheduled runs is the day that just ended (the run for day D starts at D+1 00:15 UTC); else, for a
manual run triggered without a logical date, the UTC day it was triggered.
SOURCES: dag_run.conf {"sources": "users,orders"} (params.sources, comma-separated) if given; else every
source the control plane knows (GET /api/v1/sources).
Paused on creation.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, Param, get_current_context, task

from pipeline_api import PipelineApi, run_batch

DAG_ID = "spark_daily_rollup"
JOB = "daily_rollup"
SOURCES_ENDPOINT = "/api/v1/sources"
POLL_SECONDS = 5
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SOURCE = r"[a-z][a-z0-9_-]*"


def rollup_day(params: dict[str, Any], dag_run: Any) -> str:
    """The UTC day to roll up: params.day, else the logical date's day, else the day the run was triggered."""
    day = params.get("day")
    if day:
        if not _DAY.match(str(day)):
            raise ValueError(f"day must be YYYY-MM-DD, got {day!r}")
        date.fromisoformat(str(day))
        return str(day)
    when = getattr(dag_run, "logical_date", None) or getattr(dag_run, "run_after", None) or datetime.now(UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d")


def requested_sources(value: Any) -> list[str] | None:
    """params.sources as a list ("users, orders" or ["users", "orders"]), duplicates dropped; None = all sources."""
    if value is None:
        return None
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"sources must be a comma-separated string, got {value!r}")
    out = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    return out or None


def known_sources(body: Any) -> list[str]:
    """The names in GET /api/v1/sources' answer ({"sources": [{"name": ...}, ...]})."""
    items = body.get("sources") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ValueError(f'GET {SOURCES_ENDPOINT}: expected {{"sources": [...]}}, got {str(body)[:200]}')
    names = [item["name"] for item in items if isinstance(item, dict) and isinstance(item.get("name"), str)]
    if not names:
        raise ValueError(f"GET {SOURCES_ENDPOINT}: the control plane knows no sources")
    return names


def batch_request(day: str, sources: list[str]) -> dict[str, Any]:
    """The body of POST /api/v1/jobs/daily_rollup/batches."""
    return {"args": {"day": day, "sources": sources}}


with DAG(
    dag_id=DAG_ID,
    description="Recompute one UTC day's per-minute event counts (the control plane's daily_rollup job)",
    # Data-interval semantics: the run for [D 00:15, D+1 00:15) starts at D+1 00:15 with ds = D.
    schedule=CronDataIntervalTimetable("15 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,
    params={
        "day": Param(None, type=["null", "string"], format="date", description="UTC day YYYY-MM-DD"),
        "sources": Param(
            None,
            type=["null", "string"],
            pattern=f"^{_SOURCE}(,{_SOURCE})*$",
            description="Comma-separated sources (default: every source of the control plane)",
        ),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "execution_timeout": timedelta(hours=1)},
    tags=["pipeline", "spark", "livy"],
    doc_md=__doc__,
) as dag:

    @task(task_id="daily_rollup")
    def daily_rollup() -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        ctx = get_current_context()
        try:
            day = rollup_day(ctx["params"], ctx["dag_run"])
            sources = requested_sources(ctx["params"].get("sources"))
        except ValueError as err:
            raise AirflowFailException(str(err)) from err
        api = PipelineApi()
        if sources is None:
            try:
                sources = known_sources(api.get(SOURCES_ENDPOINT))
            except ValueError as err:
                raise AirflowFailException(str(err)) from err
        batch = run_batch(api, JOB, batch_request(day, sources), poll_seconds=POLL_SECONDS)
        print(f"batch {batch['id']} ({JOB}, day {day}, sources {','.join(sources)}): {batch['state']}")
        return batch["id"]

    daily_rollup()
