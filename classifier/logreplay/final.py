"""The final outcome per (queue id, recipient): the last word, written when the message is done."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Final, Generic, NamedTuple, TypeVar

from ..logs import BOUNCED, DONE, EXPIRED, SENT, LogStatus
from ..outcome import EXPIRED_WHY, gave_up
from .rows import ReplayRow, render
from .summary import Keys, summary_keys

__all__ = [
    "FINAL_WINDOW",
    "FinalOutcomes",
    "Packed",
    "expire_packed",
    "expired_row",
    "pack",
    "view_packed",
    "view_row",
]

#: Recipients ``final`` keeps waiting for their message's end, at most.
FINAL_WINDOW: Final = 200_000

_Row = TypeVar("_Row")


def expired_row(row: ReplayRow) -> ReplayRow | None:
    """A deferred row relabelled as the queue giving up (133); None when it was final."""
    if row.record.status in (SENT, BOUNCED, EXPIRED) or not row.record.recipients:
        return None
    result = gave_up(row.result, why=EXPIRED_WHY)
    return replace(row, record=replace(row.record, status=EXPIRED), result=result)


class Packed(NamedTuple):
    """A row as a worker hands it back for ``final``: a tuple (cheap to send between
    processes, unlike a row with its classification) of what the parent needs."""

    queue_id: str
    recipient: str
    status: LogStatus
    #: The line is about the whole message (Postfix expired, a DONE marker).
    message_level: bool
    #: The row rendered in the output format ("" when only a summary is written).
    text: str
    #: What the summary counts of the row.
    keys: Keys
    #: The same row relabelled as the queue giving up (deferred rows only).
    expired: Packed | None


_DONE_KEYS: Final = ("", "", "", DONE, "", "")


def pack(row: ReplayRow, output: str | None, explain: bool = False) -> Packed:
    """A row packed for the parent; rendered in ``output`` unless None (a summary only)."""
    record = row.record
    if record.status is DONE:
        return Packed(record.queue_id, "", DONE, True, "", _DONE_KEYS, None)
    expired = expired_row(row)
    return Packed(
        queue_id=record.queue_id,
        recipient=row.recipient,
        status=record.status,
        message_level=not record.recipients,
        text="" if output is None else render((row,), output, explain),
        keys=summary_keys(row),
        expired=None if expired is None else pack(expired, output, explain),
    )


class FinalOutcomes(Generic[_Row]):
    """The last word per (queue id, recipient), written when the message is done.

    Works on full rows (library use) or packed ones (the command), through ``view``: the
    row's (queue id, recipient, MTA status, message-level) and ``expire``: the row relabelled
    133, or None when its last word was final.
    """

    def __init__(
        self,
        window: int,
        emit: Callable[[_Row], None],
        view: Callable[[_Row], tuple[str, str, str, bool]],
        expire: Callable[[_Row], _Row | None],
    ) -> None:
        self.window = window
        self.emit = emit
        self.view = view
        self.expire = expire
        # Ordered: the oldest goes in constant time (a dict walks the holes at its front).
        self.pending: OrderedDict[tuple[str, str], _Row] = OrderedDict()
        self.by_id: dict[str, list[tuple[str, str]]] = {}

    def add(self, row: _Row) -> None:
        qid, recipient, status, message_level = self.view(row)
        if status == DONE:
            self._flush(qid)
            return
        if status == EXPIRED and message_level:
            self._expire(qid, row)
            return
        key = (qid, recipient)
        if key not in self.pending:
            self.by_id.setdefault(qid, []).append(key)
        self.pending[key] = row
        while len(self.pending) > self.window:
            oldest, row_of = self.pending.popitem(last=False)
            self.emit(row_of)
            keys = self.by_id.get(oldest[0])
            if keys is not None:
                keys.remove(oldest)
                if not keys:
                    del self.by_id[oldest[0]]

    def _expire(self, qid: str, row: _Row) -> None:
        """The queue gave up on a message: its deferred recipients end as 133."""
        expired = False
        for key in self.by_id.get(qid, []):
            relabelled = self.expire(self.pending[key])
            if relabelled is not None:
                self.pending[key] = relabelled
                expired = True
        if not expired:
            self.emit(row)  # nothing of it seen here (an earlier file): keep the line's word
        self._flush(qid)

    def _flush(self, qid: str) -> None:
        for key in self.by_id.pop(qid, []):
            self.emit(self.pending.pop(key))

    def close(self) -> None:
        for row in self.pending.values():
            self.emit(row)
        self.pending.clear()
        self.by_id.clear()


def view_row(row: ReplayRow) -> tuple[str, str, str, bool]:
    record = row.record
    return record.queue_id, row.recipient, record.status, not record.recipients


def view_packed(row: Packed) -> tuple[str, str, str, bool]:
    return row.queue_id, row.recipient, row.status, row.message_level


def expire_packed(row: Packed) -> Packed | None:
    return row.expired
