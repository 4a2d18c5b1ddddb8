"""The SQLite store: one file, WAL mode (one writer, many readers), a transaction per batch."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any, Final

from .model import Decision, LedgerError
from .policy import EventRow, StateRow
from .schema import (
    ADDRESS_COLUMNS,
    APPLICATION_ID,
    EVENT_COLUMNS,
    SCHEMA_VERSION,
    SQLITE_MIGRATIONS,
)

__all__ = ["SqliteStore"]

#: How long a writer waits for another writer's transaction before giving up.
BUSY_TIMEOUT_MS: Final = 60_000
#: Page size of a new ledger: a batch touches pages all over its tables, and fewer, larger
#: pages take less work to change and to commit (the bench: about a tenth less CPU per event
#: than SQLite's default 4 KiB). A ledger made before keeps its size.
PAGE_BYTES: Final = 16384
#: Page cache per connection, in KiB: the indexes of a few million events stay in memory.
CACHE_KIB: Final = 64 * 1024
_EVENTS: Final = ", ".join(EVENT_COLUMNS)
_ADDRESSES: Final = ", ".join(ADDRESS_COLUMNS)
#: Rows written by one statement: Python's driver spends more on each row it steps through
#: than SQLite spends on a row's values, so rows go in a few hundred at a time (well under
#: SQLite's 32 766 parameters a statement).
ROWS_PER_STATEMENT: Final = 256
_EVENT_ROW: Final = f"({', '.join('?' * len(EVENT_COLUMNS))})"
_STATE_ROW: Final = f"({', '.join('?' * len(ADDRESS_COLUMNS))})"
_INSERT_EVENT: Final = f"INSERT INTO ledger_events ({_EVENTS}) VALUES "
_SAVE_STATE: Final = f"INSERT OR REPLACE INTO ledger_addresses ({_ADDRESSES}) VALUES "


def _write(conn: sqlite3.Connection, head: str, row: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run ``head`` with ``rows`` as its VALUES: ``ROWS_PER_STATEMENT`` rows a statement."""
    many = head + ", ".join([row] * ROWS_PER_STATEMENT)
    whole = len(rows) - len(rows) % ROWS_PER_STATEMENT
    for start in range(0, whole, ROWS_PER_STATEMENT):
        conn.execute(many, list(chain.from_iterable(rows[start : start + ROWS_PER_STATEMENT])))
    if whole < len(rows):
        conn.executemany(head + row, rows[whole:])


class _SqliteBatch:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def insert_events(self, events: Sequence[EventRow]) -> Sequence[EventRow]:
        conn = self.conn
        conn.execute("SAVEPOINT events")
        try:
            _write(conn, _INSERT_EVENT, _EVENT_ROW, events)  # new events: the usual case
        except sqlite3.IntegrityError:  # some are recorded already: insert only the others
            conn.execute("ROLLBACK TO events")
            known = set(
                conn.execute(
                    "SELECT address, key FROM ledger_events WHERE (address, key) IN "
                    "(SELECT value ->> 0, value ->> 1 FROM json_each(?))",
                    (json.dumps([(e[1], e[0]) for e in events]),),
                )
            )
            events = [e for e in events if (e[1], e[0]) not in known]
            _write(conn, _INSERT_EVENT, _EVENT_ROW, events)
        conn.execute("RELEASE events")
        return events

    def load_states(self, addresses: Sequence[str]) -> dict[str, StateRow]:
        rows = self.conn.execute(
            f"SELECT {_ADDRESSES} FROM ledger_addresses "
            "WHERE address IN (SELECT value FROM json_each(?))",
            (json.dumps(addresses),),
        )
        return {row[0]: row for row in rows}

    def address_events(self, address: str) -> list[EventRow]:
        return self.conn.execute(
            f"SELECT {_EVENTS} FROM ledger_events WHERE address = ? ORDER BY time, seq, key",
            (address,),
        ).fetchall()

    def save_states(self, states: Sequence[StateRow]) -> None:
        _write(self.conn, _SAVE_STATE, _STATE_ROW, states)


