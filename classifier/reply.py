"""Reading a reply out of whatever carries it: a bare SMTP reply, a DSN field, an MTA's log text.

The same remote verdict reaches users in many shapes (wire text with ``550-`` continuation
lines, client-library text, Postfix's flattened log text, a folded DSN ``Diagnostic-Code``,
Exim and Sendmail wrappers). ``parse_reply`` reduces every shape to one ``ParsedReply``: the
remote's own words, the codes they carry and the SMTP stage, so that rules see one form.

This module holds the form and the fast path (one-line replies, most of a log); every other
shape is unwrapped by ``wrappers``, imported the first time a reply needs it: its expressions
are most of what compiling this step costs a new process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from .enums import Stage
from .picklable import by_fields
from .safetext import clean_text
from .smtp import enhanced_status, find_enhanced, stage_from_words, stage_of

__all__ = [
    "IN_REPLY_TO",
    "MAX_INPUT",
    "MAX_TEXT",
    "ParsedReply",
    "decode",
    "parse_reply",
    "parsed_reply",
]

#: Bytes (or characters) of input looked at; the rest is ignored. A reply line is at most 512
#: octets (RFC 5321 §4.5.3.1.5); 64 KiB leaves room for long DSN fields and transcripts.
MAX_INPUT = 64 * 1024
#: Characters of the remote's text that rules are matched against.
MAX_TEXT = 8 * 1024

#: Members read on every call, held as globals: Python 3.11 looks up an enum member on its
#: class at about twenty times the cost of a global.
_UNKNOWN: Final = Stage.UNKNOWN


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """The remote's words and codes, whatever wrapper carried them."""

    #: Basic reply code (RFC 5321), e.g. 550; None when absent.
    basic: int | None
    #: Enhanced status code (RFC 3463), e.g. "5.1.1"; None when absent.
    enhanced: str | None
    #: True when the enhanced status class agrees with the basic code (or one is missing).
    consistent: bool
    #: The remote's text with codes and continuation prefixes removed, on one line.
    text: str
    #: Stage of the conversation, from the wrapper or the caller.
    stage: Stage
    #: Which wrapper was recognised ("postfix-said", "exim", "dsn", "raw", ...).
    wrapper: str
    #: The remote host named by the wrapper, if any.
    remote_host: str | None = None
    #: True when the input was cut at MAX_INPUT.
    truncated: bool = False
    #: A status that came beside the reply, not in the remote's words (a DSN ``Status:``
    #: field, Sendmail's ``dsn=``), in normal form: the engine lets it fill in what the words
    #: lack (see ``Classifier.classify``).
    status: str | None = None


def decode(data: str | bytes | bytearray | memoryview) -> tuple[str, bool]:
    """Decode any input to text, capped: UTF-8, else Windows-1252/Latin-1 (never fails).

    Bytes that are not UTF-8 are read as the 8-bit charset they almost always are, so that a
    Latin-1 reply with a single accented letter still reads as words.
    """
    if isinstance(data, str):
        return clean_text(data[:MAX_INPUT]), len(data) > MAX_INPUT
    raw = bytes(data[:MAX_INPUT]) if not isinstance(data, bytes) else data[:MAX_INPUT]
    truncated = len(data) > MAX_INPUT
    try:
        return raw.decode("utf-8"), truncated
    except UnicodeDecodeError as exc:
        if exc.end == len(raw) and len(raw) - exc.start < 4:
            # A multi-byte sequence cut at the end (the input was capped): keep what is whole.
            try:
                return raw[: exc.start].decode("utf-8"), truncated
            except UnicodeDecodeError:
                pass
        text = raw.decode("utf-8", errors="replace")
        broken = text.count("\ufffd")
        whole = sum(1 for c in text if c > "\x7f") - broken
        if whole > broken:
            return text, truncated  # UTF-8 with a few damaged bytes: keep the UTF-8 reading
        # Another 8-bit charset, often with only a few non-ASCII letters ("Buz\xf3n lleno"):
        # Windows-1252, Latin-1's superset for the letters mail servers write.
        try:
            return raw.decode("cp1252"), truncated
        except UnicodeDecodeError:
            return raw.decode("latin-1"), truncated


#: Postfix's "(in reply to RCPT TO command)" after the remote's words: the stage they answered.
IN_REPLY_TO: Final = re.compile(r"\s*\(in reply to ([a-z ]+?) command\)\s*+\.?\s*+$", re.I)

# The commonest shapes, read with one anchored match: an optional DSN type, an optional
# Postfix "host H said:", a one-line 3xx-5xx reply. Anything else (multi-line, continuation
# prefixes inside, 2xx, other wrappers, control characters) takes the general path below,
# and a test proves both paths give the same result.
_FAST = re.compile(
    r"(?:(?:smtp|x-[a-z0-9-]+) *; *)?"
    r"(?:host ([^\s\[]+)(?:\[[^\]]*\](?::\d+)?)? said: *)?"
    r"([3-5][0-9][0-9])[ -] *(?:([245])\.([0-9]{1,3})\.([0-9]{1,3})(?![0-9.]) *)?",
    re.I,
)
# Words that mean another wrapper is inside: leave those to the general path (substring
# tests: one scan each in C, where an alternation is tried at every position).
_SLOW = ("status=", "SMTP error from", "Diagnostic-Code", "<<<", "stat=", "said:")


