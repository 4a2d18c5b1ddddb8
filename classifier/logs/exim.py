"""Exim main log: ``**`` (bounced), ``==`` (deferred), ``=>``/``->``/``>>`` (delivered) and
``Completed`` (Exim specification, chapter "Log files")."""

from __future__ import annotations

from typing import Final

from .record import BOUNCED, DEFERRED, DONE, EXPIRED, SENT, LogRecord, MalformedLineError

__all__ = ["exim_prefix", "parse_exim"]

_EXIM_FLAGS: Final = {"**": BOUNCED, "==": DEFERRED, "=>": SENT, "->": SENT, ">>": SENT}


def exim_prefix(line: str) -> tuple[str, list[str]] | None:
    """Split "date time [pid] [zone] id rest…" into the time and up to four tokens."""
    if len(line) < 20 or line[4] != "-" or line[7] != "-" or line[10] != " " or line[13] != ":":
        return None
    pos = line.find(" ", 11)
    if pos < 0:
        return None
    time = line[:pos]
    while line[pos + 1 : pos + 2] in ("[", "+", "-") and line[pos + 2 : pos + 3].isdigit():
        pos = line.find(" ", pos + 1)
        if pos < 0:
            return None
    return time, line[pos + 1 :].split(" ", 3)


def _exim_address(token: str) -> str:
    return token.rstrip(":").strip("<>")


def _exim_message(text: str) -> str:
    """Drop "host NAME [IP]: " after "… after RCPT TO:<x>: ", the form older Exims write."""
    h = text.find(": host ")
    if h >= 0:
        colon = text.find("]: ", h)
        if colon >= 0:
            return text[: h + 2] + text[colon + 3 :]
    return text


def _exim_host(rest: str) -> str:
    """The ``H=name [ip]`` field of a delivery line, or ""."""
    h = rest.find(" H=") if not rest.startswith("H=") else -1
    if h < 0 and not rest.startswith("H="):
        return ""
    start = h + 3 if h >= 0 else 2
    end = rest.find("]", start)
    space = rest.find(" ", start)
    if end >= 0 and (space < 0 or rest[space + 1 : space + 2] == "["):
        return rest[start : end + 1]
    return rest[start : space if space >= 0 else len(rest)]


def parse_exim(line: str) -> LogRecord | None:
    """An Exim main-log delivery line: ``**`` bounced, ``==`` deferred, ``=>``/``->`` sent.

    ``** a@b: retry timeout exceeded`` is Exim giving up after deferrals: EXPIRED.
    ``== … retry time not reached`` is no attempt at all and gives ``None``.
    """
    split = exim_prefix(line)
    if split is None:
        return None
    time, tokens = split
    if len(tokens) < 2:
        return None
    msgid, flag = tokens[0], tokens[1]
    if "-" not in msgid:
        return None
    if flag == "Completed" and len(tokens) == 2:
        return LogRecord(
            mta="exim", status=DONE, time=time, queue_id=msgid, recipients=(), reply=""
        )
    status = _EXIM_FLAGS.get(flag)
    if status is None:
        return None
    if len(tokens) < 3:
        raise MalformedLineError(f"Exim {flag} line without an address")
    address = tokens[2]
    rest = tokens[3] if len(tokens) > 3 else ""
    recipient = _exim_address(address)
    if address.startswith(("|", "/")):
        lt = rest.find("<")
        gt = rest.find(">", lt)
        if lt >= 0 and gt > lt:
            recipient = rest[lt + 1 : gt]
    if status == SENT:
        c = rest.find(' C="')
        reply = ""
        if c >= 0:
            end = rest.find('"', c + 4)
            reply = rest[c + 4 : end if end >= 0 else len(rest)]
        return LogRecord(
            mta="exim",
            status=SENT,
            time=time,
            queue_id=msgid,
            recipients=(recipient,),
            reply=reply,
            relay=_exim_host(rest),
        )
    if address.endswith(":"):
        message = rest
    else:
        colon = rest.find(": ")
        if colon < 0:
            raise MalformedLineError(f"Exim {flag} line without a message")
        message = rest[colon + 2 :]
    if status == DEFERRED and "retry time not reached" in message:
        return None
    if "retry timeout exceeded" in message:
        status = EXPIRED
    return LogRecord(
        mta="exim",
        status=status,
        time=time,
        queue_id=msgid,
        recipients=(recipient,),
        reply=_exim_message(message),
        relay=_exim_host(rest),
    )
