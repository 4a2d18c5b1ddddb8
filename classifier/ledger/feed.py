"""From what the classifier produces (replayed log rows, bounce mail) to ledger events.

Every event gets a key from its origin, so feeding the same input twice records it once:

* a log row with a time and a queue id: the MTA, time, queue id, recipient, status and reply
  (the line's content: the same line in a rotated or renamed file is the same event);
* a log row without them (a bare CSV export): the source name and line number;
* a bounce message: its Message-ID, the recipient and what it says of it (without a
  Message-ID: a digest of the message's bytes).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final

from ..logs import BOUNCED, DEFERRED, EXPIRED, SENT
from ..picklable import by_fields
from .ledger import BATCH, Ledger, RecordCounts
from .model import LedgerEvent, event_key, joined_key, normalise_address, parse_time
from .policy import EventRow

if TYPE_CHECKING:
    from ..logreplay.rows import ReplayRow
    from ..logreplay.run import LedgerRow
    from ..mail.message import MessageReport

__all__ = ["FeedCounts", "ReplayFeed", "ReplaySink", "message_events", "message_time"]

#: Queue ids whose deferred recipients are remembered for an expiry, at most.
PENDING_MAX: Final = 200_000
_FINAL: Final = frozenset({SENT, BOUNCED, EXPIRED})
#: Syslog minutes whose start the feed remembers (a day has 1 440).
MINUTES_MAX: Final = 4096
#: Header bytes read for a message's Date.
_HEADER_BYTES: Final = 64 * 1024


@dataclass(slots=True)
class FeedCounts:
    """What feeding skipped, so nothing vanishes unsaid."""

    events: int = 0
    #: Rows whose recipient is not a usable address.
    bad_address: int = 0
    #: Rows without a recipient (message-level lines) that gave no event.
    no_recipient: int = 0
    #: Events whose time could not be read (recorded with time 0: first in the order).
    no_time: int = 0
    #: Deferred queue ids forgotten because the pending window was full.
    pending_dropped: int = 0
    samples: list[str] = field(default_factory=list)

    def note(self, where: str) -> None:
        """Keep the first few places of skipped rows."""
        if len(self.samples) < 10:
            self.samples.append(where)


def _default_year() -> int:
    return datetime.now(UTC).year


class ReplayFeed:
    """Turns replayed log rows into events, in input order.

    Postfix says a message expired in a line without recipients; the feed remembers the
    recipients deferred per queue id (``PENDING_MAX`` ids at most, the oldest dropped and
    counted) and gives each of them the expiry's code (133) at the expiry's time.
    Classic syslog times carry no year: ``year`` gives it (default: this year).
    """

    def __init__(self, *, year: int | None = None) -> None:
        self.year = year or _default_year()
        self.counts = FeedCounts()
        self.pending: OrderedDict[str, set[str]] = OrderedDict()
        #: Syslog minutes read ("Nov 26 11:31" to seconds): a day of them at most.
        self.minutes: dict[str, float] = {}
        self.minutes_year = self.year

    def events(self, rows: Iterable[ReplayRow]) -> Iterator[LedgerEvent]:
        """The events of ``rows``; counts what gave none in ``counts``."""
        for row in self.rows(rows):
            key, address, time, code, transient, reason, origin, seq = row
            yield LedgerEvent(
                key=key,
                address=address,
                time=time,
                code=code,
                transient=bool(transient),
                reason=reason,
                origin=origin,
                seq=seq,
            )

    def rows(self, rows: Iterable[ReplayRow]) -> Iterator[EventRow]:
        """``events`` as plain rows, for ``Ledger.record_rows``."""
        for row in rows:
            r = row.record
            yield from self.of(
                row.source,
                row.line,
                r.mta,
                r.time,
                r.queue_id,
                row.recipient,
                r.status,
                r.reply,
                row.result.code,
                row.result.reason or "",
            )

    def of(
        self,
        source: str,
        line: int,
        mta: str,
        time: str,
        qid: str,
        recipient: str,
        status: str,
        reply: str,
        code: str,
        reason: str,
    ) -> list[EventRow]:
        """The event rows of one replayed row given as plain values (as workers hand them)."""
        out: list[EventRow] = []
        self.extend(((source, line, mta, time, qid, recipient, status, reply, code, reason),), out)
        return out

    def extend(self, rows: Iterable[LedgerRow], out: list[EventRow]) -> None:
        """Append the event rows of ``rows`` (``LedgerRow`` values) to ``out``, in input order.

        The one loop every delivery row of a replay goes through: it keeps to local names and
        makes one tuple per event.
        """
        counts, before = self.counts, len(out)
        try:
            self._extend(rows, out)
        finally:
            counts.events += len(out) - before

    def _extend(self, rows: Iterable[LedgerRow], out: list[EventRow]) -> None:
        counts, pending, year, minutes = self.counts, self.pending, self.year, self.minutes
        if self.minutes_year != year:  # the minutes were read in another year
            minutes.clear()
            self.minutes_year = year
        append, defer, key_of = out.append, self._defer, joined_key
        for source, line, mta, time, qid, recipient, status, reply, code, reason in rows:
            if not recipient:
                if status == EXPIRED and qid in pending:
                    out.extend(self._expired(source, line, mta, time, qid, code, reason))
                else:
                    counts.no_recipient += 1
                continue
            address = normalise_address(recipient)
            if address is None:
                counts.bad_address += 1
                counts.note(f"{source}:{line}")
                continue
            transient = 1 if status == DEFERRED else 0
            if qid:
                if transient:
                    defer(qid, address)
                elif status in _FINAL and qid in pending:
                    pending[qid].discard(address)
            if len(time) == 15 and time[9] == ":" and time[12] == ":":  # as parse_time reads it
                start = minutes.get(time[:12])
                if start is None:
                    start = self._minute(time[:12])
                second = time[13:]
                when = 0.0
                if start and second.isdecimal() and (s := int(second)) < 61:
                    when = start + s
            else:
                when = parse_time(time, year)
            if not when:
                counts.no_time += 1
            if time and qid:  # event_key("log", ...) without its call
                key = key_of("\0".join(("log", mta, time, qid, address, status, reply)))
            else:
                key = event_key("line", source, str(line), address)
            append((key, address, when, code, transient, reason, f"{source}:{line}", line))

    def _minute(self, head: str) -> float:
        """The start of a syslog minute ("Nov 26 11:31"), 0.0 when it is none, remembered."""
        if len(self.minutes) >= MINUTES_MAX:
            self.minutes.clear()
        start = self.minutes[head] = parse_time(f"{head}:00", self.year)
        return start

    def _defer(self, qid: str, address: str) -> None:
        waiting = self.pending.get(qid)
        if waiting is None:
            self.pending[qid] = {address}
            if len(self.pending) > PENDING_MAX:
                self.pending.popitem(last=False)
                self.counts.pending_dropped += 1
        else:
            waiting.add(address)

    def _expired(
        self, source: str, line: int, mta: str, time: str, qid: str, code: str, reason: str
    ) -> list[EventRow]:
        when = parse_time(time, self.year)
        where = f"{source}:{line}"
        return [
            (event_key("expired", mta, time, qid, a), a, when, code, 0, reason, where, line)
            for a in sorted(self.pending.pop(qid))
        ]


class ReplaySink:
    """Records what ``replay(..., ledger=sink)`` hands over, a transaction per ``batch`` events.

    Call ``flush`` at the end (and after an error: what was read is recorded).
    """

    def __init__(self, ledger: Ledger, *, year: int | None = None, batch: int = BATCH) -> None:
        self.ledger = ledger
        self.feed = ReplayFeed(year=year)
        self.batch = batch
        self.pending: list[EventRow] = []
        self.recorded = RecordCounts()

    def __call__(self, rows: list[LedgerRow]) -> None:
        self.feed.extend(rows, self.pending)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Record the events waiting for a full batch."""
        if self.pending:
            self.recorded.add(self.ledger.record_rows(self.pending, self.batch))
            self.pending = []


