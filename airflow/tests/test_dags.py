"""DAG integrity and the profile generator. Run with infra/local/airflow/pytest.sh (Airflow venv, temp AIRFLOW_HOME)."""
from __future__ import annotations

import importlib.util
import os
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"  # on sys.path: see conftest.py
REPO = DAGS_DIR.parents[1]
FIELDS = {"first_name", "last_name", "gender", "address", "post_code", "email",
          "username", "dob", "registered_date", "phone", "picture"}


def core_timetable(dag):
    """The scheduler's view of a DAG's timetable (the DAG file declares the airflow.sdk one)."""
    from airflow.serialization.encoders import coerce_to_core_timetable

    return coerce_to_core_timetable(dag.timetable)


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(f"dagfile_{name}", DAGS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def dagbag():
    assert os.environ.get("AIRFLOW_HOME"), "run through infra/local/airflow/pytest.sh (it sets a temp AIRFLOW_HOME)"
    from airflow.dag_processing.dagbag import BundleDagBag

    # As the DAG processor parses the bundle (the DAGs folder on sys.path); examples: AIRFLOW__CORE__LOAD_EXAMPLES=False.
    return BundleDagBag(dag_folder=str(DAGS_DIR), bundle_path=DAGS_DIR)


@pytest.fixture(scope="session")
def profiles_module():
    return load_module("user_profiles_ingest")


# ---- DAG integrity ---------------------------------------------------------------------------------

def test_dagbag_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"user_profiles_ingest", "spark_daily_rollup"}


def test_the_dag_processor_skips_the_shared_module():
    from airflow.utils.file import list_py_file_paths

    files = {Path(f).name for f in list_py_file_paths(DAGS_DIR, safe_mode=False)}
    assert files == {"user_profiles_ingest.py", "spark_daily_rollup.py"}


def test_user_profiles_ingest_shape(dagbag):
    dag = dagbag.dags["user_profiles_ingest"]
    assert set(dag.task_ids) == {"get_profiles", "post_profiles"}
    assert dag.get_task("get_profiles").downstream_task_ids == {"post_profiles"}
    assert dag.get_task("post_profiles").upstream_task_ids == {"get_profiles"}
    assert dag.is_paused_upon_creation is True
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert core_timetable(dag).summary == "* * * * *"
    assert dag.params["count"] == 5


def test_spark_daily_rollup_shape(dagbag):
    from airflow.providers.apache.livy.operators.livy import LivyOperator

    dag = dagbag.dags["spark_daily_rollup"]
    assert dag.task_ids == ["daily_rollup"]
    op = dag.get_task("daily_rollup")
    assert isinstance(op, LivyOperator)
    assert op._livy_conn_id == "livy_default"
    assert op._polling_interval == 5
    assert dag.is_paused_upon_creation is True
    assert dag.catchup is False
    assert core_timetable(dag).summary == "15 0 * * *"
    sp = op.spark_params
    assert Path(sp["file"]) == REPO / "spark-jobs" / "daily_rollup.py"
    assert Path(sp["file"]).is_file()
    assert [Path(p) for p in sp["py_files"]] == [REPO / "spark-jobs" / "pipeline_transforms.py"]
    assert "spark-cassandra-connector" in sp["conf"]["spark.jars.packages"]
    flags = sp["args"][0::2]
    assert flags == ["--day", "--sources", "--cassandra-host", "--cassandra-port", "--keyspace"]
    assert dag.params["sources"] == "users,orders,clicks"


def test_scheduled_rollup_covers_the_day_that_ended(dagbag):
    """The scheduled run that starts at D+1 00:15 UTC has logical date (ds) D."""
    from airflow.timetables.base import TimeRestriction

    timetable = core_timetable(dagbag.dags["spark_daily_rollup"])
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=datetime(2026, 3, 1, tzinfo=timezone.utc), latest=None, catchup=True),
    )
    assert info.run_after == datetime(2026, 3, 2, 0, 15, tzinfo=timezone.utc)
    assert info.data_interval.start.strftime("%Y-%m-%d") == "2026-03-01"


