"""The PostgreSQL store (the ``postgres`` extra, psycopg 3): several writers at once.

A batch inserts its events (``ON CONFLICT DO NOTHING RETURNING`` tells which are new), then
locks the rows of the addresses they touch (``SELECT … FOR UPDATE``, in address order, after
inserting missing rows), folds and writes them, and commits. A writer waiting on another's
lock reads the state that one committed, so no update is lost; a deadlock or serialisation
failure, which PostgreSQL resolves by aborting one side, makes that side run its batch again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from .model import Decision, LedgerError
from .policy import EventRow, StateRow
from .schema import ADDRESS_COLUMNS, EVENT_COLUMNS, POSTGRES_MIGRATIONS, SCHEMA_VERSION

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - exercised where the extra is missing
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresStore"]

#: Advisory lock held while creating or migrating the tables.
_MIGRATION_LOCK: Final = 0x53434C47
_EVENTS: Final = ", ".join(EVENT_COLUMNS)
_ADDRESSES: Final = ", ".join(ADDRESS_COLUMNS)
_TRANSIENT: Final = EVENT_COLUMNS.index("transient")
_EVENT_TYPES: Final = ("int8", "text", "float8", "text", "bool", "text", "text", "int8")
_INSERT_EVENTS: Final = (
    f"INSERT INTO ledger_events ({_EVENTS}) SELECT * FROM unnest("
    + ", ".join(f"%s::{t}[]" for t in _EVENT_TYPES)
    + ") ON CONFLICT (address, key) DO NOTHING RETURNING address, key"
)
_UPDATE_STATE: Final = (
    "UPDATE ledger_addresses SET "
    + ", ".join(f"{c} = %s" for c in ADDRESS_COLUMNS[1:])
    + " WHERE address = %s"
)


class _PostgresBatch:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def insert_events(self, events: Sequence[EventRow]) -> Sequence[EventRow]:
        columns = [list(c) for c in zip(*events, strict=True)]
        columns[_TRANSIENT] = [bool(t) for t in columns[_TRANSIENT]]  # 1 or 0 in EventRow
        rows = self.conn.execute(_INSERT_EVENTS, columns).fetchall()
        if len(rows) == len(events):
            return events
        new = set(rows)
        return [e for e in events if (e[1], e[0]) in new]

    def load_states(self, addresses: Sequence[str]) -> dict[str, StateRow]:
        ordered = sorted(addresses)
        self.conn.execute(
            "INSERT INTO ledger_addresses (address) SELECT unnest(%s::text[]) "
            "ON CONFLICT (address) DO NOTHING",
            (ordered,),
        )
        rows = self.conn.execute(
            f"SELECT {_ADDRESSES} FROM ledger_addresses WHERE address = ANY(%s) "
            "ORDER BY address FOR UPDATE",
            (ordered,),
        )
        return {row[0]: row for row in rows}

    def address_events(self, address: str) -> list[EventRow]:
        rows: list[EventRow] = self.conn.execute(
            f"SELECT {_EVENTS} FROM ledger_events WHERE address = %s ORDER BY time, seq, key",
            (address,),
        ).fetchall()
        return rows

    def save_states(self, states: Sequence[StateRow]) -> None:
        rows = [(*row[1:], row[0]) for row in states]
        with self.conn.cursor() as cur:
            cur.executemany(_UPDATE_STATE, rows)


class PostgresStore:
    """A ledger in a PostgreSQL database (tables ``ledger_*``), created and migrated on open."""

    kind = "postgres"

    def __init__(self, dsn: str) -> None:
        if psycopg is None:
            raise LedgerError(
                "a PostgreSQL ledger needs psycopg: pip install 'smtp-classifier[postgres]'"
            )
        try:
            self.conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to the PostgreSQL ledger: {exc}") from None
        try:
            self._migrate()
        except psycopg.Error as exc:
            self.conn.close()
            raise LedgerError(f"PostgreSQL ledger: {exc}") from None
        except LedgerError:
            self.conn.close()
            raise

    def _version(self) -> int:
        exists = self.conn.execute("SELECT to_regclass('ledger_meta') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return 0
        row = self.conn.execute(
            "SELECT value FROM ledger_meta WHERE name = 'schema_version'"
        ).fetchone()
        if row is None or not str(row[0]).isdigit():
            raise LedgerError("the PostgreSQL database has a ledger_meta table that is not ours")
        return int(row[0])

    def _migrate(self) -> None:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            version = self._version()
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"the PostgreSQL ledger has schema version {version}; this program knows "
                    f"up to {SCHEMA_VERSION}: upgrade smtp-classifier"
                )
            for step in POSTGRES_MIGRATIONS[version:]:
                for statement in step:
                    self.conn.execute(statement)
            if version < SCHEMA_VERSION:
                self._put("schema_version", str(SCHEMA_VERSION))

    def _put(self, name: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO ledger_meta (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    @property
    def retry_errors(self) -> tuple[type[BaseException], ...]:
        """Errors after which the ledger runs a batch again: PostgreSQL broke a deadlock."""
        return (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)

    @contextmanager
    def batch(self) -> Iterator[_PostgresBatch]:
        with self.conn.transaction():
            yield _PostgresBatch(self.conn)

    def get(self, address: str) -> StateRow | None:
        with self.conn.transaction():
            row: StateRow | None = self.conn.execute(
                f"SELECT {_ADDRESSES} FROM ledger_addresses WHERE address = %s AND events > 0",
                (address,),
            ).fetchone()
        return row

    def history(self, address: str, limit: int) -> list[EventRow]:
        with self.conn.transaction():
            rows = self.conn.execute(
                f"SELECT {_EVENTS} FROM ledger_events WHERE address = %s "
                "ORDER BY time DESC, seq DESC, key DESC LIMIT %s",
                (address, limit),
            ).fetchall()
        return rows[::-1]

    def states(self, decisions: frozenset[Decision] | None = None) -> Iterator[StateRow]:
        query = f"SELECT {_ADDRESSES} FROM ledger_addresses WHERE events > 0"
        params: tuple[Any, ...] = ()
        if decisions is not None:
            query += " AND decision = ANY(%s)"
            params = (sorted(d.value for d in decisions),)
        with self.conn.transaction(), self.conn.cursor(name="ledger_states") as cur:
            cur.execute(query + " ORDER BY address", params)
            yield from cur

    def counts(self) -> list[tuple[str, str, int]]:
        with self.conn.transaction():
            rows = self.conn.execute(
                "SELECT decision, cause, count(*) FROM ledger_addresses WHERE events > 0 "
                "GROUP BY decision, cause"
            ).fetchall()
        return [(d, c, int(n)) for d, c, n in rows]

    def totals(self) -> tuple[int, int]:
        with self.conn.transaction():
            a = self.conn.execute(
                "SELECT count(*) FROM ledger_addresses WHERE events > 0"
            ).fetchone()
            e = self.conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        return (int(a[0]) if a else 0), (int(e[0]) if e else 0)

    def forget(self, address: str) -> int:
        with self.conn.transaction():
            self.conn.execute(
                "SELECT 1 FROM ledger_addresses WHERE address = %s FOR UPDATE", (address,)
            )
            cur = self.conn.execute("DELETE FROM ledger_events WHERE address = %s", (address,))
            self.conn.execute("DELETE FROM ledger_addresses WHERE address = %s", (address,))
            return int(cur.rowcount)

    def all_addresses(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT address FROM ledger_events ORDER BY address"
        ).fetchall()
        return [str(a) for (a,) in rows]

    def get_meta(self, name: str) -> str | None:
        with self.conn.transaction():
            row = self.conn.execute(
                "SELECT value FROM ledger_meta WHERE name = %s", (name,)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        with self.conn.transaction():
            self._put(name, value)

    def close(self) -> None:
        self.conn.close()
