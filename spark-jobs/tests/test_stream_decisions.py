"""stream_decisions: whether a copy takes, waits for or leaves the lease, stop requests, error lines,
offsets and the heartbeat row's values, all pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cassandra.cluster import NoHostAvailable

import stream_decisions as sd

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ME, OTHER = "a" * 32, "b" * 32
STREAM = "events_stream"


def heartbeat(run_id=OTHER, seen_ago: float | None = 2, naive=True, **extra):
    seen = None if seen_ago is None else NOW - timedelta(seconds=seen_ago)
    if seen is not None and naive:
        seen = seen.replace(tzinfo=None)  # as the driver returns it
    return {"run_id": run_id, "host": "h1", "pid": 123, "seen_at": seen, **extra}


# --- decide_lease -------------------------------------------------------------------------------


def decide(answer, hb, ttl=20):
    return sd.decide_lease(answer, hb, run_id=ME, now=NOW, ttl=ttl)


def test_an_applied_insert_takes_the_lease():
    assert decide({"applied": True}, None).action == sd.TAKE


def test_a_lease_already_ours_is_taken():
    # Our INSERT applied, its answer was lost, and the retry sees our own id as the holder.
    assert decide({"applied": False, "holder": ME}, None).action == sd.TAKE


def test_a_live_holder_makes_this_copy_exit_and_names_it():
    decision = decide({"applied": False, "holder": OTHER}, heartbeat(seen_ago=2))
    assert decision.action == sd.EXIT
    assert decision.holder == OTHER
    assert decision.reason == f"another copy holds the stream (run {OTHER}, host h1 pid 123, seen 2 s ago)"


def test_a_holder_seen_just_under_half_the_ttl_ago_is_alive():
    assert decide({"applied": False, "holder": OTHER}, heartbeat(seen_ago=9)).action == sd.EXIT


def test_freshness_takes_aware_and_naive_timestamps():
    assert decide({"applied": False, "holder": OTHER}, heartbeat(seen_ago=5, naive=False)).action == sd.EXIT


@pytest.mark.parametrize(
    "hb, why",
    [
        (heartbeat(seen_ago=20), "is silent"),  # one TTL old: stale
        (heartbeat(seen_ago=10), "is silent"),  # half the TTL old: a killed copy, most likely
        (heartbeat(seen_ago=300), "is silent"),
        (heartbeat(seen_ago=None), "is silent"),
        (heartbeat(run_id="c" * 32, seen_ago=1), "has written no heartbeat"),  # the row is another run's
        (None, "has written no heartbeat"),
    ],
)
def test_a_silent_holder_is_waited_for(hb, why):
    decision = decide({"applied": False, "holder": OTHER}, hb)
    assert decision.action == sd.WAIT
    assert decision.holder == OTHER
    assert why in decision.reason and OTHER in decision.reason


def test_a_lease_row_without_holder_is_waited_for():
    assert decide({"applied": False, "holder": None}, heartbeat()).action == sd.WAIT


# --- stop_reason, renewal_overdue ---------------------------------------------------------------


@pytest.mark.parametrize(
    "control, reason",
    [
        (None, None),
        ({}, None),
        ({"desired": "running", "stop_run": None}, None),
        ({"desired": None, "stop_run": OTHER}, None),
        ({"desired": "stopped", "stop_run": None}, "desired=stopped"),
        ({"desired": "Stopped", "stop_run": None}, None),
        ({"desired": "running", "stop_run": ME}, f"stop_run={ME}"),
        ({"desired": "stopped", "stop_run": ME}, "desired=stopped"),
    ],
)
def test_stop_reason(control, reason):
    assert sd.stop_reason(control, ME) == reason


def test_renewal_is_overdue_one_heartbeat_before_the_ttl():
    assert not sd.renewal_overdue(100.0, 116.9, ttl=20, heartbeat=3)
    assert sd.renewal_overdue(100.0, 117.0, ttl=20, heartbeat=3)


# --- error_summary ------------------------------------------------------------------------------

PROXY_TEXT = (
    "[STREAM_FAILED] Query [id = 1, runId = 2] terminated with exception: An exception was raised by the"
    " Python Proxy. Return Message: Traceback (most recent call last):\n"
    '  File "/x/py4j/clientserver.py", line 617, in _call_proxy\n'
    "    return_value = getattr(self.pool[obj_id], method)(*params)\n"
    "                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    '  File "events_stream.py", line 1, in run_batch\n'
    "cassandra.cluster.NoHostAvailable: ('Unable to connect to any servers', {'10.9.9.9:9042': OSError('timed out')})\n"
)


class _JavaThrowable:
    def __init__(self, name, message, cause=None):
        self._name, self._message, self._cause = name, message, cause

    def getCause(self):
        return self._cause

    def getMessage(self):
        return self._message

    def getClass(self):
        name = self._name
        return type("JavaClass", (), {"getSimpleName": lambda self: name})()


class _Captured(Exception):
    def __init__(self, desc, origin):
        super().__init__(desc)
        self.desc, self._origin = desc, origin


def test_error_summary_of_a_python_exception():
    error = NoHostAvailable("Unable to connect to any servers", {"10.9.9.9:9042": OSError("timed out")})
    assert sd.error_summary(error) == ("NoHostAvailable: ('Unable to connect to any servers', {'10.9.9.9:9042': OSError('timed out')})")
    assert sd.error_summary(TimeoutError()) == "TimeoutError"


def test_error_summary_digs_the_python_exception_out_of_a_stream_failure():
    assert sd.error_summary(Exception(PROXY_TEXT)) == (
        "NoHostAvailable: ('Unable to connect to any servers', {'10.9.9.9:9042': OSError('timed out')})"
    )


def test_error_summary_names_the_jvm_cause():
    origin = _JavaThrowable(
        "StreamingQueryException",
        "terminated",
        _JavaThrowable(
            "SparkConcurrentModificationException", "Multiple streaming queries are concurrently using file:/cp/offsets\n\tat org.apache..."
        ),
    )
    error = _Captured("[STREAM_FAILED] Query [id = 1] terminated with exception: Multiple streaming ...", origin)
    assert sd.error_summary(error) == (
        "SparkConcurrentModificationException: Multiple streaming queries are concurrently using file:/cp/offsets at org.apache..."
    )


def test_error_summary_is_one_bounded_line():
    summary = sd.error_summary(RuntimeError("first\nsecond " + "x" * 1000))
    assert "\n" not in summary
    assert len(summary) == sd.ERROR_LIMIT and summary.startswith("RuntimeError: first second x")
    assert summary.endswith("...")


# --- offsets and row values ---------------------------------------------------------------------

PROGRESS = {
    "batchId": 7,
    "numInputRows": 40,
    "durationMs": {"triggerExecution": 612, "addBatch": 480},
    "sources": [
        {
            "description": "KafkaV2[Subscribe[users_created, ingest.orders]]",
            "startOffset": {"users_created": {"0": 100}},
            "endOffset": {"users_created": {"10": 5, "2": 45, "0": 123}, "ingest.orders": {"0": 9}},
        }
    ],
}


def test_progress_offsets_are_the_sources_end_offsets():
    assert sd.progress_offsets(PROGRESS) == {"users_created": {"0": 123, "2": 45, "10": 5}, "ingest.orders": {"0": 9}}


def test_progress_offsets_read_json_text_merge_sources_and_skip_other_sources():
    progress = {
        "sources": [
            {"endOffset": json.dumps({"t1": {"0": 1}})},
            {"endOffset": {"t2": {"1": 2}}},
            {"endOffset": {"t1": {"1": 3}}},
            {"endOffset": 42},  # a rate source
            {"endOffset": None},
        ]
    }
    assert sd.progress_offsets(progress) == {"t1": {"0": 1, "1": 3}, "t2": {"1": 2}}
    assert sd.progress_offsets({"sources": []}) == {}


def test_offsets_json_is_sparks_format_in_partition_order():
    assert sd.offsets_json(sd.progress_offsets(PROGRESS)) == ('{"ingest.orders":{"0":9},"users_created":{"0":123,"2":45,"10":5}}')
    assert sd.offsets_json({}) is None


RUN = sd.RunInfo(
    stream=STREAM,
    run_id=ME,
    batch_id="42",
    host="h9",
    pid=4321,
    topics=("users_created", "ingest.orders"),
    buckets=(("orders", 3600), ("users", 600)),
)


def test_start_values_describe_the_run_and_clear_its_batch_columns():
    values = sd.start_values(RUN, NOW)
    assert values == {
        "run_id": ME,
        "batch_id": "42",
        "app_id": None,
        "host": "h9",
        "pid": 4321,
        "started_at": NOW,
        "seen_at": NOW,
        "topics": "users_created,ingest.orders",
        "buckets": "orders=3600,users=600",
        "state": "starting",
        "last_error": None,
        "epoch": None,
        "rows_read": None,
        "rows_written": None,
        "dropped": None,
        "duration_ms": None,
        "lag_ms": None,
        "last_batch_at": None,
    }
    assert set(values) <= sd.HEARTBEAT_COLUMNS and "offsets" not in values


def test_batch_values_prefer_the_batchs_own_counts():
    stats = sd.BatchStats(epoch=7, rows_read=40, rows_written=38, dropped=2, duration_ms=480, lag_ms=910)
    assert sd.batch_values(PROGRESS, stats, NOW) == {
        "epoch": 7,
        "rows_read": 40,
        "rows_written": 38,
        "dropped": 2,
        "duration_ms": 480,
        "lag_ms": 910,
        "last_batch_at": NOW,
        "seen_at": NOW,
        "offsets": '{"ingest.orders":{"0":9},"users_created":{"0":123,"2":45,"10":5}}',
    }
    # A batch foreachBatch did not report (never expected, but the progress still counts).
    assert sd.batch_values(PROGRESS, None, NOW) | {"offsets": None} == {
        "epoch": 7,
        "rows_read": 40,
        "rows_written": None,
        "dropped": None,
        "duration_ms": 612,
        "lag_ms": None,
        "last_batch_at": NOW,
        "seen_at": NOW,
        "offsets": None,
    }
    # No offsets in the report: the column keeps its last value.
    assert "offsets" not in sd.batch_values({"batchId": 1, "sources": []}, None, NOW)


def test_end_values():
    assert sd.end_values("stopped", NOW) == {"state": "stopped", "seen_at": NOW}
    assert sd.end_values("failed", NOW, "Boom: x") == {"state": "failed", "seen_at": NOW, "last_error": "Boom: x"}


def test_stall_watch_counts_one_trigger_from_when_it_was_first_seen_running():
    now = [100.0]
    watch = sd.StallWatch(10, lambda: now[0])
    assert watch.check("q", True, 4) is None
    now[0] = 110.0
    assert watch.check("q", True, 4) is None  # 10 s: not past the limit
    now[0] = 110.5
    assert watch.check("q", True, 4) == 10.5


def test_stall_watch_starts_again_after_a_finished_batch_or_between_triggers():
    now = [0.0]
    watch = sd.StallWatch(10, lambda: now[0])
    watch.check("q", True, 4)
    now[0] = 8.0
    assert watch.check("q", True, 5) is None  # batch 5 finished meanwhile: a new trigger runs
    now[0] = 17.0
    assert watch.check("q", True, 5) is None
    assert watch.check("q", False, 5) is None  # idle between triggers
    now[0] = 30.0
    assert watch.check("q", True, 5) is None
    now[0] = 39.0
    assert watch.check("q", True, 5) is None
    # Each query is counted on its own; one with no finished batch yet (None) is watched too.
    assert watch.check("other", True, None) is None
    now[0] = 50.0
    assert watch.check("other", True, None) == 11.0
    assert watch.check("q", True, 5) == 20.0
