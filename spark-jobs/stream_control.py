"""How a streaming job holds its stream and reports on it, through three tables the control plane
owns (it creates them; the job never does):

  leases            one row per stream, `stream:<name>`: which run holds it, kept alive by a TTL
  stream_heartbeats one row per stream: the holding run, its state and its last micro-batch
  stream_control    one row per stream: the control plane's stop requests (the row may be missing)

A copy takes the lease before its query touches the checkpoint, renews it every heartbeat and
after every micro-batch, and stops as soon as it cannot prove it still holds it: two copies on
one checkpoint kill each other (SparkConcurrentModificationException).

The decisions are pure functions (decide_lease, stop_reason, error_summary, progress_offsets and
the *_values row builders); StreamStore is the only code that speaks CQL, and StreamGuard ties
them together for the job's threads. spark-jobs/README.md describes the contract and exit codes.
"""
from __future__ import annotations

import json
import re
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from cassandra import ConsistencyLevel, InvalidRequest

# Exit statuses of the job's process (spark-submit and Livy pass them on).
EXIT_OK = 0  # stopped on request (or the query ended by itself)
EXIT_CASSANDRA = 2  # Cassandra unreachable or not set up at start (argparse errors exit 2 too)
EXIT_LEASE = 3  # another copy holds the stream, or this copy lost the lease

STARTING, RUNNING, STOPPED, FAILED = "starting", "running", "stopped", "failed"
TAKE, WAIT, EXIT = "take", "wait", "exit"

LEASES_TABLE = "leases"
HEARTBEATS_TABLE = "stream_heartbeats"
CONTROL_TABLE = "stream_control"

HEARTBEAT_COLUMNS = frozenset({
    "run_id", "batch_id", "app_id", "host", "pid", "started_at", "seen_at", "last_batch_at", "epoch",
    "rows_read", "rows_written", "dropped", "duration_ms", "lag_ms", "offsets", "topics", "buckets", "state", "last_error",
})
# What one run reports about its own micro-batches; a new run starts them empty. `offsets` is not
# among them: it says where the checkpoint stands, which outlives the run, until this run's first
# batch reports its own.
BATCH_COLUMNS = ("epoch", "rows_read", "rows_written", "dropped", "duration_ms", "lag_ms", "last_batch_at")

# How long a copy that lost its lease may take to stop before the process is ended outright.
STOP_GRACE_SECONDS = 30
# The waiting copy's margin over the lease TTL: a lease renewed just before the holder died
# expires TTL seconds after that renewal.
TAKE_MARGIN_SECONDS = 5
ERROR_LIMIT = 500


def lease_name(stream: str) -> str:
    return f"stream:{stream}"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def say(line: str) -> None:
    """A line that matters to whoever reads the job's log: Livy keeps stdout and stderr apart."""
    for stream in (sys.stdout, sys.stderr):
        print(line, file=stream, flush=True)


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


