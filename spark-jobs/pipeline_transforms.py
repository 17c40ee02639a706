"""Pure DataFrame -> DataFrame transforms shared by the Spark jobs (shipped to them with --py-files).

Nothing here reads or writes anything outside Spark, so every function is unit-tested on small
in-memory DataFrames (spark-jobs/tests). The jobs (events_stream.py, daily_rollup.py) only wire
sources and sinks around these.

Days and minutes are computed from epoch arithmetic, not from to_date/date_trunc, because those
follow spark.sql.session.timeZone: the Cassandra partition (source, day) must be the UTC day
whatever session the function runs in.
"""
from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

USERS_SOURCE = "users"

# Why an envelope was rejected (the `error` column of classify_envelopes; null = well-formed).
INVALID_JSON = "invalid_json"
MISSING_EVENT_ID = "missing_event_id"
INVALID_EVENT_ID = "invalid_event_id"
MISSING_SOURCE = "missing_source"
INVALID_RECEIVED_AT = "invalid_received_at"
INVALID_PAYLOAD = "invalid_payload"

_CORRUPT = "_corrupt_record"

# payload as StringType: from_json keeps a nested object as its JSON text, re-serialised compactly
# by Jackson, which is exactly what events_by_source.payload stores.
ENVELOPE_SCHEMA = T.StructType(
    [
        T.StructField("eventId", T.StringType()),
        T.StructField("source", T.StringType()),
        T.StructField("receivedAt", T.StringType()),
        T.StructField("key", T.StringType()),
        T.StructField("payload", T.StringType()),
        T.StructField(_CORRUPT, T.StringType()),
    ]
)

_UUID_RE = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

# Columns of events_by_source, in table order.
EVENT_COLUMNS = ["source", "day", "received_at", "event_id", "key", "payload", "processed_at"]

# created_users columns copied straight from the payload (as text; post_code may arrive as a number).
USER_PAYLOAD_FIELDS = [
    "gender", "address", "post_code", "email", "username", "dob", "registered_date", "phone", "picture",
]
USER_COLUMNS = ["id", "first_name", "last_name", *USER_PAYLOAD_FIELDS, "received_at"]
_USER_PAYLOAD_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in ["name", "first_name", "last_name", *USER_PAYLOAD_FIELDS]]
)

_MICROS_PER_MINUTE = 60 * 1_000_000
_MICROS_PER_DAY = 24 * 60 * _MICROS_PER_MINUTE


def utc_day(ts: Column) -> Column:
    """The UTC calendar day of a timestamp, independent of the session time zone."""
    return F.date_from_unix_date(F.floor(F.unix_micros(ts) / _MICROS_PER_DAY).cast("int"))


def utc_minute(ts: Column) -> Column:
    """The timestamp truncated to its minute, counted in UTC (the same instant in every session zone)."""
    return F.timestamp_micros(F.floor(F.unix_micros(ts) / _MICROS_PER_MINUTE) * _MICROS_PER_MINUTE)


def classify_envelopes(kafka_df: DataFrame) -> DataFrame:
    """Kafka rows (binary `value`) -> one row per record: the envelope's columns and `error`.

    Columns: event_id (lower-case uuid text), source, received_at (timestamp), day (UTC date),
    minute (UTC minute), key, payload (compact JSON text of the payload object), error (null when
    well-formed, else one of the INVALID_*/MISSING_* reasons), value (the raw text, for the rejected),
    plus topic/partition/offset when the input has them. receivedAt should carry its offset (the
    control plane writes ...Z); one without is read in the session time zone (UTC in the jobs).
    """
    kafka_cols = [c for c in ("topic", "partition", "offset") if c in kafka_df.columns]
    raw = F.col("value").cast("string")
    env = kafka_df.select(
        *kafka_cols,
        raw.alias("value"),
        F.from_json(raw, ENVELOPE_SCHEMA, {"columnNameOfCorruptRecord": _CORRUPT}).alias("e"),
    )
    event_id = F.lower(F.trim(F.col("e.eventId")))
    received_at = F.col("e.receivedAt").cast("timestamp")
    error = (
        F.when(F.col("e").isNull() | F.col(f"e.{_CORRUPT}").isNotNull(), F.lit(INVALID_JSON))
        .when(F.col("e.eventId").isNull(), F.lit(MISSING_EVENT_ID))
        .when(~event_id.rlike(_UUID_RE), F.lit(INVALID_EVENT_ID))
        .when(F.coalesce(F.trim(F.col("e.source")), F.lit("")) == "", F.lit(MISSING_SOURCE))
        .when(received_at.isNull(), F.lit(INVALID_RECEIVED_AT))
        # json_object_keys is null for anything but a JSON object (a string, number, array, null).
        .when(F.json_object_keys(F.col("e.payload")).isNull(), F.lit(INVALID_PAYLOAD))
    )
    return env.select(
        *kafka_cols,
        event_id.alias("event_id"),
        F.col("e.source").alias("source"),
        received_at.alias("received_at"),
        utc_day(received_at).alias("day"),
        utc_minute(received_at).alias("minute"),
        F.col("e.key").alias("key"),
        F.col("e.payload").alias("payload"),
        error.alias("error"),
        "value",
    )