def _check(conn: sqlite3.Connection, path: str) -> int:
    """The file's schema version; raises LedgerError when it is not a ledger of ours."""
    (app,) = conn.execute("PRAGMA application_id").fetchone()
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    (tables,) = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if app != APPLICATION_ID and (app or tables):
        raise LedgerError(f"{path} is an SQLite database but not a bounce ledger")
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"{path} has ledger schema version {version}; this program knows up to "
            f"{SCHEMA_VERSION}: upgrade smtp-classifier"
        )
    return int(version)


class SqliteStore:
    """A ledger in an SQLite file, created and migrated on open."""

    kind = "sqlite"
    #: One writer at a time: nothing to run again (a busy database is waited for).
    retry_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = str(path)
        if not create and not Path(self.path).is_file():
            raise LedgerError(f"no ledger at {self.path}")
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open ledger {self.path}: {exc}") from None
        try:
            self._setup()
        except sqlite3.Error as exc:
            self.conn.close()
            raise LedgerError(f"{self.path}: not a usable ledger ({exc})") from None
        except LedgerError:
            self.conn.close()
            raise

    def _setup(self) -> None:
        conn = self.conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = _check(conn, self.path)
        if version == 0:  # before the first table, or SQLite keeps its default
            conn.execute(f"PRAGMA page_size = {PAGE_BYTES}")
        if version < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = _check(conn, self.path)  # another process may have done it
                for step in SQLITE_MIGRATIONS[version:]:
                    for statement in step:
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise LedgerError(f"{self.path}: cannot use write-ahead logging (mode {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints, safe in WAL
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA foreign_keys = OFF")

    @contextmanager
    def batch(self) -> Iterator[_SqliteBatch]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteBatch(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def get(self, address: str) -> StateRow | None:
        row: StateRow | None = self.conn.execute(
            f"SELECT {_ADDRESSES} FROM ledger_addresses WHERE address = ?", (address,)
        ).fetchone()
        return row

    def history(self, address: str, limit: int) -> list[EventRow]:
        rows = self.conn.execute(
            f"SELECT {_EVENTS} FROM ledger_events WHERE address = ? "
            "ORDER BY time DESC, seq DESC, key DESC LIMIT ?",
            (address, limit),
        ).fetchall()
        return rows[::-1]

    def states(self, decisions: frozenset[Decision] | None = None) -> Iterator[StateRow]:
        query = f"SELECT {_ADDRESSES} FROM ledger_addresses"
        params: tuple[str, ...] = ()
        if decisions is not None:
            query += " WHERE decision IN (SELECT value FROM json_each(?))"
            params = (json.dumps(sorted(d.value for d in decisions)),)
        yield from self.conn.execute(query + " ORDER BY address", params)

    def counts(self) -> list[tuple[str, str, int]]:
        rows = self.conn.execute(
            "SELECT decision, cause, count(*) FROM ledger_addresses GROUP BY decision, cause"
        )
        return [(d, c, int(n)) for d, c, n in rows]

    def totals(self) -> tuple[int, int]:
        (addresses,) = self.conn.execute("SELECT count(*) FROM ledger_addresses").fetchone()
        (events,) = self.conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        return int(addresses), int(events)

    def forget(self, address: str) -> int:
        with self.batch():
            cur = self.conn.execute("DELETE FROM ledger_events WHERE address = ?", (address,))
            self.conn.execute("DELETE FROM ledger_addresses WHERE address = ?", (address,))
            return cur.rowcount

    def all_addresses(self) -> list[str]:
        rows = self.conn.execute("SELECT DISTINCT address FROM ledger_events ORDER BY address")
        return [a for (a,) in rows]

    def get_meta(self, name: str) -> str | None:
        row = self.conn.execute("SELECT value FROM ledger_meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO ledger_meta (name, value) VALUES (?, ?)", (name, value)
        )

    def integrity(self) -> str:
        """SQLite's own check of the file ("ok" when sound)."""
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        self.conn.close()
