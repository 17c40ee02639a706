"""stream_view_runner: views started, stopped and watched from the table the control plane writes, each
query's results and status rows, a restart from the checkpoint, and a failing view beside a healthy one.

The queries are real Spark streaming queries over a directory of JSON files shaped like the Kafka
source's rows; Cassandra is a small fake of the driver's session (the adapter boundary)."""

from __future__ import annotations

import json
import uuid
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import types as T

import stream_view_runner as vr

T0 = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
KAFKA_ROWS = T.StructType(
    [
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("timestamp", T.TimestampType()),
        T.StructField("value", T.StringType()),
    ]
)
ViewRow = namedtuple("ViewRow", "name id source definition")
StatusRow = namedtuple("StatusRow", "late_events last_epoch")


class FakeSession:
    """The three statements the runner prepares: list views, read and write a status row."""

    def __init__(self):
        self.views: dict[str, ViewRow] = {}
        self.status: dict[str, dict] = {}
        self.writes: list[dict] = []

    def prepare(self, cql: str):
        class Prepared:
            consistency_level = None
            query_string = cql

        return Prepared()

    def execute(self, statement, params=()):
        cql = statement.query_string
        if cql.startswith("SELECT name"):
            return Result(list(self.views.values()))
        if cql.startswith("SELECT late_events"):
            row = self.status.get(str(params[0]))
            return Result([StatusRow(row["late_events"], row["last_epoch"])] if row else [])
        assert cql.startswith("INSERT INTO view_status"), cql
        columns = cql[cql.index("(") + 1 : cql.index(")")].split(", ")
        row = dict(zip(columns, params, strict=True))
        row["view_id"] = str(row["view_id"])
        self.status[row["view_id"]] = row
        self.writes.append(row)
        return Result([])


class Result:
    def __init__(self, rows):
        self._rows = rows

    def one(self):
        return self._rows[0] if self._rows else None

    def __iter__(self):
        return iter(self._rows)