def well_formed(classified: DataFrame) -> DataFrame:
    """The well-formed envelopes of classify_envelopes, one row per event_id (a retried publish or a
    replayed offset carries the same id), without the bookkeeping columns."""
    return (
        classified.filter(F.col("error").isNull())
        .dropDuplicates(["event_id"])
        .select("event_id", "source", "received_at", "day", "minute", "key", "payload")
    )


def rejected(classified: DataFrame) -> DataFrame:
    """The malformed records of classify_envelopes: the reason, the raw text and where it came from."""
    keep = [c for c in ("topic", "partition", "offset") if c in classified.columns]
    return classified.filter(F.col("error").isNotNull()).select(*keep, "error", "value")


def parse_envelopes(kafka_df: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Kafka rows -> (events, rejected): well_formed and rejected of classify_envelopes."""
    classified = classify_envelopes(kafka_df)
    return well_formed(classified), rejected(classified)


def batch_summary(classified: DataFrame) -> DataFrame:
    """What a micro-batch holds, small enough to collect in one Spark action: one row per
    (error, source, day, minute) with records (Kafka records, duplicates included) and oldest (the
    earliest received_at). Malformed records are grouped by error alone; the well-formed ones
    (error null) give the minutes the batch touched."""
    ok = F.col("error").isNull()
    return (
        classified.select(
            "error",
            *[F.when(ok, F.col(c)).alias(c) for c in ("source", "day", "minute", "received_at")],
        )
        .groupBy("error", "source", "day", "minute")
        .agg(F.count(F.lit(1)).alias("records"), F.min("received_at").alias("oldest"))
    )


def minute_keys(events: DataFrame) -> DataFrame:
    """The distinct (source, day, minute) an events DataFrame (with received_at) touches."""
    return events.select("source", "day", utc_minute(F.col("received_at")).alias("minute")).distinct()


def to_event_rows(events: DataFrame, processed_at: datetime) -> DataFrame:
    """Well-formed events -> rows of events_by_source, stamped with processed_at."""
    return events.select(
        "source", "day", "received_at", "event_id", "key", "payload",
        F.lit(processed_at).cast("timestamp").alias("processed_at"),
    )


def user_rows(events: DataFrame, source: str = USERS_SOURCE) -> DataFrame:
    """Events of the users source -> rows of created_users (id = the event's id).

    A payload may carry first_name/last_name or only a full `name`: the first word of name is the
    first name and the rest the last name, unless the explicit fields are there.
    """
    p = F.from_json(F.col("payload"), _USER_PAYLOAD_SCHEMA)
    users = events.filter(F.col("source") == source).select("event_id", "received_at", p.alias("p"))
    name = F.trim(F.col("p.name"))
    first_word = F.nullif(F.regexp_extract(name, r"^(\S+)", 1), F.lit(""))
    rest = F.nullif(F.regexp_extract(name, r"^\S+\s+(.*)$", 1), F.lit(""))
    return users.select(
        F.col("event_id").alias("id"),
        F.coalesce(F.col("p.first_name"), first_word).alias("first_name"),
        F.coalesce(F.col("p.last_name"), rest).alias("last_name"),
        *[F.col(f"p.{field}").alias(field) for field in USER_PAYLOAD_FIELDS],
        "received_at",
    )


def daily_counts(events: DataFrame) -> DataFrame:
    """Rows with source, day, received_at -> (source, day, minute, count): rows per UTC minute.

    Counts rows, not distinct ids, to agree with `SELECT count(*)` over events_by_source."""
    return (
        events.select("source", "day", utc_minute(F.col("received_at")).alias("minute"))
        .groupBy("source", "day", "minute")
        .agg(F.count(F.lit(1)).alias("count"))
    )


def split_csv(value: str) -> list[str]:
    """'a, b,,a' -> ['a', 'b']: the jobs' comma-separated arguments, blanks and repeats dropped."""
    return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
