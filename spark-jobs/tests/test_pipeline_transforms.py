from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

import pipeline_transforms as pt

ID_A = "0190a5e4-7c1b-7def-8000-000000000001"
ID_B = "0190a5e4-7c1b-7def-8000-000000000002"
ID_C = "0190a5e4-7c1b-7def-8000-000000000003"
ID_D = "0190a5e4-7c1b-7def-8000-000000000004"


def envelope(event_id=ID_A, source="users", received_at="2026-01-01T12:00:30.250Z", payload=None, **extra):
    body = {
        "eventId": event_id,
        "source": source,
        "receivedAt": received_at,
        "payload": {"name": "Ada Lovelace"} if payload is None else payload,
        **extra,
    }
    return json.dumps({k: v for k, v in body.items() if v is not ...})


def epoch_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def ms(col: str):
    # Compare instants as epoch ms: a collected timestamp is rendered in the Python process's zone.
    return F.unix_millis(F.col(col)).alias(col)


def utc(*args) -> int:
    return epoch_ms(datetime(*args, tzinfo=UTC))


# --- parse_envelopes / classify_envelopes -------------------------------------------------------


def test_parse_envelopes_extracts_the_columns_the_tables_need(kafka_df):
    events, rejected = pt.parse_envelopes(
        kafka_df([envelope(event_id=ID_A.upper(), key="ada@example.com", payload={"name": "Ada", "tags": ["x", {"y": 1}]})])
    )
    types = {f.name: f.dataType for f in events.schema.fields}
    assert types["received_at"] == T.TimestampType()
    assert types["day"] == T.DateType()
    assert types["minute"] == T.TimestampType()

    [row] = events.select("event_id", "source", "day", "key", "payload", ms("received_at"), ms("minute")).collect()
    assert row.event_id == ID_A  # upper-case input normalised
    assert row.source == "users"
    assert row.day == date(2026, 1, 1)
    assert row.key == "ada@example.com"
    assert row.received_at == utc(2026, 1, 1, 12, 0, 30, 250_000)
    assert row.minute == utc(2026, 1, 1, 12, 0)
    assert json.loads(row.payload) == {"name": "Ada", "tags": ["x", {"y": 1}]}
    assert rejected.count() == 0


def test_payload_is_kept_as_compact_json_text(kafka_df):
    raw = (
        '{"eventId":"' + ID_A + '","source":"clicks","receivedAt":"2026-01-01T00:00:00.000Z",'
        '"payload": { "page" : "/a b",  "xy" : [ 1 , 2 ] , "n": {"m": null} }}'
    )
    [row] = pt.parse_envelopes(kafka_df([raw]))[0].select("payload", "key").collect()
    assert row.payload == '{"page":"/a b","xy":[1,2],"n":{"m":null}}'
    assert row.key is None


@pytest.mark.parametrize(
    "value, reason",
    [
        ("not json at all", pt.INVALID_JSON),
        ('[{"eventId": "' + ID_A + '"}]', pt.INVALID_JSON),
        ("", pt.INVALID_JSON),
        (None, pt.INVALID_JSON),
        (envelope(event_id=...), pt.MISSING_EVENT_ID),
        (envelope(event_id="order-42"), pt.INVALID_EVENT_ID),
        (envelope(event_id=ID_A + "0"), pt.INVALID_EVENT_ID),
        (envelope(source=...), pt.MISSING_SOURCE),
        (envelope(source=" "), pt.MISSING_SOURCE),
        (envelope(received_at=...), pt.INVALID_RECEIVED_AT),
        (envelope(received_at="yesterday"), pt.INVALID_RECEIVED_AT),
        (envelope(payload="just text"), pt.INVALID_PAYLOAD),
        (envelope(payload=[1, 2]), pt.INVALID_PAYLOAD),
        (envelope(payload=...), pt.INVALID_PAYLOAD),
    ],
)
def test_malformed_envelopes_are_dropped_with_their_reason(kafka_df, value, reason):
    events, rejected = pt.parse_envelopes(kafka_df([envelope(event_id=ID_B), value]))
    assert [r.event_id for r in events.collect()] == [ID_B]
    [bad] = rejected.collect()
    assert (bad.error, bad.value, bad.offset) == (reason, value, 1)


