"""What the MTA logged about each message on arrival, remembered for its delivery lines.

Postfix logs the envelope sender once per message on the queue manager's line
(``ID: from=<a@b>, size=…``) and the Message-ID on the cleanup line (``ID:
message-id=<…>``); Exim both on the arrival line (``ID <= a@b … id=…``); Sendmail the sender
on its ``from=`` line and the Message-ID as ``msgid=``. Delivery lines name only the recipient,
so the sender and the Message-ID (which links a bounce mail back to this send) are looked up
here. The memory is bounded in entries (the message noted longest ago is forgotten first, and
counted); a delivery whose arrival lines were not seen (a rotated log not given) has neither.

A field is kept as None until a line names it, so what one stretch of a log says about a
message can be laid over what earlier stretches said (``merge``): that is how ``replay`` and
``spark-replay`` carry arrival facts across blocks, ranges and files.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

from .exim import exim_prefix
from .record import LogRecord

__all__ = [
    "ARRIVAL_FORMATS",
    "SENDERS_MAX",
    "Arrival",
    "Senders",
    "arrival_fields",
    "fill",
    "wants",
]

#: Messages remembered, at most (a few hundred bytes each).
SENDERS_MAX: Final = 50_000
_MAX_VALUE: Final = 320
#: Longer queue ids are no MTA's (Postfix, Exim and Sendmail ids have under 30 characters):
#: their lines are not remembered, so an entry stays small.
_MAX_QID: Final = 128

#: What one arrival line tells of a message: (queue id, sender, Message-ID); None for a field
#: the line does not name ("" for one it names empty, Postfix ``from=<>``).
Arrival = tuple[str, str | None, str | None]

#: Formats whose delivery lines take the sender and Message-ID from the message's arrival lines.
ARRIVAL_FORMATS: Final = frozenset({"postfix", "exim", "sendmail"})


def _value(text: str, start: int) -> str:
    """The value starting at ``start``: up to the next comma or space, without <>."""
    comma = text.find(",", start)
    space = text.find(" ", start)
    if comma < 0 or 0 <= space < comma:
        comma = space
    end = comma if comma >= 0 else len(text)
    return text[start:end].strip("<>")[:_MAX_VALUE]


def _bracketed(message_id: str | None) -> str | None:
    """A Message-ID as in the header (``<…>``), so it compares with a bounce's original."""
    return f"<{message_id}>" if message_id else message_id


def arrival_fields(fmt: str, line: str) -> Arrival | None:
    """(queue id, sender or None, Message-ID or None) when ``line`` tells either of a message."""
    if fmt in ("postfix", "sendmail"):
        if "from=" not in line and "id=" not in line:
            return None
        head = line.find("]: ")
        if head < 0:
            return None
        colon = line.find(": ", head + 3)
        if colon < 0:
            return None
        qid = line[head + 3 : colon]
        if not qid or " " in qid or len(qid) > _MAX_QID:
            return None
        rest = colon + 2
        sender = message_id = None
        if line.startswith("from=", rest):
            sender = _value(line, rest + 5)
        elif line.startswith("message-id=", rest):
            message_id = _value(line, rest + 11)
        elif line.startswith("uid=", rest) and " from=" in line:
            sender = _value(line, line.find(" from=", rest) + 6)
        at = line.find(", msgid=", rest) if fmt == "sendmail" else -1
        if at >= 0:
            message_id = _value(line, at + 8)
        if sender is None and message_id is None:
            return None
        return qid, sender, _bracketed(message_id)
    if fmt == "exim":
        split = exim_prefix(line)
        if split is None:
            return None
        tokens = split[1]
        if len(tokens) < 3 or tokens[1] != "<=" or len(tokens[0]) > _MAX_QID:
            return None
        sender = tokens[2]
        fields = tokens[3] if len(tokens) > 3 else ""
        found = fields.find(" id=")
        message_id = _value(fields, found + 4) if found >= 0 else None
        return tokens[0], "" if sender == "<>" else sender, _bracketed(message_id)
    return None


_NOTHING: Final[tuple[None, None]] = (None, None)


class Senders:
    """A bounded map of queue id to (sender, Message-ID), None where no line named one yet.

    An ``OrderedDict``, not a dict: dropping a dict's first entry leaves a hole that every
    later ``next(iter(d))`` walks over again, so at the bound each arrival cost a scan of
    thousands of holes (about 60 µs); ``popitem(last=False)`` drops the oldest at once.
    """

    __slots__ = ("forgotten", "limit", "seen")

    def __init__(self, limit: int = SENDERS_MAX) -> None:
        self.limit = limit
        self.seen: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        #: Messages dropped to keep the bound (their later deliveries lack sender and id).
        self.forgotten = 0

    def note(self, qid: str, sender: str | None, message_id: str | None) -> None:
        """Remember what an arrival line says; a field it does not name is kept."""
        self.note_all({qid: (sender, message_id)})

    def note_all(self, arrivals: Mapping[str, tuple[str | None, str | None]]) -> None:
        """``note`` for every queue id of a block, in order (one call, not one per message:
        the process that collects every worker's blocks runs it for all of them)."""
        seen, limit = self.seen, self.limit
        pop, drop = seen.pop, seen.popitem
        for qid, (sender, message_id) in arrivals.items():
            old_sender, old_id = pop(qid, _NOTHING)
            seen[qid] = (
                old_sender if sender is None else sender[:_MAX_VALUE],
                old_id if message_id is None else message_id[:_MAX_VALUE],
            )
            if len(seen) > limit:
                drop(last=False)
                self.forgotten += 1

    def get(self, qid: str) -> tuple[str, str]:
        """(sender, Message-ID) of the message, "" for what is not known."""
        sender, message_id = self.seen.get(qid, (None, None))
        return sender or "", message_id or ""


def fill(record: LogRecord, sender: str | None, message_id: str | None) -> None:
    """Give a record just built for its line the sender and Message-ID remembered for its
    message, where the line gave none. The record is not shared yet, so setting its fields in
    place is safe, and far cheaper than ``dataclasses.replace`` on every delivery line."""
    if sender and not record.sender:
        object.__setattr__(record, "sender", sender)
    if message_id and not record.message_id:
        object.__setattr__(record, "message_id", message_id)


def wants(record: LogRecord, senders: Senders) -> tuple[bool, bool]:
    """Whether the record still lacks a sender and a Message-ID that an arrival line outside
    ``senders`` (an earlier block, range or file) could give: (sender, Message-ID)."""
    if record.mta not in ARRIVAL_FORMATS or not record.queue_id:
        return False, False
    known = senders.seen.get(record.queue_id)
    if known is None:
        return not record.sender, not record.message_id
    return known[0] is None and not record.sender, known[1] is None and not record.message_id
