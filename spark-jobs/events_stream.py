"""The streaming job: Kafka topics of event envelopes -> Cassandra (keyspace `pipeline`).

Every micro-batch (foreachBatch):
  1. parses the envelopes (pipeline_transforms);
  2. upserts events_by_bucket (processed_at = now; the record's headers and the trace id of its
     traceparent with it), each event in the partition of its source and time bucket
     (--bucket-seconds), and, for source `users`, created_users, with the Spark Cassandra connector
     (its session checked first: ConnectorSchema); lists each (source, day, bucket) the batch wrote
     in event_buckets, before the events are all written, so a reader that walks the index never
     misses a stored row;
  3. for each (source, day, minute) the batch touched that is older than the minute counts' lateness
     (a replayed dead letter, an event published long after its receivedAt), recounts that minute's
     rows in events_by_bucket (in each bucket the minute overlaps) and writes the count to
     event_counts_by_minute (with --minute-counts recount: every minute it touched);
  4. when the batch holds any, upserts dead_letters: the quarantined events of the dead-letter
     topics (--dead-letter-topics) and every record that is not a well-formed envelope.

Beside this query run the queries of stream_view_runner (one per view of table `views`) and, with
--minute-counts view (the default), the built-in view that keeps event_counts_by_minute: a stateful
count per source and minute (start_minute_counts). That one is essential: when it stops, the run fails
and the supervisor starts a new copy.

Every write is an upsert keyed by the event (a dead letter by its event id, or an unreadable record
by its topic, partition and offset), and the counts are recounted from the table rather than
incremented, so replaying a batch (after a crash: the checkpoint commits a batch only once its
function returned) or receiving an event twice never duplicates a row nor double counts.

Prints one line per micro-batch to stdout, for whoever reads the job's log (Livy's batch log shows
it; contracts/micro-batch-lines.json):
    events_stream batch epoch=12 rows=40 unreadable=1 (invalid_json=1) quarantined=2 minutes=1 users=20
      duration_ms=480 lag_ms=910 at=2026-01-01T12:00:01.250Z     (one line in the log)
and returns the same numbers, which the guard writes as one row of `stream_micro_batches`
(contracts/micro-batch-rows.json): GET /streaming/micro-batches reads that table, since Livy keeps only
the last 1,000 lines of a log and forgets them all when it restarts.

Only one copy runs (stream_guard.py): before the query touches the checkpoint the job takes the
lease `stream:events_stream` in Cassandra's `leases`, exiting 3 if a live copy holds it (and waiting
out a dead one's); it renews the lease every --heartbeat-seconds and after every micro-batch, and
stops at once (exit 3) when it loses it. While it holds it, it writes its state and each batch's
numbers and Kafka offsets into `stream_heartbeats`, one row per micro-batch into `stream_micro_batches`
(a failure to write it is logged, never fails the batch), and stops (exit 0) when `stream_control` asks.
A Cassandra it cannot reach at start makes it exit 2. spark-jobs/README.md has the whole contract.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, date, datetime

from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

import job_args as ja
import pipeline_transforms as pt
import stream_decisions as sd
import stream_views as sv
from cassandra import ConsistencyLevel, InvalidRequest
from pipeline_names import BUCKETS_TABLE, COUNTS_TABLE, DEAD_LETTERS_TABLE, EVENTS_TABLE, STREAM_JOB, USERS_TABLE, VIEW_RESULTS_TABLE
from stream_guard import LeaseLost, StreamExit, StreamGuard, say
from stream_store import StreamStore
from stream_view_runner import ViewProgress, ViewRunner

APP_NAME = STREAM_JOB
# What every query of the job reads of a Kafka record.
KAFKA_COLUMNS = ("topic", "partition", "offset", "timestamp", "value")
MINUTE_COUNTS_VIEW, MINUTE_COUNTS_RECOUNT = "view", "recount"
MINUTE_COUNTS_QUERY = f"{STREAM_JOB}:minute_counts"
# A minute this much younger than the count's lateness is still the count's: the raw events' batch
# recounts only older ones (an event that old when it arrives is one the count drops as late).
RECOUNT_MARGIN_MS = 120_000
ROCKSDB_STATE_STORE = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
# The driver's default; said here because a wrong --cassandra-host must fail in seconds, not minutes.
CONNECT_TIMEOUT_SECONDS = 5
# How long a batch waits for the connector's schema refresh (ConnectorSchema): a refresh takes well under
# a second, or up to the driver's 10 s schema agreement wait while a node that just went away is not yet
# known down.
SCHEMA_CHECK_SECONDS = 15
# What the connector session's refresh raises through py4j when it did not answer in time, and when it failed.
TIMEOUT_EXCEPTION = "java.util.concurrent.TimeoutException"
EXECUTION_EXCEPTION = "java.util.concurrent.ExecutionException"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="events_stream.py", description=__doc__.splitlines()[0])
    parser.add_argument("--topics", required=True, type=ja.csv, help="Kafka topics to read, comma-separated")
    parser.add_argument(
        "--topic-sources",
        default={},
        type=ja.pairs,
        help="whose each topic is, topic=source,...: an unreadable record is filed under its topic's source",
    )
    parser.add_argument(
        "--dead-letter-topics",
        default=[],
        type=ja.csv,
        help="which of --topics hold quarantined events (dead-letter envelopes), comma-separated",
    )
    parser.add_argument(
        "--bucket-seconds",
        default={},
        type=ja.bucket_seconds,
        help="the time bucket of each source's events partitions, source=seconds,... (a size divides a day);"
        f" a source not listed: {pt.DEFAULT_BUCKET_SECONDS}",
    )
    parser.add_argument("--kafka-bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    ja.add_cassandra_args(parser)
    parser.add_argument("--checkpoint-dir", required=True, help="where the query keeps its offsets (restart resumes there)")
    # 250 ms, measured on 2 cores with one event at a time: median publish -> row visible was
    # ~680 ms at 100 ms, ~770 ms at 250 ms, ~1030 ms at 500 ms, while the idle job (which asks Kafka
    # for new offsets every interval) used ~5%, ~3% and ~2.5% of one core. 250 ms keeps most of the
    # latency gain for half the idle cost of 100 ms. Under load it does not matter: a busy batch
    # takes longer than the interval and the next one starts at once.
    parser.add_argument("--trigger-ms", default=250, type=ja.positive_int, help="micro-batch interval in ms")
    parser.add_argument(
        "--starting-offsets",
        default="earliest",
        type=ja.starting_offsets,
        help="earliest, latest or Spark's per-partition JSON; used only on a fresh checkpoint",
    )
    parser.add_argument(
        "--max-offsets-per-trigger",
        default=20000,
        type=ja.positive_int,
        help="at most this many records per micro-batch (bounds a catch-up batch)",
    )
    # A micro-batch costs ~0.3 s of CPU whatever its size (three Spark jobs and their planning): at
    # 250 ms intervals the job spent a core on batches of 60 events at 250 events/s. Waiting for
    # 1,000 records, or 1 s at most, makes a busy pipeline run fewer, larger batches, while a quiet
    # one still stores an event within about a second of its arrival.
    parser.add_argument(
        "--min-offsets-per-trigger",
        default=1000,
        type=ja.positive_int,
        help="a micro-batch waits until this many records are available (or --max-trigger-delay-ms passed)",
    )
    parser.add_argument(
        "--max-trigger-delay-ms",
        default=1000,
        type=ja.positive_int,
        help="the longest a micro-batch waits for --min-offsets-per-trigger records once any is available",
    )
    parser.add_argument("--batch-id", default="", help="the control plane's id of this batch, written to the heartbeat row")
    parser.add_argument(
        "--lease-ttl-seconds",
        default=30,
        type=ja.positive_int,
        help="the stream's lease lives this long without a renewal (a dead copy's lease is waited out)",
    )
    parser.add_argument("--heartbeat-seconds", default=3, type=ja.positive_int, help="lease renewal, heartbeat and stop-request interval")
    # Measured on 2 cores (docs/performance.md, "Views and the minute counts"): at 4,000-6,000 events/s
    # the stateful count cost the Spark stream about half a core more than the recount cost Cassandra,
    # so the recount stays the default until a rate where its growth outweighs that.
    parser.add_argument(
        "--minute-counts",
        default=MINUTE_COUNTS_RECOUNT,
        choices=(MINUTE_COUNTS_VIEW, MINUTE_COUNTS_RECOUNT),
        help="how event_counts_by_minute is kept: `view`, a stateful count per source and minute beside the raw"
        " events (a micro-batch recounts only minutes older than the count's lateness); `recount`, every minute a"
        " micro-batch touched recounted from events_by_bucket",
    )
    # Each micro-batch of a stateful query costs a few hundred ms of CPU whatever its size (planning,
    # the state store's commit): the counts behind GET /stats are refreshed every 5 s, not every second.
    parser.add_argument(
        "--minute-counts-trigger-ms",
        default=5000,
        type=ja.positive_int,
        help="micro-batch interval of the minute counts' query, in ms",
    )
    parser.add_argument(
        "--views-poll-seconds",
        default=5,
        type=ja.positive_int,
        help="how often the job reads the views table, starting a new view's query and stopping a deleted one's",
    )
    # A view's micro-batch interval: its current window reflects an event within about this plus the
    # batch's own time (the freshness a view promises is 3 s at p99).
    parser.add_argument("--views-trigger-ms", default=1000, type=ja.positive_int, help="micro-batch interval of each view's query, in ms")
    args = parser.parse_args(argv)
    strays = [t for t in args.dead_letter_topics if t not in args.topics]
    if strays:
        parser.error(f"--dead-letter-topics must be among --topics: {','.join(strays)}")
    if args.lease_ttl_seconds < 3 * args.heartbeat_seconds:
        # A copy gives up one heartbeat before its lease can expire: it must get a few renewals in first.
        parser.error("--lease-ttl-seconds must be at least 3 times --heartbeat-seconds")
    return args


class MinuteCounts:
    """Recounts minutes of events_by_bucket and stores them in event_counts_by_minute.

    Runs in the driver with the Python driver: the minutes touched by a batch are few, and one
    prepared single-partition count per (minute, bucket) is cheaper than another Spark job. A
    minute is counted in each bucket of its source's size that it overlaps: one when buckets are a
    minute or more, several when they are shorter. Uses the job's one driver session
    (connect_cassandra), shared with the stream's lease and heartbeat.
    """

    def __init__(self, session, bucket_seconds: dict[str, int] | None = None):
        self._session = session
        self._sizes = dict(bucket_seconds or {})
        self._count = session.prepare(
            f"SELECT count(*) FROM {EVENTS_TABLE} WHERE source = ? AND bucket = ? AND received_at >= ? AND received_at < ?"
        )
        self._store = session.prepare(f"INSERT INTO {COUNTS_TABLE} (source, day, minute, count) VALUES (?, ?, ?, ?)")
        # LOCAL_QUORUM for both: the connector writes at LOCAL_QUORUM, so the recount sees every
        # row this batch wrote even with replication factor > 1.
        self._count.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        self._store.consistency_level = ConsistencyLevel.LOCAL_QUORUM

    def refresh(self, minutes: list[tuple[str, date, int]]) -> None:
        """Recounts and stores each (source, day, minute as epoch ms) given."""
        session = self._session
        minutes = list(dict.fromkeys(minutes))
        bounds, owners = [], []
        for i, (source, _, minute_ms) in enumerate(minutes):
            size = self._sizes.get(source, pt.DEFAULT_BUCKET_SECONDS)
            for bucket_ms in pt.buckets_of_minute(minute_ms, size):
                bounds.append((source, _utc(bucket_ms), _utc(minute_ms), _utc(minute_ms + 60_000)))
                owners.append(i)
        counted = execute_concurrent_with_args(session, self._count, bounds, concurrency=32)
        totals = [0] * len(minutes)
        for i, (_, result) in zip(owners, counted, strict=True):
            totals[i] += result.one()[0]
        rows = [(source, day, _utc(minute_ms), total) for (source, day, minute_ms), total in zip(minutes, totals, strict=True)]
        execute_concurrent_with_args(session, self._store, rows, concurrency=32)


class BucketIndex:
    """Lists the buckets a batch wrote in event_buckets ((source, day) -> bucket, bucket_seconds),
    with the driver session: a handful of upserts per batch."""

    def __init__(self, session):
        self._session = session
        self._store = session.prepare(f"INSERT INTO {BUCKETS_TABLE} (source, day, bucket, bucket_seconds) VALUES (?, ?, ?, ?)")
        self._store.consistency_level = ConsistencyLevel.LOCAL_QUORUM

    def record(self, buckets: list[tuple[str, date, int, int]]) -> None:
        """Upserts each (source, day, bucket start as epoch ms, bucket_seconds) given."""
        rows = [(source, day, _utc(bucket_ms), seconds) for source, day, bucket_ms, seconds in dict.fromkeys(buckets)]
        execute_concurrent_with_args(self._session, self._store, rows, concurrency=32)


def connect_cassandra(hosts: list[str], port: int, keyspace: str):
    """The job's one driver session: minute counts, and the stream's lease and heartbeat."""
    cluster = Cluster(contact_points=hosts, port=port, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    atexit.register(cluster.shutdown)
    return cluster.connect(keyspace)


def _utc(epoch_ms: int) -> datetime:
    # Spark hands timestamps to Python in the process's local zone; epoch ms avoid that altogether.
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def write_table(df: DataFrame, keyspace: str, table: str) -> None:
    df.write.format("org.apache.spark.sql.cassandra").mode("append").options(keyspace=keyspace, table=table).save()


class ConnectorSchema:
    """Keeps the Cassandra connector's driver session usable for writes.

    The connector refreshes its session's schema before every write (Schema.fromCassandra calls
    Session.refreshSchema, which waits without a deadline). With the Java driver it bundles (4.18), a
    refresh that fails before its queries run (the control connection lost with a node that went away:
    the schema agreement check or the queries' start fails) completes with that error but stays the
    session's current refresh: every later refresh queues behind it and never completes, so every later
    write of that session waits forever. Seen on make cluster: a Cassandra node killed or restarted
    mid-batch left the stream still until its stall limit.

    `check()` awaits one refresh for at most `timeout_seconds`; one that does not answer, or fails (it
    may be the refresh that got stuck: "Control channel not available, aborting schema refresh"),
    closes the connector's cached sessions (`renewed` counts it), which fails the refreshes queued
    behind a stuck one, and the next write opens a new session. `guarded(write)` writes once more after a failure
    that such a closing caused (every write is an upsert). process_batch checks before a batch's writes,
    and again while they run past `timeout_seconds`."""

    def __init__(
        self, open_session: Callable, evict: Callable[[], None], milliseconds, *, timeout_seconds: float = SCHEMA_CHECK_SECONDS, say=print
    ):
        self._open_session, self._evict, self._milliseconds = open_session, evict, milliseconds
        self.timeout_seconds = timeout_seconds
        self._timeout_ms = int(timeout_seconds * 1000)
        self._say = say
        self.renewed = 0

    @classmethod
    def of(cls, spark: SparkSession, say: Callable[[str], None] = print) -> ConnectorSchema:
        jvm = spark.sparkContext._jvm  # noqa: SLF001 (the connector has no Python API)
        connectors = jvm.com.datastax.spark.connector.cql.CassandraConnector
        # Built from the same settings as every write's connector, so it opens the same cached session.
        connector = connectors.apply(spark.sparkContext._jsc.sc())  # noqa: SLF001
        return cls(connector.openSession, connectors.evictCache, jvm.java.util.concurrent.TimeUnit.MILLISECONDS, say=say)

    def check(self) -> None:
        session = self._open_session()
        try:
            session.refreshSchemaAsync().toCompletableFuture().get(self._timeout_ms, self._milliseconds)
            return
        except Py4JJavaError as exc:
            kind = exc.java_exception.getClass().getName()
            if kind not in (TIMEOUT_EXCEPTION, EXECUTION_EXCEPTION):
                raise
            why = (
                f"did not answer within {self._timeout_ms} ms"
                if kind == TIMEOUT_EXCEPTION
                else f"failed ({sd.error_summary(str(exc.java_exception.getCause()))})"
            )
        finally:
            session.close()
        # Counted first: a write failing as the sessions close must see that they were closed.
        self.renewed += 1
        self._evict()
        self._say(f"{APP_NAME}: the Cassandra connector's schema refresh {why}; its sessions were closed, the writes open new ones")

    def guarded(self, write: Callable[[DataFrame, str, str], None]) -> Callable[[DataFrame, str, str], None]:
        """`write`, once more after a failure, with the session checked in between (every write is an upsert)."""

        def run(df: DataFrame, keyspace: str, table: str) -> None:
            try:
                write(df, keyspace, table)
            except Py4JJavaError as exc:
                why = sd.error_summary(str(exc.java_exception.toString()))
                self._say(f"{APP_NAME}: writing {table} failed ({why}); checking the connector's session, writing it again")
                self.check()
                write(df, keyspace, table)

        return run

    def wait(self, jobs: list) -> None:
        """Waits for every job, checking the session each time they run past the timeout."""
        while wait(jobs, timeout=self.timeout_seconds).not_done:
            self.check()


def process_batch(
    batch_df: DataFrame,
    epoch_id: int,
    *,
    keyspace: str,
    counts: MinuteCounts,
    index: BucketIndex,
    partitions: int,
    pool: ThreadPoolExecutor,
    dead_letter_topics: tuple[str, ...] = (),
    topic_sources: dict[str, str] | None = None,
    bucket_seconds: dict[str, int] | None = None,
    write: Callable[[DataFrame, str, str], None] | None = None,
    recount_before: Callable[[], int] | None = None,
    connector: ConnectorSchema | None = None,
) -> sd.BatchStats:
    write = write or write_table
    started = time.monotonic()
    if connector is not None:
        connector.check()
        write = connector.guarded(write)
    # A batch arrives with one partition per Kafka partition it read; a few partitions suit 2 cores
    # better than many near-empty tasks. The raw value is kept for the unreadable records only.
    classified = (
        pt.classify_envelopes(batch_df.coalesce(partitions), dead_letter_topics, bucket_seconds)
        .withColumn("value", F.when(F.col("error").isNotNull(), F.col("value")))
        .persist()
    )
    events = pt.well_formed(classified).persist()
    summary_df = pt.batch_summary(classified).select(
        "error",
        "dead_letter",
        "source",
        "day",
        F.unix_millis("minute").alias("minute_ms"),
        F.unix_millis("bucket").alias("bucket_ms"),
        "bucket_seconds",
        "records",
        F.unix_millis("oldest").alias("oldest_ms"),
    )
    processed_at = datetime.now(UTC)
    try:
        # Three independent Spark jobs, started together: each costs 150-250 ms, mostly driver-side
        # planning and round trips, which overlap well even on 2 cores (measured: a 1-event batch
        # took ~750 ms one after the other, ~500 ms together). The persisted DataFrames are still
        # computed once: a job needing a block that another job is computing waits for it.
        jobs = [
            pool.submit(summary_df.collect),
            pool.submit(write, pt.to_event_rows(events, processed_at), keyspace, EVENTS_TABLE),
            pool.submit(write, pt.user_rows(events), keyspace, USERS_TABLE),
        ]
        try:
            summary = jobs[0].result()
            good = [row for row in summary if row.error is None and not row.dead_letter]
            # While the events are being written: a bucket is listed before its rows can be read.
            index.record([(row.source, row.day, row.bucket_ms, row.bucket_seconds) for row in good])
        finally:
            # All of them, before unpersisting what they read; then raise the first failure.
            if connector is not None:
                connector.wait(jobs)
            else:
                wait(jobs)
        for job in jobs:
            job.result()
        # After the writes, so each recount includes this batch's rows. With the minute counts kept by
        # their stateful query, only the minutes it no longer keeps (older than its lateness: a
        # replayed dead letter, an event published long after its receivedAt) are recounted here.
        minutes = list(dict.fromkeys((row.source, row.day, row.minute_ms) for row in good))
        before = recount_before() if recount_before is not None else None
        counts.refresh([m for m in minutes if before is None or m[2] < before])
        # Only a batch that holds dead letters pays for a fourth Spark job.
        if any(row.error is not None or row.dead_letter for row in summary):
            write(pt.dead_letter_rows(classified, topic_sources), keyspace, DEAD_LETTERS_TABLE)
    finally:
        events.unpersist()
        classified.unpersist()
    users = sum(row.records for row in good if row.source == pt.USERS_SOURCE)
    quarantined = sum(row.records for row in summary if row.error is None and row.dead_letter)
    unreadable = {}
    for row in summary:
        if row.error is not None:
            unreadable[row.error] = unreadable.get(row.error, 0) + row.records
    stats = sd.BatchStats(
        epoch=epoch_id,
        rows_read=sum(row.records for row in summary),
        rows_written=sum(row.records for row in good),
        dropped=sum(unreadable.values()),
        duration_ms=round((time.monotonic() - started) * 1000),
        lag_ms=round(time.time() * 1000 - min(row.oldest_ms for row in good)) if good else None,
        quarantined=quarantined,
        minutes=len(minutes),
        users=users,
        ended_at=datetime.now(UTC),
    )
    print(batch_line(stats, unreadable, quarantined=quarantined, minutes=len(minutes), users=users, at=stats.ended_at), flush=True)
    return stats


def batch_line(stats: sd.BatchStats, unreadable: dict[str, int], *, quarantined: int, minutes: int, users: int, at: datetime) -> str:
    """The micro-batch's line in the driver's output (GET /batches/{id}/log shows it)."""
    lag = f" lag_ms={stats.lag_ms}" if stats.lag_ms is not None else ""
    reasons = " (" + ", ".join(f"{k}={v}" for k, v in sorted(unreadable.items())) + ")" if unreadable else ""
    stamp = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f"{APP_NAME} batch epoch={stats.epoch} rows={stats.rows_read} unreadable={stats.dropped}{reasons}"
        f" quarantined={quarantined} minutes={minutes} users={users} duration_ms={stats.duration_ms}{lag} at={stamp}"
    )


def build_spark(args: argparse.Namespace) -> SparkSession:
    return (
        SparkSession.builder.appName(APP_NAME)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.cassandra.connection.host", args.cassandra_host)
        .config("spark.cassandra.connection.port", str(args.cassandra_port))
        # A null column (an event without key) is left unset instead of written as a tombstone.
        .config("spark.cassandra.output.ignoreNulls", "true")
        # A bucket's rows share one partition: the connector groups them into unlogged single-partition
        # batches (one mutation each) of up to 32 KB, ~25 events, instead of its default 1 KB (one event),
        # with 10 batches in flight per task instead of 5. Measured at ~5,000 events/s (docs/performance.md):
        # Cassandra ~0.10 cores per 1,000 events/s instead of ~0.12-0.14; 64 KB and 16 gained nothing more.
        .config("spark.cassandra.output.batch.size.bytes", "32768")
        .config("spark.cassandra.output.concurrent.writes", "10")
        # The views' state (open windows, and the event ids of each view's lateness for the duplicate
        # check) in RocksDB on local disk, not in the driver's heap: at 2,000 events/s a 10-minute
        # lateness is 1.2 million ids per view, several copies of which the default in-memory store
        # keeps. Set before any view's first run: a checkpoint keeps the provider it started with.
        .config("spark.sql.streaming.stateStore.providerClass", ROCKSDB_STATE_STORE)
        .getOrCreate()
    )


def main(argv: list[str] | None = None, connect=connect_cassandra) -> int:
    args = parse_args(argv)
    run = sd.RunInfo(
        stream=APP_NAME,
        run_id=uuid.uuid4().hex,
        batch_id=args.batch_id,
        host=socket.gethostname(),
        pid=os.getpid(),
        topics=tuple(args.topics),
        buckets=tuple(sorted(args.bucket_seconds.items())),
    )
    where = f"{args.cassandra_host}:{args.cassandra_port}"
    try:
        session = connect(pt.split_csv(args.cassandra_host), args.cassandra_port, args.keyspace)
        # Bounded by the heartbeat, so a renewal attempt cannot outlast the lease's deadline.
        store = StreamStore(session, APP_NAME, timeout=min(args.heartbeat_seconds, 10))
        counts = MinuteCounts(session, args.bucket_seconds)
        index = BucketIndex(session)
    except InvalidRequest as exc:  # a missing keyspace or table: the control plane's migrations make them
        say(f"{APP_NAME}: cannot use keyspace {args.keyspace} at {where}: {sd.error_summary(exc)}")
        return sd.EXIT_CASSANDRA
    except Exception as exc:
        say(f"{APP_NAME}: cannot reach Cassandra at {where}: {sd.error_summary(exc)}")
        return sd.EXIT_CASSANDRA
    guard = StreamGuard(store, run, ttl=args.lease_ttl_seconds, heartbeat=args.heartbeat_seconds)
    try:
        guard.acquire()
    except StreamExit as exit_:
        return exit_.code
    except Exception as exc:
        say(f"{APP_NAME}: cannot take the stream's lease at {where}: {sd.error_summary(exc)}")
        return sd.EXIT_CASSANDRA
    essential: list[StreamingQuery] = []
    code = run_guarded(guard, lambda: start_stream(args, guard, counts, index, session, essential), essential=lambda: essential)
    spark = SparkSession.getActiveSession()
    if code == sd.EXIT_OK and spark is not None:
        spark.stop()
    return code


def start_stream(
    args: argparse.Namespace, guard: StreamGuard, counts: MinuteCounts, index: BucketIndex, session, essential: list[StreamingQuery]
) -> StreamingQuery | None:
    """Builds Spark and starts the query (and, in `essential`, the queries the stream cannot go on
    without: the minute counts), unless the guard decided to stop while Spark was starting."""
    spark = build_spark(args)
    guard.set_app_id(spark.sparkContext.applicationId)
    if guard.outcome is not None:
        return None
    # A batch routinely outlasts a 250 ms interval; Spark would log a "falling behind" warning
    # for each, crowding our own per-batch line (which has the duration) out of Livy's log tail.
    jvm = spark.sparkContext._jvm  # noqa: SLF001 (PySpark has no public logger-level API)
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.sql.execution.streaming.ProcessingTimeExecutor", jvm.org.apache.logging.log4j.Level.ERROR
    )
    partitions = max(1, spark.sparkContext.defaultParallelism)
    # The batch's dedup and summary shuffle a few hundred rows: one partition per core, not 200 (or 4).
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    # Long-lived: with PySpark's pinned threads each Python thread owns a JVM thread and a py4j
    # connection, so a pool per batch would create (and leak) three of each every batch.
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="batch")
    schema = ConnectorSchema.of(spark, say=lambda line: print(line, flush=True))
    spark.streams.addListener(ProgressToGuard(guard, APP_NAME))

    source = (
        kafka_reader(spark, args)
        .option("subscribe", ",".join(args.topics))
        .option("startingOffsets", args.starting_offsets)
        .option("minOffsetsPerTrigger", str(min(args.min_offsets_per_trigger, args.max_offsets_per_trigger)))
        .option("maxTriggerDelay", f"{args.max_trigger_delay_ms}ms")
        # The record headers (the trace context, the source's copied request headers) are stored with each event.
        .option("includeHeaders", "true")
        .load()
        # timestamp: an unreadable record's dead letter is keyed by it (deterministic per offset).
        .select(*KAFKA_COLUMNS, "headers")
    )
    dead_letter_topics = tuple(args.dead_letter_topics)
    recount_before = None
    if args.minute_counts == MINUTE_COUNTS_VIEW:
        essential.append(start_minute_counts(args, spark))
        lateness_ms = sv.MINUTE_COUNTS_LATENESS_SECONDS * 1000

        def recount_before() -> int:
            return round(time.time() * 1000) - lateness_ms + RECOUNT_MARGIN_MS

    batch = guarded_batch(
        guard,
        lambda df, epoch_id: process_batch(
            df,
            epoch_id,
            keyspace=args.keyspace,
            counts=counts,
            index=index,
            partitions=partitions,
            pool=pool,
            dead_letter_topics=dead_letter_topics,
            topic_sources=args.topic_sources,
            bucket_seconds=args.bucket_seconds,
            recount_before=recount_before,
            connector=schema,
        ),
    )
    query = (
        source.writeStream.queryName(APP_NAME)
        .foreachBatch(batch)
        .option("checkpointLocation", args.checkpoint_dir)
        .trigger(processingTime=f"{args.trigger_ms} milliseconds")
        .start()
    )
    start_views(args, spark, session, guard)
    print(
        f"{APP_NAME} started run={guard.run.run_id} topics={','.join(args.topics)}"
        f" dead_letter_topics={','.join(args.dead_letter_topics) or '-'}"
        f" bucket_seconds={','.join(f'{k}={v}' for k, v in sorted(args.bucket_seconds.items())) or '-'} kafka={args.kafka_bootstrap}"
        f" cassandra={args.cassandra_host}:{args.cassandra_port}/{args.keyspace}"
        f" checkpoint={args.checkpoint_dir} trigger_ms={args.trigger_ms}"
        f" min_offsets_per_trigger={args.min_offsets_per_trigger} max_trigger_delay_ms={args.max_trigger_delay_ms}",
        flush=True,
    )
    return query


def kafka_reader(spark: SparkSession, args: argparse.Namespace):
    """A Kafka stream reader with the settings every query of the job shares."""
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.kafka_bootstrap)
        .option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
        # A topic recreated or trimmed by retention must not stop the pipeline; the lost offsets
        # are logged by Spark as a warning.
        .option("failOnDataLoss", "false")
        # Measured: with Kafka's default 500 ms, reading a 1-record batch took ~530 ms, nearly all
        # of it the broker holding the fetch. Tasks only fetch offsets known to exist, so a short
        # wait costs nothing while idle (no consumer polls between batches).
        .option("kafka.fetch.max.wait.ms", "20")
        # A task fetching from a broker that died waits this long for records before it fails and is
        # retried with fresh metadata (the new leader). Spark's default, spark.network.timeout (120 s),
        # kept the stream still for minutes after a broker was killed; a fetch of offsets known to
        # exist takes milliseconds.
        .option("kafkaConsumer.pollTimeoutMs", "20000")
    )


def start_minute_counts(args: argparse.Namespace, spark: SparkSession) -> StreamingQuery:
    """The per-minute counts behind GET /stats as a built-in view: every source topic's well-formed
    events counted per source and UTC minute of receivedAt by a stateful query (stream_views.minute_counts),
    each micro-batch upserting the full count of every minute it changed into event_counts_by_minute,
    from its own checkpoint (<checkpoint-dir>-views/minute_counts). Replaces recounting the rows of
    every touched minute after every micro-batch, whose cost grew with the square of the rate."""
    dead_letters = set(args.dead_letter_topics)
    topics = [t for t in args.topics if t not in dead_letters]
    raw = kafka_reader(spark, args).option("subscribe", ",".join(topics)).option("startingOffsets", args.starting_offsets).load()
    classified = pt.classify_envelopes(raw.select(*KAFKA_COLUMNS))
    events = classified.filter(F.col("error").isNull()).select("event_id", "source", "received_at")
    keyspace = args.keyspace

    def store(batch: DataFrame, _epoch_id: int) -> None:
        write_table(batch, keyspace, COUNTS_TABLE)

    return (
        sv.minute_counts(events)
        .writeStream.queryName(MINUTE_COUNTS_QUERY)
        .outputMode("update")
        .foreachBatch(store)
        .option("checkpointLocation", f"{args.checkpoint_dir.rstrip('/')}-views/minute_counts")
        .trigger(processingTime=f"{args.minute_counts_trigger_ms} milliseconds")
        .start()
    )


def start_views(args: argparse.Namespace, spark: SparkSession, session, guard: StreamGuard) -> ViewRunner:
    """Runs the views of table `views` beside the raw events' query (stream_view_runner), each from its
    own checkpoint under <checkpoint-dir>-views; they end with the job."""
    dead_letters = set(args.dead_letter_topics)
    topic_of = {source: topic for topic, source in args.topic_sources.items() if topic not in dead_letters}

    def read_topic(topic: str, starting_ms: str | None) -> DataFrame:
        reader = kafka_reader(spark, args).option("subscribe", topic)
        if starting_ms is None:
            reader = reader.option("startingOffsets", "earliest")
        else:
            # A partition with nothing from that time on starts at its end.
            reader = reader.option("startingTimestamp", starting_ms).option("startingOffsetsByTimestampStrategy", "latest")
        return reader.load().select(*KAFKA_COLUMNS)

    runner = ViewRunner(
        spark,
        session,
        topic_of=topic_of,
        checkpoint_root=f"{args.checkpoint_dir.rstrip('/')}-views",
        read_topic=read_topic,
        write_results=lambda df: write_table(df, args.keyspace, VIEW_RESULTS_TABLE),
        run_id=guard.run.run_id,
        trigger_ms=args.views_trigger_ms,
        say=lambda line: print(f"{APP_NAME} {line}", flush=True),
    )
    spark.streams.addListener(ViewProgress(runner))
    runner.poll(args.views_poll_seconds)
    return runner


def run_guarded(
    guard: StreamGuard,
    start: Callable[[], StreamingQuery | None],
    *,
    hard_exit: Callable[[int], None] = os._exit,
    essential: Callable[[], list[StreamingQuery]] = list,
    stall_seconds: float = sd.STALL_SECONDS,
) -> int:
    """Runs the query while this copy holds the stream (guard.acquire() succeeded) and ends the run
    as the guard decides: 0 after a requested stop, 3 after a lost lease; a failed query's error is
    re-raised once the heartbeat row says `failed`. An `essential` query that stops fails the run the
    same way (the supervisor starts a new copy): nothing the stream keeps may stop silently. Nor may
    it stand still: a micro-batch of the query or of an essential one that runs longer than
    `stall_seconds` writes `failed` with what stalled, releases the lease and ends the process with
    4 at once (a stuck thread cannot be stopped; the checkpoint never committed that batch)."""
    error = None
    try:
        guard.starting()
        guard.start_heartbeats()
        query = start()
        if query is not None:
            guard.running(lambda lost: stop_query(query, lost, hard_exit))
            await_stream(query, essential, sd.StallWatch(stall_seconds, time.monotonic))
    except Exception as exc:
        error = exc
    code = guard.finish(error)
    if isinstance(error, Stalled):
        hard_exit(sd.EXIT_STALLED)
        return sd.EXIT_STALLED
    if code is None:
        raise error
    return code


class Stalled(RuntimeError):
    """A micro-batch that ran longer than the stall limit."""


def await_stream(
    query: StreamingQuery, essential: Callable[[], list[StreamingQuery]], stalls: sd.StallWatch, every_seconds: int = 1
) -> None:
    """Waits for the query to end; stops it and raises when an essential query ended first; raises
    Stalled, without stopping anything (the stop would wait for the stuck batch), when a micro-batch of
    either has run past the watch's limit."""
    while not query.awaitTermination(every_seconds):
        for other in essential():
            if not other.isActive:
                exc = other.exception()
                query.stop()
                raise RuntimeError(f"{other.name} stopped: {sd.error_summary(exc) if exc is not None else 'without an error'}")
        for watched in [query, *essential()]:
            last = (watched.lastProgress or {}).get("batchId")
            running = stalls.check(watched.name, watched.status["isTriggerActive"], last)
            if running is not None:
                raise Stalled(
                    f"{watched.name}: a micro-batch has run for {running:.0f} s without finishing "
                    f"(the last finished: {last}); ending this copy so that a new one takes over"
                )


def stop_query(query: StreamingQuery, lost: bool, hard_exit: Callable[[int], None]) -> None:
    """Stops the query (from the guard's thread): Spark ends or abandons the running micro-batch, and
    the checkpoint only ever commits finished ones."""
    if lost:
        # Without the lease this copy must go, even if the stop hangs on a stuck micro-batch.
        timer = threading.Timer(sd.STOP_GRACE_SECONDS, hard_exit, (sd.EXIT_LEASE,))
        timer.daemon = True
        timer.start()
    query.stop()


def guarded_batch(guard: StreamGuard, process: Callable[[DataFrame, int], sd.BatchStats]):
    """foreachBatch's function: no batch without the lease, and the lease renewed after each one
    (a loss raises there, so Spark does not commit the batch)."""

    def run(batch_df: DataFrame, epoch_id: int) -> None:
        if guard.outcome is not None and guard.outcome.lost:
            raise LeaseLost(guard.outcome.message)
        guard.after_batch(process(batch_df, epoch_id))

    return run


class ProgressToGuard(StreamingQueryListener):
    """Hands Spark's progress report of each committed micro-batch to the guard: its endOffset is
    exactly where the checkpoint now stands, including after a restart."""

    def __init__(self, guard: StreamGuard, query_name: str):
        self._guard, self._query_name = guard, query_name

    def onQueryStarted(self, event) -> None:
        pass

    def onQueryProgress(self, event) -> None:
        try:
            progress = json.loads(event.progress.json)
            if progress.get("name") == self._query_name:
                self._guard.on_progress(progress)
        except Exception as exc:  # never let a report break Spark's listener bus
            self._guard.say(f"cannot report a batch's progress ({sd.error_summary(exc)})")

    def onQueryIdle(self, event) -> None:
        pass

    def onQueryTerminated(self, event) -> None:
        pass


if __name__ == "__main__":
    sys.exit(main())