def test_duplicate_event_ids_are_kept_once(kafka_df):
    events, _ = pt.parse_envelopes(
        kafka_df([envelope(event_id=ID_A), envelope(event_id=ID_B), envelope(event_id=ID_A.upper()), envelope(event_id=ID_A)])
    )
    assert sorted(r.event_id for r in events.collect()) == [ID_A, ID_B]


def test_day_and_minute_split_at_utc_midnight(kafka_df):
    events, _ = pt.parse_envelopes(
        kafka_df(
            [
                envelope(event_id=ID_A, received_at="2025-12-31T23:59:59.999Z"),
                envelope(event_id=ID_B, received_at="2026-01-01T00:00:00.000Z"),
                # 01:30 at +02:00 is 23:30 UTC the day before.
                envelope(event_id=ID_C, received_at="2026-01-01T01:30:00.000+02:00"),
            ]
        )
    )
    got = {r.event_id: (r.day, r.minute) for r in events.select("event_id", "day", ms("minute")).collect()}
    assert got == {
        ID_A: (date(2025, 12, 31), utc(2025, 12, 31, 23, 59)),
        ID_B: (date(2026, 1, 1), utc(2026, 1, 1, 0, 0)),
        ID_C: (date(2025, 12, 31), utc(2025, 12, 31, 23, 30)),
    }


def test_day_and_minute_are_utc_whatever_the_session_time_zone(spark, kafka_df):
    df = kafka_df([envelope(event_id=ID_A, received_at="2026-01-01T03:15:42.000Z")])
    spark.conf.set("spark.sql.session.timeZone", "America/St_Johns")  # UTC-03:30: day and minute both differ
    try:
        [row] = pt.parse_envelopes(df)[0].select("day", ms("minute")).collect()
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert row.day == date(2026, 1, 1)
    assert row.minute == utc(2026, 1, 1, 3, 15)


def test_kafka_coordinates_are_optional(spark):
    df = spark.createDataFrame([(bytearray(b"{oops"),)], "value binary")
    _, rejected = pt.parse_envelopes(df)
    assert [tuple(r) for r in rejected.collect()] == [(pt.INVALID_JSON, "{oops")]


# --- to_event_rows ------------------------------------------------------------------------------


def test_to_event_rows_matches_the_events_by_bucket_table(kafka_df):
    events, _ = pt.parse_envelopes(kafka_df([envelope(event_id=ID_A, key="k1")]))
    processed_at = datetime(2026, 1, 1, 12, 0, 31, 500_000, tzinfo=UTC)
    rows = pt.to_event_rows(events, processed_at)
    columns = ["source", "bucket", "received_at", "event_id", "key", "payload", "processed_at", "schema_version", "trace_id", "headers"]
    assert rows.columns == pt.EVENT_COLUMNS == columns
    [row] = rows.select("event_id", "key", ms("processed_at"), ms("received_at"), ms("bucket")).collect()
    assert (row.event_id, row.key) == (ID_A, "k1")
    assert row.processed_at == epoch_ms(processed_at)
    assert row.received_at == utc(2026, 1, 1, 12, 0, 30, 250_000)
    assert row.bucket == utc(2026, 1, 1, 12, 0)  # no size given: 1 h


def test_to_event_rows_stores_the_schema_version_the_event_was_checked_against(kafka_df):
    events, _ = pt.parse_envelopes(kafka_df([envelope(event_id=ID_A, schemaVersion=3), envelope(event_id=ID_B)]))
    rows = pt.to_event_rows(events, datetime(2026, 1, 1, tzinfo=UTC))
    got = {r.event_id: r.schema_version for r in rows.select("event_id", "schema_version").collect()}
    # An envelope without schemaVersion (a source without a schema, or published before versions) stores null.
    assert got == {ID_A: 3, ID_B: None}


def test_to_event_rows_takes_events_without_a_schema_version_column(kafka_df):
    events, _ = pt.parse_envelopes(kafka_df([envelope(event_id=ID_A)]))
    rows = pt.to_event_rows(events.drop("schema_version"), datetime(2026, 1, 1, tzinfo=UTC))
    assert rows.columns == pt.EVENT_COLUMNS
    assert [r.schema_version for r in rows.collect()] == [None]


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
HEADERS_SCHEMA = "topic string, partition int, offset long, value binary, headers array<struct<key: string, value: binary>>"


