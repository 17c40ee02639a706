"""DAG integrity, the rollup's task and the profile generator. Run with infra/local/airflow/pytest.sh (Airflow venv,
temp AIRFLOW_HOME)."""

from __future__ import annotations

import importlib.util
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"  # on sys.path: see conftest.py
# The fields of a user profile, as the streaming job and the `users` source spell them (contracts/names.json).
FIELDS = set(json.loads((Path(__file__).resolve().parents[2] / "contracts" / "names.json").read_text())["user_profile_fields"])


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


def test_post_profiles_sends_them_with_the_key_and_an_idempotency_key(dagbag, control_plane, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    fn = dagbag.dags["user_profiles_ingest"].get_task("post_profiles").python_callable
    monkeypatch.setitem(fn.__globals__, "get_current_context", lambda: {"run_id": "manual__1"})
    control_plane.answer(
        "POST",
        "/api/v1/ingest/users",
        (202, {"accepted": 1, "eventIds": ["e1"]}),
        (400, {"statusCode": 400, "message": "event 0 does not match"}),
    )
    assert fn([{"email": "ada@example.com"}]) == ["e1"]
    [sent] = control_plane.requests
    assert sent.body == [{"email": "ada@example.com"}]
    assert sent.headers["X-API-Key"] == "test-key"
    assert sent.headers["Idempotency-Key"] == "airflow:user_profiles_ingest:manual__1"
    with pytest.raises(AirflowFailException, match="POST /api/v1/ingest/users answered 400: event 0 does not match"):
        fn([{"email": "x"}])
    assert fn([]) == [] and len(control_plane.requests) == 2


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
    dag = dagbag.dags["spark_daily_rollup"]
    assert dag.task_ids == ["daily_rollup"]
    op = dag.get_task("daily_rollup")
    assert op.task_type == "_PythonDecoratedOperator"
    assert op.retries == 2
    assert op.execution_timeout == timedelta(hours=1)
    assert dag.is_paused_upon_creation is True
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert core_timetable(dag).summary == "15 0 * * *"
    assert set(dag.tags) == {"pipeline", "spark", "livy"}
    assert dag.params["day"] is None
    assert dag.params["sources"] is None  # every source of the control plane
    assert op.python_callable.__globals__["POLL_SECONDS"] == 5


def test_rollup_params_accept_a_day_and_comma_separated_sources(dagbag):
    """What Airflow checks when a run is triggered with conf (a bad value is refused there, with a 400)."""
    from airflow.sdk.exceptions import ParamValidationError

    params = dagbag.dags["spark_daily_rollup"].params
    day, sources = params.get_param("day"), params.get_param("sources")
    assert day.resolve("2026-01-01") == "2026-01-01"
    assert sources.resolve("users,orders") == "users,orders"
    assert sources.resolve(None) is None
    for bad in ("Users!", "users,", "users, orders", ["users"]):
        with pytest.raises(ParamValidationError):
            sources.resolve(bad)


def test_scheduled_rollup_covers_the_day_that_ended(dagbag):
    """The scheduled run that starts at D+1 00:15 UTC has logical date (ds) D."""
    from airflow.timetables.base import TimeRestriction

    timetable = core_timetable(dagbag.dags["spark_daily_rollup"])
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=datetime(2026, 3, 1, tzinfo=UTC), latest=None, catchup=True),
    )
    assert info.run_after == datetime(2026, 3, 2, 0, 15, tzinfo=UTC)
    assert info.data_interval.start.strftime("%Y-%m-%d") == "2026-03-01"


def test_rollup_day():
    rollup_day = load_module("spark_daily_rollup").rollup_day
    run = SimpleNamespace(logical_date=datetime(2026, 3, 1, 0, 15, tzinfo=UTC), run_after=None)
    assert rollup_day({"day": None}, run) == "2026-03-01"
    assert rollup_day({"day": "2026-02-28"}, run) == "2026-02-28"
    manual = SimpleNamespace(logical_date=None, run_after=datetime(2026, 3, 5, 23, 59, tzinfo=UTC))
    assert rollup_day({}, manual) == "2026-03-05"
    with pytest.raises(ValueError):
        rollup_day({"day": "2026-13-01"}, run)
    with pytest.raises(ValueError):
        rollup_day({"day": "20260101"}, run)


def test_requested_sources():
    sources = load_module("spark_daily_rollup").requested_sources
    assert sources(None) is None
    assert sources("") is None
    assert sources("users") == ["users"]
    assert sources("users,orders") == ["users", "orders"]
    assert sources(" users , orders,,users ") == ["users", "orders"]
    assert sources(["orders", "users", "orders"]) == ["orders", "users"]
    with pytest.raises(ValueError):
        sources(3)
    with pytest.raises(ValueError):
        sources(["users", 3])


def test_known_sources():
    known = load_module("spark_daily_rollup").known_sources
    body = {"sources": [{"name": "users", "topic": "users_created"}, {"name": "orders"}, {"name": "clicks"}]}
    assert known(body) == ["users", "orders", "clicks"]
    for bad in ({"sources": []}, {"nope": 1}, [], None):
        with pytest.raises(ValueError):
            known(bad)


def test_batch_request():
    request = load_module("spark_daily_rollup").batch_request
    assert request("2026-01-01", ["users", "orders"]) == {"args": {"day": "2026-01-01", "sources": ["users", "orders"]}}


# ---- the rollup task against a fake control plane --------------------------------------------------

