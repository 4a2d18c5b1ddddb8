"""What the ledger needs from a database; SQLite and PostgreSQL each implement it.

A store only moves rows. The deciding (the fold) is done once, in ``Ledger``, for both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .model import AddressState, Decision, LedgerEvent
from .schema import ADDRESS_COLUMNS

__all__ = ["Batch", "Store", "event_row", "row_event", "row_state", "state_row"]


class Batch(Protocol):
    """One write transaction: what ``Ledger.record_many`` does with a batch of events."""

    def insert_events(self, events: Sequence[LedgerEvent]) -> list[LedgerEvent]:
        """Insert the events not already recorded; returns those (in the order given)."""

    def load_states(self, addresses: Sequence[str]) -> dict[str, AddressState]:
        """The recorded states of ``addresses`` (absent when none), locked until commit."""

    def address_events(self, address: str) -> list[LedgerEvent]:
        """Every event of ``address``, in (time, seq, key) order."""

    def save_states(self, states: Sequence[AddressState]) -> None:
        """Write the states (insert or replace)."""


class Store(Protocol):
    """A ledger database."""

    #: "sqlite" or "postgres".
    kind: str

    @property
    def retry_errors(self) -> tuple[type[BaseException], ...]:
        """Errors after which a batch is run again from the start (a broken deadlock)."""

    def batch(self) -> AbstractContextManager[Batch]:
        """A write transaction: committed when the block ends, rolled back on an exception."""

    def get(self, address: str) -> AddressState | None:
        """The state of one address."""

    def history(self, address: str, limit: int) -> list[LedgerEvent]:
        """The last ``limit`` events of an address, oldest first."""

    def states(self, decisions: frozenset[Decision] | None = None) -> Iterator[AddressState]:
        """Every address (with one of ``decisions``), by address."""

    def counts(self) -> list[tuple[str, str, int]]:
        """(decision, cause, addresses) for every pair present."""

    def totals(self) -> tuple[int, int]:
        """(addresses, events) recorded."""

    def forget(self, address: str) -> int:
        """Delete an address's state and events; returns the events deleted."""

    def all_addresses(self) -> Iterator[str]:
        """Every address that has events (for a refold after a policy change)."""

    def get_meta(self, name: str) -> str | None:
        """A setting kept in the database."""

    def set_meta(self, name: str, value: str) -> None:
        """Keep a setting in the database (its own transaction)."""

    def close(self) -> None:
        """Close the connection."""


def event_row(e: LedgerEvent) -> tuple[Any, ...]:
    """An event as a row of EVENT_COLUMNS."""
    return (e.key, e.address, e.time, e.code, e.transient, e.reason, e.origin, e.seq)


def row_event(row: Sequence[Any]) -> LedgerEvent:
    """An event from a row of EVENT_COLUMNS."""
    key, address, time, code, transient, reason, origin, seq = row
    return LedgerEvent(
        key=bytes(key),
        address=address,
        time=float(time),
        code=code,
        transient=bool(transient),
        reason=reason,
        origin=origin,
        seq=int(seq),
    )


def state_row(s: AddressState) -> tuple[Any, ...]:
    """A state as a row of ADDRESS_COLUMNS."""
    return tuple(s.decision.value if c == "decision" else getattr(s, c) for c in ADDRESS_COLUMNS)


def row_state(row: Sequence[Any]) -> AddressState:
    """A state from a row of ADDRESS_COLUMNS."""
    values = dict(zip(ADDRESS_COLUMNS, row, strict=True))
    values["decision"] = Decision(values["decision"])
    values["last_key"] = bytes(values["last_key"])
    return AddressState(**values)