def test_to_event_rows_keeps_the_record_headers_and_the_trace_id_of_the_traceparent(spark):
    """Records read with includeHeaders: the headers as text (null values dropped, the last of a
    repeated name kept, none -> null), the trace id of a valid traceparent (else null)."""
    ids = [ID_A, ID_B, "0190a0a0-0000-7000-8000-0000000000c3", "0190a0a0-0000-7000-8000-0000000000d4"]
    headers = [
        [
            ("traceparent", TRACEPARENT.encode()),
            ("x-shop-id", b"shop-1"),
            ("x-shop-id", b"shop-2"),
            ("x-null", None),
            ("x-utf8", "café".encode()),
        ],
        [("traceparent", b"not-a-traceparent"), ("pipeline-source", b"users")],
        [],
        None,
    ]
    rows = [("users_created", 0, i, bytearray(envelope(event_id=e).encode()), h) for i, (e, h) in enumerate(zip(ids, headers, strict=True))]
    events, _ = pt.parse_envelopes(spark.createDataFrame(rows, HEADERS_SCHEMA))

    stored = {r.event_id: (r.trace_id, r.headers) for r in pt.to_event_rows(events, datetime(2026, 1, 1, tzinfo=UTC)).collect()}

    assert stored == {
        ID_A: ("4bf92f3577b34da6a3ce929d0e0e4736", {"traceparent": TRACEPARENT, "x-shop-id": "shop-2", "x-utf8": "café"}),
        ID_B: (None, {"traceparent": "not-a-traceparent", "pipeline-source": "users"}),
        ids[2]: (None, None),
        ids[3]: (None, None),
    }


def test_to_event_rows_stores_no_headers_for_records_read_without_them(kafka_df):
    events, _ = pt.parse_envelopes(kafka_df([envelope(event_id=ID_A)]))
    [row] = pt.to_event_rows(events, datetime(2026, 1, 1, tzinfo=UTC)).collect()
    assert (row.trace_id, row.headers) == (None, None)


# --- buckets ------------------------------------------------------------------------------------


def test_each_event_goes_into_the_bucket_of_its_sources_size(kafka_df):
    sizes = {"users": 3600, "clicks": 30, "orders": 86400}
    classified = pt.classify_envelopes(
        kafka_df(
            [
                envelope(event_id=ID_A, source="users", received_at="2026-01-01T12:59:59.999Z"),
                envelope(event_id=ID_B, source="clicks", received_at="2026-01-01T12:00:59.999Z"),
                envelope(event_id=ID_C, source="orders", received_at="2026-01-01T23:59:59.999Z"),
                envelope(event_id=ID_D, source="other", received_at="2026-01-01T00:30:00.000Z"),  # not given: 1 h
            ]
        ),
        bucket_seconds=sizes,
    )
    got = {r.event_id: (r.bucket_seconds, r.bucket) for r in classified.select("event_id", "bucket_seconds", ms("bucket")).collect()}
    assert got == {
        ID_A: (3600, utc(2026, 1, 1, 12, 0)),
        ID_B: (30, utc(2026, 1, 1, 12, 0, 30)),
        ID_C: (86400, utc(2026, 1, 1)),
        ID_D: (3600, utc(2026, 1, 1, 0, 0)),
    }


@pytest.mark.parametrize(
    "seconds,received_at,start",
    [
        (1, "2026-01-01T10:00:00.999Z", (2026, 1, 1, 10, 0, 0)),
        (5, "2026-01-01T10:00:09.999Z", (2026, 1, 1, 10, 0, 5)),
        (600, "2026-01-01T10:19:59.999Z", (2026, 1, 1, 10, 10)),
        (600, "2026-01-01T10:20:00.000Z", (2026, 1, 1, 10, 20)),
        (90, "2026-01-01T00:02:59.000Z", (2026, 1, 1, 0, 1, 30)),
        (43200, "2026-01-01T11:59:59.999Z", (2026, 1, 1, 0, 0)),
        (43200, "2026-01-01T12:00:00.000Z", (2026, 1, 1, 12, 0)),
        (3600, "1969-12-31T23:30:00.000Z", (1969, 12, 31, 23, 0)),  # before the epoch: still the start below
    ],
)
def test_bucket_start_truncates_to_the_size(kafka_df, seconds, received_at, start):
    classified = pt.classify_envelopes(kafka_df([envelope(source="s", received_at=received_at)]), bucket_seconds={"s": seconds})
    [row] = classified.select(ms("bucket")).collect()
    assert row.bucket == utc(*start)


