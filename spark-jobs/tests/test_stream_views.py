"""stream_views: each aggregate, filter and window over small frames, and on a stream: the watermark,
late events, duplicates, and a restart from the checkpoint that counts nothing twice."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import types as T

import stream_views as sv

T0 = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
EVENTS_SCHEMA = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("received_at", T.TimestampType()),
        T.StructField("payload", T.StringType()),
    ]
)


def view(**overrides):
    doc = {"name": "v", "source": "orders", "window": "1m", "aggregates": [{"fn": "count"}]}
    doc.update(overrides)
    return sv.view_from_json(doc)


def event(seconds: float, payload: dict, event_id: str | None = None):
    return (event_id or str(uuid.uuid4()), T0 + timedelta(seconds=seconds), json.dumps(payload))


def results(spark, definition, events):
    df = spark.createDataFrame(events, EVENTS_SCHEMA)
    rows = sv.result_rows(sv.view_aggregation(df, definition), definition).collect()
    return {(r.window_start.replace(tzinfo=UTC), r.group_key): json.loads(r.values_json) for r in rows}


# ---- definitions ----------------------------------------------------------------------------------


def test_a_definition_reads_as_the_api_stores_it():
    v = sv.view_from_json(
        {
            "name": "revenue",
            "source": "orders",
            "window": "1h",
            "slide": "15m",
            "groupBy": ["/currency", "/shop/country"],
            "filter": [{"field": "/status", "op": "=", "value": "paid"}],
            "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "/amount", "as": "revenue"}, {"fn": "p95", "field": "/latency_ms"}],
            "timeField": "/paid_at",
            "lateness": "2m",
        }
    )
    assert (v.window_seconds, v.slide_seconds, v.lateness_seconds) == (3600, 900, 120)
    assert [a.name for a in v.aggregates] == ["count", "revenue", "p95_latency_ms"]
    assert v.filters == (sv.Condition("/status", "=", "paid"),)
    assert view().lateness_seconds == sv.DEFAULT_LATENESS_SECONDS


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"window": "7m"}, "does not divide a day"),
        ({"window": "1x"}, "not a duration"),
        ({"window": "1h", "slide": "7m"}, "must divide the window"),
        ({"groupBy": ["/a", "/b", "/c", "/d"]}, "at most 3"),
        ({"groupBy": ["currency"]}, "not a JSON Pointer"),
        ({"groupBy": ["/it's"]}, "may not be empty or hold"),
        ({"aggregates": [{"fn": "median", "field": "/a"}]}, "unknown function"),
        ({"aggregates": [{"fn": "sum"}]}, "sum needs a field"),
        ({"aggregates": [{"fn": "count"}, {"fn": "sum", "field": "/a", "as": "count"}]}, "same name: count"),
        ({"filter": [{"field": "/a", "op": "~", "value": 1}]}, "unknown operator"),
        ({"filter": [{"field": "/a", "op": "in", "value": 1}]}, "value of `in` is a list"),
    ],
)
def test_a_wrong_definition_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        view(**overrides)


def test_pointers_become_json_paths():
    assert sv.json_path("/a/b~1c/d~0e") == "$['a']['b/c']['d~e']"
    assert sv.aggregate_name("sum", "/order/amount") == "sum_order_amount"


# ---- aggregates over a batch ----------------------------------------------------------------------


def test_each_aggregate_per_group_and_window(spark):
    definition = view(
        groupBy=["/currency"],
        aggregates=[
            {"fn": "count"},
            {"fn": "sum", "field": "/amount"},
            {"fn": "avg", "field": "/amount"},
            {"fn": "min", "field": "/amount"},
            {"fn": "max", "field": "/amount"},
            {"fn": "distinct", "field": "/user"},
            {"fn": "p50", "field": "/amount"},
            {"fn": "p99", "field": "/amount"},
        ],
    )
    events = [event(s, {"currency": "EUR", "amount": s, "user": f"u{s % 3}"}) for s in range(1, 11)]
    events += [event(5, {"currency": "USD", "amount": 7.5, "user": "u1"}), event(65, {"currency": "EUR", "amount": 100, "user": "u9"})]
    got = results(spark, definition, events)
    assert got[(T0, '["EUR"]')] == {
        "count": 10,
        "sum_amount": 55.0,
        "avg_amount": 5.5,
        "min_amount": 1.0,
        "max_amount": 10.0,
        "distinct_user": 3,
        "p50_amount": 5.0,
        "p99_amount": 10.0,
    }
    assert got[(T0, '["USD"]')]["sum_amount"] == 7.5
    assert got[(T0 + timedelta(minutes=1), '["EUR"]')]["count"] == 1
    assert len(got) == 3


def test_a_missing_or_non_numeric_value_is_left_out_as_sql_leaves_out_null(spark):
    definition = view(
        aggregates=[{"fn": "count"}, {"fn": "sum", "field": "/amount"}, {"fn": "count", "field": "/amount", "as": "with_amount"}],
    )
    got = results(spark, definition, [event(1, {"amount": 2}), event(2, {"amount": "n/a"}), event(3, {})])
    assert got[(T0, "[]")] == {"count": 3, "sum_amount": 2.0, "with_amount": 2}


def test_a_group_without_the_field_is_the_null_group(spark):
    got = results(spark, view(groupBy=["/page"]), [event(1, {"page": "/a"}), event(2, {})])
    assert got == {(T0, '["/a"]'): {"count": 1}, (T0, "[null]"): {"count": 1}}


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        ({"field": "/status", "op": "=", "value": "paid"}, {1, 3}),
        ({"field": "/status", "op": "!=", "value": "paid"}, {2}),
        ({"field": "/amount", "op": ">", "value": 10}, {2, 3}),
        ({"field": "/amount", "op": ">=", "value": 10}, {1, 2, 3}),
        ({"field": "/amount", "op": "<", "value": 10.5}, {1}),
        ({"field": "/amount", "op": "<=", "value": 11}, {1, 2}),
        ({"field": "/amount", "op": "=", "value": 10}, {1}),
        ({"field": "/status", "op": "in", "value": ["paid", "void"]}, {1, 3}),
        ({"field": "/amount", "op": "in", "value": [11, 99]}, {2}),
        ({"field": "/vip", "op": "=", "value": True}, {3}),
        ({"field": "/note", "op": "exists"}, {2}),
    ],
)
def test_filters(spark, condition, kept):
    events = [
        event(1, {"n": 1, "status": "paid", "amount": 10}),
        event(2, {"n": 2, "status": "open", "amount": 11.0, "note": "x"}),
        event(3, {"n": 3, "status": "paid", "amount": 12, "vip": True}),
    ]
    definition = view(filter=[condition], aggregates=[{"fn": "max", "field": "/n"}, {"fn": "count"}])
    got = results(spark, definition, events)
    if not kept:
        assert got == {}
        return
    assert got[(T0, "[]")]["count"] == len(kept)
    assert got[(T0, "[]")]["max_n"] == max(kept)


def test_hopping_windows_count_an_event_in_each_window_that_holds_it(spark):
    definition = view(window="2m", slide="1m")
    got = results(spark, definition, [event(90, {})])
    # 12:01:30 is in [12:00, 12:02) and [12:01, 12:03).
    assert set(got) == {(T0, "[]"), (T0 + timedelta(minutes=1), "[]")}


def test_the_time_field_sets_the_window(spark):
    definition = view(timeField="/at")
    got = results(
        spark,
        definition,
        [
            event(1, {"at": "2026-03-04T11:30:10Z"}),
            event(2, {"at": int((T0 - timedelta(minutes=29)).timestamp() * 1000)}),
            event(3, {"at": "soon"}),
        ],
    )
    # The event whose time cannot be read is in no window.
    assert got == {(T0 - timedelta(minutes=30), "[]"): {"count": 1}, (T0 - timedelta(minutes=29), "[]"): {"count": 1}}


def test_a_duplicate_event_id_counts_once(spark):
    same = str(uuid.uuid4())
    got = results(spark, view(), [event(1, {}, same), event(1, {}, same), event(2, {})])
    assert got[(T0, "[]")] == {"count": 2}


# ---- on a stream ----------------------------------------------------------------------------------


class Sink:
    """foreachBatch that upserts full values by (window, group), as the Cassandra sink does."""

    def __init__(self) -> None:
        self.rows: dict[tuple, dict] = {}
        self.batches = 0

    def __call__(self, df, epoch_id) -> None:
        self.batches += 1
        for r in df.collect():
            self.rows[(r.window_start.replace(tzinfo=UTC), r.group_key)] = json.loads(r.values_json)


def run_stream(spark, definition, source_dir: Path, checkpoint: Path, sink: Sink):
    stream = spark.readStream.schema(EVENTS_SCHEMA).option("maxFilesPerTrigger", 1).json(str(source_dir))
    query = (
        sv.result_rows(sv.view_aggregation(stream, definition), definition)
        .writeStream.outputMode("update")
        .option("checkpointLocation", str(checkpoint))
        .foreachBatch(sink)
        .start()
    )
    try:
        query.processAllAvailable()
        progress = list(query.recentProgress)
    finally:
        query.stop()
    return progress


def write_file(directory: Path, name: str, events) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"event_id": e, "received_at": t.isoformat(), "payload": p}) for e, t, p in events]
    (directory / f"{name}.json").write_text("\n".join(lines) + "\n")


def dropped_by_watermark(progress) -> int:
    # A row older than the watermark is dropped by the first stateful operator (the deduplication).
    return sum(op["numRowsDroppedByWatermark"] for p in progress for op in p["stateOperators"])


def test_on_a_stream_late_events_are_dropped_and_reported_and_a_restart_counts_nothing_twice(spark, tmp_path):
    definition = view(groupBy=["/currency"], aggregates=[{"fn": "count"}, {"fn": "sum", "field": "/amount"}], lateness="5m")
    source, checkpoint, sink = tmp_path / "in", tmp_path / "checkpoint", Sink()
    repeated = event(20, {"currency": "EUR", "amount": 1})
    write_file(source, "1", [event(10, {"currency": "EUR", "amount": 2}), repeated])
    # Moves the watermark to 12:20 - 5m = 12:15.
    write_file(source, "2", [event(20 * 60, {"currency": "USD", "amount": 5})])
    run_stream(spark, definition, source, checkpoint, sink)
    assert sink.rows[(T0, '["EUR"]')] == {"count": 2, "sum_amount": 3.0}

    # After a restart from the checkpoint: the same event again (a replayed offset), one late event
    # (12:00:30, older than the watermark) and one in time.
    write_file(
        source,
        "3",
        [repeated, event(30, {"currency": "EUR", "amount": 50}), event(20 * 60 + 5, {"currency": "USD", "amount": 1})],
    )
    progress = run_stream(spark, definition, source, checkpoint, sink)
    assert sink.rows[(T0, '["EUR"]')] == {"count": 2, "sum_amount": 3.0}
    assert sink.rows[(T0 + timedelta(minutes=20), '["USD"]')] == {"count": 2, "sum_amount": 6.0}
    assert dropped_by_watermark(progress) == 2


# ---- the built-in minute counts -------------------------------------------------------------------


COUNT_EVENTS = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("source", T.StringType()),
        T.StructField("received_at", T.TimestampType()),
    ]
)


def test_minute_counts_count_each_event_once_per_source_and_utc_minute(spark):
    same = str(uuid.uuid4())
    rows = [
        (same, "orders", T0 + timedelta(seconds=1)),
        (same, "orders", T0 + timedelta(seconds=1)),  # a retried publish
        (str(uuid.uuid4()), "orders", T0 + timedelta(seconds=59)),
        (str(uuid.uuid4()), "orders", T0 + timedelta(seconds=60)),
        (str(uuid.uuid4()), "clicks", T0 + timedelta(seconds=2)),
    ]
    counted = sv.minute_counts(spark.createDataFrame(rows, COUNT_EVENTS)).collect()
    got = {(r.source, r.day, r.minute.replace(tzinfo=UTC), r["count"]) for r in counted}
    assert got == {
        ("orders", T0.date(), T0, 2),
        ("orders", T0.date(), T0 + timedelta(minutes=1), 1),
        ("clicks", T0.date(), T0, 1),
    }


def test_minute_counts_on_a_stream_are_full_values_and_survive_a_restart(spark, tmp_path):
    source, checkpoint = tmp_path / "in", tmp_path / "checkpoint"
    source.mkdir()
    written: list = []

    def publish(name: str, rows: list) -> None:
        lines = [json.dumps({"event_id": i, "source": s, "received_at": t.isoformat()}) for i, s, t in rows]
        (source / f"{name}.json").write_text("\n".join(lines) + "\n")

    def run_once() -> None:
        events = spark.readStream.schema(COUNT_EVENTS).json(str(source))
        query = (
            sv.minute_counts(events, lateness_seconds=60)
            .writeStream.outputMode("update")
            .foreachBatch(lambda df, _epoch: written.extend(df.collect()))
            .option("checkpointLocation", str(checkpoint))
            .start()
        )
        query.processAllAvailable()
        query.stop()

    first = str(uuid.uuid4())
    publish("a", [(first, "orders", T0 + timedelta(seconds=5)), (str(uuid.uuid4()), "orders", T0 + timedelta(seconds=6))])
    run_once()
    # A new copy: the same event again, one more in the same minute, and one an hour late.
    publish("b", [(first, "orders", T0 + timedelta(seconds=5)), (str(uuid.uuid4()), "orders", T0 + timedelta(seconds=7))])
    publish("c", [(str(uuid.uuid4()), "orders", T0 + timedelta(seconds=200))])
    run_once()
    publish("d", [(str(uuid.uuid4()), "orders", T0 - timedelta(hours=1))])
    run_once()
    last = {}
    for r in written:
        last[(r.source, r.minute.replace(tzinfo=UTC))] = r["count"]
    assert last == {("orders", T0): 3, ("orders", T0 + timedelta(minutes=3)): 1}


def test_an_array_index_token_indexes_an_array_and_never_names_a_field(spark):
    definition = view(groupBy=["/lines/1/sku"], aggregates=[{"fn": "count"}, {"fn": "count", "field": "/m/0", "as": "zero"}])
    got = results(
        spark,
        definition,
        [
            event(1, {"lines": [{"sku": "a"}, {"sku": "b"}], "m": {"0": "zero"}}),
            event(2, {"lines": [{"sku": "a"}]}),
        ],
    )
    assert got == {(T0, '["b"]'): {"count": 1, "zero": 0}, (T0, "[null]"): {"count": 1, "zero": 0}}
    assert sv.json_path("/lines/0/sku") == "$['lines'][0]['sku']" and sv.json_path("/a/01") == "$['a']['01']"


def test_nan_and_the_infinities_are_no_numbers_to_aggregate(spark):
    aggregates = [{"fn": "sum", "field": "/a"}, {"fn": "max", "field": "/a"}, {"fn": "p50", "field": "/a"}]
    got = results(
        spark, view(aggregates=aggregates), [event(1, {"a": "NaN"}), event(2, {"a": 1}), event(3, {"a": "Infinity"}), event(4, {"a": 2})]
    )
    assert got == {(T0, "[]"): {"sum_a": 3.0, "max_a": 2.0, "p50_a": 1.0}}