SUBMIT = "/api/v1/jobs/daily_rollup/batches"
SOURCES = {"sources": [{"name": "users"}, {"name": "orders"}, {"name": "clicks"}]}


@pytest.fixture
def rollup_task(dagbag, monkeypatch):
    """The daily_rollup task's callable, with its run context and no 5 s pauses."""
    fn = dagbag.dags["spark_daily_rollup"].get_task("daily_rollup").python_callable
    ctx: dict = {
        "params": {"day": None, "sources": None},
        "dag_run": SimpleNamespace(logical_date=datetime(2026, 3, 1, 0, 15, tzinfo=UTC), run_after=None),
    }
    monkeypatch.setitem(fn.__globals__, "get_current_context", lambda: ctx)
    monkeypatch.setitem(fn.__globals__, "POLL_SECONDS", 0)
    return fn, ctx


def test_rollup_task_rolls_up_every_known_source_of_the_logical_day(rollup_task, control_plane):
    fn, _ = rollup_task
    control_plane.answer("GET", "/api/v1/sources", (200, SOURCES))
    control_plane.answer("POST", SUBMIT, (201, {"id": 12, "job": "daily_rollup", "state": "starting"}))
    control_plane.answer("GET", "/api/v1/batches/12", (200, {"id": 12, "state": "running"}), (200, {"id": 12, "state": "success"}))
    assert fn() == 12
    [submit] = [r for r in control_plane.requests if r.method == "POST"]
    assert submit.path == SUBMIT
    assert submit.body == {"args": {"day": "2026-03-01", "sources": ["users", "orders", "clicks"]}}
    assert submit.headers["X-API-Key"] == "test-key"
    assert control_plane.paths("GET") == ["/api/v1/sources", "/api/v1/batches/12", "/api/v1/batches/12"]


def test_rollup_task_takes_day_and_sources_from_the_params(rollup_task, control_plane):
    fn, ctx = rollup_task
    ctx["params"] = {"day": "2026-01-01", "sources": "users"}
    control_plane.answer("POST", SUBMIT, (201, {"id": "b-1", "state": "starting"}))
    control_plane.answer("GET", "/api/v1/batches/b-1", (200, {"id": "b-1", "state": "success"}))
    assert fn() == "b-1"
    assert control_plane.requests[0].body == {"args": {"day": "2026-01-01", "sources": ["users"]}}
    assert "/api/v1/sources" not in control_plane.paths()


def test_rollup_task_fails_at_once_on_a_refused_submit(rollup_task, control_plane):
    from airflow.sdk.exceptions import AirflowFailException

    fn, ctx = rollup_task
    ctx["params"] = {"day": "2026-01-01", "sources": "nope"}
    control_plane.answer("POST", SUBMIT, (400, {"statusCode": 400, "message": 'unknown source "nope"'}))
    with pytest.raises(AirflowFailException, match='answered 400: unknown source "nope"'):
        fn()


def test_rollup_task_fails_with_the_driver_log_when_the_batch_dies(rollup_task, control_plane):
    from airflow.sdk.exceptions import AirflowFailException

    fn, _ = rollup_task
    control_plane.answer("GET", "/api/v1/sources", (200, SOURCES))
    control_plane.answer("POST", SUBMIT, (201, {"id": 4, "state": "starting"}))
    control_plane.answer("GET", "/api/v1/batches/4", (200, {"id": 4, "job": "daily_rollup", "state": "dead"}))
    control_plane.answer("GET", "/api/v1/batches/4/log", (200, {"total": 2, "lines": ["stdout: ", "ValueError: boom"]}))
    with pytest.raises(AirflowFailException, match="(?s)batch 4 \\(daily_rollup\\) ended 'dead'.*ValueError: boom"):
        fn()


def test_rollup_task_retries_when_the_control_plane_is_down(rollup_task, control_plane):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    fn, _ = rollup_task
    control_plane.answer("GET", "/api/v1/sources", (503, {"statusCode": 503, "message": "Livy is unavailable"}))
    with pytest.raises(AirflowException, match="answered 503: Livy is unavailable") as err:
        fn()
    assert not isinstance(err.value, AirflowFailException)


def test_rollup_task_refuses_a_bad_day(rollup_task, control_plane):
    from airflow.sdk.exceptions import AirflowFailException

    fn, ctx = rollup_task
    ctx["params"] = {"day": "2026-02-30", "sources": None}
    with pytest.raises(AirflowFailException, match="day"):
        fn()
    assert control_plane.requests == []


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
    randomuser = {
        "results": [
            {
                "gender": "female",
                "name": {"first": "Ada", "last": "Lovelace"},
                "location": {
                    "street": {"number": 12, "name": "St James Square"},
                    "city": "London",
                    "state": "Greater London",
                    "country": "United Kingdom",
                    "postcode": "SW1Y 4JH",
                },
                "email": "ada@example.com",
                "login": {"username": "ada"},
                "dob": {"date": "1815-12-10T00:00:00.000Z"},
                "registered": {"date": "2026-01-01T00:00:00.000Z"},
                "phone": "020 7946 0000",
                "picture": {"medium": "https://example.com/ada.jpg"},
            }
        ]
    }
    [p] = profiles_module.from_api(randomuser)
    assert set(p) == FIELDS
    assert p["address"] == "12 St James Square, London, Greater London, United Kingdom"
    assert p["post_code"] == "SW1Y 4JH"
    with pytest.raises(ValueError):
        profiles_module.from_api({"nope": 1})
