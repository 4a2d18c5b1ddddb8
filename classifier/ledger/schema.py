"""The ledger's tables, for SQLite and PostgreSQL, and the migrations between their versions.

A database knows its schema version (SQLite ``PRAGMA user_version``, PostgreSQL
``ledger_meta``); opening it runs the steps from that version to ``SCHEMA_VERSION`` in one
transaction, and refuses a version newer than this program knows.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADDRESS_COLUMNS",
    "APPLICATION_ID",
    "EVENT_COLUMNS",
    "POSTGRES_MIGRATIONS",
    "SCHEMA_VERSION",
    "SQLITE_MIGRATIONS",
]

#: The schema this program writes.
SCHEMA_VERSION: Final = 1
#: SQLite ``PRAGMA application_id`` of a ledger: "SCLG", so other tools can tell the file.
APPLICATION_ID: Final = 0x53434C47

#: Event columns, in the order the stores write and read them.
EVENT_COLUMNS: Final = (
    "key", "address", "time", "code", "transient", "reason", "origin", "seq"
)  # fmt: skip
#: Address-state columns, in AddressState's field order.
ADDRESS_COLUMNS: Final = (
    "address",
    "decision",
    "cause",
    "last_code",
    "last_reason",
    "first_time",
    "last_time",
    "last_seq",
    "last_key",
    "events",
    "delivered",
    "hard",
    "soft",
    "errors",
    "unsubscribes",
    "ignored",
    "streak",
    "streak_start",
    "streak_end",
    "hard_code",
    "hard_time",
    "unsub_code",
    "unsub_time",
)

_SQLITE_V1: Final = (
    "CREATE TABLE ledger_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Clustered by address (the address's events are read together); the key is made from the
    # address and the event's origin, so (address, key) is as unique as the key.
    """CREATE TABLE ledger_events (
        address TEXT NOT NULL,
        key INTEGER NOT NULL,
        time REAL NOT NULL,
        code TEXT NOT NULL,
        transient INTEGER NOT NULL,
        reason TEXT NOT NULL,
        origin TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (address, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE ledger_addresses (
        address TEXT PRIMARY KEY,
        decision TEXT NOT NULL,
        cause TEXT NOT NULL,
        last_code TEXT NOT NULL,
        last_reason TEXT NOT NULL,
        first_time REAL NOT NULL,
        last_time REAL NOT NULL,
        last_seq INTEGER NOT NULL,
        last_key INTEGER NOT NULL,
        events INTEGER NOT NULL,
        delivered INTEGER NOT NULL,
        hard INTEGER NOT NULL,
        soft INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        unsubscribes INTEGER NOT NULL,
        ignored INTEGER NOT NULL,
        streak INTEGER NOT NULL,
        streak_start REAL NOT NULL,
        streak_end REAL NOT NULL,
        hard_code TEXT NOT NULL,
        hard_time REAL NOT NULL,
        unsub_code TEXT NOT NULL,
        unsub_time REAL NOT NULL
    ) WITHOUT ROWID""",
)

_POSTGRES_V1: Final = (
    "CREATE TABLE IF NOT EXISTS ledger_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE ledger_events (
        key BIGINT NOT NULL,
        address TEXT NOT NULL,
        time DOUBLE PRECISION NOT NULL,
        code TEXT NOT NULL,
        transient BOOLEAN NOT NULL,
        reason TEXT NOT NULL,
        origin TEXT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (address, key)
    )""",
    """CREATE TABLE ledger_addresses (
        address TEXT PRIMARY KEY,
        decision TEXT NOT NULL DEFAULT 'deliverable',
        cause TEXT NOT NULL DEFAULT '',
        last_code TEXT NOT NULL DEFAULT '',
        last_reason TEXT NOT NULL DEFAULT '',
        first_time DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_time DOUBLE PRECISION NOT NULL DEFAULT 0,
        last_seq BIGINT NOT NULL DEFAULT 0,
        last_key BIGINT NOT NULL DEFAULT 0,
        events BIGINT NOT NULL DEFAULT 0,
        delivered BIGINT NOT NULL DEFAULT 0,
        hard BIGINT NOT NULL DEFAULT 0,
        soft BIGINT NOT NULL DEFAULT 0,
        errors BIGINT NOT NULL DEFAULT 0,
        unsubscribes BIGINT NOT NULL DEFAULT 0,
        ignored BIGINT NOT NULL DEFAULT 0,
        streak BIGINT NOT NULL DEFAULT 0,
        streak_start DOUBLE PRECISION NOT NULL DEFAULT 0,
        streak_end DOUBLE PRECISION NOT NULL DEFAULT 0,
        hard_code TEXT NOT NULL DEFAULT '',
        hard_time DOUBLE PRECISION NOT NULL DEFAULT 0,
        unsub_code TEXT NOT NULL DEFAULT '',
        unsub_time DOUBLE PRECISION NOT NULL DEFAULT 0
    )""",
)

#: Steps by the version they start from: step i takes a database from version i to i + 1.
SQLITE_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (_SQLITE_V1,)
POSTGRES_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (_POSTGRES_V1,)
