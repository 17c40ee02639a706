"""events_stream's micro-batch function on a local SparkSession: what it writes to which table,
and the line it prints (the Spark Cassandra connector, the minute recount and the bucket index
replaced by fakes); then the recount and the index over a fake driver session."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from py4j.protocol import Py4JJavaError

import events_stream
import pipeline_transforms as pt

ID_A = "0190a5e4-7c1b-7def-8000-000000000001"
ID_B = "0190a5e4-7c1b-7def-8000-000000000002"
ID_C = "0190a5e4-7c1b-7def-8000-000000000003"
DLQ = "ingest.orders.dlq"
SOURCES = {"ingest.orders": "orders", DLQ: "orders"}


def envelope(event_id, received_at="2026-01-01T12:00:00.000Z", **extra):
    return json.dumps(
        {"eventId": event_id, "source": "orders", "receivedAt": received_at, "payload": {"order_id": "o-1", "amount": 1}, **extra}
    )


def utc_ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


class Counts:
    """MinuteCounts without Cassandra: remembers the minutes it was asked to recount."""

    def __init__(self):
        self.minutes = []

    def refresh(self, minutes):
        self.minutes.extend(minutes)


class Index:
    """BucketIndex without Cassandra: remembers the buckets it was asked to list, and what was
    written by then."""

    def __init__(self, written):
        self.buckets, self._written, self.tables_written_before = [], written, None

    def record(self, buckets):
        self.buckets.extend(buckets)
        self.tables_written_before = set(self._written)


@pytest.fixture
def run(records):
    """run([(topic, value), ...]) -> (stats, {table: rows written}, counts, index) of one micro-batch."""

    def go(items, bucket_seconds=None, recount_before=None):
        written: dict[str, list] = {}

        def write(df, keyspace, table):
            assert keyspace == "pipeline"
            rows = df.collect()
            written.setdefault(table, []).extend(rows)

        counts = Counts()
        index = Index(written)
        with ThreadPoolExecutor(max_workers=3) as pool:
            stats = events_stream.process_batch(
                records(items),
                12,
                keyspace="pipeline",
                counts=counts,
                index=index,
                partitions=1,
                pool=pool,
                dead_letter_topics=(DLQ,),
                topic_sources=SOURCES,
                bucket_seconds=bucket_seconds,
                write=write,
                recount_before=recount_before,
            )
        return stats, written, counts, index

    return go


def test_a_batch_without_dead_letters_writes_no_dead_letters_table(run, capsys):
    stats, written, counts, index = run([("ingest.orders", envelope(ID_A))])

    assert set(written) == {"events_by_bucket", "created_users"}
    assert [r.event_id for r in written["events_by_bucket"]] == [ID_A]
    assert len(counts.minutes) == 1
    assert (stats.rows_read, stats.rows_written, stats.dropped) == (1, 1, 0)
    line = capsys.readouterr().out.strip()
    assert line.startswith("events_stream batch epoch=12 rows=1 unreadable=0 quarantined=0 minutes=1 users=0 duration_ms=")


def test_quarantined_events_and_unreadable_records_go_to_dead_letters_and_nowhere_else(run, capsys):
    quarantined = envelope(ID_B, reasons=[{"field": "/amount", "message": "must be number"}], schemaHash="h")

    stats, written, counts, index = run(
        [
            ("ingest.orders", envelope(ID_A)),
            (DLQ, quarantined),
            ("ingest.orders", "not json"),
        ]
    )

    assert [r.event_id for r in written["events_by_bucket"]] == [ID_A]
    # Only the stored event's bucket is listed.
    assert index.buckets == [("orders", date(2026, 1, 1), utc_ms(2026, 1, 1, 12), 3600)]
    rows = {r.id: r for r in written["dead_letters"]}
    assert set(rows) == {ID_B, "ingest.orders:0:2"}
    assert (rows[ID_B].source, rows[ID_B].reason, rows[ID_B].schema_hash) == ("orders", pt.QUARANTINED, "h")
    assert (rows["ingest.orders:0:2"].source, rows["ingest.orders:0:2"].reason, rows["ingest.orders:0:2"].raw) == (
        "orders",
        pt.INVALID_JSON,
        "not json",
    )
    # Only the stored event's minute is recounted.
    assert len(counts.minutes) == 1
    assert (stats.rows_read, stats.rows_written, stats.dropped) == (3, 1, 1)
    out = capsys.readouterr().out
    assert " rows=3 unreadable=1 (invalid_json=1) quarantined=1 minutes=1 " in out
    # The numbers of the batch's row (stream_micro_batches) are the line's, its end time too.
    assert (stats.quarantined, stats.minutes, stats.users) == (1, 1, 0)
    assert out.strip().endswith(f" at={stats.ended_at.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}")


def test_events_are_stored_in_the_bucket_of_their_sources_size_and_every_bucket_written_is_listed(run, capsys):
    stats, written, counts, index = run(
        [
            ("ingest.orders", envelope(ID_A, received_at="2026-01-01T12:00:01.000Z")),
            ("ingest.orders", envelope(ID_B, received_at="2026-01-01T12:00:31.000Z")),
            ("ingest.orders", envelope(ID_B, received_at="2026-01-01T12:00:31.000Z")),  # a retried publish
            ("ingest.orders", envelope(ID_C, received_at="2026-01-01T12:01:02.000Z")),
        ],
        bucket_seconds={"orders": 30},
    )

    assert sorted(r.event_id for r in written["events_by_bucket"]) == [ID_A, ID_B, ID_C]
    assert written["events_by_bucket"][0].__fields__ == pt.EVENT_COLUMNS
    # Listed while the events were being written, before the recount.
    assert index.tables_written_before is not None and counts.minutes
    assert sorted(index.buckets) == [
        ("orders", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 0, 0), 30),
        ("orders", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 0, 30), 30),
        ("orders", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 1, 0), 30),
    ]
    # Each minute is recounted once, however many buckets it spans.
    assert sorted(counts.minutes) == [
        ("orders", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 0)),
        ("orders", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 1)),
    ]
    assert " minutes=2 " in capsys.readouterr().out
    assert (stats.rows_read, stats.rows_written) == (4, 4)


def test_beside_the_minute_counts_view_only_minutes_older_than_its_lateness_are_recounted(run, capsys):
    stats, written, counts, index = run(
        [
            ("ingest.orders", envelope(ID_A, received_at="2026-01-01T12:00:01.000Z")),
            ("ingest.orders", envelope(ID_B, received_at="2026-01-01T12:05:01.000Z")),
        ],
        recount_before=lambda: utc_ms(2026, 1, 1, 12, 3),
    )
    # Both stored and both minutes in the batch's line; only the one the view no longer keeps recounted.
    assert sorted(r.event_id for r in written["events_by_bucket"]) == [ID_A, ID_B]
    assert counts.minutes == [("orders", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 0))]
    assert " minutes=2 " in capsys.readouterr().out


class DriverSession:
    """The few driver calls MinuteCounts and BucketIndex make: prepare, and the statements
    execute_concurrent_with_args runs (patched to run them here, one by one)."""

    def __init__(self, rows_per_bucket=None):
        self.rows_per_bucket = rows_per_bucket or {}
        self.executed = []

    def prepare(self, cql):
        return type("Prepared", (), {"query_string": cql, "consistency_level": None})()

    def run(self, statement, params):
        self.executed.append((statement.query_string, params))
        if statement.query_string.startswith("SELECT count(*)"):
            source, bucket, start, end = params
            count = self.rows_per_bucket.get((source, int(bucket.timestamp() * 1000)), 0)
            return type("Result", (), {"one": lambda self: (count,)})()
        return None


@pytest.fixture
def driver(monkeypatch):
    session = DriverSession()

    def concurrent(session_, statement, params, concurrency):
        return [(True, session_.run(statement, p)) for p in params]

    monkeypatch.setattr(events_stream, "execute_concurrent_with_args", concurrent)
    return session


def test_a_minute_is_counted_in_the_one_bucket_of_an_hour_that_holds_it(driver):
    driver.rows_per_bucket = {("orders", utc_ms(2026, 1, 1, 12)): 7}
    counts = events_stream.MinuteCounts(driver, {"orders": 3600})

    counts.refresh([("orders", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 5))])

    selects = [params for cql, params in driver.executed if cql.startswith("SELECT")]
    assert [cql for cql, _ in driver.executed][0] == (
        "SELECT count(*) FROM events_by_bucket WHERE source = ? AND bucket = ? AND received_at >= ? AND received_at < ?"
    )
    assert selects == [
        (
            "orders",
            datetime(2026, 1, 1, 12, tzinfo=UTC),
            datetime(2026, 1, 1, 12, 5, tzinfo=UTC),
            datetime(2026, 1, 1, 12, 6, tzinfo=UTC),
        )
    ]
    inserts = [params for cql, params in driver.executed if cql.startswith("INSERT")]
    assert inserts == [("orders", date(2026, 1, 1), datetime(2026, 1, 1, 12, 5, tzinfo=UTC), 7)]


def test_a_minute_spanning_several_buckets_is_the_sum_of_their_counts(driver):
    driver.rows_per_bucket = {("clicks", utc_ms(2026, 1, 1, 12, 5)): 3, ("clicks", utc_ms(2026, 1, 1, 12, 5, 30)): 4}
    counts = events_stream.MinuteCounts(driver, {"clicks": 30})

    counts.refresh([("clicks", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 5)), ("users", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 5))])

    buckets = [params[1] for cql, params in driver.executed if cql.startswith("SELECT")]
    assert buckets == [
        datetime(2026, 1, 1, 12, 5, tzinfo=UTC),
        datetime(2026, 1, 1, 12, 5, 30, tzinfo=UTC),
        datetime(2026, 1, 1, 12, tzinfo=UTC),
    ]  # users: not given a size, 1 h
    inserts = [params for cql, params in driver.executed if cql.startswith("INSERT")]
    assert [(p[0], p[3]) for p in inserts] == [("clicks", 7), ("users", 0)]


def test_the_bucket_index_lists_each_bucket_once_with_its_size(driver):
    index = events_stream.BucketIndex(driver)

    index.record(
        [("clicks", date(2026, 1, 1), utc_ms(2026, 1, 1, 12, 5), 30)] * 2 + [("users", date(2026, 1, 1), utc_ms(2026, 1, 1, 12), 3600)]
    )

    assert driver.executed == [
        (
            "INSERT INTO event_buckets (source, day, bucket, bucket_seconds) VALUES (?, ?, ?, ?)",
            ("clicks", date(2026, 1, 1), datetime(2026, 1, 1, 12, 5, tzinfo=UTC), 30),
        ),
        (
            "INSERT INTO event_buckets (source, day, bucket, bucket_seconds) VALUES (?, ?, ?, ?)",
            ("users", date(2026, 1, 1), datetime(2026, 1, 1, 12, tzinfo=UTC), 3600),
        ),
    ]


def test_the_connector_session_is_checked_before_anything_is_written(records):
    """A check that fails fails the batch before any write."""

    class Unusable:
        def check(self):
            raise RuntimeError("the connector's session did not answer")

    written: dict[str, list] = {}
    with ThreadPoolExecutor(max_workers=3) as pool, pytest.raises(RuntimeError, match="did not answer"):
        events_stream.process_batch(
            records([("ingest.orders", envelope(ID_A))]),
            13,
            keyspace="pipeline",
            counts=Counts(),
            index=Index(written),
            partitions=1,
            pool=pool,
            write=lambda df, keyspace, table: written.setdefault(table, []).extend(df.collect()),
            connector=Unusable(),
        )
    assert written == {}


class FakeJavaException:
    """What py4j hands Python of a Java exception: a proxy with an id and the Java methods."""

    _target_id = "o2"

    def __init__(self, name):
        self._name = name

    def getClass(self):
        return self

    def getName(self):
        return self._name

    def getCause(self):
        return "java.lang.IllegalStateException: Control channel not available, aborting schema refresh"

    def toString(self):
        return f"{self._name}: Unexpected error on channel"


class FakeSession:
    """A connector session whose schema refresh answers, or raises the Java exception given (through py4j)."""

    def __init__(self, raises: str | None = None):
        self.raises, self.closed = raises, False

    def refreshSchemaAsync(self):
        return self

    def toCompletableFuture(self):
        return self

    def get(self, timeout, unit):
        self.waited = (timeout, unit)
        if self.raises:
            raise Py4JJavaError("An error occurred while calling o1.get.", FakeJavaException(self.raises))

    def close(self):
        self.closed = True


@pytest.mark.parametrize(
    ("raises", "evicted"),
    [(None, 0), ("java.util.concurrent.TimeoutException", 1), ("java.util.concurrent.ExecutionException", 1)],
)
def test_a_schema_refresh_that_does_not_answer_closes_the_connectors_sessions(raises, evicted):
    session = FakeSession(raises)
    evictions, said = [], []
    schema = events_stream.ConnectorSchema(lambda: session, lambda: evictions.append(1), "ms", timeout_seconds=15, say=said.append)

    schema.check()

    assert session.waited == (15_000, "ms")
    assert session.closed
    assert (len(evictions), schema.renewed, len(said)) == (evicted, evicted, evicted)
    if raises == "java.util.concurrent.TimeoutException":
        assert "did not answer within 15000 ms" in said[0]
    if raises == "java.util.concurrent.ExecutionException":
        assert "schema refresh failed (IllegalStateException: Control channel not available" in said[0]


def timeout_error() -> Py4JJavaError:
    return Py4JJavaError("An error occurred while calling o1.save.", FakeJavaException("java.lang.IllegalStateException"))


def test_a_failed_write_is_written_once_more_after_the_session_is_checked():
    sessions, calls = [], []

    def open_session():
        sessions.append(FakeSession())
        return sessions[-1]

    schema = events_stream.ConnectorSchema(open_session, lambda: None, "ms", say=lambda _: None)

    def write(df, keyspace, table):
        calls.append((table, len(sessions)))
        if len(calls) == 1:
            raise timeout_error()

    schema.guarded(write)(None, "pipeline", "events_by_bucket")

    # Written, checked, written again.
    assert calls == [("events_by_bucket", 0), ("events_by_bucket", 1)]


def test_a_write_that_fails_twice_fails_the_batch():
    schema = events_stream.ConnectorSchema(lambda: FakeSession(), lambda: None, "ms", say=lambda _: None)
    calls = []

    def write(df, keyspace, table):
        calls.append(table)
        raise timeout_error()

    with pytest.raises(Py4JJavaError):
        schema.guarded(write)(None, "pipeline", "events_by_bucket")
    assert calls == ["events_by_bucket", "events_by_bucket"]


def test_writes_that_run_past_the_timeout_get_the_session_checked_meanwhile():
    sessions = []

    def open_session():
        sessions.append(FakeSession())
        return sessions[-1]

    schema = events_stream.ConnectorSchema(open_session, lambda: None, "ms", timeout_seconds=0.05)
    with ThreadPoolExecutor(max_workers=1) as pool:
        schema.wait([pool.submit(time.sleep, 0.2)])
    assert len(sessions) >= 2
    assert all(s.closed for s in sessions)


def test_another_error_of_the_schema_refresh_is_raised_and_evicts_nothing():
    session = FakeSession("com.datastax.oss.driver.api.core.AllNodesFailedException")
    evictions = []
    schema = events_stream.ConnectorSchema(lambda: session, lambda: evictions.append(1), "ms")

    with pytest.raises(Py4JJavaError):
        schema.check()

    assert session.closed
    assert evictions == []
