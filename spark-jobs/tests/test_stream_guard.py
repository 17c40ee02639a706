"""stream_guard over stream_store: the lease, heartbeat and stop logic against a fake session."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from cassandra.cluster import NoHostAvailable

import stream_decisions as sd
from cassandra import ConsistencyLevel, OperationTimedOut
from fake_cassandra import FakeClock, FakeSession
from stream_guard import LeaseLost, StreamExit, StreamGuard
from stream_store import StreamStore

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ME, OTHER = "a" * 32, "b" * 32
LEASE = "stream:events_stream"
STREAM = "events_stream"

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

RUN = sd.RunInfo(
    stream=STREAM,
    run_id=ME,
    batch_id="42",
    host="h9",
    pid=4321,
    topics=("users_created", "ingest.orders"),
    buckets=(("orders", 3600), ("users", 600)),
)


# --- the guard over a fake session --------------------------------------------------------------

TTL, HEARTBEAT = 20, 3


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def session(clock):
    return FakeSession(clock)


@pytest.fixture
def lines():
    return []


def make_guard(session, clock, lines, run=RUN):
    store = StreamStore(session, STREAM, timeout=HEARTBEAT)
    return StreamGuard(
        store, run, ttl=TTL, heartbeat=HEARTBEAT, say=lines.append, monotonic=clock.monotonic, now=clock.now, sleep=clock.sleep
    )


def started(session, clock, lines, run=RUN):
    guard = make_guard(session, clock, lines, run)
    guard.acquire()
    guard.starting()
    return guard


def hb_row(session):
    return session.row("stream_heartbeats", STREAM)


def lease_row(session):
    return session.row("leases", LEASE)


def test_statements_use_local_quorum_and_lwts_local_serial(session, clock, lines):
    make_guard(session, clock, lines).acquire()
    [(cql, params, statement)] = session.executed
    assert cql == "INSERT INTO leases (name, holder, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?"
    assert params == (LEASE, ME, NOW, TTL)
    assert statement.consistency_level == ConsistencyLevel.LOCAL_QUORUM
    assert statement.serial_consistency_level == ConsistencyLevel.LOCAL_SERIAL


def test_a_free_stream_is_taken_and_announced(session, clock, lines):
    guard = started(session, clock, lines)
    assert lease_row(session)["holder"] == ME
    row = hb_row(session)
    assert row == {
        "run_id": ME,
        "batch_id": "42",
        "host": "h9",
        "pid": 4321,
        "started_at": NOW.replace(tzinfo=None),
        "seen_at": NOW.replace(tzinfo=None),
        "topics": "users_created,ingest.orders",
        "buckets": "orders=3600,users=600",
        "state": "starting",
    }
    assert guard.holding and lines == []


def test_start_clears_the_previous_runs_batch_columns_and_error_but_keeps_offsets(session, clock, lines):
    session.put(
        "stream_heartbeats",
        STREAM,
        run_id=OTHER,
        epoch=99,
        rows_read=5,
        lag_ms=10,
        state="failed",
        last_error="Boom: x",
        offsets='{"t":{"0":5}}',
        app_id="app-old",
    )
    started(session, clock, lines)
    row = hb_row(session)
    assert row["run_id"] == ME and row["state"] == "starting"
    assert {"epoch", "rows_read", "lag_ms", "last_error", "app_id"}.isdisjoint(row)
    assert row["offsets"] == '{"t":{"0":5}}'


def test_a_live_copy_makes_this_one_exit_3_at_once_without_writing(session, clock, lines):
    session.put("leases", LEASE, ttl=TTL, holder=OTHER, acquired_at=NOW)
    session.put("stream_heartbeats", STREAM, run_id=OTHER, host="h1", pid=123, seen_at=NOW - timedelta(seconds=2))
    guard = make_guard(session, clock, lines)
    with pytest.raises(StreamExit) as exit_info:
        guard.acquire()
    assert exit_info.value.code == sd.EXIT_LEASE == 3
    assert lines == [
        f"events_stream: another copy holds the stream (run {OTHER}, host h1 pid 123, seen 2 s ago);"
        " this copy exits without touching the checkpoint"
    ]
    assert clock.elapsed == 0
    assert [cql.split()[0] for cql in session.statements()] == ["INSERT", "SELECT"]
    assert hb_row(session)["run_id"] == OTHER and lease_row(session)["holder"] == OTHER


def test_a_dead_copys_lease_is_waited_out_then_taken(session, clock, lines):
    # Killed 12 s ago, last renewal 14 s ago: its lease has 6 s left.
    session.put("leases", LEASE, ttl=6, holder=OTHER, acquired_at=NOW)
    session.put("stream_heartbeats", STREAM, run_id=OTHER, host="h1", pid=123, seen_at=NOW - timedelta(seconds=21))
    guard = started(session, clock, lines)
    assert guard.holding and lease_row(session)["holder"] == ME
    assert 6 <= clock.elapsed <= 7
    assert len(lines) == 2
    assert lines[0].startswith(
        f"events_stream: run {OTHER} holds the stream's lease but is silent (run {OTHER},"
        " host h1 pid 123, seen 21 s ago): waiting up to 25 s for its lease to expire"
    )
    assert lines[1] == f"events_stream: took the stream's lease (run {ME})"


def test_a_lease_that_does_not_expire_ends_the_wait_with_exit_3(session, clock, lines):
    session.put("leases", LEASE, ttl=None, holder=OTHER, acquired_at=NOW)  # renewed by a copy gone quiet
    guard = make_guard(session, clock, lines)
    with pytest.raises(StreamExit) as exit_info:
        guard.acquire()
    assert exit_info.value.code == 3
    assert TTL + 5 <= clock.elapsed <= TTL + 6
    assert len(lines) == 2 and "has written no heartbeat" in lines[0]
    assert lines[1].endswith("and its lease did not expire within 25 s; this copy exits without touching the checkpoint")
    assert not guard.holding and lease_row(session)["holder"] == OTHER


def test_a_silent_holder_that_comes_back_makes_the_waiting_copy_exit(session, clock, lines):
    session.put("leases", LEASE, ttl=None, holder=OTHER, acquired_at=NOW)

    def sleep(seconds):  # while this copy waits, the holder writes a heartbeat again
        clock.sleep(seconds)
        session.put("stream_heartbeats", STREAM, run_id=OTHER, host="h1", pid=123, seen_at=clock.now())

    store = StreamStore(session, STREAM, timeout=HEARTBEAT)
    guard = StreamGuard(store, RUN, ttl=TTL, heartbeat=HEARTBEAT, say=lines.append, monotonic=clock.monotonic, now=clock.now, sleep=sleep)
    with pytest.raises(StreamExit):
        guard.acquire()
    assert clock.elapsed == 1
    assert "waiting up to 25 s" in lines[0]
    assert lines[1].startswith(f"events_stream: another copy holds the stream (run {OTHER}, host h1 pid 123, seen 0 s ago)")


def test_heartbeats_keep_the_lease_far_beyond_its_ttl(session, clock, lines):
    guard = started(session, clock, lines)
    for _ in range(40):  # two minutes of heartbeats
        clock.advance(HEARTBEAT)
        guard.tick()
    assert guard.holding and guard.outcome is None
    assert lease_row(session)["holder"] == ME
    assert hb_row(session)["seen_at"] == clock.now().replace(tzinfo=None)
    renewals = [s for s in session.statements("leases") if s.startswith("UPDATE")]
    assert renewals[0] == "UPDATE leases USING TTL ? SET holder = ?, acquired_at = ? WHERE name = ? IF holder = ?"
    # and a second copy now meets a live one
    second = make_guard(session, clock, lines, sd.RunInfo(STREAM, OTHER, "", "h2", 1, ("t",)))
    with pytest.raises(StreamExit):
        second.acquire()
    assert "another copy holds the stream" in lines[-1]


def test_the_running_state_and_the_app_id(session, clock, lines):
    guard = started(session, clock, lines)
    guard.set_app_id("local-1")
    guard.running(lambda lost: None)
    assert hb_row(session)["app_id"] == "local-1" and hb_row(session)["state"] == "running"
    clock.advance(HEARTBEAT)
    guard.tick()
    assert hb_row(session)["state"] == "running"


def test_a_missing_control_row_or_table_is_no_stop_request(clock, lines):
    session = FakeSession(clock, tables=("leases", "stream_heartbeats"))
    guard = started(session, clock, lines)
    for _ in range(3):
        clock.advance(HEARTBEAT)
        guard.tick()
    assert guard.outcome is None and guard.holding
    assert lines == ["events_stream: no stream_control table: stop requests cannot be read until it exists"]
    session.tables["stream_control"] = {}  # the migration runs
    clock.advance(HEARTBEAT)
    guard.tick()
    assert guard.outcome is None
    session.put("stream_control", STREAM, desired="stopped")
    guard.tick()
    assert guard.outcome is not None


@pytest.mark.parametrize(
    "control, reason", [({"desired": "stopped"}, "desired=stopped"), ({"desired": "running", "stop_run": ME}, f"stop_run={ME}")]
)
def test_a_stop_request_stops_releases_and_exits_0(session, clock, lines, control, reason):
    guard = started(session, clock, lines)
    stops = []
    guard.running(stops.append)
    session.put("stream_control", STREAM, **control)
    clock.advance(HEARTBEAT)
    guard.tick()
    assert guard.outcome == sd.Outcome(0, f"stopped on request ({reason})", lost=False)
    assert lines[-1] == f"events_stream: stop requested ({reason}); stopping the query after the current micro-batch"
    guard._apply_outcome()  # what the heartbeat thread does next
    wait_for(lambda: stops == [False])
    # the lease is still renewed while the query finishes its batch
    clock.advance(HEARTBEAT)
    guard.tick()
    assert lease_row(session)["acquired_at"] == clock.now().replace(tzinfo=None)
    assert guard.finish(None) == 0
    assert lines[-1] == f"events_stream: stopped on request ({reason})"
    assert hb_row(session)["state"] == "stopped"
    assert lease_row(session) is None
    assert session.statements()[-1] == "DELETE FROM leases WHERE name = ? IF holder = ?"


def test_a_stop_request_for_another_run_is_ignored(session, clock, lines):
    guard = started(session, clock, lines)
    session.put("stream_control", STREAM, desired="running", stop_run=OTHER)
    clock.advance(HEARTBEAT)
    guard.tick()
    guard.after_batch(sd.BatchStats(1, 1, 1, 0, 5, 5))
    assert guard.outcome is None


def test_a_stop_request_seen_after_a_batch(session, clock, lines):
    guard = started(session, clock, lines)
    session.put("stream_control", STREAM, desired="stopped")
    guard.after_batch(sd.BatchStats(1, 1, 1, 0, 5, 5))  # does not raise: the batch is committed
    assert guard.outcome.code == 0 and not guard.outcome.lost


def test_a_stolen_lease_stops_at_once_and_writes_nothing_more(session, clock, lines):
    guard = started(session, clock, lines)
    stops = []
    guard.running(stops.append)
    session.put("leases", LEASE, ttl=TTL, holder=OTHER, acquired_at=NOW)
    clock.advance(HEARTBEAT)
    guard.tick()
    assert guard.outcome.code == 3 and guard.outcome.lost and not guard.holding
    assert lines[-1] == (
        f"events_stream: lost the stream's lease to run {OTHER}; stopping at once without writing"
        " more (another copy may own the checkpoint now)"
    )
    guard._apply_outcome()
    wait_for(lambda: stops == [True])
    written = len(session.executed)
    clock.advance(HEARTBEAT)
    guard.tick()
    guard.on_progress(PROGRESS)
    with pytest.raises(LeaseLost):
        guard.after_batch(sd.BatchStats(8, 1, 1, 0, 5, 5))
    assert guard.finish(None) == 3
    assert len(session.executed) == written
    assert lease_row(session)["holder"] == OTHER and hb_row(session)["state"] == "running"


def test_a_lease_lost_at_the_end_of_a_batch_fails_the_batch(session, clock, lines):
    guard = started(session, clock, lines)
    session.put("leases", LEASE, ttl=TTL, holder=OTHER, acquired_at=NOW)
    with pytest.raises(LeaseLost, match=f"lost the stream's lease to run {OTHER}"):
        guard.after_batch(sd.BatchStats(3, 1, 1, 0, 5, 5))
    assert guard.outcome.code == 3


def test_cassandra_out_of_reach_stops_the_copy_before_its_lease_expires(session, clock, lines):
    guard = started(session, clock, lines)
    guard.running(lambda lost: None)
    session.down = NoHostAvailable("Unable to connect to any servers", {"10.0.0.1:9042": ConnectionRefusedError()})
    seconds = []
    for _ in range(20):
        clock.advance(guard.next_wait())
        seconds.append(clock.elapsed)
        guard.tick()
        if guard.outcome is not None:
            break
        assert clock.elapsed < TTL
    assert seconds[-1] == TTL - HEARTBEAT  # the last tick lands on the deadline, not after
    assert guard.outcome.code == 3 and guard.outcome.lost
    assert lines[0].startswith("events_stream: cannot renew the stream's lease (NoHostAvailable: ('Unable to connect")
    assert lines[1].startswith("events_stream: could not renew the stream's lease for 17 s (NoHostAvailable:")
    assert lines[1].endswith("stopping before it expires, so that another copy can take over the checkpoint")
    assert len(lines) == 2


def test_a_short_outage_is_ridden_out(session, clock, lines):
    guard = started(session, clock, lines)
    session.down = OperationTimedOut("timed out")
    for _ in range(4):  # 12 s without a renewal
        clock.advance(HEARTBEAT)
        guard.tick()
    session.down = None
    clock.advance(HEARTBEAT)
    guard.tick()
    for _ in range(10):
        clock.advance(HEARTBEAT)
        guard.tick()
    assert guard.outcome is None and lease_row(session)["holder"] == ME
    assert len(lines) == 1 and "cannot renew the stream's lease (OperationTimedOut: errors=timed out" in lines[0]


def test_progress_of_a_batch_is_written_with_its_counts_and_offsets(session, clock, lines):
    guard = started(session, clock, lines)
    guard.after_batch(sd.BatchStats(epoch=7, rows_read=40, rows_written=38, dropped=2, duration_ms=480, lag_ms=910))
    clock.advance(0.2)
    guard.on_progress(PROGRESS)
    row = hb_row(session)
    assert {k: row[k] for k in ("epoch", "rows_read", "rows_written", "dropped", "duration_ms", "lag_ms")} == {
        "epoch": 7,
        "rows_read": 40,
        "rows_written": 38,
        "dropped": 2,
        "duration_ms": 480,
        "lag_ms": 910,
    }
    assert row["last_batch_at"] == row["seen_at"] == clock.now().replace(tzinfo=None)
    assert json.loads(row["offsets"]) == {"users_created": {"0": 123, "2": 45, "10": 5}, "ingest.orders": {"0": 9}}


def test_per_batch_cost_is_one_renewal_one_row_one_read_and_one_write(session, clock, lines):
    guard = started(session, clock, lines)
    guard.tick()  # prepares every statement once
    before = len(session.executed)
    guard.after_batch(sd.BatchStats(1, 1, 1, 0, 5, 5))
    guard.on_progress({**PROGRESS, "batchId": 1})
    kinds = [" ".join(re.match(r"(\w+) (?:.*? FROM |INTO )?(\w+)", cql).groups()) for cql, _, _ in session.executed[before:]]
    assert kinds == ["UPDATE leases", "INSERT stream_micro_batches", "SELECT stream_control", "UPDATE stream_heartbeats"]


# --- the micro-batch rows ------------------------------------------------------------------------

BATCH = sd.BatchStats(
    epoch=7, rows_read=40, rows_written=37, dropped=1, duration_ms=480, lag_ms=910, quarantined=2, minutes=1, users=20, ended_at=NOW
)


def micro_batch_rows(session):
    return session.rows("stream_micro_batches")


def test_each_micro_batch_leaves_its_row_keyed_by_stream_day_end_and_epoch(session, clock, lines):
    guard = started(session, clock, lines)
    guard.after_batch(BATCH)
    clock.advance(1)
    guard.after_batch(sd.BatchStats(8, 3, 0, 3, 90, None, ended_at=clock.now()))

    rows = micro_batch_rows(session)

    assert rows == {
        (STREAM, NOW.date(), NOW, 7): {
            "batch_id": "42",
            "run_id": ME,
            "rows_read": 40,
            "rows_written": 37,
            "unreadable": 1,
            "quarantined": 2,
            "minutes": 1,
            "users": 20,
            "duration_ms": 480,
            "lag_ms": 910,
        },
        (STREAM, NOW.date(), clock.now(), 8): {
            "batch_id": "42",
            "run_id": ME,
            "rows_read": 3,
            "rows_written": 0,
            "unreadable": 3,
            "quarantined": 0,
            "minutes": 0,
            "users": 0,
            "duration_ms": 90,
        },
    }
    assert lines == []


def test_a_micro_batch_row_that_cannot_be_written_never_fails_the_batch(clock, lines):
    session = FakeSession(clock, tables=("leases", "stream_heartbeats", "stream_control"))  # no stream_micro_batches yet
    guard = started(session, clock, lines)
    session.put("stream_control", STREAM, desired="stopped")

    guard.after_batch(BATCH)  # does not raise
    guard.after_batch(sd.BatchStats(8, 1, 1, 0, 5, 5))

    assert guard.holding and guard.outcome.code == 0  # renewed, and the stop request still read
    assert len(lines) == 2  # said once for the streak, then the stop request
    assert lines[0].startswith("events_stream: cannot write the micro-batch's row (InvalidRequest:")
    assert "stream_micro_batches does not exist" in lines[0]
    session.tables["stream_micro_batches"] = {}  # the migration runs
    guard.after_batch(BATCH)
    assert len(micro_batch_rows(session)) == 1


def test_a_slow_cassandra_holds_a_batch_up_at_most_the_stores_timeout_for_its_row(session, clock, lines):
    guard = started(session, clock, lines)
    timeouts = []
    execute = session.execute

    def timing_out(statement, parameters=(), timeout=None):
        if statement.query_string.startswith("INSERT INTO stream_micro_batches"):
            timeouts.append(timeout)
            raise OperationTimedOut("timed out")
        return execute(statement, parameters, timeout)

    session.execute = timing_out
    guard.after_batch(BATCH)
    guard.after_batch(BATCH)

    assert timeouts == [HEARTBEAT, HEARTBEAT]
    assert guard.holding and guard.outcome is None
    assert lines == [
        "events_stream: cannot write the micro-batch's row (OperationTimedOut: errors=timed out, last_host=None);"
        " the next batch tries again"
    ]
    assert micro_batch_rows(session) == {}


def test_no_micro_batch_row_once_the_lease_is_lost(session, clock, lines):
    guard = started(session, clock, lines)
    session.put("leases", LEASE, ttl=TTL, holder=OTHER, acquired_at=NOW)
    with pytest.raises(LeaseLost):
        guard.after_batch(BATCH)
    assert micro_batch_rows(session) == {}


def test_a_failed_query_is_recorded_and_the_lease_released(session, clock, lines):
    guard = started(session, clock, lines)
    error = NoHostAvailable("Unable to connect to any servers", {"127.0.0.1:9042": ConnectionRefusedError(111)})
    assert guard.finish(error) is None
    row = hb_row(session)
    assert row["state"] == "failed"
    assert row["last_error"] == ("NoHostAvailable: ('Unable to connect to any servers', {'127.0.0.1:9042': ConnectionRefusedError(111)})")
    assert lease_row(session) is None
    assert lines[-1] == f"events_stream: failed: {row['last_error']}"


def test_finish_survives_an_unreachable_cassandra(session, clock, lines):
    guard = started(session, clock, lines)
    session.down = OperationTimedOut("timed out")
    assert guard.finish(RuntimeError("boom")) is None
    assert any("cannot release the stream's lease" in line for line in lines)


def test_heartbeat_thread_carries_out_a_stop_request():
    # Real time, short intervals: the thread renews, sees the request and calls the stopper once.
    clock = FakeClock(NOW)
    session = FakeSession(clock)
    store = StreamStore(session, STREAM, timeout=1)
    guard = StreamGuard(store, RUN, ttl=1.0, heartbeat=0.05, say=lambda line: None, now=clock.now)
    guard.acquire()
    guard.starting()
    stopped = threading.Event()
    guard.running(lambda lost: stopped.set())
    guard.start_heartbeats()
    time.sleep(0.2)
    renewals = len([s for s in session.statements("leases") if s.startswith("UPDATE")])
    assert renewals >= 2
    session.put("stream_control", STREAM, desired="stopped")
    assert stopped.wait(2)
    assert guard.finish(None) == 0
    assert hb_row(session)["state"] == "stopped" and lease_row(session) is None


def wait_for(condition, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
