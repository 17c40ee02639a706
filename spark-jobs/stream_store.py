"""The stream's statements on the control plane's tables (leases, stream_heartbeats, stream_control,
stream_micro_batches): the only code of the job's lease, heartbeat and micro-batch rows that speaks CQL."""

from __future__ import annotations

from datetime import datetime

from cassandra import ConsistencyLevel, InvalidRequest
from pipeline_names import CONTROL_TABLE, HEARTBEATS_TABLE, LEASES_TABLE, MICRO_BATCHES_TABLE, lease_name
from stream_decisions import HEARTBEAT_COLUMNS, MICRO_BATCH_COLUMNS


class StreamStore:
    """The job's statements on the control plane's tables, over the job's one driver session.

    Prepared once (preparing fails at start if leases or stream_heartbeats is missing; the statements
    on stream_control and stream_micro_batches are prepared when first used, so a missing one fails
    that call only). The lease's LWTs run at LOCAL_QUORUM with LOCAL_SERIAL for their Paxos phase, the
    rest at LOCAL_QUORUM. Every call is bounded by `timeout` seconds, so a heartbeat cannot hang past
    the lease's deadline, nor a micro-batch's row hold its batch up for longer.
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
        self._inserts: dict[tuple[str, ...], object] = {}
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

    def write_micro_batch(self, values: dict) -> None:
        """INSERT of one micro-batch's row into stream_micro_batches, its null columns left out (no
        tombstones); the table's default TTL expires it. Raises what the driver raises."""
        unknown = set(values) - set(MICRO_BATCH_COLUMNS)
        if unknown:
            raise ValueError(f"not columns of {MICRO_BATCHES_TABLE}: {sorted(unknown)}")
        columns = tuple(column for column in MICRO_BATCH_COLUMNS if values.get(column) is not None)
        statement = self._inserts.get(columns)
        if statement is None:
            markers = ", ".join("?" for _ in columns)
            statement = self._prepare(f"INSERT INTO {MICRO_BATCHES_TABLE} ({', '.join(columns)}) VALUES ({markers})")
            self._inserts[columns] = statement
        self._execute(statement, [values[column] for column in columns])

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
