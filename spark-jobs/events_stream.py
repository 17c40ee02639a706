"""The streaming job: Kafka topics of event envelopes -> Cassandra (keyspace `pipeline`).

Every micro-batch (foreachBatch):
  1. parses the envelopes (pipeline_transforms), counting the malformed ones it drops;
  2. upserts events_by_source (processed_at = now) and, for source `users`, created_users,
     with the Spark Cassandra connector;
  3. for each (source, day, minute) the batch touched, recounts that minute's rows in
     events_by_source and writes the count to event_counts_by_minute.

Every write is an upsert keyed by the event, and the counts are recounted from the table rather
than incremented, so replaying a batch (after a crash: the checkpoint commits a batch only once
its function returned) or receiving an event twice never duplicates a row nor double counts.

Prints one line per micro-batch to stdout (Livy's batch log shows it):
  events_stream batch epoch=12 rows=40 dropped=1 (invalid_json=1) minutes=1 users=20 duration_ms=480 lag_ms=910
rows = Kafka records read (duplicates included), users = records of source users, lag_ms = age of
the batch's oldest event (now - its receivedAt) once its minute's count is written.
"""
from __future__ import annotations

import argparse
import atexit
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import date, datetime, timezone

from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import pipeline_transforms as pt

APP_NAME = "events_stream"
EVENTS_TABLE = "events_by_source"
USERS_TABLE = "created_users"
COUNTS_TABLE = "event_counts_by_minute"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="events_stream.py", description=__doc__.splitlines()[0])
    parser.add_argument("--topics", required=True, type=_csv, help="Kafka topics to read, comma-separated")
    parser.add_argument("--kafka-bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--cassandra-host", default="127.0.0.1", help="Cassandra contact point(s), comma-separated")
    parser.add_argument("--cassandra-port", default=9042, type=_port, help="Cassandra native port")
    parser.add_argument("--keyspace", default="pipeline", help="Cassandra keyspace")
    parser.add_argument("--checkpoint-dir", required=True, help="where the query keeps its offsets (restart resumes there)")
    # 250 ms, measured on 2 cores with one event at a time: median publish -> row visible was
    # ~680 ms at 100 ms, ~770 ms at 250 ms, ~1030 ms at 500 ms, while the idle job (which asks Kafka
    # for new offsets every interval) used ~5%, ~3% and ~2.5% of one core. 250 ms keeps most of the
    # latency gain for half the idle cost of 100 ms. Under load it does not matter: a busy batch
    # takes longer than the interval and the next one starts at once.
    parser.add_argument("--trigger-ms", default=250, type=_positive_int, help="micro-batch interval in ms")
    parser.add_argument("--starting-offsets", default="earliest", type=_starting_offsets,
                        help="earliest, latest or Spark's per-partition JSON; used only on a fresh checkpoint")
    parser.add_argument("--max-offsets-per-trigger", default=20000, type=_positive_int,
                        help="at most this many records per micro-batch (bounds a catch-up batch)")
    return parser.parse_args(argv)


def _csv(value: str) -> list[str]:
    items = pt.split_csv(value)
    if not items:
        raise argparse.ArgumentTypeError("expected at least one comma-separated value")
    return items


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {number}")
    return number


def _port(value: str) -> int:
    number = _positive_int(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {number}")
    return number


def _starting_offsets(value: str) -> str:
    if value in ("earliest", "latest"):
        return value
    try:
        if isinstance(json.loads(value), dict):
            return value
    except ValueError:
        pass
    raise argparse.ArgumentTypeError("expected earliest, latest or a JSON object of per-partition offsets")


class MinuteCounts:
    """Recounts minutes of events_by_source and stores them in event_counts_by_minute.

    Runs in the driver with the Python driver: the minutes touched by a batch are few, and one
    prepared single-partition count per minute is cheaper than another Spark job. One session per
    driver process, made on first use and reused by every batch.
    """

    def __init__(self, hosts: list[str], port: int, keyspace: str):
        self._hosts, self._port, self._keyspace = hosts, port, keyspace
        self._session = self._count = self._store = None

    def _connect(self):
        if self._session is None:
            cluster = Cluster(contact_points=self._hosts, port=self._port)
            atexit.register(cluster.shutdown)
            session = cluster.connect(self._keyspace)
            self._count = session.prepare(
                f"SELECT count(*) FROM {EVENTS_TABLE} WHERE source = ? AND day = ? AND received_at >= ? AND received_at < ?"
            )
            self._store = session.prepare(
                f"INSERT INTO {COUNTS_TABLE} (source, day, minute, count) VALUES (?, ?, ?, ?)"
            )
            # LOCAL_QUORUM for both: the connector writes at LOCAL_QUORUM, so the recount sees every
            # row this batch wrote even with replication factor > 1.
            self._count.consistency_level = ConsistencyLevel.LOCAL_QUORUM
            self._store.consistency_level = ConsistencyLevel.LOCAL_QUORUM
            self._session = session
        return self._session

    def refresh(self, minutes: list[tuple[str, date, int]]) -> None:
        """Recounts and stores each (source, day, minute as epoch ms) given."""
        session = self._connect()
        bounds = [
            (source, day, _utc(minute_ms), _utc(minute_ms + 60_000)) for source, day, minute_ms in minutes
        ]
        counted = execute_concurrent_with_args(session, self._count, bounds, concurrency=32)
        rows = [
            (source, day, start, result.one()[0])
            for (source, day, start, _), (_, result) in zip(bounds, counted)
        ]
        execute_concurrent_with_args(session, self._store, rows, concurrency=32)


def _utc(epoch_ms: int) -> datetime:
    # Spark hands timestamps to Python in the process's local zone; epoch ms avoid that altogether.
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)