class Topic:
    """A directory of JSON files, each one 'fetch' of Kafka rows (one partition, growing offsets)."""

    def __init__(self, path: Path, name: str):
        self.path, self.name, self.offset = path, name, 0
        path.mkdir(parents=True)

    def publish(self, events: list[tuple[float, dict]], source: str = "orders", event_ids: list[str] | None = None) -> list[str]:
        ids = event_ids or [str(uuid.uuid4()) for _ in events]
        lines = []
        for event_id, (seconds, payload) in zip(ids, events, strict=True):
            received = (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
            envelope = {"eventId": event_id, "source": source, "receivedAt": received, "payload": payload}
            lines.append(json.dumps({"topic": self.name, "partition": 0, "offset": self.offset, "value": json.dumps(envelope)}))
            self.offset += 1
        (self.path / f"{self.offset:08d}.json").write_text("\n".join(lines) + "\n")
        return ids


@pytest.fixture
def world(spark, tmp_path):
    session, results = FakeSession(), []
    topics = {"orders": Topic(tmp_path / "ingest.orders", "ingest.orders")}
    failing: set[str] = set()

    def write(df):
        rows = df.collect()
        if any(row.view_id in failing for row in rows):
            raise RuntimeError("Cassandra refused the write: key length of 70000 is longer than maximum of 65535")
        results.extend(rows)

    def runner(**overrides):
        options = {
            "topic_of": {"orders": "ingest.orders"},
            "checkpoint_root": str(tmp_path / "checkpoints"),
            "read_topic": lambda topic, _starting: spark.readStream.schema(KAFKA_ROWS).json(str(topics["orders"].path)),
            "write_results": write,
            "run_id": "run-1",
            "trigger_ms": 100,
            "say": lambda _line: None,
        }
        options.update(overrides)
        return vr.ViewRunner(spark, session, **options)

    class World:
        pass

    w = World()
    w.session, w.results, w.topic, w.runner, w.failing = session, results, topics["orders"], runner, failing
    yield w
    for query in spark.streams.active:
        query.stop()


def define(session: FakeSession, name: str, **overrides) -> str:
    view_id = str(uuid.uuid4())
    definition = {
        "name": name,
        "source": "orders",
        "window": "1m",
        "groupBy": ["/currency"],
        "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "/amount"}],
        "lateness": "1m",
    }
    definition.update(overrides)
    session.views[name] = ViewRow(name, uuid.UUID(view_id), definition["source"], json.dumps(definition))
    return view_id


def latest(results, view_id: str) -> dict[tuple[datetime, str], dict]:
    """The last value written per (window, group): what Cassandra holds after the upserts."""
    out = {}
    for row in results:
        if row.view_id == view_id:
            out[(row.window_start.replace(tzinfo=UTC), row.group_key)] = json.loads(row.values_json)
    return out


def query_of(runner: vr.ViewRunner, view_id: str):
    return runner._running[view_id].query


def test_a_view_is_started_from_the_table_and_its_results_are_full_values_per_window_and_group(world):
    view_id = define(world.session, "revenue")
    world.topic.publish(
        [(1, {"currency": "EUR", "amount": 10}), (2, {"currency": "USD", "amount": 5}), (70, {"currency": "EUR", "amount": 1})]
    )
    runner = world.runner()
    runner.sync()
    assert runner.running == {view_id: "revenue"}
    assert world.session.status[view_id]["state"] == vr.BACKFILLING
    query = query_of(runner, view_id)
    query.processAllAvailable()
    # The watermark is 70 s - 1 m: an event at 15 s still counts in the first window.
    world.topic.publish([(15, {"currency": "EUR", "amount": 2.5})])
    query.processAllAvailable()
    assert latest(world.results, view_id) == {
        (T0, '["EUR"]'): {"count": 2, "sum_amount": 12.5},
        (T0, '["USD"]'): {"count": 1, "sum_amount": 5.0},
        (T0 + timedelta(minutes=1), '["EUR"]'): {"count": 1, "sum_amount": 1.0},
    }
    day = {row.day for row in world.results}
    assert day == {T0.date()}
    # The second batch upserted only the window and group it changed, as a full value.
    assert [json.loads(r.values_json) for r in world.results[-1:]] == [{"count": 2, "sum_amount": 12.5}]


def test_progress_becomes_the_status_row_late_events_added_once_per_epoch(world):
    view_id = define(world.session, "revenue")
    world.topic.publish([(0, {"currency": "EUR", "amount": 1}), (600, {"currency": "EUR", "amount": 1})])
    runner = world.runner()
    runner.sync()
    query = query_of(runner, view_id)
    query.processAllAvailable()
    # The watermark is now 600 s - 1 m: an event at 10 s is later than the view's lateness.
    world.topic.publish([(10, {"currency": "EUR", "amount": 100})])
    query.processAllAvailable()
    progress = query.lastProgress
    runner.on_progress(progress)
    runner.on_progress(progress)  # the same epoch reported twice is counted once
    row = world.session.status[view_id]
    assert row["late_events"] == 1 and row["last_epoch"] == progress["batchId"]
    assert row["watermark"] == T0 + timedelta(seconds=540)
    assert latest(world.results, view_id)[(T0, '["EUR"]')] == {"count": 1, "sum_amount": 1.0}


def test_after_a_restart_from_the_checkpoint_nothing_is_counted_twice(world):
    view_id = define(world.session, "revenue")
    first = world.topic.publish([(1, {"currency": "EUR", "amount": 10}), (2, {"currency": "EUR", "amount": 20})])
    runner = world.runner()
    runner.sync()
    query_of(runner, view_id).processAllAvailable()
    runner.stop()
    assert runner.running == {}
    # A new copy of the job (same checkpoint): one more event, and one the topic holds twice (a
    # retried publish with the same event id).
    world.topic.publish(
        [(3, {"currency": "EUR", "amount": 1}), (4, {"currency": "EUR", "amount": 20})], event_ids=[str(uuid.uuid4()), first[1]]
    )
    again = world.runner()
    again.sync()
    query_of(again, view_id).processAllAvailable()
    assert latest(world.results, view_id) == {(T0, '["EUR"]'): {"count": 3, "sum_amount": 31.0}}


def test_a_deleted_view_is_stopped_and_a_recreated_one_is_a_new_view(world):
    old = define(world.session, "revenue")
    runner = world.runner()
    runner.sync()
    query = query_of(runner, old)
    query.processAllAvailable()
    assert (Path(runner._root) / old).is_dir()
    (Path(runner._root) / "minute_counts").mkdir()
    new = define(world.session, "revenue", window="1h")  # same name, new id
    runner.sync()
    assert runner.running == {new: "revenue"} and not query.isActive
    del world.session.views["revenue"]
    runner.sync()
    assert runner.running == {}
    # Their checkpoints go with them; anything else under the root stays.
    root = Path(runner._root)
    assert not (root / old).exists() and not (root / new).exists()
    assert (root / "minute_counts").is_dir()


def test_a_failing_view_is_marked_failed_and_the_others_go_on(world):
    bad, good = define(world.session, "bad"), define(world.session, "good")
    world.failing.add(bad)
    world.topic.publish([(1, {"currency": "EUR", "amount": 10})])
    runner = world.runner()
    runner.sync()
    with pytest.raises(Exception, match="key length"):
        query_of(runner, bad).processAllAvailable()
    query_of(runner, good).processAllAvailable()
    runner.sync()
    assert runner.running == {good: "good"}
    status = world.session.status[bad]
    assert status["state"] == vr.FAILED and "key length of 70000" in status["error"]
    runner.sync()  # not started again while this run lasts
    assert runner.running == {good: "good"}
    world.topic.publish([(2, {"currency": "EUR", "amount": 1})])
    query_of(runner, good).processAllAvailable()
    assert latest(world.results, good) == {(T0, '["EUR"]'): {"count": 2, "sum_amount": 11.0}}


def test_a_definition_that_cannot_run_is_failed_and_a_view_of_a_source_not_read_waits(world):
    broken = define(world.session, "broken", window="7m")
    waiting = define(world.session, "waiting", source="clicks")
    runner = world.runner()
    runner.sync()
    assert runner.running == {}
    assert world.session.status[broken]["state"] == vr.FAILED
    assert "does not divide a day" in world.session.status[broken]["error"]
    assert waiting not in world.session.status  # pending: the stream restarts onto its topic


def test_status_of_progress_reads_spark_offsets_in_either_form():
    progress = {
        "batchId": 4,
        "sources": [{"endOffset": {"t": {"0": 10, "1": 5}}, "latestOffset": '{"t":{"0":10,"1":9}}'}],
        "stateOperators": [{"numRowsDroppedByWatermark": 2}, {"numRowsDroppedByWatermark": 1}],
        "eventTime": {"watermark": "1970-01-01T00:00:00.000Z"},
    }
    assert vr.status_of_progress(progress) == {
        "state": vr.BACKFILLING,
        "late": 3,
        "offsets_read": 15,
        "offsets_available": 19,
        "watermark": None,
    }
    progress["sources"][0]["latestOffset"] = {"t": {"0": 10, "1": 5}}
    progress["eventTime"]["watermark"] = "2026-03-04T12:00:00.000Z"
    status = vr.status_of_progress(progress)
    assert (status["state"], status["watermark"]) == (vr.RUNNING, T0)


def test_backfill_from_is_kafkas_starting_timestamp():
    assert vr.starting_timestamp(None) is None
    assert vr.starting_timestamp("2026-03-04T12:00:00Z") == str(int(T0.timestamp() * 1000))
    assert vr.starting_timestamp("2026-03-04T13:00:00+01:00") == str(int(T0.timestamp() * 1000))
    with pytest.raises(ValueError, match="no time zone"):
        vr.starting_timestamp("2026-03-04T12:00:00")
