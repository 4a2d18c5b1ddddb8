"""Safe, bounded access to the parts of a mail message.

Bounce mail is often malformed (broken boundaries, unknown charsets, raw 8-bit headers) and may
carry the whole original message with its attachments. Everything here tolerates bad input and
caps the work: binary parts are never decoded, and text is cut to a fixed size before any
regular expression sees it (a 15 MB attachment must not cost more than its parse).
"""

from __future__ import annotations

import contextlib
import email
import email.header
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

from ..picklable import by_fields
from ..safetext import clean_text

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_PARTS",
    "MAX_REPORT_CHARS",
    "MAX_SECOND_READ_BYTES",
    "MAX_TEXT_CHARS",
    "TextPart",
    "decode_header",
    "header",
    "parse_message",
    "part_text",
    "text_parts",
]

#: Bytes of a message that are parsed. The reports a bounce carries come before the returned
#: original, so the tail of a huge message is the original's attachments and can go.
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
#: Bytes parsed in a second reading when the first found no report (a report placed after
#: a big attachment); about 0.4 s for 16 MB.
MAX_SECOND_READ_BYTES = 24 * 1024 * 1024
#: Characters of one decoded text part that are examined.
MAX_TEXT_CHARS = 128 * 1024
#: Characters of one machine-readable report part (delivery-status, feedback-report) that are
#: read: as much as the parse keeps, so a DSN of 1000 recipients (about 300 bytes each, or a
#: few KB with long diagnostics) is read whole. Its fields are read in linear time.
MAX_REPORT_CHARS = MAX_MESSAGE_BYTES
#: MIME parts visited per message (a bomb of tiny parts must stay cheap too).
MAX_PARTS = 200
#: Characters of one header value that are examined.
MAX_HEADER_CHARS = 8192
#: Depth of message/rfc822 nesting that is followed.
MAX_DEPTH = 3


def parse_message(data: bytes | str | Message, limit: int = MAX_MESSAGE_BYTES) -> Message:
    """Parse the first ``limit`` bytes of raw mail into a compat32 Message; never raises."""
    if isinstance(data, Message):
        return data
    if isinstance(data, str):
        data = _encode(data)
    if len(data) > limit:
        data = data[:limit]
    if b"\r" in data[:4096] and b"\n" not in data[:4096]:
        data = data.replace(b"\r", b"\n")  # old Mac line ends: encoded parts keep a bare CR
    try:
        return email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception:  # the parser is lenient, but a truly broken input must not escape
        return email.message_from_string("", policy=email.policy.compat32)


def _encode(text: str) -> bytes:
    """Raw mail given as text: bytes kept with ``surrogateescape`` come back as they were,
    other surrogates (from a JSON escape, say) as U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return clean_text(text).encode("utf-8")


def decode_header(value: object) -> str:
    """Decode an RFC 2047 header value to text, keeping what cannot be decoded."""
    if value is None:
        return ""
    raw = str(value)[:MAX_HEADER_CHARS]
    raw = _encode(raw).decode("utf-8", "replace")
    if "=?" not in raw:
        return " ".join(raw.split())
    try:
        pieces = email.header.decode_header(raw)
        out: list[str] = []
        for chunk, charset in pieces:
            if isinstance(chunk, bytes):
                out.append(_decode_bytes(chunk, charset))
            else:
                out.append(chunk)
        return " ".join("".join(out).split())
    except Exception:
        return " ".join(raw.split())


def header(msg: Message, name: str) -> str:
    """One header of a message, decoded; "" when absent or unreadable."""
    try:
        return decode_header(msg.get(name))
    except Exception:
        return ""


def _decode_bytes(data: bytes, charset: str | None) -> str:
    name = (charset or "utf-8").strip().strip('"').lower() or "utf-8"
    if name in ("us-ascii", "ascii", "unknown-8bit", "x-unknown", "8bit", "default"):
        name = "utf-8"
    try:
        # Some codecs (UTF-7, UTF-16) can yield lone surrogates even with "replace".
        return clean_text(data.decode(name, "replace"))
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def part_text(part: Message, limit: int = MAX_TEXT_CHARS) -> str:
    """The decoded text of a non-multipart part, capped at ``limit`` characters."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        try:
            raw = part.get_payload()
        except Exception:
            return ""
        if isinstance(raw, list):
            return clean_text(_join_submessages(raw, limit))
        return clean_text(str(raw)[:limit])
    if not isinstance(payload, bytes):
        return ""
    payload = payload[: limit * 4]
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = _decode_bytes(payload, charset)
    if "\x1b$" in text and (charset or "").lower() in ("", "us-ascii", "utf-8"):
        # Japanese mail often forgets to declare ISO-2022-JP.
        with contextlib.suppress(LookupError, ValueError):
            text = payload.decode("iso-2022-jp", "replace")
    return text[:limit]