def test_buckets_are_utc_whatever_the_session_time_zone(spark, kafka_df):
    df = kafka_df([envelope(received_at="2026-01-01T03:15:00.000Z")])
    spark.conf.set("spark.sql.session.timeZone", "America/St_Johns")  # UTC-03:30: a local day or hour would differ
    try:
        [row] = pt.classify_envelopes(df, bucket_seconds={"users": 21600}).select(ms("bucket")).collect()
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert row.bucket == utc(2026, 1, 1, 0, 0)


def test_a_minute_overlaps_one_bucket_of_a_minute_or_more_and_several_shorter_ones():
    minute = utc(2026, 1, 1, 10, 1)
    assert pt.buckets_of_minute(minute, 3600) == [utc(2026, 1, 1, 10, 0)]
    assert pt.buckets_of_minute(minute, 60) == [minute]
    assert pt.buckets_of_minute(minute, 30) == [minute, minute + 30_000]
    assert pt.buckets_of_minute(minute, 1) == [minute + i * 1000 for i in range(60)]
    # 80 s buckets start at 10:00:00, 10:01:20: the minute 10:01 overlaps both
    assert pt.buckets_of_minute(minute, 80) == [utc(2026, 1, 1, 10, 0), utc(2026, 1, 1, 10, 1, 20)]


def test_split_bucket_seconds():
    assert pt.split_bucket_seconds(" users=3600, clicks = 30,,") == {"users": 3600, "clicks": 30}
    assert pt.split_bucket_seconds("") == {}
    for bad, message in [
        ("users=7", "divide a day"),
        ("users=0", "divide a day"),
        ("users=172800", "divide a day"),
        ("users=1h", "not a whole number"),
        ("users", "expected name=value"),
    ]:
        with pytest.raises(ValueError, match=message):
            pt.split_bucket_seconds(bad)


def test_rollup_partitions_are_the_bucket_starts_of_each_source():
    Row = __import__("collections").namedtuple("Row", "source bucket_ms")
    index = [Row("users", 3_600_000), Row("clicks", 30_000), Row("users", 0), Row("users", 3_600_000)]
    assert pt.rollup_partitions(index) == {"users": [0, 3_600_000], "clicks": [30_000]}
    assert pt.rollup_partitions([]) == {}


# --- user_rows ----------------------------------------------------------------------------------


def test_user_rows_split_a_full_name_and_keep_explicit_names(kafka_df):
    events, _ = pt.parse_envelopes(
        kafka_df(
            [
                envelope(
                    event_id=ID_A, payload={"name": "  Mary Ann  Smith ", "email": "m@example.com", "post_code": 12345, "gender": "female"}
                ),
                envelope(
                    event_id=ID_B,
                    payload={
                        "name": "Ada Lovelace",
                        "first_name": "Augusta",
                        "last_name": "King",
                        "post_code": "SW1A 1AA",
                        "phone": "+44 20",
                        "dob": "1815-12-10",
                        "picture": "https://example.com/a.png",
                    },
                ),
                envelope(event_id=ID_C, payload={"name": "Cher"}),
                envelope(event_id=ID_D, payload={"email": "anon@example.com"}),
                envelope(event_id="0190a5e4-7c1b-7def-8000-0000000000ff", source="orders", payload={"name": "Not A User"}),
            ]
        )
    )
    rows = pt.user_rows(events)
    assert rows.columns == pt.USER_COLUMNS
    got = {r.id: r for r in rows.collect()}
    assert set(got) == {ID_A, ID_B, ID_C, ID_D}
    assert (got[ID_A].first_name, got[ID_A].last_name) == ("Mary", "Ann  Smith")
    assert (got[ID_A].email, got[ID_A].post_code, got[ID_A].gender) == ("m@example.com", "12345", "female")
    assert got[ID_A].phone is None
    assert (got[ID_B].first_name, got[ID_B].last_name) == ("Augusta", "King")
    assert (got[ID_B].post_code, got[ID_B].phone, got[ID_B].dob) == ("SW1A 1AA", "+44 20", "1815-12-10")
    assert got[ID_B].picture == "https://example.com/a.png"
    assert (got[ID_C].first_name, got[ID_C].last_name) == ("Cher", None)
    assert (got[ID_D].first_name, got[ID_D].last_name, got[ID_D].email) == (None, None, "anon@example.com")