def _wrapped(rest: str) -> bool:
    """Does ``rest`` hold one of the ``_SLOW`` words?"""
    return any(word in rest for word in _SLOW)


def parse_reply(
    data: str | bytes, stage: Stage | str | None = None, *, status: str | None = None
) -> ParsedReply:
    """Find the remote's reply in ``data`` and split it into codes, words and stage.

    ``status`` is a status that came beside the reply (a DSN ``Status:`` field); it is kept
    apart from the remote's words, and wins over a ``Status:`` line inside ``data``.
    Never raises: an input with no reply at all yields a ParsedReply with no codes and the
    input's own words (an MTA's text such as "Connection refused" is then what rules read).
    """
    if status is not None:
        parsed = parse_reply(data, stage)
        given = find_enhanced(status)
        return parsed if given is None or given == parsed.status else replace(parsed, status=given)
    if type(data) is str and len(data) <= MAX_TEXT:
        text = data.strip()
        m = _FAST.match(text)
        if m is not None and text.isprintable():
            said = m.group(1)
            rest = text[m.end() :]
            if said is not None or not _wrapped(rest):
                return _fast(m, rest, said, text, stage)
    return _parse_general(data, stage)


def _fast(
    m: re.Match[str],
    rest: str,
    said: str | None,
    text: str,
    stage: Stage | str | None,
) -> ParsedReply:
    """Build the ParsedReply of a _FAST match exactly as the general path would."""
    _said, code, klass, subject, detail = m.groups()
    basic = int(code)
    given = _UNKNOWN if stage is None else stage_of(stage)
    at = rest.rfind("(in reply to ")
    if at >= 0:
        r = IN_REPLY_TO.match(rest, at - 1 if at > 0 else 0)
        if r is not None:
            if given is _UNKNOWN:
                given = stage_from_words(r.group(1))
            rest = rest[: r.start()]
    head = enhanced_status(klass, subject, detail) if klass else None
    body = rest.strip()
    if body and (f" {code}-" in body or (head and f" {code} {head} " in body)):
        # Postfix flattens multi-line replies and keeps every "550-5.1.1 " prefix inside.
        pat = rf"\s{basic}[ -](?:{re.escape(head)}\s)?" if head else rf"\s{basic}-"
        body = re.sub(pat, " ", body)
    enhanced = head
    if enhanced is None:
        enhanced = find_enhanced(body)
    consistent = enhanced is None or enhanced[0] == code[0]
    wrapper = "postfix-said" if said is not None else _fast_wrapper(text)
    flat = " ".join(body.split())[:MAX_TEXT]
    return parsed_reply(basic, enhanced, consistent, flat, given, wrapper, said)


def _setters() -> tuple[Callable[[ParsedReply, Any], None], ...]:
    slots = vars(ParsedReply)
    return tuple(slots[f.name].__set__ for f in fields(ParsedReply))


_s_basic, _s_enhanced, _s_consistent, _s_text, _s_stage, _s_wrapper, _s_host, _s_cut, _s_status = (
    _setters()
)
_new = ParsedReply.__new__


def parsed_reply(
    basic: int | None,
    enhanced: str | None,
    consistent: bool,
    text: str,
    stage: Stage,
    wrapper: str,
    host: str | None,
    truncated: bool = False,
    status: str | None = None,
) -> ParsedReply:
    """``ParsedReply(basic, ...)``, its slots written directly (a frozen dataclass's
    ``__init__`` calls ``object.__setattr__`` per field: twice the cost, on every reply)."""
    parsed: ParsedReply = _new(ParsedReply)
    _s_basic(parsed, basic)
    _s_enhanced(parsed, enhanced)
    _s_consistent(parsed, consistent)
    _s_text(parsed, text)
    _s_stage(parsed, stage)
    _s_wrapper(parsed, wrapper)
    _s_host(parsed, host)
    _s_cut(parsed, truncated)
    _s_status(parsed, status)
    return parsed


def _fast_wrapper(data: str) -> str:
    return "dsn" if data.lstrip()[:1].isalpha() else "raw"


_general: Callable[[str | bytes, Stage | str | None], ParsedReply] | None = None


def _parse_general(data: str | bytes, stage: Stage | str | None = None) -> ParsedReply:
    """Every shape but the fast path's (``wrappers.parse_general``), loaded on first use."""
    general = _general
    if general is None:
        general = _load_general()
    return general(data, stage)


def _load_general() -> Callable[[str | bytes, Stage | str | None], ParsedReply]:
    global _general  # noqa: PLW0603 - the general path, imported once when first needed
    from .wrappers import parse_general  # noqa: PLC0415 - kept off the cold start

    _general = parse_general
    return parse_general


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(ParsedReply)
