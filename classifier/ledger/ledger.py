"""The ledger: events in, a decision per address out, in SQLite or PostgreSQL.

    >>> from classifier.ledger import Ledger
    >>> with Ledger.open("bounces.db") as ledger:      # doctest: +SKIP
    ...     ledger.record_many(events)
    ...     ledger.get("user@example.com").decision

Events are written a batch per transaction: a crash leaves every batch either in or out,
and recording again completes the ledger (events already in are recognised by their key).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from .model import AddressState, Decision, LedgerError, LedgerEvent, normalise_address
from .policy import DEFAULT_POLICY, EventRow, Policy, fold_rows, folder, state_of
from .schema import ADDRESS_COLUMNS
from .sqlite import SqliteStore
from .store import Store

__all__ = ["BATCH", "Ledger", "RecordCounts", "is_postgres"]

#: Events per transaction: large enough that commits cost little, small enough that a crash
#: loses little work and a PostgreSQL writer holds its row locks briefly.
BATCH: Final = 20_000
#: Times a batch is run again after the database aborted it to break a deadlock.
RETRIES: Final = 10
_POLICY_META: Final = "policy"
_EVENTS: Final = ADDRESS_COLUMNS.index("events")
_LAST_TIME: Final = ADDRESS_COLUMNS.index("last_time")
_LAST_SEQ: Final = ADDRESS_COLUMNS.index("last_seq")
_LAST_KEY: Final = ADDRESS_COLUMNS.index("last_key")
_KEY: Final = itemgetter(0)
_ADDRESS: Final = itemgetter(1)
#: An event's address, then its place in the order (time, seq, key).
_ADDRESS_ORDER: Final = itemgetter(1, 2, 7, 0)


def is_postgres(target: str) -> bool:
    """Does ``target`` name a PostgreSQL database (a ``postgresql://`` URI)?"""
    return target.startswith(("postgresql://", "postgres://"))


@dataclass(slots=True)
class RecordCounts:
    """What recording did: events new to the ledger, already there, and addresses refolded."""

    new: int = 0
    duplicate: int = 0
    refolded: int = 0
    batches: int = 0

    def add(self, other: RecordCounts) -> None:
        """Add another count to this one."""
        self.new += other.new
        self.duplicate += other.duplicate
        self.refolded += other.refolded
        self.batches += other.batches


def _driver_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.Error]
    try:
        import psycopg  # noqa: PLC0415 (the optional extra)
    except ImportError:
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)


@contextmanager
def _database_errors(where: str) -> Iterator[None]:
    """Driver errors (damaged file, lost server, locked database) as LedgerError."""
    try:
        yield
    except _driver_errors() as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LedgerError(f"{where}: {message}") from None


