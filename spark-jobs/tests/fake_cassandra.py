"""A fake of the Python driver's Session for the job's Cassandra statements.

It understands the few CQL shapes the job prepares (INSERT ... [IF NOT EXISTS] [USING TTL ?],
UPDATE [USING TTL ?] SET ... WHERE k = ? [IF c = ?], DELETE ... WHERE k = ? [IF c = ?] and
single-partition SELECTs), keeps tables in memory with a TTL per cell as Cassandra does (so a cell
not rewritten expires even if its row is updated), and answers LWTs with `[applied]` and the current
values. A row is keyed by its table's first column, or by the tuple of KEYS' columns for a table with
a compound primary key. Time comes from a FakeClock that the tests move.
"""

from __future__ import annotations

import re
from collections import namedtuple
from datetime import UTC, datetime, timedelta

from cassandra import InvalidRequest

MARKER = "__row_marker__"  # what an INSERT leaves besides its cells (an UPDATE leaves none)
# The primary key's columns of the tables whose key is more than their first column (INSERTs only).
KEYS = {"stream_micro_batches": ("stream", "day", "ended_at", "epoch")}


class FakeClock:
    """monotonic() and now() moving together; sleep() moves them instead of waiting."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)):
        self.start, self.elapsed = start, 0.0

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        self.elapsed += seconds

    advance = sleep


class FakePrepared:
    def __init__(self, query_string: str):
        self.query_string = query_string
        self.consistency_level = None
        self.serial_consistency_level = None


class FakeResult:
    def __init__(self, rows: list):
        self._rows = rows

    def one(self):
        return self._rows[0] if self._rows else None

    def __iter__(self):
        return iter(self._rows)


class FakeSession:
    def __init__(self, clock: FakeClock, tables=("leases", "stream_heartbeats", "stream_control", "stream_micro_batches")):
        self.clock = clock
        self.tables: dict[str, dict] = {name: {} for name in tables}
        self.executed: list[tuple[str, tuple, FakePrepared]] = []
        self.down: Exception | None = None  # raised by every execute while set

    # -- the driver's API ------------------------------------------------------------------------

    def prepare(self, cql: str) -> FakePrepared:
        table = re.search(r"(?:INTO|UPDATE|FROM)\s+(\w+)", cql).group(1)
        if table not in self.tables:
            raise InvalidRequest(f'Error from server: code=2200 [Invalid query] message="table {table} does not exist"')
        return FakePrepared(cql)

    def execute(self, statement: FakePrepared, parameters=(), timeout=None) -> FakeResult:
        if self.down is not None:
            raise self.down
        params = list(parameters or ())
        self.executed.append((statement.query_string, tuple(params), statement))
        return FakeResult(self._run(statement.query_string, params))

    # -- for the tests ---------------------------------------------------------------------------

    def row(self, table: str, key) -> dict | None:
        """The live cells of a row as the driver would return them (naive UTC datetimes)."""
        cells = self._live(table, key)
        return {c: _out(v) for c, v in cells.items() if c != MARKER} if cells else None

    def rows(self, table: str) -> dict:
        """Every live row of a table, by key (a tuple for a compound key), as row() returns each."""
        return {key: self.row(table, key) for key in list(self.tables[table]) if self.row(table, key)}

    def put(self, table: str, key, ttl: float | None = None, **columns) -> None:
        """Writes cells directly, as another client would (ttl in seconds, None = forever)."""
        expires = None if ttl is None else self.clock.monotonic() + ttl
        row = self.tables[table].setdefault(key, {})
        for column, value in {MARKER: True, **columns}.items():
            row[column] = (value, expires)

    def statements(self, table: str | None = None) -> list[str]:
        return [cql for cql, _, _ in self.executed if table is None or re.search(rf"\b{table}\b", cql)]

    # -- a little CQL ----------------------------------------------------------------------------

    def _run(self, cql: str, p: list) -> list:
        if m := re.fullmatch(r"INSERT INTO (\w+) \(([^)]*)\) VALUES \(([^)]*)\)( IF NOT EXISTS)?( USING TTL \?)?", cql):
            table, columns = m[1], [c.strip() for c in m[2].split(",")]
            values, ttl = p[: len(columns)], (p[len(columns)] if m[5] else None)
            row = dict(zip(columns, values, strict=True))
            key_columns = KEYS.get(table, columns[:1])
            key = tuple(row[c] for c in key_columns) if len(key_columns) > 1 else row[key_columns[0]]
            if m[4]:
                current = self._live(table, key)
                if current:
                    return [self._answer(False, current)]
            self._write(table, key, {c: v for c, v in row.items() if c not in key_columns}, ttl, marker=True)
            return [self._answer(True)] if m[4] else []
        if m := re.fullmatch(r"UPDATE (\w+)( USING TTL \?)? SET (.+?) WHERE (\w+) = \?(?: IF (\w+) = \?)?", cql):
            table, assignments = m[1], [a.split("=")[0].strip() for a in m[3].split(",")]
            ttl = p.pop(0) if m[2] else None
            values, key = p[: len(assignments)], p[len(assignments)]
            if m[5]:
                current = self._live(table, key)
                if (current or {}).get(m[5]) != p[len(assignments) + 1]:
                    return [self._answer(False, current, m[5])]
            self._write(table, key, dict(zip(assignments, values, strict=True)), ttl, marker=False)
            return [self._answer(True)] if m[5] else []
        if m := re.fullmatch(r"DELETE FROM (\w+) WHERE (\w+) = \?(?: IF (\w+) = \?)?", cql):
            table, key = m[1], p[0]
            if m[3]:
                current = self._live(table, key)
                if (current or {}).get(m[3]) != p[1]:
                    return [self._answer(False, current, m[3])]
            self.tables[table].pop(key, None)
            return [self._answer(True)] if m[3] else []
        if m := re.fullmatch(r"SELECT (.+?) FROM (\w+) WHERE (\w+) = \?", cql):
            columns, table = [c.strip() for c in m[1].split(",")], m[2]
            current = self._live(table, p[0])
            if not current:
                return []
            Row = namedtuple("Row", columns)
            return [Row(*(_out(current.get(c)) for c in columns))]
        raise AssertionError(f"the fake does not understand: {cql}")

    def _live(self, table: str, key) -> dict:
        now = self.clock.monotonic()
        return {c: v for c, (v, expires) in self.tables[table].get(key, {}).items() if expires is None or expires > now}

    def _write(self, table: str, key, columns: dict, ttl, marker: bool) -> None:
        expires = None if not ttl else self.clock.monotonic() + ttl
        row = self.tables[table].setdefault(key, {})
        if marker:
            row[MARKER] = (True, expires)
        for column, value in columns.items():
            if value is None:
                row.pop(column, None)  # a tombstone
            else:
                row[column] = (value, expires)

    @staticmethod
    def _answer(applied: bool, current: dict | None = None, condition: str | None = None):
        # Like Cassandra: `[applied]` (the driver names it `applied`), then the current values.
        values = {c: _out(v) for c, v in (current or {}).items() if c != MARKER}
        if condition is not None:
            values.setdefault(condition, None)
        Row = namedtuple("Row", ["applied", *values])
        return Row(applied, *values.values())


def _out(value):
    # The driver returns timestamps as naive datetimes in UTC.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
