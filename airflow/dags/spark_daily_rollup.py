"""spark_daily_rollup: spark-jobs/daily_rollup.py as an Apache Livy batch, once a day.

One task, `daily_rollup`, the Livy provider's LivyOperator on connection `livy_default`: it submits
  file      <SPARK_JOBS_DIR>/daily_rollup.py (env SPARK_JOBS_DIR, default <repo>/spark-jobs; Livy must see the
            same path: its livy.file.local-dir-whitelist is <repo>/spark-jobs/)
  pyFiles   <SPARK_JOBS_DIR>/pipeline_transforms.py
  args      --day DAY --sources SOURCES --cassandra-host H --cassandra-port P --keyspace K
  conf      spark.jars.packages = env SPARK_PACKAGES (the Kafka and Cassandra connectors)
and polls the batch every 5 s until it ends; a batch that does not end in `success` fails the task.

DAY: dag_run.conf {"day": "YYYY-MM-DD"} (params.day) if given; else the run's logical date (`ds`), which
for the scheduled runs is the day that just ended (the run for day D starts at D+1 00:15 UTC); else, for a
manual run triggered without a logical date, the UTC day it was triggered.
SOURCES: dag_run.conf {"sources": "users,orders"} (params.sources), default users,orders,clicks.
Cassandra: Airflow Variables cassandra_host / cassandra_port / cassandra_keyspace, else the env
CASSANDRA_CONTACT_POINTS (first host:port, default 127.0.0.1:9042) and CASSANDRA_KEYSPACE (pipeline).
Paused on creation.
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow.providers.apache.livy.operators.livy import LivyOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, Param

DAG_ID = "spark_daily_rollup"
LIVY_CONN_ID = "livy_default"
SPARK_JOBS_DIR = os.environ.get("SPARK_JOBS_DIR") or str(Path(__file__).resolve().parents[2] / "spark-jobs")
SPARK_PACKAGES = os.environ.get("SPARK_PACKAGES") or (
    "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7,com.datastax.spark:spark-cassandra-connector_2.12:3.5.1"
)
_contact = (os.environ.get("CASSANDRA_CONTACT_POINTS") or "127.0.0.1:9042").split(",")[0].strip()
CASSANDRA_HOST, _, _port = _contact.partition(":")
CASSANDRA_PORT = _port or "9042"
CASSANDRA_KEYSPACE = os.environ.get("CASSANDRA_KEYSPACE") or "pipeline"
DEFAULT_SOURCES = "users,orders,clicks"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def rollup_day(params: dict[str, Any], dag_run: Any) -> str:
    """The UTC day to roll up: params.day, else the logical date's day, else the day the run was triggered."""
    day = params.get("day")
    if day:
        if not _DAY.match(str(day)):
            raise ValueError(f"day must be YYYY-MM-DD, got {day!r}")
        date.fromisoformat(str(day))
        return str(day)
    when = getattr(dag_run, "logical_date", None) or getattr(dag_run, "run_after", None) or datetime.now(timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d")


with DAG(
    dag_id=DAG_ID,
    description="Recompute one UTC day's per-minute event counts (spark-jobs/daily_rollup.py via Livy)",
    # Data-interval semantics: the run for [D 00:15, D+1 00:15) starts at D+1 00:15 with ds = D.
    schedule=CronDataIntervalTimetable("15 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,
    params={
        "day": Param(None, type=["null", "string"], format="date", description="UTC day YYYY-MM-DD"),
        "sources": Param(DEFAULT_SOURCES, type="string", pattern=r"^[a-z][a-z0-9_-]*(,[a-z][a-z0-9_-]*)*$",
                         description="Comma-separated sources"),
    },
    user_defined_macros={"rollup_day": rollup_day},
    default_args={"retries": 0, "execution_timeout": timedelta(hours=1)},
    tags=["pipeline", "spark", "livy"],
    doc_md=__doc__,
) as dag:
    LivyOperator(
        task_id="daily_rollup",
        livy_conn_id=LIVY_CONN_ID,
        file=f"{SPARK_JOBS_DIR}/daily_rollup.py",
        py_files=[f"{SPARK_JOBS_DIR}/pipeline_transforms.py"],
        args=[
            "--day", "{{ rollup_day(params, dag_run) }}",
            "--sources", "{{ params.sources }}",
            "--cassandra-host", f"{{{{ var.value.get('cassandra_host', '{CASSANDRA_HOST}') }}}}",
            "--cassandra-port", f"{{{{ var.value.get('cassandra_port', '{CASSANDRA_PORT}') }}}}",
            "--keyspace", f"{{{{ var.value.get('cassandra_keyspace', '{CASSANDRA_KEYSPACE}') }}}}",
        ],
        conf={"spark.jars.packages": SPARK_PACKAGES},
        # "daily_rollup-..." is how the control plane's GET /batches recognises the job; ti.id is unique per try.
        name="daily_rollup-airflow-{{ ti.id }}",
        polling_interval=5,
    )