def write_table(df: DataFrame, keyspace: str, table: str) -> None:
    df.write.format("org.apache.spark.sql.cassandra").mode("append").options(keyspace=keyspace, table=table).save()


def process_batch(
    batch_df: DataFrame, epoch_id: int, *, keyspace: str, counts: MinuteCounts, partitions: int, pool: ThreadPoolExecutor
) -> None:
    started = time.monotonic()
    # A batch arrives with one partition per Kafka partition it read; a few partitions suit 2 cores
    # better than many near-empty tasks.
    classified = pt.classify_envelopes(batch_df.coalesce(partitions)).drop("value").persist()
    events = pt.well_formed(classified).persist()
    summary_df = pt.batch_summary(classified).select(
        "error", "source", "day", F.unix_millis("minute").alias("minute_ms"),
        "records", F.unix_millis("oldest").alias("oldest_ms"),
    )
    processed_at = datetime.now(timezone.utc)
    try:
        # Three independent Spark jobs, started together: each costs 150-250 ms, mostly driver-side
        # planning and round trips, which overlap well even on 2 cores (measured: a 1-event batch
        # took ~750 ms one after the other, ~500 ms together). The persisted DataFrames are still
        # computed once: a job needing a block that another job is computing waits for it.
        jobs = [
            pool.submit(summary_df.collect),
            pool.submit(write_table, pt.to_event_rows(events, processed_at), keyspace, EVENTS_TABLE),
            pool.submit(write_table, pt.user_rows(events), keyspace, USERS_TABLE),
        ]
        wait(jobs)  # all of them, before unpersisting what they read; then raise the first failure
        summary = [job.result() for job in jobs][0]
        good = [row for row in summary if row.error is None]
        # After the writes, so each recount includes this batch's rows.
        counts.refresh([(row.source, row.day, row.minute_ms) for row in good])
    finally:
        events.unpersist()
        classified.unpersist()
    users = sum(row.records for row in good if row.source == pt.USERS_SOURCE)
    dropped = {}
    for row in summary:
        if row.error is not None:
            dropped[row.error] = dropped.get(row.error, 0) + row.records
    lag = f" lag_ms={time.time() * 1000 - min(row.oldest_ms for row in good):.0f}" if good else ""
    reasons = " (" + ", ".join(f"{k}={v}" for k, v in sorted(dropped.items())) + ")" if dropped else ""
    print(
        f"{APP_NAME} batch epoch={epoch_id} rows={sum(row.records for row in summary)}"
        f" dropped={sum(dropped.values())}{reasons} minutes={len(good)} users={users}"
        f" duration_ms={(time.monotonic() - started) * 1000:.0f}{lag}",
        flush=True,
    )


def build_spark(args: argparse.Namespace) -> SparkSession:
    return (
        SparkSession.builder.appName(APP_NAME)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.cassandra.connection.host", args.cassandra_host)
        .config("spark.cassandra.connection.port", str(args.cassandra_port))
        # A null column (an event without key) is left unset instead of written as a tombstone.
        .config("spark.cassandra.output.ignoreNulls", "true")
        .getOrCreate()
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spark = build_spark(args)
    # A batch routinely outlasts a 250 ms interval; Spark would log a "falling behind" warning
    # for each, crowding our own per-batch line (which has the duration) out of Livy's log tail.
    jvm = spark.sparkContext._jvm  # noqa: SLF001 (PySpark has no public logger-level API)
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.sql.execution.streaming.ProcessingTimeExecutor", jvm.org.apache.logging.log4j.Level.ERROR
    )
    partitions = max(1, spark.sparkContext.defaultParallelism)
    # The batch's dedup and summary shuffle a few hundred rows: one partition per core, not 200 (or 4).
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    counts = MinuteCounts(pt.split_csv(args.cassandra_host), args.cassandra_port, args.keyspace)
    # Long-lived: with PySpark's pinned threads each Python thread owns a JVM thread and a py4j
    # connection, so a pool per batch would create (and leak) three of each every batch.
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="batch")

    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.kafka_bootstrap)
        .option("subscribe", ",".join(args.topics))
        .option("startingOffsets", args.starting_offsets)
        .option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
        # A topic recreated or trimmed by retention must not stop the pipeline; the lost offsets
        # are logged by Spark as a warning.
        .option("failOnDataLoss", "false")
        # Measured: with Kafka's default 500 ms, reading a 1-record batch took ~530 ms, nearly all
        # of it the broker holding the fetch. Tasks only fetch offsets known to exist, so a short
        # wait costs nothing while idle (no consumer polls between batches).
        .option("kafka.fetch.max.wait.ms", "20")
        .load()
        .select("topic", "partition", "offset", "value")
    )
    query = (
        source.writeStream.queryName(APP_NAME)
        .foreachBatch(
            lambda df, epoch_id: process_batch(
                df, epoch_id, keyspace=args.keyspace, counts=counts, partitions=partitions, pool=pool
            )
        )
        .option("checkpointLocation", args.checkpoint_dir)
        .trigger(processingTime=f"{args.trigger_ms} milliseconds")
        .start()
    )
    print(
        f"{APP_NAME} started topics={','.join(args.topics)} kafka={args.kafka_bootstrap}"
        f" cassandra={args.cassandra_host}:{args.cassandra_port}/{args.keyspace}"
        f" checkpoint={args.checkpoint_dir} trigger_ms={args.trigger_ms}",
        flush=True,
    )
    query.awaitTermination()


if __name__ == "__main__":
    sys.exit(main())
