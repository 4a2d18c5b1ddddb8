"""The SQLite store: one file, WAL mode (one writer, many readers), a transaction per batch."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from .model import AddressState, Decision, LedgerError, LedgerEvent
from .schema import (
    ADDRESS_COLUMNS,
    APPLICATION_ID,
    EVENT_COLUMNS,
    SCHEMA_VERSION,
    SQLITE_MIGRATIONS,
)
from .store import event_row, row_event, row_state, state_row

__all__ = ["SqliteStore"]

#: How long a writer waits for another writer's transaction before giving up.
BUSY_TIMEOUT_MS: Final = 60_000
_EVENTS: Final = ", ".join(EVENT_COLUMNS)
_ADDRESSES: Final = ", ".join(ADDRESS_COLUMNS)
_INSERT_EVENT: Final = (
    f"INSERT OR IGNORE INTO ledger_events ({_EVENTS}) "
    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)
_SAVE_STATE: Final = (
    f"INSERT OR REPLACE INTO ledger_addresses ({_ADDRESSES}) "
    f"VALUES ({', '.join('?' * len(ADDRESS_COLUMNS))})"
)


class _SqliteBatch:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def insert_events(self, events: Sequence[LedgerEvent]) -> list[LedgerEvent]:
        conn = self.conn
        (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM ledger_events").fetchone()
        before = conn.total_changes
        conn.executemany(_INSERT_EVENT, [event_row(e) for e in events])
        added = conn.total_changes - before
        if added == len(events):
            return list(events)
        if not added:
            return []
        rows = conn.execute("SELECT key FROM ledger_events WHERE id > ?", (top,))
        new = {bytes(k) for (k,) in rows}
        return [e for e in events if e.key in new]

    def load_states(self, addresses: Sequence[str]) -> dict[str, AddressState]:
        rows = self.conn.execute(
            f"SELECT {_ADDRESSES} FROM ledger_addresses "
            "WHERE address IN (SELECT value FROM json_each(?))",
            (json.dumps(list(addresses)),),
        )
        return {row[0]: row_state(row) for row in rows}

    def address_events(self, address: str) -> list[LedgerEvent]:
        rows = self.conn.execute(
            f"SELECT {_EVENTS} FROM ledger_events WHERE address = ? ORDER BY time, seq, key",
            (address,),
        )
        return [row_event(r) for r in rows]

    def save_states(self, states: Sequence[AddressState]) -> None:
        self.conn.executemany(_SAVE_STATE, [state_row(s) for s in states])


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

    def get(self, address: str) -> AddressState | None:
        row = self.conn.execute(
            f"SELECT {_ADDRESSES} FROM ledger_addresses WHERE address = ?", (address,)
        ).fetchone()
        return None if row is None else row_state(row)

    def history(self, address: str, limit: int) -> list[LedgerEvent]:
        rows = self.conn.execute(
            f"SELECT {_EVENTS} FROM ledger_events WHERE address = ? "
            "ORDER BY time DESC, seq DESC, key DESC LIMIT ?",
            (address, limit),
        ).fetchall()
        return [row_event(r) for r in reversed(rows)]

    def states(self, decisions: frozenset[Decision] | None = None) -> Iterator[AddressState]:
        query = f"SELECT {_ADDRESSES} FROM ledger_addresses"
        params: tuple[str, ...] = ()
        if decisions is not None:
            query += " WHERE decision IN (SELECT value FROM json_each(?))"
            params = (json.dumps(sorted(d.value for d in decisions)),)
        for row in self.conn.execute(query + " ORDER BY address", params):
            yield row_state(row)

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

    def all_addresses(self) -> Iterator[str]:
        rows = self.conn.execute("SELECT DISTINCT address FROM ledger_events ORDER BY address")
        return (a for (a,) in rows.fetchall())

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