def test_user_rows_keep_received_at(kafka_df):
    events, _ = pt.parse_envelopes(kafka_df([envelope(event_id=ID_A, received_at="2026-03-04T05:06:07.008Z")]))
    [row] = pt.user_rows(events).select("id", ms("received_at")).collect()
    assert row.received_at == utc(2026, 3, 4, 5, 6, 7, 8_000)


# --- batch_summary / minute_keys / daily_counts -------------------------------------------------


def test_batch_summary_counts_records_and_drops(kafka_df):
    classified = pt.classify_envelopes(
        kafka_df(
            [
                envelope(event_id=ID_A, received_at="2026-01-01T10:00:01.000Z"),
                envelope(event_id=ID_A, received_at="2026-01-01T10:00:01.000Z"),  # a retried publish
                envelope(event_id=ID_B, received_at="2026-01-01T10:00:59.999Z"),
                envelope(event_id=ID_C, received_at="2026-01-01T10:01:00.000Z"),
                "garbage",
                envelope(event_id="nope"),
                envelope(event_id="nope-2"),
            ]
        )
    )
    rows = (
        pt.batch_summary(classified)
        .select("error", "source", "day", ms("minute"), ms("bucket"), "bucket_seconds", "records", ms("oldest"))
        .collect()
    )
    got = {(r.error, r.minute): (r.source, r.day, r.bucket, r.bucket_seconds, r.records, r.oldest) for r in rows}
    hour = utc(2026, 1, 1, 10, 0)
    assert got == {
        (None, utc(2026, 1, 1, 10, 0)): ("users", date(2026, 1, 1), hour, 3600, 3, utc(2026, 1, 1, 10, 0, 1)),
        (None, utc(2026, 1, 1, 10, 1)): ("users", date(2026, 1, 1), hour, 3600, 1, utc(2026, 1, 1, 10, 1)),
        (pt.INVALID_JSON, None): (None, None, None, None, 1, None),
        (pt.INVALID_EVENT_ID, None): (None, None, None, None, 2, None),
    }


def test_batch_summary_splits_a_minute_by_its_buckets_when_they_are_shorter(kafka_df):
    classified = pt.classify_envelopes(
        kafka_df(
            [
                envelope(event_id=ID_A, received_at="2026-01-01T10:00:01.000Z"),
                envelope(event_id=ID_B, received_at="2026-01-01T10:00:29.999Z"),
                envelope(event_id=ID_C, received_at="2026-01-01T10:00:30.000Z"),
            ]
        ),
        bucket_seconds={"users": 30},
    )
    rows = pt.batch_summary(classified).select(ms("minute"), ms("bucket"), "bucket_seconds", "records").collect()
    assert sorted(tuple(r) for r in rows) == [
        (utc(2026, 1, 1, 10, 0), utc(2026, 1, 1, 10, 0), 30, 2),
        (utc(2026, 1, 1, 10, 0), utc(2026, 1, 1, 10, 0, 30), 30, 1),
    ]


def _stored_events(spark, rows):
    return spark.createDataFrame(
        [(s, d, datetime.fromisoformat(t).replace(tzinfo=UTC)) for s, d, t in rows],
        "source string, day date, received_at timestamp",
    )


STORED = [
    ("users", date(2025, 12, 31), "2025-12-31T23:59:00.000"),
    ("users", date(2025, 12, 31), "2025-12-31T23:59:59.999"),
    ("users", date(2026, 1, 1), "2026-01-01T00:00:00.000"),
    ("users", date(2026, 1, 1), "2026-01-01T00:00:00.001"),
    ("users", date(2026, 1, 1), "2026-01-01T00:00:00.001"),  # same instant, another event id
    ("orders", date(2026, 1, 1), "2026-01-01T00:00:30.000"),
]


def test_minute_keys_are_distinct(spark):
    keys = pt.minute_keys(_stored_events(spark, STORED)).select("source", "day", ms("minute")).collect()
    assert sorted(tuple(k) for k in keys) == [
        ("orders", date(2026, 1, 1), utc(2026, 1, 1, 0, 0)),
        ("users", date(2025, 12, 31), utc(2025, 12, 31, 23, 59)),
        ("users", date(2026, 1, 1), utc(2026, 1, 1, 0, 0)),
    ]


