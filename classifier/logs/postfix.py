"""Postfix: ``postfix/smtp``, ``lmtp``, ``error``, ``local``, ``virtual``, ``pipe`` lines with
``to=<…>, … dsn=…, status=… (text)`` and ``qmgr`` ``status=expired`` and ``removed`` lines
(Postfix ``bounce(8)``/``qmgr(8)``, and the shared corpus captured from Postfix 3.7.11)."""

from __future__ import annotations

from typing import Final

from .fields import dsn_field, queue_id_end, relay_field, syslog_time
from .record import (
    BOUNCED,
    DEFERRED,
    DONE,
    EXPIRED,
    SENT,
    LogRecord,
    MalformedLineError,
    delivery_record,
)

__all__ = ["parse_postfix"]

_POSTFIX_STATUSES: Final = {
    "sent": SENT,
    "deferred": DEFERRED,
    "bounced": BOUNCED,
    "expired": EXPIRED,
    "SOFTBOUNCE": DEFERRED,  # soft_bounce = yes: a bounce turned into a deferral
}
#: Statuses of address verification (``sendmail -bv``, verify(8)): no delivery was tried.
_NOT_DELIVERIES: Final = frozenset({"deliverable", "undeliverable"})


def parse_postfix(line: str) -> LogRecord | None:
    """A Postfix delivery line (``to=<…>, … status=…``) or qmgr ``status=expired``/``removed``.

    The ``dsn=`` field is Postfix's own reading (a refused greeting ``554 5.7.1`` is logged
    ``dsn=4.7.1, status=deferred``), so ``reply`` is the text in the parentheses, which holds
    the remote's words ("host X said: …") or Postfix's description of a connection problem.
    """
    prog = line.find("postfix")
    if prog < 0:
        return None
    s = line.find(" status=")
    if s < 0:
        if line.endswith(": removed"):
            return _postfix_removed(line, prog)
        if _names_recipient(line, prog):
            # A delivery agent's "ID: to=<…>, …" line always ends in status=: cut or mangled.
            raise MalformedLineError("Postfix delivery line without status=")
        return None
    head = line.find("]: ", prog)
    if prog > s or head < 0 or head > s:
        return None
    qid_start = head + 3
    qid_end = queue_id_end(line, qid_start, s, "Postfix status line")
    word_start = s + 8
    word_end = word_start
    n = len(line)
    while word_end < n and line[word_end] not in ", (":
        word_end += 1
    word = line[word_start:word_end]
    status = _POSTFIX_STATUSES.get(word)
    if status is None:
        if word in _NOT_DELIVERIES:
            return None
        raise MalformedLineError(f"Postfix status line with an unknown status {word[:40]!r}")
    qid = line[qid_start:qid_end]
    time = syslog_time(line)
    rest = line[word_end:]
    if rest.startswith(" ("):
        reply = rest[2:-1] if rest.endswith(")") else rest[2:]
    else:
        reply = rest.lstrip(", ")
    if status == EXPIRED:
        return LogRecord(
            mta="postfix", status=EXPIRED, time=time, queue_id=qid, recipients=(), reply=reply
        )
    to = line.find("to=<", qid_end, s)
    if to < 0:
        raise MalformedLineError("Postfix delivery line without to=<…>")
    to_end = line.find(">", to + 4, s)
    if to_end < 0:
        raise MalformedLineError("Postfix delivery line with an unterminated to=<…>")
    dsn = dsn_field(line, to_end, s)
    relay = relay_field(line, to_end, s)
    recipients = (line[to + 4 : to_end],)
    return delivery_record("postfix", status, time, qid, recipients, reply, dsn, relay)


def _names_recipient(line: str, prog: int) -> bool:
    """Is this a delivery agent's "ID: to=<…>" line (the start of every delivery record)?"""
    head = line.find("]: ", prog)
    if head < 0:
        return False
    to = line.find(": to=<", head + 3)
    return to > head + 3 and " " not in line[head + 3 : to]


def _postfix_removed(line: str, prog: int) -> LogRecord | None:
    """qmgr's "ID: removed": Postfix is done with the message."""
    head = line.find("]: ", prog)
    if head < 0:
        return None
    qid = line[head + 3 : -9]
    if not qid or " " in qid:
        return None
    return delivery_record("postfix", DONE, syslog_time(line), qid, (), "", "", "")
