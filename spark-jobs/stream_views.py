"""Streaming views: a view's definition, as the control plane stores it, turned into a Spark
aggregation over a source's events.

A view counts, sums, averages, bounds, counts distinct values of, or takes percentiles of payload
fields, per window of event time and per group (up to three JSON Pointers into the payload), over
the events that pass its filter. The same function serves a stream (stateful, with a watermark of
`lateness`: an event older than the watermark is dropped from the view, and Spark reports it in the
query's progress as numRowsDroppedByWatermark) and a batch of stored events (a preview, or the
backfill of a new view), so a view's results are the same whichever way its events arrive.

Every result row is a full value for its (window, group): the sink upserts it, so replaying a
micro-batch (a restart from the checkpoint) writes the same values again and counts nothing twice.
Each event is counted once: a retried publish or a replayed offset carries the same event id, and
duplicates are dropped within the watermark.

Pure DataFrame -> DataFrame functions, tested on small in-memory frames (spark-jobs/tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

import pipeline_transforms as pt

DAY_SECONDS = 86_400
DEFAULT_LATENESS_SECONDS = 600
MAX_GROUP_BY = 3

COUNT = "count"
NUMERIC = ("sum", "avg", "min", "max")
DISTINCT = "distinct"
PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
FUNCTIONS = (COUNT, *NUMERIC, DISTINCT, *PERCENTILES)
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "exists")

# percentile_approx's accuracy: a relative error of 1/accuracy, and state that grows with it.
PERCENTILE_ACCURACY = 1000
# approx_count_distinct's relative standard deviation.
DISTINCT_RSD = 0.02

MAX_LATENESS_SECONDS = 7 * DAY_SECONDS
DEFINITION_FIELDS = {"name", "source", "window", "slide", "groupBy", "filter", "aggregates", "timeField", "lateness", "backfillFrom"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_AS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_ARRAY_INDEX = re.compile(r"^(0|[1-9][0-9]{0,8})$")
_DURATION = re.compile(r"^([1-9][0-9]*)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": DAY_SECONDS}
# A pointer token the JSON path of get_json_object can carry inside ['...'].
_TOKEN = re.compile(r"^[^'\\\[\]]+$")


@dataclass(frozen=True)
class Aggregate:
    fn: str
    field: str | None
    name: str


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class View:
    name: str
    source: str
    window_seconds: int
    slide_seconds: int | None
    group_by: tuple[str, ...]
    filters: tuple[Condition, ...]
    aggregates: tuple[Aggregate, ...]
    time_field: str | None
    lateness_seconds: int


def duration_seconds(text: str) -> int:
    """`30s`, `5m`, `1h`, `1d` -> seconds."""
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m, 1h or 1d")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def pointer_tokens(pointer: str) -> list[str]:
    """A JSON Pointer (RFC 6901) into the payload -> its tokens, unescaped."""
    if not isinstance(pointer, str) or not pointer.startswith("/") or pointer == "/":
        raise ValueError(f"{pointer!r} is not a JSON Pointer to a payload field, such as /currency")
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]
    for token in tokens:
        if not _TOKEN.match(token):
            raise ValueError(f"{pointer!r}: a field name may not be empty or hold ', \\, [ or ]")
    return tokens


def json_path(pointer: str) -> str:
    """The get_json_object path of a pointer: /a/b -> $['a']['b']; a token that is an array index
    indexes an array: /lines/0/sku -> $['lines'][0]['sku'] (and never names an object's field "0")."""
    return "$" + "".join(f"[{t}]" if _ARRAY_INDEX.match(t) else f"['{t}']" for t in pointer_tokens(pointer))


def aggregate_name(fn: str, field: str | None) -> str:
    """The default name of an aggregate's value: count, or sum_amount for sum of /amount."""
    return fn if field is None else f"{fn}_{'_'.join(pointer_tokens(field))}"


def view_from_json(doc: dict[str, Any]) -> View:
    """A view's definition as the control plane stores it (camelCase, as the API takes it). Refuses
    (ValueError) every definition the API refuses without knowing the source's schema
    (contracts/views.json): the job never runs a definition the API would not have taken."""
    unknown = sorted(set(doc) - DEFINITION_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    if not isinstance(doc.get("name"), str) or not _NAME.match(doc["name"]):
        raise ValueError(f"name {doc.get('name')!r} must be lower-case letters, digits and _, starting with a letter, at most 63")
    window = duration_seconds(doc["window"])
    slide = duration_seconds(doc["slide"]) if doc.get("slide") else None
    if DAY_SECONDS % window:
        raise ValueError(f"window {doc['window']} does not divide a day evenly")
    if slide is not None and (slide > window or window % slide):
        raise ValueError(f"slide {doc['slide']} must divide the window {doc['window']}")
    group_by = tuple(doc.get("groupBy") or ())
    if len(group_by) > MAX_GROUP_BY:
        raise ValueError(f"groupBy holds at most {MAX_GROUP_BY} pointers")
    for pointer in group_by:
        pointer_tokens(pointer)
    filters = []
    for cond in doc.get("filter") or ():
        if cond["op"] not in OPERATORS:
            raise ValueError(f"unknown operator {cond['op']!r}; one of {', '.join(OPERATORS)}")
        pointer_tokens(cond["field"])
        if cond["op"] == "in" and not isinstance(cond.get("value"), list):
            raise ValueError("the value of `in` is a list")
        if cond["op"] not in ("in", "exists") and not isinstance(cond.get("value"), str | int | float | bool):
            raise ValueError(f"{cond['op']} needs a string, number or boolean value")
        filters.append(Condition(cond["field"], cond["op"], cond.get("value")))
    if not doc.get("aggregates"):
        raise ValueError("a view needs at least one aggregate")
    aggregates = []
    for agg in doc["aggregates"]:
        fn, field = agg["fn"], agg.get("field")
        if fn not in FUNCTIONS:
            raise ValueError(f"unknown function {fn!r}; one of {', '.join(FUNCTIONS)}")
        if fn != COUNT and field is None:
            raise ValueError(f"{fn} needs a field")
        if field is not None:
            pointer_tokens(field)
        if agg.get("as") is not None and not _AS.match(str(agg["as"])):
            raise ValueError(f"as {agg['as']!r} must be letters, digits and _, not starting with a digit")
        aggregates.append(Aggregate(fn, field, agg.get("as") or aggregate_name(fn, field)))
    names = [a.name for a in aggregates]
    if len(set(names)) != len(names):
        raise ValueError(f"two aggregates have the same name: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    time_field = doc.get("timeField")
    if time_field is not None:
        pointer_tokens(time_field)
    lateness = duration_seconds(doc["lateness"]) if doc.get("lateness") else DEFAULT_LATENESS_SECONDS
    if lateness > MAX_LATENESS_SECONDS:
        raise ValueError(f"lateness {doc['lateness']} is longer than 7d")
    backfill_millis(doc.get("backfillFrom"))
    return View(
        name=doc["name"],
        source=doc["source"],
        window_seconds=window,
        slide_seconds=slide,
        group_by=group_by,
        filters=tuple(filters),
        aggregates=tuple(aggregates),
        time_field=time_field,
        lateness_seconds=lateness,
    )


def backfill_millis(backfill_from: str | None) -> int | None:
    """`backfillFrom` (an ISO 8601 date-time with a zone) -> epoch ms; None when absent."""
    if backfill_from is None:
        return None
    moment = datetime.fromisoformat(str(backfill_from).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"backfillFrom {backfill_from!r} has no time zone")
    return int(moment.timestamp() * 1000)


def field_text(pointer: str) -> Column:
    """The payload field a pointer names, as text (a number as written, an object or array as JSON);
    null when the payload has no such field or it is JSON null."""
    return F.get_json_object(F.col("payload"), json_path(pointer))


def _number(pointer: str) -> Column:
    # Text that is not a number is null here, and ignored by the aggregates, as SQL ignores NULL;
    # so are NaN and the infinities (a "NaN" text casts to one), which no sum or percentile can use.
    value = field_text(pointer).cast("double")
    return F.when(~F.isnan(value) & (F.abs(value) < F.lit(float("inf"))), value)


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def condition_column(cond: Condition) -> Column:
    """A filter condition on one payload field. A number compares as a number; anything else as text."""
    text = field_text(cond.field)
    if cond.op == "exists":
        return text.isNotNull()
    if cond.op == "in":
        values = cond.value
        numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        texts = [_literal_text(v) for v in values if not (isinstance(v, int | float) and not isinstance(v, bool))]
        matches = [text.isin(texts)] if texts else []
        if numbers:
            matches.append(text.cast("double").isin(numbers))
        if not matches:
            return F.lit(False)
        out = matches[0]
        for m in matches[1:]:
            out = out | m
        return F.coalesce(out, F.lit(False))
    numeric = isinstance(cond.value, int | float) and not isinstance(cond.value, bool)
    left = text.cast("double") if numeric else text
    right = F.lit(float(cond.value)) if numeric else F.lit(_literal_text(cond.value))
    compare = {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[cond.op]
    # A missing field matches no comparison, `!=` included.
    return F.coalesce(compare, F.lit(False))


def event_time(view: View) -> Column:
    """The time a view windows an event by: its timeField (an ISO 8601 date-time with a zone, or
    epoch milliseconds), else the envelope's receivedAt."""
    if view.time_field is None:
        return F.col("received_at")
    text = field_text(view.time_field)
    as_millis = F.when(text.rlike(r"^[0-9]{1,15}$"), F.timestamp_millis(text.cast("long")))
    return F.coalesce(as_millis, text.cast("timestamp"))


def _aggregate_column(agg: Aggregate) -> Column:
    if agg.fn == COUNT:
        out = F.count(F.lit(1)) if agg.field is None else F.count(field_text(agg.field))
    elif agg.fn == "sum":
        out = F.sum(_number(agg.field))
    elif agg.fn == "avg":
        out = F.avg(_number(agg.field))
    elif agg.fn == "min":
        out = F.min(_number(agg.field))
    elif agg.fn == "max":
        out = F.max(_number(agg.field))
    elif agg.fn == DISTINCT:
        out = F.approx_count_distinct(field_text(agg.field), rsd=DISTINCT_RSD)
    else:
        out = F.percentile_approx(_number(agg.field), PERCENTILES[agg.fn], PERCENTILE_ACCURACY)
    return out.alias(agg.name)


def view_aggregation(events: DataFrame, view: View) -> DataFrame:
    """Events (columns event_id, received_at, payload: the well-formed envelopes of the view's source)
    -> one row per (window, group): window_start, window_end, the group's values g0.. (text) and one
    column per aggregate, named as the aggregate. On a stream, with a watermark of the view's
    lateness; on a batch, over every event given."""
    selected = events
    for cond in view.filters:
        selected = selected.filter(condition_column(cond))
    timed = selected.withColumn("event_time", event_time(view)).filter(F.col("event_time").isNotNull())
    if timed.isStreaming:
        deduplicated = timed.withWatermark("event_time", f"{view.lateness_seconds} seconds").dropDuplicatesWithinWatermark(["event_id"])
    else:
        deduplicated = timed.dropDuplicates(["event_id"])
    slide = f"{view.slide_seconds} seconds" if view.slide_seconds else None
    window = F.window("event_time", f"{view.window_seconds} seconds", slide)
    groups = [field_text(p).alias(f"g{i}") for i, p in enumerate(view.group_by)]
    grouped = deduplicated.groupBy(window.alias("window"), *groups).agg(*[_aggregate_column(a) for a in view.aggregates])
    return grouped.select(
        F.col("window.start").alias("window_start"),
        F.col("window.end").alias("window_end"),
        *[f"g{i}" for i in range(len(view.group_by))],
        *[a.name for a in view.aggregates],
    )


def result_rows(aggregated: DataFrame, view: View) -> DataFrame:
    """view_aggregation's rows -> the rows of view_results: view, window_start, window_end, group_key
    (the group's values as a JSON array: the clustering key), group_json ({pointer: value}) and
    values_json ({name: value}). Each is a full value for its (window, group)."""
    pointers = list(view.group_by)
    group_values = [F.col(f"g{i}") for i in range(len(pointers))]
    group_key = F.to_json(F.array(*group_values)) if pointers else F.lit("[]")
    group_json = F.to_json(F.struct(*[F.col(f"g{i}").alias(p) for i, p in enumerate(pointers)])) if pointers else F.lit("{}")
    values_json = F.to_json(F.struct(*[F.col(a.name) for a in view.aggregates]), {"ignoreNullFields": "false"})
    return aggregated.select(
        F.lit(view.name).alias("view"),
        "window_start",
        "window_end",
        group_key.alias("group_key"),
        group_json.alias("group_json"),
        values_json.alias("values_json"),
    )


# The built-in view behind GET /stats: events per source and UTC minute of receivedAt.
MINUTE_COUNTS_LATENESS_SECONDS = DEFAULT_LATENESS_SECONDS


def minute_counts(events: DataFrame, lateness_seconds: int = MINUTE_COUNTS_LATENESS_SECONDS) -> DataFrame:
    """Events (event_id, source, received_at) -> rows of event_counts_by_minute: source, day, minute,
    count, a full value per (source, minute). On a stream, with a watermark of `lateness_seconds` on
    receivedAt and duplicates by event id dropped within it, as any view."""
    if events.isStreaming:
        events = events.withWatermark("received_at", f"{lateness_seconds} seconds").dropDuplicatesWithinWatermark(["event_id"])
    else:
        events = events.dropDuplicates(["event_id"])
    counted = events.groupBy("source", F.window("received_at", "60 seconds").alias("window")).agg(F.count(F.lit(1)).alias("count"))
    return counted.select(
        "source",
        pt.utc_day(F.col("window.start")).alias("day"),
        F.col("window.start").alias("minute"),
        "count",
    )