class StreamExit(Exception):
    """This copy must exit with `code` before touching the checkpoint; the line was already said."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class LeaseLost(RuntimeError):
    """Raised from foreachBatch once the lease is gone, so the batch is not committed."""


# --- pure decisions -----------------------------------------------------------------------------


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
    return LeaseDecision(
        WAIT, holder, f"run {holder} holds the stream's lease but is silent ({describe_run(own, now)})"
    )


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
    ordered = {
        topic: dict(sorted(parts.items(), key=lambda item: int(item[0]))) for topic, parts in sorted(offsets.items())
    }
    return json.dumps(ordered, separators=(",", ":"))


def start_values(run: RunInfo, now: datetime) -> dict:
    """The heartbeat row of a run that just took the lease: who it is, and no batch yet."""
    return {
        "run_id": run.run_id, "batch_id": run.batch_id, "app_id": None, "host": run.host, "pid": run.pid,
        "started_at": now, "seen_at": now, "topics": ",".join(run.topics),
        "buckets": ",".join(f"{source}={seconds}" for source, seconds in run.buckets) or None, "state": STARTING, "last_error": None,
        **{column: None for column in BATCH_COLUMNS},
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
        values.update(epoch=stats.epoch, rows_read=stats.rows_read, rows_written=stats.rows_written,
                      dropped=stats.dropped, duration_ms=stats.duration_ms, lag_ms=stats.lag_ms)
    offsets = offsets_json(progress_offsets(progress))
    if offsets is not None:  # keep the last known position rather than blank it
        values["offsets"] = offsets
    return values


def end_values(state: str, now: datetime, error: str | None = None) -> dict:
    values = {"state": state, "seen_at": now}
    if state == FAILED:
        values["last_error"] = error
    return values


def _utc(value: datetime | None) -> datetime | None:
    # The Python driver returns timestamps as naive datetimes in UTC.
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


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


# --- the statements -----------------------------------------------------------------------------


class StreamStore:
    """The job's statements on the control plane's tables, over the job's one driver session.

    Prepared once (preparing fails at start if leases or stream_heartbeats is missing). The lease's
    LWTs run at LOCAL_QUORUM with LOCAL_SERIAL for their Paxos phase, the rest at LOCAL_QUORUM.
    Every call is bounded by `timeout` seconds, so a heartbeat cannot hang past the lease's deadline.
    """

    def __init__(self, session, stream: str, *, timeout: float):
        self._session, self._stream, self._lease, self._timeout = session, stream, lease_name(stream), timeout
        self._take = self._prepare(
            f"INSERT INTO {LEASES_TABLE} (name, holder, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?",
            lwt=True,
        )
        # holder is written again, not only acquired_at: a TTL belongs to each cell, so a holder cell
        # left with the INSERT's TTL would vanish one TTL after the start, and the next renewal
        # (IF holder = ?) would fail under a healthy copy.
        self._renew = self._prepare(
            f"UPDATE {LEASES_TABLE} USING TTL ? SET holder = ?, acquired_at = ? WHERE name = ? IF holder = ?",
            lwt=True,
        )
        self._release = self._prepare(f"DELETE FROM {LEASES_TABLE} WHERE name = ? IF holder = ?", lwt=True)
        self._heartbeat = self._prepare(f"SELECT run_id, host, pid, seen_at FROM {HEARTBEATS_TABLE} WHERE stream = ?")
        self._updates: dict[tuple[str, ...], object] = {}
        self._control = None
        self.control_table_missing = False

    def take_lease(self, holder: str, now: datetime, ttl: int) -> dict:
        """{"applied": bool, "holder": the holder after the attempt, ...}"""
        return self._lwt(self._take, (self._lease, holder, now, int(ttl)))

    def renew_lease(self, holder: str, now: datetime, ttl: int) -> dict:
        return self._lwt(self._renew, (int(ttl), holder, now, self._lease, holder))

    def release_lease(self, holder: str) -> bool:
        return self._lwt(self._release, (self._lease, holder))["applied"]

    def read_heartbeat(self) -> dict | None:
        return _as_dict(self._execute(self._heartbeat, (self._stream,)).one())

    def write_heartbeat(self, values: dict) -> None:
        """UPDATE of the given columns of this stream's heartbeat row (one prepared statement per set)."""
        columns = tuple(sorted(values))
        unknown = set(columns) - HEARTBEAT_COLUMNS
        if unknown:
            raise ValueError(f"not columns of {HEARTBEATS_TABLE}: {sorted(unknown)}")
        statement = self._updates.get(columns)
        if statement is None:
            assignments = ", ".join(f"{column} = ?" for column in columns)
            statement = self._prepare(f"UPDATE {HEARTBEATS_TABLE} SET {assignments} WHERE stream = ?")
            self._updates[columns] = statement
        self._execute(statement, [values[column] for column in columns] + [self._stream])

    def read_control(self) -> dict | None:
        """The stream's stream_control row; None when there is none, or no such table (yet)."""
        try:
            if self._control is None:
                self._control = self._prepare(f"SELECT desired, stop_run FROM {CONTROL_TABLE} WHERE stream = ?")
            row = self._execute(self._control, (self._stream,)).one()
        except InvalidRequest:
            # The control plane's migrations create the table; until then nobody can ask for a stop.
            self._control, self.control_table_missing = None, True
            return None
        self.control_table_missing = False
        return _as_dict(row)

    def _prepare(self, cql: str, lwt: bool = False):
        statement = self._session.prepare(cql)
        statement.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        if lwt:
            statement.serial_consistency_level = ConsistencyLevel.LOCAL_SERIAL
        return statement

    def _execute(self, statement, params):
        return self._session.execute(statement, params, timeout=self._timeout)

    def _lwt(self, statement, params) -> dict:
        row = self._execute(statement, params).one()
        answer = _as_dict(row) or {}
        answer["applied"] = bool(row[0])  # the driver's first column, `[applied]`
        return answer


