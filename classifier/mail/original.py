"""The message a bounce returns, as the sender knows it: Message-ID, From, To, Subject, Date.

A bounce, DSN or feedback report is linked back to what was sent through the headers of the
original it carries: an attached ``message/rfc822`` (or ``message/global``), its headers alone
(``text/rfc822-headers``), or the original pasted into the text after the MTA's report (qmail,
Exim, many text bounces). Users name more headers to report (``X-Campaign-Id``, a tracking
id their platform adds), as Sisimai does with its ``messageid``/``addresser`` fields and
custom-header hooks. The bounce's own date (its ``Date``, else its newest ``Received``) says
when the failure came back. Dates are ISO 8601 when they can be read, the text as written
otherwise.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Final

from ..picklable import by_fields
from .parts import TextPart, decode_header, header, text_parts
from .text_bounces import cut_original

__all__ = ["MAX_NAMED_HEADERS", "OriginalMessage", "bounce_date", "find_original", "iso_date"]

#: Headers a caller may name, at most (each value is cut like any header).
MAX_NAMED_HEADERS: Final = 32
#: Characters of a pasted original read for its headers.
_PASTED_CHARS: Final = 32 * 1024
_HEADERS_TYPES: Final = frozenset(
    {"text/rfc822-headers", "message/rfc822-headers", "message/global-headers"}
)


@dataclass(frozen=True, slots=True)
class OriginalMessage:
    """Headers of the message the bounce returns ("" when the bounce does not carry them)."""

    message_id: str = ""
    sender: str = ""
    to: str = ""
    subject: str = ""
    #: The original's Date, ISO 8601 when readable.
    date: str = ""
    #: Where the headers were found: attached, headers (a headers-only part), pasted, or "".
    found_in: str = ""
    #: The headers the caller named, in the caller's spelling ("" when absent).
    headers: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``from`` for the sender, as in the header)."""
        return {
            "message_id": self.message_id,
            "from": self.sender,
            "to": self.to,
            "subject": self.subject,
            "date": self.date,
            "found_in": self.found_in,
            "headers": dict(self.headers),
        }


def iso_date(value: str) -> str:
    """An RFC 5322 date as ISO 8601, or the text as written when it cannot be read."""
    if not value:
        return ""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return value
    return parsed.isoformat()


def bounce_date(msg: Message) -> str:
    """When the bounce was written: its Date, else the date of its newest Received header."""
    own = header(msg, "Date")
    if own:
        return iso_date(own)
    try:
        received = msg.get_all("Received") or []
    except Exception:
        received = []
    for value in received[:1]:
        text = decode_header(value)
        if ";" in text:
            return iso_date(text.rpartition(";")[2].strip())
    return ""


def _from_headers(found: Message, where: str, names: Sequence[str]) -> OriginalMessage:
    return OriginalMessage(
        message_id=header(found, "Message-ID"),
        sender=header(found, "From"),
        to=header(found, "To"),
        subject=header(found, "Subject"),
        date=iso_date(header(found, "Date")),
        found_in=where,
        headers={name: header(found, name) for name in names},
    )


def _parse_headers(text: str) -> Message:
    parser = email.parser.HeaderParser(policy=email.policy.compat32)
    return parser.parsestr(text.lstrip("\r\n")[:_PASTED_CHARS])


def _useful(found: Message) -> bool:
    return any(found.get(name) for name in ("Message-ID", "From", "To", "Subject"))


def find_original(
    msg: Message, names: Sequence[str] = (), parts: Sequence[TextPart] | None = None
) -> OriginalMessage:
    """The returned original's headers (and the ``names`` asked for); never raises.

    ``parts``: the text parts of ``msg`` when they were already read (parts.text_parts)."""
    names = tuple(dict.fromkeys(names))[:MAX_NAMED_HEADERS]
    try:
        if parts is None:
            parts = list(text_parts(msg))
        for part in parts:
            attached = part.content_type in ("message/rfc822", "message/global")
            if attached and part.depth == 0 and _useful(part.part):
                return _from_headers(part.part, "attached", names)
        for part in parts:
            if part.content_type in _HEADERS_TYPES and part.text:
                found = _parse_headers(part.text)
                if _useful(found):
                    return _from_headers(found, "headers", names)
        for part in parts:
            if part.content_type == "text/plain" and part.text:
                report = cut_original(part.text)
                pasted = part.text[len(report) :]
                if pasted.strip():
                    start = _header_start(pasted)
                    if start >= 0:
                        found = _parse_headers(pasted[start:])
                        if _useful(found):
                            return _from_headers(found, "pasted", names)
    except Exception:  # a malformed original must not break the bounce's report
        pass
    return OriginalMessage(headers={name: "" for name in names})


def _header_start(text: str) -> int:
    """Where the pasted original's header block starts (after any marker line), or -1."""
    offset = 0
    for line in text[:_PASTED_CHARS].splitlines(keepends=True):
        name, colon, _rest = line.partition(":")
        if colon and name and " " not in name and name.isascii() and name[0].isalpha():
            return offset
        offset += len(line)
    return -1


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(OriginalMessage)