def test_daily_counts_counts_rows_per_minute(spark):
    # The shape daily_rollup reads from events_by_bucket: the day comes from received_at.
    counts = pt.daily_counts(_stored_events(spark, STORED).select("source", "received_at"))
    assert counts.columns == ["source", "day", "minute", "count"]
    got = sorted(tuple(r) for r in counts.select("source", "day", ms("minute"), "count").collect())
    assert got == [
        ("orders", date(2026, 1, 1), utc(2026, 1, 1, 0, 0), 1),
        ("users", date(2025, 12, 31), utc(2025, 12, 31, 23, 59), 2),
        ("users", date(2026, 1, 1), utc(2026, 1, 1, 0, 0), 3),
    ]


def test_split_csv():
    assert pt.split_csv(" users_created, ingest.orders,,users_created ,") == ["users_created", "ingest.orders"]
    assert pt.split_csv(" , ") == []


def test_split_pairs():
    assert pt.split_pairs(" users_created=users, ingest.orders = orders,,") == {"users_created": "users", "ingest.orders": "orders"}
    assert pt.split_pairs("") == {}
    for bad in ("t", "t=", "=s"):
        with pytest.raises(ValueError, match="expected name=value"):
            pt.split_pairs(bad)


# --- dead letters -------------------------------------------------------------------------------

DLQ = "ingest.orders.dlq"
REASONS = [{"field": "/amount", "message": "must be number"}]


def dead_letter(event_id=ID_A, received_at="2026-01-01T12:00:30.250Z", payload=None, **extra):
    """A dead-letter envelope as POST /ingest writes it for a quarantined order."""
    return envelope(
        event_id=event_id,
        source="orders",
        received_at=received_at,
        payload={"order_id": "o-1", "amount": "ten"} if payload is None else payload,
        reasons=REASONS,
        schemaHash="ab" * 32,
        **extra,
    )


def test_a_dead_letter_topic_holds_quarantined_events_not_events_to_store(records):
    classified = pt.classify_envelopes(
        records([(DLQ, dead_letter(event_id=ID_A)), ("ingest.orders", envelope(event_id=ID_B, source="orders"))]),
        [DLQ],
    )
    assert [r.event_id for r in pt.well_formed(classified).collect()] == [ID_B]
    [row] = classified.filter("dead_letter").select("event_id", "error", "reasons", "schema_hash").collect()
    assert (row.event_id, row.error, row.schema_hash) == (ID_A, None, "ab" * 32)
    assert json.loads(row.reasons) == REASONS


def test_without_dead_letter_topics_every_record_is_an_event(records):
    classified = pt.classify_envelopes(records([(DLQ, envelope(event_id=ID_A))]))
    assert [r.dead_letter for r in classified.collect()] == [False]
    assert pt.well_formed(classified).count() == 1


def test_dead_letter_rows_of_a_quarantined_event_keyed_by_its_event_id_and_receivedat(records):
    classified = pt.classify_envelopes(records([(DLQ, dead_letter(event_id=ID_A.upper())), (DLQ, dead_letter(event_id=ID_A))]), [DLQ])

    rows = pt.dead_letter_rows(classified, {DLQ: "orders"})

    assert rows.columns == pt.DEAD_LETTER_COLUMNS
    [row] = rows.select(
        *[c for c in pt.DEAD_LETTER_COLUMNS if c not in ("failed_at", "received_at")], ms("failed_at"), ms("received_at")
    ).collect()  # the repeated record once
    assert (row.source, row.id, row.event_id, row.reason) == ("orders", ID_A, ID_A, pt.QUARANTINED)
    assert row.failed_at == row.received_at == utc(2026, 1, 1, 12, 0, 30, 250_000)
    assert (row.topic, row.partition, row.offset) == (DLQ, 0, 0)
    assert json.loads(row.reasons) == REASONS and row.schema_hash == "ab" * 32
    assert json.loads(row.payload) == {"order_id": "o-1", "amount": "ten"}
    assert row.raw is None