def _as_dict(row) -> dict | None:
    if row is None:
        return None
    return dict(row._asdict()) if hasattr(row, "_asdict") else dict(row)


# --- holding the stream -------------------------------------------------------------------------


class StreamGuard:
    """Holds the stream for one run of the job, for every thread that needs to know.

    The main thread takes the lease (acquire) and ends the run (finish); a daemon thread renews the
    lease and writes seen_at every `heartbeat` seconds, reads stop requests, and stops the query when
    one arrives or the lease is lost; foreachBatch renews and reads requests after each micro-batch
    (after_batch); Spark's progress listener writes each batch's numbers (on_progress). Once the
    lease is lost nothing more is written, not even a release: the lease belongs to someone else.
    """

    def __init__(self, store: StreamStore, run: RunInfo, *, ttl: float, heartbeat: float,
                 say: Callable[[str], None] = say, monotonic: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep):
        self._store, self._run, self._ttl, self._heartbeat = store, run, ttl, heartbeat
        self._say_line, self._monotonic, self._now, self._sleep = say, monotonic, now, sleep
        # One re-entrant lock around every statement and the state it depends on: a write checks
        # that the lease is held and runs before a concurrent loss can be recorded.
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._holding = False
        self._state: str | None = None
        self._last_renewed = 0.0
        self._outcome: Outcome | None = None
        self._stopper: Callable[[bool], None] | None = None
        self._stop_called = False
        self._pending: dict[int, BatchStats] = {}
        self._failing: set[str] = set()

    @property
    def run(self) -> RunInfo:
        return self._run

    @property
    def outcome(self) -> Outcome | None:
        return self._outcome

    @property
    def holding(self) -> bool:
        return self._holding

    def say(self, message: str) -> None:
        self._say_line(f"{self._run.stream}: {message}")

    # -- start ---------------------------------------------------------------------------------

    def acquire(self) -> None:
        """Takes the lease, waiting out a silent holder; raises StreamExit(EXIT_LEASE) if it cannot."""
        limit = self._ttl + TAKE_MARGIN_SECONDS
        deadline = self._monotonic() + limit
        waiting_for = announced = None
        while True:
            sent = self._monotonic()
            answer = self._store.take_lease(self._run.run_id, self._now(), self._ttl)
            heartbeat = None if answer["applied"] else self._store.read_heartbeat()
            decision = decide_lease(answer, heartbeat, run_id=self._run.run_id, now=self._now(), ttl=self._ttl)
            if decision.action == TAKE:
                with self._lock:
                    self._holding, self._last_renewed = True, sent
                if announced:
                    self.say(f"took the stream's lease (run {self._run.run_id})")
                return
            if decision.action == EXIT:
                self._exit(f"{decision.reason}; this copy exits without touching the checkpoint")
            if self._monotonic() >= deadline:
                self._exit(f"{decision.reason}, and its lease did not expire within {limit:.0f} s;"
                           " this copy exits without touching the checkpoint")
            if not announced or waiting_for != decision.holder:
                announced, waiting_for = True, decision.holder
                self.say(f"{decision.reason}: waiting up to {deadline - self._monotonic():.0f} s for its lease"
                         " to expire before touching the checkpoint")
            self._sleep(1)

    def starting(self) -> None:
        """The heartbeat row of this run, state `starting`; raises if it cannot be written."""
        with self._lock:
            self._state = STARTING
            self._store.write_heartbeat(start_values(self._run, self._now()))

    def set_app_id(self, app_id: str) -> None:
        self._write({"app_id": app_id, "seen_at": self._now()}, "heartbeat")

    def running(self, stopper: Callable[[bool], None]) -> None:
        """The query started: state `running`; `stopper(lost)` stops it (called from another thread)."""
        with self._lock:
            self._state, self._stopper = RUNNING, stopper
        self._write(tick_values(RUNNING, self._now()), "heartbeat")
        self._wake.set()  # a stop decided while the query was starting is carried out now

    def start_heartbeats(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"{self._run.stream}-heartbeat", daemon=True)
        self._thread.start()

    # -- while running -------------------------------------------------------------------------

    def tick(self) -> None:
        """One heartbeat: renew the lease, then seen_at, then read the stop requests. Goes on while a
        requested stop waits for the running micro-batch: the lease must outlive the query."""
        if not self._holding:
            return
        if self._renew():
            self._write(tick_values(self._state, self._now()), "heartbeat")
            if self._outcome is None:
                self._check_control()

    def after_batch(self, stats: BatchStats) -> None:
        """End of a micro-batch (inside foreachBatch): renew, read requests. Raises LeaseLost when the
        lease is gone, which fails the batch before Spark commits it."""
        with self._lock:
            self._pending[stats.epoch] = stats
        if self._renew() and self._outcome is None:
            self._check_control()
        if self._outcome is not None and self._outcome.lost:
            raise LeaseLost(self._outcome.message)

    def on_progress(self, progress: dict) -> None:
        """Spark's progress report of a finished (committed) micro-batch: its numbers and offsets."""
        epoch = progress.get("batchId")
        with self._lock:
            stats = self._pending.pop(epoch, None)
            for older in [e for e in self._pending if epoch is not None and e < epoch]:
                del self._pending[older]
            self._write(batch_values(progress, stats, self._now()), "batch progress")

    def next_wait(self) -> float:
        """Seconds until the next heartbeat: the interval, or less if the renewal deadline is nearer."""
        if not self._holding:
            return self._heartbeat
        until_deadline = self._last_renewed + self._ttl - self._heartbeat - self._monotonic()
        return max(0.0, min(self._heartbeat, until_deadline))

    # -- end -----------------------------------------------------------------------------------

    def finish(self, error: BaseException | None) -> int | None:
        """Ends the run once the query is over (or was never started): stops the heartbeats, writes
        the final state and releases the lease. Returns the exit code, or None when the query failed
        (the caller re-raises `error`, which exits non-zero with its traceback in the log)."""
        self._closing.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        outcome = self._outcome
        if outcome is not None and outcome.lost:
            return outcome.code
        if error is not None and outcome is None:
            summary = error_summary(error)
            self._end(end_values(FAILED, self._now(), summary))
            self.say(f"failed: {summary}")
            return None
        if error is not None:
            self.say(f"the query ended with {error_summary(error)} while stopping")
        self._end(end_values(STOPPED, self._now()))
        self.say(outcome.message if outcome else "stopped")
        return EXIT_OK

    # -- inside --------------------------------------------------------------------------------

    def _renew(self) -> bool:
        """True when the lease is renewed; records a loss when it is not (or can no longer be)."""
        with self._lock:
            if not self._holding:
                return False
            sent = self._monotonic()
            try:
                answer = self._store.renew_lease(self._run.run_id, self._now(), self._ttl)
            except Exception as exc:  # the driver's errors: unreachable, timed out, overloaded...
                return self._renewal_failed(exc)
            if not answer["applied"]:
                holder = answer.get("holder")
                self._lose(f"lost the stream's lease to {f'run {holder}' if holder else 'its expiry'};"
                           " stopping at once without writing more (another copy may own the checkpoint now)")
                return False
            self._last_renewed = max(self._last_renewed, sent)
            self._recovered("lease")
            return True

    def _renewal_failed(self, exc: Exception) -> bool:
        silent = self._monotonic() - self._last_renewed
        if renewal_overdue(self._last_renewed, self._monotonic(), ttl=self._ttl, heartbeat=self._heartbeat):
            self._lose(f"could not renew the stream's lease for {silent:.0f} s ({error_summary(exc)}); stopping"
                       " before it expires, so that another copy can take over the checkpoint")
        else:
            left = self._last_renewed + self._ttl - self._heartbeat - self._monotonic()
            self._failed("lease", f"cannot renew the stream's lease ({error_summary(exc)}); retrying,"
                                  f" giving up in {left:.0f} s")
        return False

    def _lose(self, message: str) -> None:
        with self._lock:
            if self._outcome is not None and self._outcome.lost:
                return
            self._outcome = Outcome(EXIT_LEASE, message, lost=True)
            self._holding = False
        self.say(message)
        self._wake.set()

    def _check_control(self) -> None:
        try:
            control = self._store.read_control()
        except Exception as exc:
            self._failed("control", f"cannot read stop requests ({error_summary(exc)}); will retry")
            return
        self._recovered("control")
        if self._store.control_table_missing:
            self._failed("control table", f"no {CONTROL_TABLE} table: stop requests cannot be read until it exists")
        reason = stop_reason(control, self._run.run_id)
        if reason is None:
            return
        with self._lock:
            if self._outcome is not None:
                return
            self._outcome = Outcome(EXIT_OK, f"stopped on request ({reason})", lost=False)
        self.say(f"stop requested ({reason}); stopping the query after the current micro-batch")
        self._wake.set()

    def _write(self, values: dict, what: str) -> None:
        with self._lock:
            if not self._holding:
                return
            try:
                self._store.write_heartbeat(values)
            except Exception as exc:
                self._failed(what, f"cannot write the {what} ({error_summary(exc)}); will retry")
                return
            self._recovered(what)

    def _end(self, values: dict) -> None:
        with self._lock:
            if not self._holding:
                return
            self._state = values["state"]
            try:
                self._store.write_heartbeat(values)
            except Exception as exc:
                self.say(f"cannot write the final state ({error_summary(exc)})")
            try:
                self._store.release_lease(self._run.run_id)
            except Exception as exc:
                self.say(f"cannot release the stream's lease ({error_summary(exc)});"
                         f" it expires within {self._ttl:.0f} s")
            self._holding = False

    def _exit(self, message: str) -> None:
        self.say(message)
        raise StreamExit(EXIT_LEASE, message)

    def _failed(self, what: str, message: str) -> None:
        # One line per streak of failures, not one per heartbeat.
        if what not in self._failing:
            self._failing.add(what)
            self.say(message)

    def _recovered(self, what: str) -> None:
        self._failing.discard(what)

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                self._apply_outcome()
                self.tick()
                self._apply_outcome()
            except Exception as exc:  # a bug here must not silently end the renewals
                self._failed("heartbeat thread", f"heartbeat error ({error_summary(exc)}); going on")
            self._wake.wait(self.next_wait())
            self._wake.clear()

    def _apply_outcome(self) -> None:
        with self._lock:
            outcome, stopper = self._outcome, self._stopper
            if outcome is None or stopper is None or self._stop_called:
                return
            self._stop_called = True
        # On its own thread: a stop waits for the running micro-batch, while the heartbeats (for a
        # requested stop) must go on renewing the lease.
        threading.Thread(target=stopper, args=(outcome.lost,), name=f"{self._run.stream}-stop", daemon=True).start()
