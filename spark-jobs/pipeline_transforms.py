"""Pure DataFrame -> DataFrame transforms shared by the Spark jobs (shipped to them with --py-files).

Nothing here reads or writes anything outside Spark, so every function is unit-tested on small
in-memory DataFrames (spark-jobs/tests). The jobs (events_stream.py, daily_rollup.py) only wire
sources and sinks around these.

Days, minutes and buckets are computed from epoch arithmetic, not from to_date/date_trunc, because
those follow spark.sql.session.timeZone: a Cassandra partition ((source, day) of the counts and the
bucket index, (source, bucket) of the events) must be the same whatever session the function runs in.

A bucket is a span of time dividing a UTC day evenly (1 s to 1 d), per source: a source's events are
stored in one partition of events_by_bucket per bucket, keyed by the bucket's start.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

USERS_SOURCE = "users"
# The bucket of a source the job was not given a size for (the control plane's default too).
DEFAULT_BUCKET_SECONDS = 3600
DAY_SECONDS = 86_400

# Why an envelope was rejected (the `error` column of classify_envelopes; null = well-formed).
INVALID_JSON = "invalid_json"
MISSING_EVENT_ID = "missing_event_id"
INVALID_EVENT_ID = "invalid_event_id"
MISSING_SOURCE = "missing_source"
INVALID_RECEIVED_AT = "invalid_received_at"
INVALID_PAYLOAD = "invalid_payload"

# The reason of a dead letter the control plane quarantined: the event failed its source's schema.
QUARANTINED = "schema"
# The source of an unreadable record from a topic whose source the job was not told.
UNKNOWN_SOURCE = "_unknown"

_CORRUPT = "_corrupt_record"

# payload as StringType: from_json keeps a nested object as its JSON text, re-serialised compactly
# by Jackson, which is exactly what events_by_bucket.payload stores (and reasons, an array, likewise).
# replayedAt: set on an event a replay published again; reasons, schemaHash: on a dead-letter envelope.
ENVELOPE_SCHEMA = T.StructType(
    [
        T.StructField("eventId", T.StringType()),
        T.StructField("source", T.StringType()),
        T.StructField("receivedAt", T.StringType()),
        T.StructField("key", T.StringType()),
        T.StructField("replayedAt", T.StringType()),
        T.StructField("reasons", T.StringType()),
        T.StructField("schemaHash", T.StringType()),
        # The version of the source's schema the control plane checked the event against (absent
        # from envelopes of sources without a schema, and from those published before versions).
        T.StructField("schemaVersion", T.IntegerType()),
        T.StructField("payload", T.StringType()),
        T.StructField(_CORRUPT, T.StringType()),
    ]
)

_UUID_RE = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

# Columns of events_by_bucket, in table order.
EVENT_COLUMNS = ["source", "bucket", "received_at", "event_id", "key", "payload", "processed_at", "schema_version", "trace_id", "headers"]

# The W3C trace context header the control plane publishes with every event: its trace id is stored with the row.
TRACEPARENT = "traceparent"
_TRACE_ID_RE = r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}"

# Columns of event_buckets: the non-empty buckets of each (source, UTC day), with their size.
BUCKET_COLUMNS = ["source", "day", "bucket", "bucket_seconds"]

# Columns of dead_letters the job writes (never replayed_at, replayed_event_id: a replay's marks).
DEAD_LETTER_COLUMNS = [
    "source",
    "failed_at",
    "id",
    "topic",
    "partition",
    "offset",
    "reason",
    "reasons",
    "schema_hash",
    "payload",
    "raw",
    "event_id",
    "received_at",
]

# created_users columns copied straight from the payload (as text; post_code may arrive as a number).
USER_PAYLOAD_FIELDS = [
    "gender",
    "address",
    "post_code",
    "email",
    "username",
    "dob",
    "registered_date",
    "phone",
    "picture",
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


def bucket_start(ts: Column, seconds: Column) -> Column:
    """The start of the bucket of `seconds` holding the timestamp (buckets divide a UTC day, so they
    start at multiples of their size since the epoch)."""
    size = seconds.cast("long") * 1_000_000
    return F.timestamp_micros(F.floor(F.unix_micros(ts) / size) * size)


def bucket_seconds_of(source: Column, bucket_seconds: dict[str, int] | None) -> Column:
    """The bucket size of each row's source: from `bucket_seconds`, else DEFAULT_BUCKET_SECONDS."""
    pairs = [F.lit(x) for item in sorted((bucket_seconds or {}).items()) for x in item]
    size = F.create_map(*pairs)[source] if pairs else F.lit(None)
    return F.coalesce(size, F.lit(DEFAULT_BUCKET_SECONDS)).cast("int")


