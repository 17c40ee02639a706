"""The streaming job's views: one Spark streaming query per view of table `views`, started, stopped and
watched from the driver while the job holds the stream.

Every few seconds (--views-poll-seconds) the runner reads `views` (the control plane writes it:
POST/DELETE /api/v1/views) and
  - starts a query for each view it does not run yet: the view's source topic read from Kafka (from
    `backfillFrom`, else from the earliest offset Kafka still holds: a new view is computed over its
    source's history, then live), its well-formed events aggregated by stream_views with a watermark of
    the view's lateness, state and offsets in a checkpoint of its own (<checkpoint-dir>-views/<view id>),
    and every window and group a micro-batch changed upserted into `view_results` as a full value;
  - stops the query of a view that was deleted (or re-created: a new id is a new view);
  - marks a view whose query failed `failed`, with the error, in `view_status`, and leaves it stopped
    until the job restarts. The raw events' query and the other views go on.

After each of a view's micro-batches, Spark's progress report becomes its row of `view_status`:
`backfilling` while Kafka holds more than the query has read, then `running`; the events dropped as
later than its lateness, added up over the view's micro-batches (each batch once: its epoch is kept);
the offsets read and available; the watermark.

Exactly once: a view's state lives in its checkpoint, and the checkpoint commits a micro-batch only after
its results were written; a replayed batch writes the same full values again. An event published twice
(a retried publish) carries one event id, and duplicates are dropped within the lateness.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

import pipeline_transforms as pt
import stream_decisions as sd
import stream_views as sv
from cassandra import ConsistencyLevel
from pipeline_names import VIEW_STATUS_TABLE, VIEWS_TABLE

QUERY_PREFIX = "view:"
BACKFILLING, RUNNING, FAILED = "backfilling", "running", "failed"
# A view's error as view_status keeps it: enough to read the cause, not a whole JVM stack.
MAX_ERROR_CHARS = 2000

ReadTopic = Callable[[str, str | None], DataFrame]
WriteResults = Callable[[DataFrame], None]


@dataclass
class Running:
    """A view this runner runs: its query, and what its status row says so far."""

    view_id: str
    name: str
    query: StreamingQuery
    late_events: int = 0
    last_epoch: int = -1


def query_name(view_id: str) -> str:
    return f"{QUERY_PREFIX}{view_id}"


def starting_timestamp(backfill_from: str | None) -> str | None:
    """`backfillFrom` (an ISO 8601 date-time with a zone) -> epoch ms as Kafka's startingTimestamp
    option wants it; None for everything Kafka holds."""
    millis = sv.backfill_millis(backfill_from or None)
    return None if millis is None else str(millis)


def view_events(kafka_df: DataFrame, source: str) -> DataFrame:
    """A source topic's Kafka rows -> the well-formed events of `source`: event_id, received_at,
    payload (duplicates are stream_views' to drop, within the watermark)."""
    classified = pt.classify_envelopes(kafka_df)
    return classified.filter(F.col("error").isNull() & (F.col("source") == source)).select("event_id", "received_at", "payload")


def status_of_progress(progress: dict[str, Any]) -> dict[str, Any]:
    """A view query's progress report -> the columns of its view_status row it sets: state, the events
    dropped by the watermark in this batch (`late`), offsets read and available, watermark."""
    read = available = 0
    for source in progress.get("sources") or ():
        read += _offset_total(source.get("endOffset"))
        available += _offset_total(source.get("latestOffset"))
    late = sum(int(op.get("numRowsDroppedByWatermark") or 0) for op in progress.get("stateOperators") or ())
    watermark = (progress.get("eventTime") or {}).get("watermark")
    return {
        "state": BACKFILLING if read < available else RUNNING,
        "late": late,
        "offsets_read": read,
        "offsets_available": available,
        "watermark": _instant(watermark) if watermark else None,
    }


def _offset_total(offsets: Any) -> int:
    """Spark's Kafka offsets ({topic: {partition: offset}}, as an object or as its JSON text) -> their sum."""
    if isinstance(offsets, str):
        try:
            offsets = json.loads(offsets)
        except ValueError:
            return 0
    if not isinstance(offsets, dict):
        return 0
    return sum(int(o) for partitions in offsets.values() if isinstance(partitions, dict) for o in partitions.values() if int(o) >= 0)


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Spark says 1970-01-01T00:00:00.000Z until the first event has been seen.
    return moment if moment.timestamp() > 0 else None


class ViewRunner:
    """Runs the views of `views` as streaming queries of this Spark application (see the module's doc)."""

    def __init__(
        self,
        spark: SparkSession,
        session,
        *,
        topic_of: dict[str, str],
        checkpoint_root: str,
        read_topic: ReadTopic,
        write_results: WriteResults,
        run_id: str,
        trigger_ms: int = 1000,
        say: Callable[[str], None] = print,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._spark, self._session = spark, session
        self._topic_of = dict(topic_of)
        self._root = checkpoint_root.rstrip("/")
        self._read_topic, self._write_results = read_topic, write_results
        self._run_id, self._trigger_ms = run_id, trigger_ms
        self._say, self._now = say, now
        self._running: dict[str, Running] = {}
        self._failed: set[str] = set()
        self._skipped: set[str] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._list = session.prepare(f"SELECT name, id, source, definition FROM {VIEWS_TABLE}")
        self._status = session.prepare(
            f"INSERT INTO {VIEW_STATUS_TABLE} (view_id, state, error, late_events, last_epoch, offsets_read, offsets_available,"
            " watermark, run_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._read_status = session.prepare(f"SELECT late_events, last_epoch FROM {VIEW_STATUS_TABLE} WHERE view_id = ?")
        for statement in (self._list, self._status, self._read_status):
            statement.consistency_level = ConsistencyLevel.LOCAL_QUORUM

    @property
    def running(self) -> dict[str, str]:
        """view id -> name of every view whose query runs."""
        with self._lock:
            return {view_id: r.name for view_id, r in self._running.items()}

    def sync(self) -> None:
        """One round: start what is new, stop what went, mark what failed."""
        rows = list(self._session.execute(self._list))
        wanted = {str(row.id): row for row in rows if row.id is not None}
        with self._lock:
            for view_id, run in list(self._running.items()):
                if not run.query.isActive:
                    self._fail(run, run.query.exception())
                elif view_id not in wanted:
                    self._say(f"view {run.name} ({view_id}) deleted: stopping its query")
                    run.query.stop()
                    del self._running[view_id]
            self._forget_checkpoints(set(wanted))
            for view_id, row in wanted.items():
                if view_id in self._running or view_id in self._failed or self._stopped.is_set():
                    continue
                self._start(view_id, row)

    def _forget_checkpoints(self, wanted: set[str]) -> None:
        """Removes the checkpoint of every deleted view (a view's directory is its id), when the
        checkpoints are on this machine's disk; on a distributed file system they stay, and cost only space."""
        root = Path(self._root)
        if "://" in self._root or not root.is_dir():
            return
        for child in root.iterdir():
            if child.is_dir() and _is_uuid(child.name) and child.name not in wanted and child.name not in self._running:
                shutil.rmtree(child, ignore_errors=True)
                self._say(f"view {child.name}: deleted, its checkpoint removed")

    def _start(self, view_id: str, row) -> None:
        try:
            definition = json.loads(row.definition)
            view = sv.view_from_json(definition)
            starting = starting_timestamp(definition.get("backfillFrom"))
        except (ValueError, KeyError, TypeError) as exc:
            self._failed.add(view_id)
            self._write_status(view_id, FAILED, f"the definition cannot be run: {exc}", 0, -1)
            return
        topic = self._topic_of.get(view.source)
        if topic is None:
            # The stream restarts onto a new source's topic (its supervisor sees the registry change);
            # until then there is nothing to read.
            if view_id not in self._skipped:
                self._skipped.add(view_id)
                self._say(f"view {view.name} ({view_id}): source {view.source} is not among this run's topics yet")
            return
        previous = self._session.execute(self._read_status, (_uuid(view_id),)).one()
        late = int(previous.late_events or 0) if previous else 0
        last_epoch = int(previous.last_epoch if previous and previous.last_epoch is not None else -1)
        events = view_events(self._read_topic(topic, starting), view.source)
        rows = sv.result_rows(sv.view_aggregation(events, view), view).drop("view")
        write = self._write_results

        def store(batch: DataFrame, epoch_id: int) -> None:
            write(
                batch.select(
                    F.lit(view_id).alias("view_id"),
                    pt.utc_day(F.col("window_start")).alias("day"),
                    "window_start",
                    "group_key",
                    "window_end",
                    "group_json",
                    "values_json",
                    F.current_timestamp().alias("updated_at"),
                )
            )

        query = (
            rows.writeStream.queryName(query_name(view_id))
            .outputMode("update")
            .foreachBatch(store)
            .option("checkpointLocation", f"{self._root}/{view_id}")
            .trigger(processingTime=f"{self._trigger_ms} milliseconds")
            .start()
        )
        self._running[view_id] = Running(view_id, view.name, query, late, last_epoch)
        self._skipped.discard(view_id)
        self._write_status(view_id, BACKFILLING, None, late, last_epoch)
        self._say(f"view {view.name} ({view_id}) started on {topic} checkpoint={self._root}/{view_id}")

    def _fail(self, run: Running, exception) -> None:
        error = sd.error_summary(exception) if exception is not None else "the query stopped"
        self._say(f"view {run.name} ({run.view_id}) failed: {error}")
        del self._running[run.view_id]
        self._failed.add(run.view_id)
        self._write_status(run.view_id, FAILED, error[:MAX_ERROR_CHARS], run.late_events, run.last_epoch)

    def on_progress(self, progress: dict[str, Any]) -> None:
        """A view query's progress report (from the listener bus) -> its view_status row."""
        name = progress.get("name") or ""
        if not name.startswith(QUERY_PREFIX):
            return
        view_id = name[len(QUERY_PREFIX) :]
        with self._lock:
            run = self._running.get(view_id)
            if run is None:
                return
            status = status_of_progress(progress)
            epoch = int(progress.get("batchId", -1))
            if epoch > run.last_epoch:
                run.late_events += status["late"]
                run.last_epoch = epoch
            self._write_status(
                view_id,
                status["state"],
                None,
                run.late_events,
                run.last_epoch,
                status["offsets_read"],
                status["offsets_available"],
                status["watermark"],
            )

    def on_idle(self, query_id: str) -> None:
        """A view query with nothing new to read (Spark's idle event names the query by its id) has caught up: running."""
        with self._lock:
            for run in self._running.values():
                if str(run.query.id) == query_id:
                    self._write_status(run.view_id, RUNNING, None, run.late_events, run.last_epoch)

    def _write_status(self, view_id, state, error, late, last_epoch, read=None, available=None, watermark=None) -> None:
        try:
            self._session.execute(
                self._status,
                (_uuid(view_id), state, error, late, last_epoch, read, available, watermark, self._run_id, self._now()),
            )
        except Exception as exc:  # a status row is worth a log line, never a view
            self._say(f"view {view_id}: cannot write its status ({sd.error_summary(exc)})")

    def poll(self, every_seconds: float) -> threading.Thread:
        """Syncs every `every_seconds` in a daemon thread until stop()."""

        def loop() -> None:
            while not self._stopped.is_set():
                try:
                    self.sync()
                except Exception as exc:
                    self._say(f"views not synced ({sd.error_summary(exc)}); trying again in {every_seconds:g} s")
                self._stopped.wait(every_seconds)

        thread = threading.Thread(target=loop, name="views", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stops every view's query (the job is ending)."""
        self._stopped.set()
        with self._lock:
            for run in self._running.values():
                try:
                    run.query.stop()
                except Exception as exc:
                    self._say(f"view {run.name}: cannot stop its query ({sd.error_summary(exc)})")
            self._running.clear()


class ViewProgress(StreamingQueryListener):
    """Hands each view query's progress to the runner (the raw events' query has its own listener)."""

    def __init__(self, runner: ViewRunner, say: Callable[[str], None] = print):
        self._runner, self._say = runner, say

    def onQueryStarted(self, event) -> None:
        pass

    def onQueryProgress(self, event) -> None:
        try:
            self._runner.on_progress(json.loads(event.progress.json))
        except Exception as exc:  # never let a report break Spark's listener bus
            self._say(f"cannot report a view's progress ({sd.error_summary(exc)})")

    def onQueryIdle(self, event) -> None:
        try:
            self._runner.on_idle(str(event.id))
        except Exception as exc:
            self._say(f"cannot report an idle view ({sd.error_summary(exc)})")

    def onQueryTerminated(self, event) -> None:
        pass


def _uuid(view_id: str) -> uuid.UUID:
    return uuid.UUID(view_id)


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False
