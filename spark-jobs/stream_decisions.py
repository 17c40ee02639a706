"""The stream's pure decisions: whether a copy takes, waits for or leaves the stream's lease, whether
the control plane asks it to stop, and the values of its heartbeat row and of each micro-batch's row
(decide_lease, stop_reason, renewal_overdue, error_summary, progress_offsets and the *_values row
builders).

Nothing here speaks CQL or starts a thread: stream_store.py runs the statements, stream_guard.py ties
both together for the job's threads. spark-jobs/README.md describes the contract and exit codes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

# Exit statuses of the job's process (spark-submit and Livy pass them on).
EXIT_OK = 0  # stopped on request (or the query ended by itself)
EXIT_CASSANDRA = 2  # Cassandra unreachable or not set up at start (argparse errors exit 2 too)
EXIT_LEASE = 3  # another copy holds the stream, or this copy lost the lease
EXIT_STALLED = 4  # a micro-batch made no progress for STALL_SECONDS: the process ends, the supervisor starts a new copy

STARTING, RUNNING, STOPPED, FAILED = "starting", "running", "stopped", "failed"
TAKE, WAIT, EXIT = "take", "wait", "exit"

HEARTBEAT_COLUMNS = frozenset(
    {
        "run_id",
        "batch_id",
        "app_id",
        "host",
        "pid",
        "started_at",
        "seen_at",
        "last_batch_at",
        "epoch",
        "rows_read",
        "rows_written",
        "dropped",
        "duration_ms",
        "lag_ms",
        "offsets",
        "topics",
        "buckets",
        "state",
        "last_error",
    }
)
# What one run reports about its own micro-batches; a new run starts them empty. `offsets` is not
# among them: it says where the checkpoint stands, which outlives the run, until this run's first
# batch reports its own.
BATCH_COLUMNS = ("epoch", "rows_read", "rows_written", "dropped", "duration_ms", "lag_ms", "last_batch_at")
# One row per micro-batch in stream_micro_batches, the key first: ((stream, day), ended_at DESC, epoch
# DESC). A partition per UTC day keeps "the last N micro-batches" one or two partition reads while
# bounding a partition to a day of batches; the table's default TTL (7 days) expires them.
MICRO_BATCH_COLUMNS = (
    "stream",
    "day",
    "ended_at",
    "epoch",
    "batch_id",
    "run_id",
    "rows_read",
    "rows_written",
    "unreadable",
    "quarantined",
    "minutes",
    "users",
    "duration_ms",
    "lag_ms",
)

# How long a copy that lost its lease may take to stop before the process is ended outright.
STOP_GRACE_SECONDS = 30
# How long one micro-batch of an essential query may run before the copy counts as stuck. A full batch of
# 20,000 events takes seconds; on a cluster, the Spark Cassandra connector's driver-side schema refresh
# can wait forever for a node that went away during it (Session.refreshSchema has no timeout).
STALL_SECONDS = 120
# The waiting copy's margin over the lease TTL: a lease renewed just before the holder died
# expires TTL seconds after that renewal.
TAKE_MARGIN_SECONDS = 5
ERROR_LIMIT = 500


@dataclass(frozen=True)
class RunInfo:
    """Who this copy is, as written at start into the heartbeat row."""

    stream: str
    run_id: str
    batch_id: str
    host: str
    pid: int
    topics: tuple[str, ...]
    # (source, bucket seconds) the run stores events with; the control plane restarts a run whose sizes are not the configured ones.
    buckets: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class BatchStats:
    """What one micro-batch did (foreachBatch knows it; Spark's progress report has the offsets)."""

    epoch: int
    rows_read: int
    rows_written: int
    dropped: int
    duration_ms: int
    lag_ms: int | None
    # Known to foreachBatch only: the dead-letter envelopes it stored, the minutes it recounted, the
    # events of source `users` it projected, and when it ended (the time its log line says).
    quarantined: int = 0
    minutes: int = 0
    users: int = 0
    ended_at: datetime | None = None


@dataclass(frozen=True)
class LeaseDecision:
    action: str  # TAKE, WAIT or EXIT
    holder: str | None
    reason: str  # who holds the lease and why this copy exits or waits, for the log line


@dataclass(frozen=True)
class Outcome:
    """Why this copy stops: a stop request (exit 0) or a lost lease (exit 3, nothing more written)."""

    code: int
    message: str
    lost: bool


def decide_lease(answer: dict, heartbeat: dict | None, *, run_id: str, now: datetime, ttl: float) -> LeaseDecision:
    """What a copy does with the answer of `INSERT INTO leases ... IF NOT EXISTS`.

    answer: the LWT's row ({"applied": bool, "holder": ...}); heartbeat: the stream's heartbeat row
    (or None). Another live copy (it holds the lease and its heartbeat is younger than half the TTL) makes
    this one exit at once; a silent holder is a copy that died without releasing the lease, which
    expires by itself, so this copy waits for it.
    """
    holder = answer.get("holder")
    if answer.get("applied") or (holder is not None and holder == run_id):
        # The second case: our own INSERT applied but its answer was lost, and the retry saw it.
        return LeaseDecision(TAKE, run_id, "")
    if holder is None:
        return LeaseDecision(WAIT, None, "the stream's lease row has no holder")
    own = heartbeat if heartbeat and heartbeat.get("run_id") == holder else None
    age = _age_seconds(own.get("seen_at"), now) if own else None
    # Alive = it reported within half the TTL (it renews and reports every heartbeat, a few seconds):
    # older than that, it is most likely a killed copy whose lease will expire; wait for it.
    if age is not None and age < ttl / 2:
        return LeaseDecision(EXIT, holder, f"another copy holds the stream ({describe_run(own, now)})")
    if own is None:
        return LeaseDecision(WAIT, holder, f"run {holder} holds the stream's lease but has written no heartbeat")
    return LeaseDecision(WAIT, holder, f"run {holder} holds the stream's lease but is silent ({describe_run(own, now)})")


def describe_run(heartbeat: dict, now: datetime) -> str:
    """'run 3f2a..., host h pid 123, seen 2 s ago' from a heartbeat row."""
    parts = [f"run {heartbeat.get('run_id')}"]
    host, pid = heartbeat.get("host"), heartbeat.get("pid")
    if host or pid is not None:
        parts.append(f"host {host or '?'} pid {'?' if pid is None else pid}")
    age = _age_seconds(heartbeat.get("seen_at"), now)
    parts.append("never seen" if age is None else f"seen {max(age, 0):.0f} s ago")
    return ", ".join(parts)


def stop_reason(control: dict | None, run_id: str) -> str | None:
    """Why the control plane wants this run stopped, from its stream_control row; None = keep going."""
    if not control:
        return None
    if control.get("desired") == STOPPED:
        return "desired=stopped"
    if control.get("stop_run") and control.get("stop_run") == run_id:
        return f"stop_run={run_id}"
    return None


def renewal_overdue(last_renewed: float, now: float, *, ttl: float, heartbeat: float) -> bool:
    """True once the lease may expire before the next renewal could land.

    last_renewed is when the last applied renewal was sent, so the lease expires no earlier than
    last_renewed + ttl. Giving up one heartbeat before that leaves the stop its time: this copy has
    stopped starting batches (and fails the running one before its commit) before a waiting copy
    can take the lease.
    """
    return now - last_renewed >= ttl - heartbeat


def error_summary(error: BaseException | str, limit: int = ERROR_LIMIT) -> str:
    """One line naming what failed: `Class: message`, e.g. `NoHostAvailable: ('Unable to connect ...)`.

    A Python exception raised inside foreachBatch reaches the main thread wrapped twice (Py4J, then
    Spark's StreamingQueryException), with its traceback as text: its last line is the original.
    A failure in the JVM is Spark's exception whose cause holds the class and message that matter.
    """
    if isinstance(error, str):
        return _one_line(error, limit)
    text = getattr(error, "desc", None) or str(error)
    line = _python_exception_line(text)
    if line is None:
        cause = _jvm_cause(error)
        name, message = cause or (type(error).__name__, text)
        line = f"{name}: {message}" if message else name
    return _one_line(line, limit)


def progress_offsets(progress: dict) -> dict[str, dict[str, int]]:
    """Spark's progress report -> {"topic": {"0": 123}}: per Kafka partition, the next offset to read
    once this batch is committed (the sources' endOffset, merged if there are several sources)."""
    merged: dict[str, dict[str, int]] = {}
    for source in progress.get("sources") or []:
        end = source.get("endOffset")
        if isinstance(end, str):  # SourceProgress keeps it as JSON text, progress JSON as an object
            try:
                end = json.loads(end)
            except ValueError:
                continue
        if not isinstance(end, dict):  # not a Kafka source (a rate source's offset is a number)
            continue
        for topic, partitions in end.items():
            if isinstance(partitions, dict):
                merged.setdefault(topic, {}).update({str(p): int(o) for p, o in partitions.items()})
    return merged


def offsets_json(offsets: dict[str, dict[str, int]]) -> str | None:
    """Spark's endOffset format, topics and partitions in order; None when there is nothing to say."""
    if not offsets:
        return None
    ordered = {topic: dict(sorted(parts.items(), key=lambda item: int(item[0]))) for topic, parts in sorted(offsets.items())}
    return json.dumps(ordered, separators=(",", ":"))


def start_values(run: RunInfo, now: datetime) -> dict:
    """The heartbeat row of a run that just took the lease: who it is, and no batch yet."""
    return {
        "run_id": run.run_id,
        "batch_id": run.batch_id,
        "app_id": None,
        "host": run.host,
        "pid": run.pid,
        "started_at": now,
        "seen_at": now,
        "topics": ",".join(run.topics),
        "buckets": ",".join(f"{source}={seconds}" for source, seconds in run.buckets) or None,
        "state": STARTING,
        "last_error": None,
        **dict.fromkeys(BATCH_COLUMNS),
    }


def tick_values(state: str, now: datetime) -> dict:
    return {"seen_at": now, "state": state}


def batch_values(progress: dict, stats: BatchStats | None, now: datetime) -> dict:
    """The heartbeat columns of a finished micro-batch, from Spark's progress report and, when
    foreachBatch saw the batch, its own counts (rows_written, dropped and lag are only known there)."""
    values = {
        "epoch": progress.get("batchId"),
        "rows_read": progress.get("numInputRows"),
        "rows_written": None,
        "dropped": None,
        "duration_ms": (progress.get("durationMs") or {}).get("triggerExecution"),
        "lag_ms": None,
        "last_batch_at": now,
        "seen_at": now,
    }
    if stats is not None:
        values.update(
            epoch=stats.epoch,
            rows_read=stats.rows_read,
            rows_written=stats.rows_written,
            dropped=stats.dropped,
            duration_ms=stats.duration_ms,
            lag_ms=stats.lag_ms,
        )
    offsets = offsets_json(progress_offsets(progress))
    if offsets is not None:  # keep the last known position rather than blank it
        values["offsets"] = offsets
    return values


def micro_batch_values(run: RunInfo, stats: BatchStats, ended_at: datetime) -> dict:
    """The stream_micro_batches row of one finished micro-batch (the same numbers as its log line);
    null columns are left out when written. `day` is the UTC day it ended: the row's partition."""
    ended_at = _utc(ended_at)
    return {
        "stream": run.stream,
        "day": ended_at.astimezone(UTC).date(),
        "ended_at": ended_at,
        "epoch": stats.epoch,
        "batch_id": run.batch_id or None,
        "run_id": run.run_id,
        "rows_read": stats.rows_read,
        "rows_written": stats.rows_written,
        "unreadable": stats.dropped,
        "quarantined": stats.quarantined,
        "minutes": stats.minutes,
        "users": stats.users,
        "duration_ms": stats.duration_ms,
        "lag_ms": stats.lag_ms,
    }


def end_values(state: str, now: datetime, error: str | None = None) -> dict:
    values = {"state": state, "seen_at": now}
    if state == FAILED:
        values["last_error"] = error
    return values


def _utc(value: datetime | None) -> datetime | None:
    # The Python driver returns timestamps as naive datetimes in UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _age_seconds(then: datetime | None, now: datetime) -> float | None:
    then = _utc(then)
    return None if then is None else (now - then).total_seconds()


def _python_exception_line(text: str) -> str | None:
    start = text.rfind("Traceback (most recent call last):")
    if start < 0:
        return None
    for line in text[start:].splitlines()[1:]:
        if line.strip() and not line[0].isspace():
            return line
    return None


def _jvm_cause(error: BaseException) -> tuple[str, str] | None:
    origin = getattr(error, "_origin", None)  # PySpark's CapturedException keeps the Java exception
    try:
        cause = origin.getCause() if origin is not None else None
        if cause is None:
            return None
        return cause.getClass().getSimpleName(), cause.getMessage() or ""
    except Exception:  # the JVM is gone or the object is not what we think: fall back to the text
        return None


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    # `cassandra.cluster.NoHostAvailable: ...` -> `NoHostAvailable: ...`
    line = re.sub(r"^(?:[A-Za-z_][\w$]*\.)+([A-Za-z_][\w$]*):", r"\1:", line)
    return line if len(line) <= limit else line[: limit - 3] + "..."


class StallWatch:
    """Notices a query whose micro-batch never ends: sampled every second with the query's status
    (`isTriggerActive`) and the id of its last finished micro-batch, it answers how long the running
    trigger has gone on once that passes `seconds`, else None. A query between triggers, or one that
    finished another micro-batch since the last sample, starts the count again."""

    def __init__(self, seconds: float, monotonic):
        self._seconds, self._monotonic = seconds, monotonic
        self._since: dict[str, tuple[object, float]] = {}

    def check(self, name: str, trigger_active: bool, last_batch: object) -> float | None:
        now = self._monotonic()
        if not trigger_active:
            self._since.pop(name, None)
            return None
        seen = self._since.get(name)
        if seen is None or seen[0] != last_batch:
            self._since[name] = (last_batch, now)
            return None
        running = now - seen[1]
        return running if running > self._seconds else None