def _join_submessages(items: list[Any], limit: int) -> str:
    """Text of a message/* part that the parser split into header blocks (delivery-status)."""
    out: list[str] = []
    size = 0
    for item in items:
        if not isinstance(item, Message):
            continue
        try:
            block = "\n".join(f"{k}: {v}" for k, v in item.items())
            body = item.get_payload()
            if isinstance(body, str) and body.strip():
                block += "\n\n" + body
        except Exception:
            continue
        out.append(block)
        size += len(block)
        if size > limit:
            break
    return "\n\n".join(out)[:limit]


@dataclass(frozen=True, slots=True)
class TextPart:
    """A text-bearing part: its content type, decoded text and nesting depth."""

    content_type: str
    text: str
    depth: int
    part: Message
    #: True when ``text`` was cut at its limit (MAX_TEXT_CHARS or MAX_REPORT_CHARS).
    cut: bool = False


_CTYPE = re.compile(r"[a-z0-9][a-z0-9.+_-]*/[a-z0-9][a-z0-9.+_-]*")


def _content_type(part: Message) -> str:
    try:
        raw = part.get_content_type().lower()
    except Exception:
        return "text/plain"
    match = _CTYPE.match(raw.strip())
    return match.group(0) if match else "text/plain"


_TEXTUAL_MESSAGE = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/feedback-report",
        "text/rfc822-headers",
        "message/rfc822-headers",
        "message/global-headers",
    }
)


def text_parts(msg: Message, *, max_depth: int = 0) -> Iterator[TextPart]:
    """Yield the text parts of ``msg`` in order, without entering message/rfc822 beyond depth.

    A message/rfc822 part at the limit yields one pseudo part of type message/rfc822 whose text
    is empty; the caller reads its headers from ``part``.
    """
    count = 0
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack and count < MAX_PARTS:
        part, depth = stack.pop()
        count += 1
        ctype = _content_type(part)
        if ctype in ("message/rfc822", "message/global"):
            inner = _inner_message(part)
            yield TextPart(
                content_type=ctype, text="", depth=depth, part=inner if inner is not None else part
            )
            if inner is not None and depth < max_depth and depth < MAX_DEPTH:
                stack.append((inner, depth + 1))
            continue
        if ctype.startswith("text/") or ctype in _TEXTUAL_MESSAGE:
            limit = MAX_REPORT_CHARS if ctype in _TEXTUAL_MESSAGE else MAX_TEXT_CHARS
            text = part_text(part, limit + 1)
            yield TextPart(
                content_type=ctype,
                text=text[:limit],
                depth=depth,
                part=part,
                cut=len(text) > limit,
            )
            continue
        if ctype.startswith("multipart/") and not part.is_multipart():
            # Boundary not found: the parser kept the whole body as one string; read it as
            # text so that the report inside is not lost.
            yield TextPart(content_type="text/plain", text=part_text(part), depth=depth, part=part)
            continue
        if part.is_multipart():
            try:
                children = part.get_payload()
            except Exception:
                children = []
            if isinstance(children, list):
                stack.extend((c, depth) for c in reversed(children) if isinstance(c, Message))


def _inner_message(part: Message) -> Message | None:
    try:
        payload = part.get_payload()
    except Exception:
        return None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str) and payload.strip():
        # An encoded message/rfc822 (not allowed, but seen): decode and parse it.
        try:
            raw = part.get_payload(decode=True)
        except Exception:
            raw = None
        data = raw if isinstance(raw, bytes) else _encode(payload)
        return parse_message(data)  # cut at MAX_MESSAGE_BYTES there
    return None


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(TextPart)
