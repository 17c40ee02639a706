"""events_stream's run as a whole: the exits before Spark starts (main over a fake or unreachable
Cassandra), and a real local streaming query run under the guard (a rate source stands in for Kafka)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cassandra.cluster import NoHostAvailable
from pyspark.errors import StreamingQueryException

import events_stream
import stream_decisions as sd
from fake_cassandra import FakeClock, FakeSession
from stream_guard import StreamGuard, utcnow
from stream_store import StreamStore

LEASE = "stream:events_stream"
OTHER = "b" * 32
JOB_TABLES = (
    "leases",
    "stream_heartbeats",
    "stream_control",
    "stream_micro_batches",
    "events_by_bucket",
    "event_buckets",
    "event_counts_by_minute",
)
ARGV = ["--topics", "users_created", "--checkpoint-dir", "/tmp/not-used", "--batch-id", "b-1"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_cassandra_exits_2_at_once_naming_the_host(capfd):
    port = closed_port()
    started = time.monotonic()
    code = events_stream.main(ARGV + ["--cassandra-host", "127.0.0.1", "--cassandra-port", str(port)])
    assert code == sd.EXIT_CASSANDRA == 2
    assert time.monotonic() - started < events_stream.CONNECT_TIMEOUT_SECONDS + 5
    out, err = capfd.readouterr()
    line = f"events_stream: cannot reach Cassandra at 127.0.0.1:{port}: NoHostAvailable: ('Unable to connect to any servers'"
    assert line in out and line in err


def test_a_missing_contract_table_exits_2(capfd):
    session = FakeSession(FakeClock(), tables=("leases", "events_by_bucket", "event_buckets", "event_counts_by_minute"))
    assert events_stream.main(ARGV, connect=lambda *_: session) == 2
    out, err = capfd.readouterr()
    assert "events_stream: cannot use keyspace pipeline at 127.0.0.1:9042: InvalidRequest:" in out
    assert "stream_heartbeats does not exist" in err
    assert session.executed == []


def test_a_second_copy_exits_3_before_building_spark(capfd, monkeypatch):
    clock = FakeClock(utcnow())
    session = FakeSession(clock, tables=JOB_TABLES)
    session.put("leases", LEASE, ttl=20, holder=OTHER, acquired_at=clock.now())
    session.put("stream_heartbeats", "events_stream", run_id=OTHER, host="h1", pid=77, seen_at=clock.now())
    monkeypatch.setattr(events_stream, "build_spark", lambda args: pytest.fail("Spark built by a second copy"))
    assert events_stream.main(ARGV, connect=lambda *_: session) == 3
    out, err = capfd.readouterr()
    line = (
        f"events_stream: another copy holds the stream (run {OTHER}, host h1 pid 77, seen 0 s ago);"
        " this copy exits without touching the checkpoint\n"
    )
    assert out == line and err == line
    assert session.row("stream_heartbeats", "events_stream")["run_id"] == OTHER


def test_the_batch_line_carries_the_numbers_and_the_utc_time_it_ended():
    stats = sd.BatchStats(epoch=12, rows_read=40, rows_written=39, dropped=1, duration_ms=480, lag_ms=910)
    ended = datetime(2026, 1, 1, 13, 0, 1, 250000, tzinfo=timezone(timedelta(hours=1)))

    line = events_stream.batch_line(stats, {"invalid_json": 1}, quarantined=2, minutes=1, users=20, at=ended)

    assert line == (
        "events_stream batch epoch=12 rows=40 unreadable=1 (invalid_json=1) quarantined=2 minutes=1 users=20"
        " duration_ms=480 lag_ms=910 at=2026-01-01T12:00:01.250Z"
    )


def test_a_batch_without_well_formed_events_has_no_lag():
    stats = sd.BatchStats(epoch=3, rows_read=2, rows_written=0, dropped=2, duration_ms=90, lag_ms=None)

    line = events_stream.batch_line(stats, {"invalid_json": 2}, quarantined=0, minutes=0, users=0, at=datetime(2026, 1, 1, tzinfo=UTC))

    assert line == (
        "events_stream batch epoch=3 rows=2 unreadable=2 (invalid_json=2) quarantined=0 minutes=0 users=0 duration_ms=90"
        " at=2026-01-01T00:00:00.000Z"
    )


# --- a real streaming query under the guard -----------------------------------------------------


class Run:
    """A guard over a fake session, and a rate-source query started the way start_stream starts
    the real one: guarded foreachBatch, progress listener, query name."""

    def __init__(self, spark, tmp_path, fail_at: int | None = None, hang_at: int | None = None):
        self.spark, self.checkpoint, self.fail_at = spark, str(tmp_path / "checkpoint"), fail_at
        self.hang_at, self.unhang = hang_at, threading.Event()
        self.session = FakeSession(FakeClock(), tables=JOB_TABLES)
        self.lines: list[str] = []
        self.hard_exits: list[int] = []
        self.run = sd.RunInfo("events_stream", "a" * 32, "b-1", "h9", 42, ("users_created",))
        store = StreamStore(self.session, "events_stream", timeout=1)
        self.guard = StreamGuard(store, self.run, ttl=3, heartbeat=0.2, say=self.lines.append)
        self.guard.acquire()
        self.listener = events_stream.ProgressToGuard(self.guard, events_stream.APP_NAME)

    def process(self, df, epoch_id):
        if self.fail_at is not None and epoch_id >= self.fail_at:
            raise NoHostAvailable("Unable to connect to any servers", {"10.9.9.9:9042": OSError("timed out")})
        if self.hang_at is not None and epoch_id >= self.hang_at:
            self.unhang.wait()  # a call that never returns, as a driver-side schema refresh that waits forever
        rows = df.count()
        return sd.BatchStats(epoch_id, rows, rows, 0, 1, None)

    def start(self):
        self.spark.streams.addListener(self.listener)
        return (
            self.spark.readStream.format("rate")
            .option("rowsPerSecond", 20)
            .load()
            .writeStream.queryName(events_stream.APP_NAME)
            .foreachBatch(events_stream.guarded_batch(self.guard, self.process))
            .option("checkpointLocation", self.checkpoint)
            .trigger(processingTime="100 milliseconds")
            .start()
        )

    def go(self, essential=list, stall_seconds: float = sd.STALL_SECONDS) -> threading.Thread:
        self.result: dict = {}

        def target():
            try:
                self.result["code"] = events_stream.run_guarded(
                    self.guard, self.start, hard_exit=self.hard_exits.append, essential=essential, stall_seconds=stall_seconds
                )
            except Exception as exc:
                self.result["error"] = exc
            finally:
                self.spark.streams.removeListener(self.listener)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread

    def heartbeat(self) -> dict:
        return self.session.row("stream_heartbeats", "events_stream") or {}

    def wait_for_batches(self, epochs: int = 2, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while (self.heartbeat().get("epoch") or -1) < epochs:
            assert time.monotonic() < deadline, f"no progress reported: {self.heartbeat()} {self.lines}"
            time.sleep(0.05)


def test_a_stop_request_stops_the_query_and_exits_0(spark, tmp_path):
    run = Run(spark, tmp_path)
    thread = run.go()
    run.wait_for_batches()
    row = run.heartbeat()
    assert row["state"] == "running" and row.get("app_id") is None  # start_stream sets it; this start does not
    assert row["run_id"] == run.run.run_id and row["batch_id"] == "b-1" and row["rows_read"] >= 0
    assert row["last_batch_at"] is not None and row["seen_at"] >= row["started_at"]
    # One row per micro-batch, of this copy's batch and run.
    batches = run.session.rows("stream_micro_batches")
    assert {key[3] for key in batches} >= {1, 2}
    assert {(r["batch_id"], r["run_id"]) for r in batches.values()} == {("b-1", run.run.run_id)}
    run.session.put("stream_control", "events_stream", desired="stopped")
    thread.join(60)
    assert run.result == {"code": 0}
    assert run.heartbeat()["state"] == "stopped"
    assert run.session.row("leases", LEASE) is None
    assert run.lines[-1] == "events_stream: stopped on request (desired=stopped)"
    assert not spark.streams.active and run.hard_exits == []


def test_a_stolen_lease_stops_the_query_with_3_and_writes_nothing_more(spark, tmp_path):
    run = Run(spark, tmp_path)
    thread = run.go()
    run.wait_for_batches()
    run.session.put("leases", LEASE, holder=OTHER, acquired_at=utcnow())
    thread.join(60)
    assert run.result == {"code": 3}
    assert run.session.row("leases", LEASE)["holder"] == OTHER
    assert run.heartbeat()["state"] == "running"
    assert any(line.startswith(f"events_stream: lost the stream's lease to run {OTHER}") for line in run.lines)
    assert not spark.streams.active


def test_a_failed_query_is_reported_with_its_python_error(spark, tmp_path):
    run = Run(spark, tmp_path, fail_at=2)
    thread = run.go()
    thread.join(90)
    assert isinstance(run.result.get("error"), StreamingQueryException)
    row = run.heartbeat()
    assert row["state"] == "failed"
    assert row["last_error"] == ("NoHostAvailable: ('Unable to connect to any servers', {'10.9.9.9:9042': OSError('timed out')})")
    assert run.session.row("leases", LEASE) is None
    assert run.lines[-1] == f"events_stream: failed: {row['last_error']}"


def test_an_essential_query_that_stops_fails_the_run_so_the_supervisor_starts_a_new_copy(spark, tmp_path):
    run = Run(spark, tmp_path)
    counts = (
        spark.readStream.format("rate")
        .option("rowsPerSecond", 5)
        .load()
        .writeStream.queryName(events_stream.MINUTE_COUNTS_QUERY)
        .foreachBatch(lambda df, epoch: (_ for _ in ()).throw(RuntimeError("Cassandra refused the counts")) if epoch >= 1 else None)
        .option("checkpointLocation", str(tmp_path / "counts"))
        .trigger(processingTime="100 milliseconds")
        .start()
    )
    thread = run.go(essential=lambda: [counts])
    thread.join(90)
    error = run.result.get("error")
    assert isinstance(error, RuntimeError) and str(error).startswith(f"{events_stream.MINUTE_COUNTS_QUERY} stopped: ")
    assert "Cassandra refused the counts" in str(error)
    row = run.heartbeat()
    assert row["state"] == "failed" and events_stream.MINUTE_COUNTS_QUERY in row["last_error"]
    assert run.session.row("leases", LEASE) is None
    assert not spark.streams.active


def test_a_micro_batch_that_never_ends_fails_the_copy_with_4_so_the_supervisor_starts_a_new_one(spark, tmp_path):
    run = Run(spark, tmp_path, hang_at=3)
    started = time.monotonic()
    thread = run.go(stall_seconds=3)
    try:
        thread.join(90)
        assert run.result == {"code": sd.EXIT_STALLED} and run.hard_exits == [sd.EXIT_STALLED]
        # Not before the limit: batches 0-2 ran, then the stuck one for more than 3 s.
        assert time.monotonic() - started > 3
        row = run.heartbeat()
        assert row["state"] == "failed" and row["epoch"] == 2
        assert row["last_error"].startswith(f"Stalled: {events_stream.APP_NAME}: a micro-batch has run for ")
        assert "without finishing (the last finished: 2)" in row["last_error"]
        # The lease is free at once: the next copy need not wait for its TTL.
        assert run.session.row("leases", LEASE) is None
    finally:
        run.unhang.set()
        for query in spark.streams.active:
            query.stop()
