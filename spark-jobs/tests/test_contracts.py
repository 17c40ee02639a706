"""The golden files of contracts/, which the control plane's specs read too: what the jobs write must be
exactly what the TypeScript side parses, and the names must be the ones it uses."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import events_stream
import pipeline_names as names
import pipeline_transforms as pt
import stream_decisions as sd
import stream_view_runner as vr
import stream_views as sv
from fake_cassandra import FakeClock, FakeSession
from stream_store import StreamStore

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def golden(name: str) -> dict:
    return json.loads((CONTRACTS / name).read_text(encoding="utf-8"))


def iso(value):
    """A timestamp as the golden files spell it (ISO 8601, milliseconds, Z); anything else unchanged."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- micro-batch lines --------------------------------------------------------------------------

LINES = golden("micro-batch-lines.json")


@pytest.mark.parametrize("case", LINES["written"], ids=lambda c: c["name"])
def test_the_job_prints_the_golden_micro_batch_line(case):
    stats = sd.BatchStats(**case["stats"])
    at = datetime.fromisoformat(case["at"].replace("Z", "+00:00"))

    line = events_stream.batch_line(
        stats, case["unreadable"], quarantined=case["quarantined"], minutes=case["minutes"], users=case["users"], at=at
    )

    assert line == case["line"]


# --- micro-batch rows ---------------------------------------------------------------------------

MICRO_BATCHES = golden("micro-batch-rows.json")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run_of(case: dict) -> sd.RunInfo:
    return sd.RunInfo(**{**case["run"], "topics": tuple(case["run"]["topics"])})


def stats_of(case: dict) -> sd.BatchStats:
    return sd.BatchStats(**{**case["stats"], "ended_at": parse_time(case["stats"]["ended_at"])})


def test_the_micro_batch_columns_are_the_tables():
    assert MICRO_BATCHES["table"] == names.MICRO_BATCHES_TABLE
    assert tuple(MICRO_BATCHES["columns"]) == sd.MICRO_BATCH_COLUMNS


@pytest.mark.parametrize("case", MICRO_BATCHES["examples"], ids=lambda c: c["name"])
def test_the_job_builds_the_golden_micro_batch_row(case):
    stats = stats_of(case)

    row = sd.micro_batch_values(run_of(case), stats, stats.ended_at)

    assert {column: iso(value) for column, value in row.items()} == case["row"]


@pytest.mark.parametrize("case", MICRO_BATCHES["examples"], ids=lambda c: c["name"])
def test_the_store_inserts_the_golden_row_without_its_null_columns(case):
    session = FakeSession(FakeClock())
    stats = stats_of(case)

    StreamStore(session, names.STREAM_JOB, timeout=1).write_micro_batch(sd.micro_batch_values(run_of(case), stats, stats.ended_at))

    [(cql, params, _)] = session.executed
    written = [column for column, value in case["row"].items() if value is not None]
    assert cql == f"INSERT INTO {names.MICRO_BATCHES_TABLE} ({', '.join(written)}) VALUES ({', '.join('?' * len(written))})"
    assert [iso(value) for value in params] == [case["row"][column] for column in written]


# --- envelopes ----------------------------------------------------------------------------------

ENVELOPES = golden("envelopes.json")
STORED_TIMES = ("received_at", "minute", "bucket")


def test_every_envelope_is_read_as_the_golden_columns(kafka_df):
    cases = ENVELOPES["envelopes"]
    df = kafka_df([case["json"] for case in cases], topic="t")
    rows = pt.classify_envelopes(df, (), ENVELOPES["bucket_seconds"]).orderBy("offset").collect()

    got = [{column: iso(getattr(row, column)) for column in (*cases[0]["stored"], "error")} for row in rows]

    assert got == [{**case["stored"], "error": None} for case in cases]


def test_the_envelope_fields_are_the_ones_the_job_reads():
    read = set(pt.ENVELOPE_SCHEMA.fieldNames())
    for case in ENVELOPES["envelopes"]:
        assert set(json.loads(case["json"])) <= read