def classify_envelopes(
    kafka_df: DataFrame, dead_letter_topics: tuple[str, ...] | list[str] = (), bucket_seconds: dict[str, int] | None = None
) -> DataFrame:
    """Kafka rows (binary `value`) -> one row per record: the envelope's columns and `error`.

    Columns: event_id (lower-case uuid text), source, received_at (timestamp), day (UTC date),
    minute (UTC minute), bucket_seconds (the source's bucket size: `bucket_seconds`, else
    DEFAULT_BUCKET_SECONDS), bucket (the start of the event's bucket), key, payload (compact JSON text of the payload object), reasons and
    schema_hash (of a dead-letter envelope), waiting_since (when the event started waiting to be
    stored: receivedAt, or replayedAt for an event a replay published again), dead_letter (true for
    a record of one of `dead_letter_topics`: a quarantined event, not one to store as an event),
    error (null when well-formed, else one of the INVALID_*/MISSING_* reasons), value (the raw text,
    for the rejected), plus topic/partition/offset/timestamp when the input has them, and with Kafka's
    `headers` (includeHeaders): headers (name -> UTF-8 text; a header without a value is left out, and
    of a name given twice the last is kept) and trace_id (of the traceparent header; null without one). receivedAt
    should carry its offset (the control plane writes ...Z); one without is read in the session time
    zone (UTC in the jobs).
    """
    kafka_cols = [c for c in ("topic", "partition", "offset", "timestamp") if c in kafka_df.columns]
    raw = F.col("value").cast("string")
    with_headers = "headers" in kafka_df.columns
    if with_headers:
        kafka_df = kafka_df.withColumn("headers", record_headers(F.col("headers")))
    header_cols = ["headers", trace_id_of(F.col("headers")).alias("trace_id")] if with_headers else []
    env = kafka_df.select(
        *kafka_cols,
        *header_cols,
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
    topics = list(dead_letter_topics)
    dead_letter = F.col("topic").isin(topics) if topics and "topic" in kafka_cols else F.lit(False)
    size = bucket_seconds_of(F.col("e.source"), bucket_seconds)
    return env.select(
        *kafka_cols,
        event_id.alias("event_id"),
        F.col("e.source").alias("source"),
        received_at.alias("received_at"),
        utc_day(received_at).alias("day"),
        utc_minute(received_at).alias("minute"),
        size.alias("bucket_seconds"),
        bucket_start(received_at, size).alias("bucket"),
        F.col("e.key").alias("key"),
        F.col("e.payload").alias("payload"),
        F.col("e.schemaVersion").alias("schema_version"),
        F.col("e.reasons").alias("reasons"),
        F.col("e.schemaHash").alias("schema_hash"),
        F.coalesce(F.col("e.replayedAt").cast("timestamp"), received_at).alias("waiting_since"),
        *(["headers", "trace_id"] if with_headers else []),
        dead_letter.alias("dead_letter"),
        error.alias("error"),
        "value",
    )


def record_headers(headers: Column) -> Column:
    """Kafka's headers column (array of struct<key string, value binary>) -> the headers as a map of
    UTF-8 text: null values dropped, the last of a repeated name kept; null when none are left."""
    entries = F.filter(
        F.transform(headers, lambda h: F.struct(h["key"].alias("key"), h["value"].cast("string").alias("value"))),
        lambda e: e["value"].isNotNull(),
    )
    # The last of a repeated name: an entry whose name comes again later in the list is dropped.
    names = F.transform(entries, lambda e: e["key"])
    last = F.filter(entries, lambda e, i: ~F.array_contains(F.slice(names, i + 2, F.size(names)), e["key"]))
    return F.when(F.size(last) > 0, F.map_from_entries(last))


def trace_id_of(headers: Column) -> Column:
    """The trace id of the W3C traceparent in a headers map; null without a valid one."""
    trace = F.regexp_extract(headers[TRACEPARENT], _TRACE_ID_RE, 1)
    return F.when(trace != "", trace)


def _event_to_store() -> Column:
    """Well-formed records that are events to store (not quarantined events of a dead-letter topic)."""
    return F.col("error").isNull() & ~F.col("dead_letter")


def well_formed(classified: DataFrame) -> DataFrame:
    """The well-formed envelopes of classify_envelopes, one row per event_id (a retried publish or a
    replayed offset carries the same id), without the bookkeeping columns. Quarantined events (of a
    dead-letter topic) are not among them: dead_letter_rows has those."""
    return (
        classified.filter(_event_to_store())
        .dropDuplicates(["event_id"])
        .select(
            "event_id",
            "source",
            "received_at",
            "day",
            "minute",
            "bucket",
            "bucket_seconds",
            "key",
            "payload",
            "schema_version",
            *[c for c in ("trace_id", "headers") if c in classified.columns],
        )
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
    (error, dead_letter, source, day, minute, bucket, bucket_seconds) with records (Kafka records,
    duplicates included) and oldest (the earliest waiting_since). Malformed records are grouped by
    error alone, quarantined events (dead_letter, error null) by dead_letter alone; the events to
    store give the minutes and the buckets the batch touched (a minute spans several buckets of
    less than a minute, and a bucket of more holds several minutes)."""
    ok = _event_to_store()
    keys = ("source", "day", "minute", "bucket", "bucket_seconds")
    return (
        classified.select(
            "error",
            "dead_letter",
            *[F.when(ok, F.col(c)).alias(c) for c in (*keys, "waiting_since")],
        )
        .groupBy("error", "dead_letter", *keys)
        .agg(F.count(F.lit(1)).alias("records"), F.min("waiting_since").alias("oldest"))
    )


def dead_letter_rows(classified: DataFrame, topic_sources: dict[str, str] | None = None) -> DataFrame:
    """The rows of dead_letters a batch holds, in DEAD_LETTER_COLUMNS order, keyed so that a replayed
    batch rewrites the same rows:

    - a quarantined event (a well-formed envelope of a dead-letter topic): its source, failed_at =
      its receivedAt, id = its event id, reason `schema`, its reasons, schema_hash and payload;
    - a record that is not a well-formed envelope (any topic): the source of its topic
      (`topic_sources`, else UNKNOWN_SOURCE), failed_at = its Kafka timestamp, id =
      `<topic>:<partition>:<offset>`, reason = its error, raw = its value.

    Needs the Kafka columns topic, partition, offset and timestamp.
    """
    quarantined = (
        classified.filter(F.col("error").isNull() & F.col("dead_letter"))
        .dropDuplicates(["source", "received_at", "event_id"])
        .select(
            "source",
            F.col("received_at").alias("failed_at"),
            F.col("event_id").alias("id"),
            "topic",
            "partition",
            "offset",
            F.lit(QUARANTINED).alias("reason"),
            "reasons",
            "schema_hash",
            "payload",
            F.lit(None).cast("string").alias("raw"),
            "event_id",
            "received_at",
        )
    )
    pairs = [F.lit(x) for item in sorted((topic_sources or {}).items()) for x in item]
    topic_source = F.create_map(*pairs)[F.col("topic")] if pairs else F.lit(None).cast("string")
    unreadable = classified.filter(F.col("error").isNotNull()).select(
        F.coalesce(topic_source, F.lit(UNKNOWN_SOURCE)).alias("source"),
        # A record without a timestamp (none from Kafka has) still gets a deterministic key.
        F.coalesce(F.col("timestamp"), F.timestamp_seconds(F.lit(0))).alias("failed_at"),
        F.concat_ws(":", "topic", "partition", "offset").alias("id"),
        "topic",
        "partition",
        "offset",
        F.col("error").alias("reason"),
        *[F.lit(None).cast("string").alias(c) for c in ("reasons", "schema_hash", "payload")],
        F.col("value").alias("raw"),
        F.lit(None).cast("string").alias("event_id"),
        F.lit(None).cast("timestamp").alias("received_at"),
    )
    return quarantined.unionByName(unreadable).select(*DEAD_LETTER_COLUMNS)


def minute_keys(events: DataFrame) -> DataFrame:
    """The distinct (source, day, minute) an events DataFrame (with received_at) touches."""
    return events.select("source", "day", utc_minute(F.col("received_at")).alias("minute")).distinct()


def to_event_rows(events: DataFrame, processed_at: datetime) -> DataFrame:
    """Well-formed events -> rows of events_by_bucket, stamped with processed_at."""
    return events.select(
        "source",
        "bucket",
        "received_at",
        "event_id",
        "key",
        "payload",
        F.lit(processed_at).cast("timestamp").alias("processed_at"),
        # Events classified before the column existed (a DataFrame without it) are stored without a version.
        (F.col("schema_version") if "schema_version" in events.columns else F.lit(None)).cast("int").alias("schema_version"),
        # Records read without their Kafka headers are stored without a trace or headers.
        (F.col("trace_id") if "trace_id" in events.columns else F.lit(None)).cast("string").alias("trace_id"),
        (F.col("headers") if "headers" in events.columns else F.lit(None)).cast("map<string,string>").alias("headers"),
    )


def buckets_of_minute(minute_ms: int, seconds: int) -> list[int]:
    """The starts (epoch ms) of the buckets of `seconds` that overlap the minute starting at
    minute_ms: one for a bucket of a minute or more that holds it whole, several otherwise."""
    size = seconds * 1000
    first = minute_ms // size * size
    return list(range(first, minute_ms + 60_000, size))


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
    """Rows with source, received_at -> (source, day, minute, count): rows per UTC minute.

    Counts rows, not distinct ids, to agree with `SELECT count(*)` over events_by_bucket."""
    received_at = F.col("received_at")
    return (
        events.select("source", utc_day(received_at).alias("day"), utc_minute(received_at).alias("minute"))
        .groupBy("source", "day", "minute")
        .agg(F.count(F.lit(1)).alias("count"))
    )


def rollup_partitions(index_rows) -> dict[str, list[int]]:
    """Rows of event_buckets (source, bucket_ms: the bucket's start in epoch ms) -> the bucket starts
    of each source, oldest first: the partitions of events_by_bucket that hold a day's events."""
    partitions: dict[str, set] = {}
    for row in index_rows:
        partitions.setdefault(row.source, set()).add(row.bucket_ms)
    return {source: sorted(starts) for source, starts in partitions.items()}


def split_bucket_seconds(value: str) -> dict[str, int]:
    """'users=3600, clicks=30' -> {'users': 3600, 'clicks': 30}: ValueError for a size that is not a
    whole number of seconds from 1 to 86400 dividing a day evenly."""
    sizes = {}
    for source, text in split_pairs(value).items():
        try:
            seconds = int(text)
        except ValueError:
            raise ValueError(f"{source}: not a whole number of seconds: {text!r}") from None
        if not 1 <= seconds <= DAY_SECONDS or DAY_SECONDS % seconds:
            raise ValueError(f"{source}: a bucket must divide a day evenly, 1 to 86400 seconds: {seconds}")
        sizes[source] = seconds
    return sizes


def split_csv(value: str) -> list[str]:
    """'a, b,,a' -> ['a', 'b']: the jobs' comma-separated arguments, blanks and repeats dropped."""
    return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def split_pairs(value: str) -> dict[str, str]:
    """'t1=a, t2=b' -> {'t1': 'a', 't2': 'b'}: a comma-separated list of name=value; ValueError for an
    item without both parts."""
    pairs = {}
    for item in split_csv(value):
        name, sep, val = item.partition("=")
        if not sep or not name.strip() or not val.strip():
            raise ValueError(f"expected name=value, got {item!r}")
        pairs[name.strip()] = val.strip()
    return pairs