class Ledger:
    """Per-address bounce state, fed by events, decided by a ``Policy``."""

    def __init__(self, store: Store, policy: Policy = DEFAULT_POLICY, *, where: str = "") -> None:
        self.store = store
        self.policy = policy
        self.where = where or store.kind
        with _database_errors(self.where):
            stored = store.get_meta(_POLICY_META)
        if stored != policy.fingerprint:
            self.refold()

    @classmethod
    def open(
        cls, target: str | Path, policy: Policy = DEFAULT_POLICY, *, create: bool = True
    ) -> Ledger:
        """Open (creating and migrating it) the ledger at a file path or PostgreSQL URI."""
        text = str(target)
        store: Store
        if is_postgres(text):
            from .postgres import PostgresStore  # noqa: PLC0415 (needs the extra)

            store = PostgresStore(text)
            where = "postgresql ledger"
        else:
            store = SqliteStore(text, create=create)
            where = text
        try:
            return cls(store, policy, where=where)
        except BaseException:
            store.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    # --- writing --------------------------------------------------------------------------

    def record(self, event: LedgerEvent) -> RecordCounts:
        """Record one event (its own transaction: prefer ``record_many`` for many)."""
        return self.record_many((event,))

    def record_many(self, events: Iterable[LedgerEvent], batch: int = BATCH) -> RecordCounts:
        """Record events, a transaction per ``batch`` of them; returns what changed."""
        rows = (
            (e.key, e.address, e.time, e.code, int(e.transient), e.reason, e.origin, e.seq)
            for e in events
        )
        return self.record_rows(rows, batch)

    def record_rows(self, rows: Iterable[EventRow], batch: int = BATCH) -> RecordCounts:
        """``record_many`` for events as rows (``ReplayFeed.rows``): no objects per event."""
        counts = RecordCounts()
        if isinstance(rows, list):
            for start in range(0, len(rows), batch):
                counts.add(self._apply(rows[start : start + batch]))
            return counts
        it = iter(rows)
        while pending := list(islice(it, batch)):
            counts.add(self._apply(pending))
        return counts

    def _apply(self, events: list[EventRow]) -> RecordCounts:
        # One of each (address, key), the first given (as when recorded one by one), then in
        # (address, time, seq, key) order: the address's events together and in fold order,
        # PostgreSQL's lock order, SQLite's layout.
        first = events
        if len(set(map(_KEY, events))) != len(events):
            first = list({(e[1], e[0]): e for e in reversed(events)}.values())
        unique = sorted(first, key=_ADDRESS_ORDER)
        retry = self.store.retry_errors
        with _database_errors(self.where):
            for attempt in range(RETRIES):
                try:
                    return self._transaction(unique, len(events))
                except retry:
                    if attempt == RETRIES - 1:
                        raise
        raise LedgerError(f"{self.where}: gave up after {RETRIES} deadlocks")

    def _transaction(self, unique: list[EventRow], given: int) -> RecordCounts:
        """Record one batch (sorted by address and order, without repeats) in one transaction.

        Each address the batch touches is read once and written once, and the batch's events
        are folded in one pass (``folder``).
        """
        fold = folder(self.policy)
        with self.store.batch() as tx:
            new = tx.insert_events(unique)
            if not new:
                return RecordCounts(0, given, 0, 1)
            addresses = list(dict.fromkeys(map(_ADDRESS, new)))
            stored = {a: s for a, s in tx.load_states(addresses).items() if s[_EVENTS]}
            older: list[str] = []
            if stored:  # an address whose new events do not all come after its state
                first = dict(zip(map(_ADDRESS, reversed(new)), reversed(new), strict=True))
                for address, state in stored.items():
                    if _order(first[address]) <= (
                        state[_LAST_TIME],
                        state[_LAST_SEQ],
                        state[_LAST_KEY],
                    ):
                        older.append(address)
            if older:  # fold those again from all their events (the new ones included)
                again = frozenset(older)
                changed = fold(stored, [e for e in new if e[1] not in again])
                for address in older:
                    changed += fold({}, tx.address_events(address))
            else:
                changed = fold(stored, new)
            tx.save_states(changed)
        return RecordCounts(len(new), given - len(new), len(older), 1)

    def refold(self) -> int:
        """Fold every address again from its events (after a policy change); returns them."""
        done = 0
        with _database_errors(self.where):
            addresses = self.store.all_addresses()
            for start in range(0, len(addresses), BATCH):
                with self.store.batch() as tx:
                    states = [
                        fold_rows(None, tx.address_events(a), self.policy)
                        for a in addresses[start : start + BATCH]
                    ]
                    tx.save_states(states)
                done += len(states)
            self.store.set_meta(_POLICY_META, self.policy.fingerprint)
        return done

    def forget(self, address: str) -> int:
        """Delete everything about an address (its owner's request); returns events deleted.

        Replaying inputs that mention the address again records it again.
        """
        key = normalise_address(address)
        if key is None:
            return 0
        with _database_errors(self.where):
            return self.store.forget(key)

    # --- reading --------------------------------------------------------------------------

    def get(self, address: str) -> AddressState | None:
        """The state of an address (normalised first), None when the ledger has none."""
        key = normalise_address(address)
        if key is None:
            return None
        with _database_errors(self.where):
            row = self.store.get(key)
        return None if row is None else state_of(row)

    def history(self, address: str, limit: int = 20) -> list[LedgerEvent]:
        """The last ``limit`` events of an address, oldest first."""
        key = normalise_address(address)
        if key is None:
            return []
        with _database_errors(self.where):
            return [_event(r) for r in self.store.history(key, limit)]

    def states(self, decisions: Iterable[Decision] | None = None) -> Iterator[AddressState]:
        """Every address, or those with one of ``decisions``, by address."""
        wanted = None if decisions is None else frozenset(decisions)
        with _database_errors(self.where):
            for row in self.store.states(wanted):
                yield state_of(row)

    def suppressed(self) -> Iterator[AddressState]:
        """Every address the platform should stop sending to."""
        return self.states(d for d in Decision if d.stops)

    def counts(self) -> list[tuple[str, str, int]]:
        """(decision, cause, addresses) for every pair present."""
        with _database_errors(self.where):
            return self.store.counts()

    def totals(self) -> tuple[int, int]:
        """(addresses, events) recorded."""
        with _database_errors(self.where):
            return self.store.totals()

    def verify(self) -> list[str]:
        """Addresses whose stored state differs from a fold of their events (should be none)."""
        wrong = []
        with _database_errors(self.where), self.store.batch() as tx:
            for address in self.store.all_addresses():
                expected = fold_rows(None, tx.address_events(address), self.policy)
                if tx.load_states([address]).get(address) != expected:
                    wrong.append(address)
        return wrong


def _order(e: EventRow) -> tuple[float, int, int]:
    return (e[2], e[7], e[0])


def _event(row: EventRow) -> LedgerEvent:
    key, address, time, code, transient, reason, origin, seq = row
    return LedgerEvent(
        key=key,
        address=address,
        time=time,
        code=code,
        transient=bool(transient),
        reason=reason,
        origin=origin,
        seq=seq,
    )
