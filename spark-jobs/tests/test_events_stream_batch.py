"""events_stream's micro-batch function on a local SparkSession: what it writes to which table,
and the line it prints (the Spark Cassandra connector and the minute recount replaced by fakes)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

import events_stream
import pipeline_transforms as pt

ID_A = "0190a5e4-7c1b-7def-8000-000000000001"
ID_B = "0190a5e4-7c1b-7def-8000-000000000002"
DLQ = "ingest.orders.dlq"
SOURCES = {"ingest.orders": "orders", DLQ: "orders"}


def envelope(event_id, **extra):
    return json.dumps({"eventId": event_id, "source": "orders", "receivedAt": "2026-01-01T12:00:00.000Z",
                       "payload": {"order_id": "o-1", "amount": 1}, **extra})


class Counts:
    """MinuteCounts without Cassandra: remembers the minutes it was asked to recount."""

    def __init__(self):
        self.minutes = []

    def refresh(self, minutes):
        self.minutes.extend(minutes)


@pytest.fixture
def run(records):
    """run([(topic, value), ...]) -> (stats, {table: rows written}, counts) of one micro-batch."""

    def go(items):
        written: dict[str, list] = {}

        def write(df, keyspace, table):
            assert keyspace == "pipeline"
            written.setdefault(table, []).extend(df.collect())

        counts = Counts()
        with ThreadPoolExecutor(max_workers=3) as pool:
            stats = events_stream.process_batch(
                records(items), 12, keyspace="pipeline", counts=counts, partitions=1, pool=pool,
                dead_letter_topics=(DLQ,), topic_sources=SOURCES, write=write)
        return stats, written, counts

    return go


def test_a_batch_without_dead_letters_writes_no_dead_letters_table(run, capsys):
    stats, written, counts = run([("ingest.orders", envelope(ID_A))])

    assert set(written) == {"events_by_source", "created_users"}
    assert [r.event_id for r in written["events_by_source"]] == [ID_A]
    assert len(counts.minutes) == 1
    assert (stats.rows_read, stats.rows_written, stats.dropped) == (1, 1, 0)
    line = capsys.readouterr().out.strip()
    assert line.startswith("events_stream batch epoch=12 rows=1 unreadable=0 quarantined=0 minutes=1 users=0 duration_ms=")


def test_quarantined_events_and_unreadable_records_go_to_dead_letters_and_nowhere_else(run, capsys):
    quarantined = envelope(ID_B, reasons=[{"field": "/amount", "message": "must be number"}], schemaHash="h")

    stats, written, counts = run([
        ("ingest.orders", envelope(ID_A)),
        (DLQ, quarantined),
        ("ingest.orders", "not json"),
    ])

    assert [r.event_id for r in written["events_by_source"]] == [ID_A]
    rows = {r.id: r for r in written["dead_letters"]}
    assert set(rows) == {ID_B, "ingest.orders:0:2"}
    assert (rows[ID_B].source, rows[ID_B].reason, rows[ID_B].schema_hash) == ("orders", pt.QUARANTINED, "h")
    assert (rows["ingest.orders:0:2"].source, rows["ingest.orders:0:2"].reason, rows["ingest.orders:0:2"].raw) == (
        "orders", pt.INVALID_JSON, "not json")
    # Only the stored event's minute is recounted.
    assert len(counts.minutes) == 1
    assert (stats.rows_read, stats.rows_written, stats.dropped) == (3, 1, 1)
    out = capsys.readouterr().out
    assert " rows=3 unreadable=1 (invalid_json=1) quarantined=1 minutes=1 " in out
