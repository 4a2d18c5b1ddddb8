"""What the ledger needs from a database; SQLite and PostgreSQL each implement it.

A store only moves rows (``EventRow``, ``StateRow``). The deciding (the fold) is done once,
in ``Ledger``, for both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from .model import Decision
from .policy import EventRow, StateRow

__all__ = ["Batch", "Store"]


class Batch(Protocol):
    """One write transaction: what ``Ledger.record_rows`` does with a batch of events."""

    def insert_events(self, events: Sequence[EventRow]) -> Sequence[EventRow]:
        """Insert the events not already recorded (no repeats); returns them, in their order."""

    def load_states(self, addresses: Sequence[str]) -> dict[str, StateRow]:
        """The recorded states of ``addresses`` (absent when none), locked until commit."""

    def address_events(self, address: str) -> list[EventRow]:
        """Every event of ``address``, in (time, seq, key) order."""

    def save_states(self, states: Sequence[StateRow]) -> None:
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

    def get(self, address: str) -> StateRow | None:
        """The state of one address."""

    def history(self, address: str, limit: int) -> list[EventRow]:
        """The last ``limit`` events of an address, oldest first."""

    def states(self, decisions: frozenset[Decision] | None = None) -> Iterator[StateRow]:
        """Every address (with one of ``decisions``), by address."""

    def counts(self) -> list[tuple[str, str, int]]:
        """(decision, cause, addresses) for every pair present."""

    def totals(self) -> tuple[int, int]:
        """(addresses, events) recorded."""

    def forget(self, address: str) -> int:
        """Delete an address's state and events; returns the events deleted."""

    def all_addresses(self) -> list[str]:
        """Every address that has events (for a refold after a policy change)."""

    def get_meta(self, name: str) -> str | None:
        """A setting kept in the database."""

    def set_meta(self, name: str, value: str) -> None:
        """Keep a setting in the database (its own transaction)."""

    def close(self) -> None:
        """Close the connection."""