def test_the_stored_payload_is_the_published_json_value_except_decimals():
    for case in ENVELOPES["envelopes"]:
        published = json.loads(case["json"])["payload"]
        stored = json.loads(case["stored"]["payload"])
        if "payloadText" in case["input"]:
            # Spark reads JSON decimals as doubles: 0.1000000000000000055511151231257827 comes back 0.1.
            assert stored["id"] == published["id"] == 12345678901234567890
        else:
            assert stored == published


# --- heartbeat rows -----------------------------------------------------------------------------

HEARTBEAT = golden("heartbeat.json")


def test_the_heartbeat_columns_are_the_tables():
    assert HEARTBEAT["table"] == names.HEARTBEATS_TABLE
    assert set(HEARTBEAT["columns"]) - {HEARTBEAT["key"]} == sd.HEARTBEAT_COLUMNS


def test_the_job_writes_the_golden_heartbeat_row():
    given = HEARTBEAT["written"]
    run = sd.RunInfo(**{**given["run"], "topics": tuple(given["run"]["topics"]), "buckets": tuple(map(tuple, given["run"]["buckets"]))})
    started = datetime.fromisoformat(given["started_at"].replace("Z", "+00:00"))
    batch_at = datetime.fromisoformat(given["batch_at"].replace("Z", "+00:00"))

    row = {HEARTBEAT["key"]: run.stream}
    row.update(sd.start_values(run, started))
    row.update({"app_id": given["app_id"], "state": sd.RUNNING})
    row.update(sd.batch_values(given["progress"], sd.BatchStats(**given["stats"]), batch_at))

    assert {column: iso(value) for column, value in row.items()} == HEARTBEAT["row"]
    assert set(HEARTBEAT["row"]) == set(HEARTBEAT["columns"])


# --- names --------------------------------------------------------------------------------------

NAMES = golden("names.json")


def test_created_users_holds_the_fields_of_a_user_profile():
    assert ["first_name", "last_name", *pt.USER_PAYLOAD_FIELDS] == NAMES["user_profile_fields"]


def test_the_tables_and_leases_are_the_control_planes():
    tables = NAMES["tables"]
    assert NAMES["keyspace"] == names.KEYSPACE
    assert (
        tables["events"],
        tables["buckets"],
        tables["counts"],
        tables["users"],
        tables["dead_letters"],
    ) == (names.EVENTS_TABLE, names.BUCKETS_TABLE, names.COUNTS_TABLE, names.USERS_TABLE, names.DEAD_LETTERS_TABLE)
    assert (tables["leases"], tables["heartbeats"], tables["control"], tables["micro_batches"]) == (
        names.LEASES_TABLE,
        names.HEARTBEATS_TABLE,
        names.CONTROL_TABLE,
        names.MICRO_BATCHES_TABLE,
    )
    assert (tables["views"], tables["view_status"], tables["view_results"]) == (
        names.VIEWS_TABLE,
        names.VIEW_STATUS_TABLE,
        names.VIEW_RESULTS_TABLE,
    )
    assert names.STREAM_JOB == events_stream.APP_NAME == NAMES["stream_job"]
    assert names.lease_name(names.STREAM_JOB) == NAMES["leases"]["stream"]


VIEWS = golden("views.json")


@pytest.mark.parametrize("case", VIEWS["valid"], ids=lambda c: c["name"])
def test_the_job_runs_every_definition_the_api_takes(case):
    view = sv.view_from_json(case["definition"])
    assert view.name == case["definition"]["name"]
    vr.starting_timestamp(case["definition"].get("backfillFrom"))


@pytest.mark.parametrize("case", VIEWS["invalid"], ids=lambda c: c["name"])
def test_the_job_refuses_every_definition_the_api_refuses(case):
    with pytest.raises((ValueError, KeyError, TypeError)):
        sv.view_from_json(case["definition"])