def message_time(data: bytes) -> float:
    """The Date of a message in seconds since the epoch, 0.0 when absent or unreadable."""
    head = data[:_HEADER_BYTES]
    try:
        value = BytesHeaderParser().parsebytes(head, headersonly=True).get("Date")
        if not value:
            return 0.0
        date = parsedate_to_datetime(str(value))
    except (ValueError, TypeError, LookupError, OverflowError):  # any malformed Date
        return 0.0
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return date.timestamp()


def message_events(
    report: MessageReport, data: bytes, *, origin: str, counts: FeedCounts | None = None
) -> list[LedgerEvent]:
    """The events of one classified message (``data``: its bytes, for the Date and the key).

    A recipient without a code (an auto-reply, a not-spam report) gives no event; a delay
    notice is a retryable failure.
    """
    counts = counts if counts is not None else FeedCounts()
    when = message_time(data)
    ident = report.message_id.strip() or "sha256:" + hashlib.sha256(data).hexdigest()
    out = []
    for r in report.recipients:
        c = r.classification
        if c is None or not c.code:
            continue
        address = normalise_address(r.recipient)
        if address is None:
            counts.bad_address += 1
            counts.note(origin)
            continue
        if not when:
            counts.no_time += 1
        out.append(
            LedgerEvent(
                key=event_key("mail", ident, address, r.kind, c.code),
                address=address,
                time=when,
                code=c.code,
                transient=r.kind == "delay",
                reason=c.reason or "",
                origin=origin,
            )
        )
    counts.events += len(out)
    return out


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(FeedCounts)