def test_rollup_day_macro():
    rollup_day = load_module("spark_daily_rollup").rollup_day
    run = SimpleNamespace(logical_date=datetime(2026, 3, 1, 0, 15, tzinfo=timezone.utc), run_after=None)
    assert rollup_day({"day": None}, run) == "2026-03-01"
    assert rollup_day({"day": "2026-02-28"}, run) == "2026-02-28"
    manual = SimpleNamespace(logical_date=None, run_after=datetime(2026, 3, 5, 23, 59, tzinfo=timezone.utc))
    assert rollup_day({}, manual) == "2026-03-05"
    with pytest.raises(ValueError):
        rollup_day({"day": "2026-13-01"}, run)
    with pytest.raises(ValueError):
        rollup_day({"day": "20260101"}, run)


# ---- the profile generator -------------------------------------------------------------------------

def test_generator_makes_n_complete_profiles(profiles_module):
    profiles = profiles_module.make_profiles(25, seed="s")
    assert len(profiles) == 25
    for p in profiles:
        assert set(p) == FIELDS
        assert all(isinstance(v, str) and v for v in p.values())
        assert p["gender"] in {"female", "male"}
        datetime.strptime(p["dob"], "%Y-%m-%dT%H:%M:%S.%fZ")
        datetime.strptime(p["registered_date"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert profiles_module.make_profiles(0, seed="s") == []


def test_generator_is_deterministic_per_seed(profiles_module):
    make = profiles_module.make_profiles
    assert make(10, seed="user_profiles_ingest:manual__1") == make(10, seed="user_profiles_ingest:manual__1")
    assert make(10, seed="user_profiles_ingest:manual__1") != make(10, seed="user_profiles_ingest:manual__2")
    # The first profiles do not depend on how many were asked for.
    assert make(3, seed="x") == make(10, seed="x")[:3]


def test_generator_emails_are_valid_and_unique(profiles_module):
    profiles = profiles_module.make_profiles(500, seed="emails")
    emails = [p["email"] for p in profiles]
    assert all(profiles_module.EMAIL_RE.match(e) for e in emails), [e for e in emails if not profiles_module.EMAIL_RE.match(e)]
    assert len(set(emails)) == len(emails)
    assert len({p["username"] for p in profiles}) == len(profiles)
    assert all(e.rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"} for e in emails)


def test_generator_rejects_bad_counts(profiles_module):
    for bad in (-1, "3", 2.5, True):
        with pytest.raises(ValueError):
            profiles_module.make_profiles(bad, seed="s")


def test_profiles_from_an_api(profiles_module):
    flat = [{"first_name": "Ada", "email": "ada@example.com", "extra": None}]
    assert profiles_module.from_api(flat) == [{"first_name": "Ada", "email": "ada@example.com"}]
    randomuser = {"results": [{
        "gender": "female", "name": {"first": "Ada", "last": "Lovelace"},
        "location": {"street": {"number": 12, "name": "St James Square"}, "city": "London",
                     "state": "Greater London", "country": "United Kingdom", "postcode": "SW1Y 4JH"},
        "email": "ada@example.com", "login": {"username": "ada"}, "dob": {"date": "1815-12-10T00:00:00.000Z"},
        "registered": {"date": "2026-01-01T00:00:00.000Z"}, "phone": "020 7946 0000",
        "picture": {"medium": "https://example.com/ada.jpg"},
    }]}
    [p] = profiles_module.from_api(randomuser)
    assert set(p) == FIELDS
    assert p["address"] == "12 St James Square, London, Greater London, United Kingdom"
    assert p["post_code"] == "SW1Y 4JH"
    with pytest.raises(ValueError):
        profiles_module.from_api({"nope": 1})