def test_dead_letter_rows_of_unreadable_records_keyed_by_topic_partition_offset_under_their_topics_source(records):
    classified = pt.classify_envelopes(
        records(
            [
                ("ingest.orders", "not json"),
                (DLQ, '{"eventId": "oops"}'),
                ("ingest.elsewhere", envelope(event_id="nope")),
                ("ingest.orders", envelope(event_id=ID_C, source="orders")),
            ]
        ),
        [DLQ],
    )

    rows = pt.dead_letter_rows(classified, {"ingest.orders": "orders", DLQ: "orders"})

    got = {r.id: r for r in rows.select(*[c for c in pt.DEAD_LETTER_COLUMNS if c != "failed_at"], ms("failed_at")).collect()}
    assert set(got) == {"ingest.orders:0:0", f"{DLQ}:0:1", "ingest.elsewhere:0:2"}
    first = got["ingest.orders:0:0"]
    assert (first.source, first.reason, first.raw, first.topic, first.partition, first.offset) == (
        "orders",
        pt.INVALID_JSON,
        "not json",
        "ingest.orders",
        0,
        0,
    )
    assert first.failed_at == utc(2026, 1, 2, 3, 4, 5)
    assert (first.event_id, first.payload, first.reasons, first.received_at) == (None, None, None, None)
    assert (got[f"{DLQ}:0:1"].source, got[f"{DLQ}:0:1"].reason) == ("orders", pt.INVALID_EVENT_ID)
    assert got[f"{DLQ}:0:1"].failed_at == utc(2026, 1, 2, 3, 4, 6)
    assert (got["ingest.elsewhere:0:2"].source, got["ingest.elsewhere:0:2"].reason) == (pt.UNKNOWN_SOURCE, pt.INVALID_EVENT_ID)


def test_dead_letter_rows_are_the_same_for_the_same_records(records):
    df = records([("ingest.orders", "not json"), (DLQ, dead_letter())])
    once = [tuple(r) for r in pt.dead_letter_rows(pt.classify_envelopes(df, [DLQ]), {"ingest.orders": "orders"}).collect()]
    again = [tuple(r) for r in pt.dead_letter_rows(pt.classify_envelopes(df, [DLQ]), {"ingest.orders": "orders"}).collect()]
    assert sorted(once, key=str) == sorted(again, key=str) and len(once) == 2


def test_batch_summary_counts_quarantined_events_apart_from_the_minutes_to_recount(records):
    classified = pt.classify_envelopes(
        records(
            [
                ("ingest.orders", envelope(event_id=ID_B, source="orders", received_at="2026-01-01T10:00:01.000Z")),
                (DLQ, dead_letter(event_id=ID_A)),
                (DLQ, dead_letter(event_id=ID_C)),
                (DLQ, "garbage"),
            ]
        ),
        [DLQ],
    )
    rows = pt.batch_summary(classified).select("error", "dead_letter", "source", ms("minute"), "records").collect()
    got = {(r.error, r.dead_letter, r.source, r.minute): r.records for r in rows}
    assert got == {
        (None, False, "orders", utc(2026, 1, 1, 10, 0)): 1,
        (None, True, None, None): 2,
        (pt.INVALID_JSON, True, None, None): 1,
    }


def test_a_replayed_event_waits_since_its_replay_not_since_it_was_received(records):
    classified = pt.classify_envelopes(
        records(
            [
                (
                    "ingest.orders",
                    envelope(event_id=ID_A, source="orders", received_at="2026-01-01T10:00:00.000Z", replayedAt="2026-01-05T08:00:00.000Z"),
                ),
                ("ingest.orders", envelope(event_id=ID_B, source="orders", received_at="2026-01-05T08:00:00.500Z")),
            ]
        )
    )
    oldest = {r.minute: r.oldest for r in pt.batch_summary(classified).select(ms("minute"), ms("oldest")).collect()}
    assert oldest == {utc(2026, 1, 1, 10): utc(2026, 1, 5, 8), utc(2026, 1, 5, 8): utc(2026, 1, 5, 8, 0, 0, 500_000)}
    # Stored under its receivedAt all the same: the row it would have been.
    [event] = pt.well_formed(classified).filter(F.col("event_id") == ID_A).select(ms("received_at"), "day").collect()
    assert (event.received_at, event.day) == (utc(2026, 1, 1, 10), date(2026, 1, 1))
