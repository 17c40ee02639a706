"""How a streaming job holds its stream and reports on it, through four tables the control plane
owns (it creates them; the job never does):

  leases               one row per stream, `stream:<name>`: which run holds it, kept alive by a TTL
  stream_heartbeats    one row per stream: the holding run, its state and its last micro-batch
  stream_control       one row per stream: the control plane's stop requests (the row may be missing)
  stream_micro_batches one row per micro-batch, kept 7 days: the stream's history, whoever runs it

A copy takes the lease before its query touches the checkpoint, renews it every heartbeat and
after every micro-batch, and stops as soon as it cannot prove it still holds it: two copies on
one checkpoint kill each other (SparkConcurrentModificationException).

The decisions are pure functions (stream_decisions.py); StreamStore (stream_store.py) is the only
code that speaks CQL, and StreamGuard ties them together for the job's threads.
spark-jobs/README.md describes the contract and exit codes.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pipeline_names import CONTROL_TABLE
from stream_decisions import (
    EXIT,
    EXIT_LEASE,
    EXIT_OK,
    FAILED,
    RUNNING,
    STARTING,
    STOPPED,
    TAKE,
    TAKE_MARGIN_SECONDS,
    BatchStats,
    Outcome,
    RunInfo,
    batch_values,
    decide_lease,
    end_values,
    error_summary,
    micro_batch_values,
    renewal_overdue,
    start_values,
    stop_reason,
    tick_values,
)
from stream_store import StreamStore


def utcnow() -> datetime:
    return datetime.now(UTC)


def say(line: str) -> None:
    """A line that matters to whoever reads the job's log: Livy keeps stdout and stderr apart."""
    for stream in (sys.stdout, sys.stderr):
        print(line, file=stream, flush=True)


class StreamExit(Exception):
    """This copy must exit with `code` before touching the checkpoint; the line was already said."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class LeaseLost(RuntimeError):
    """Raised from foreachBatch once the lease is gone, so the batch is not committed."""


class StreamGuard:
    """Holds the stream for one run of the job, for every thread that needs to know.

    The main thread takes the lease (acquire) and ends the run (finish); a daemon thread renews the
    lease and writes seen_at every `heartbeat` seconds, reads stop requests, and stops the query when
    one arrives or the lease is lost; foreachBatch renews, writes the batch's row and reads requests
    after each micro-batch (after_batch); Spark's progress listener writes each batch's numbers into
    the heartbeat row (on_progress). Once the lease is lost nothing more is written, not even a
    release: the lease belongs to someone else.
    """

    def __init__(
        self,
        store: StreamStore,
        run: RunInfo,
        *,
        ttl: float,
        heartbeat: float,
        say: Callable[[str], None] = say,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ):
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
                self._exit(
                    f"{decision.reason}, and its lease did not expire within {limit:.0f} s; this copy exits without touching the checkpoint"
                )
            if not announced or waiting_for != decision.holder:
                announced, waiting_for = True, decision.holder
                self.say(
                    f"{decision.reason}: waiting up to {deadline - self._monotonic():.0f} s for its lease"
                    " to expire before touching the checkpoint"
                )
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
        """End of a micro-batch (inside foreachBatch): renew, write its row, read requests. Raises
        LeaseLost when the lease is gone, which fails the batch before Spark commits it."""
        with self._lock:
            self._pending[stats.epoch] = stats
        if self._renew():
            self._record_batch(stats)
            if self._outcome is None:
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
                self._lose(
                    f"lost the stream's lease to {f'run {holder}' if holder else 'its expiry'};"
                    " stopping at once without writing more (another copy may own the checkpoint now)"
                )
                return False
            self._last_renewed = max(self._last_renewed, sent)
            self._recovered("lease")
            return True

    def _renewal_failed(self, exc: Exception) -> bool:
        silent = self._monotonic() - self._last_renewed
        if renewal_overdue(self._last_renewed, self._monotonic(), ttl=self._ttl, heartbeat=self._heartbeat):
            self._lose(
                f"could not renew the stream's lease for {silent:.0f} s ({error_summary(exc)}); stopping"
                " before it expires, so that another copy can take over the checkpoint"
            )
        else:
            left = self._last_renewed + self._ttl - self._heartbeat - self._monotonic()
            self._failed("lease", f"cannot renew the stream's lease ({error_summary(exc)}); retrying, giving up in {left:.0f} s")
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

    def _record_batch(self, stats: BatchStats) -> None:
        """The micro-batch's row in stream_micro_batches. A failure is said once per streak and never
        fails the batch, whose events are stored: they matter more than its record. The store's
        timeout bounds how long a slow Cassandra can hold the batch up here."""
        with self._lock:
            if not self._holding:
                return
            try:
                self._store.write_micro_batch(micro_batch_values(self._run, stats, stats.ended_at or self._now()))
            except Exception as exc:
                self._failed("micro-batch row", f"cannot write the micro-batch's row ({error_summary(exc)}); the next batch tries again")
                return
            self._recovered("micro-batch row")

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
                self.say(f"cannot release the stream's lease ({error_summary(exc)}); it expires within {self._ttl:.0f} s")
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
