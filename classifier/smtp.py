"""SMTP knowledge shared by every reader: stage words, enhanced status codes, typed DSN fields.

Replies reach the classifier through many wrappers (wire text, DSN fields, MTA logs, bounce
prose), and each wrapper names the SMTP stage, writes enhanced status codes and types its
fields in the same few ways. Those ways are read here, once.
"""

from __future__ import annotations

import re
from typing import Final

from .enums import Stage

__all__ = [
    "AUTH_CODES",
    "ENHANCED",
    "enhanced_status",
    "find_enhanced",
    "find_stage",
    "is_protocol_code",
    "split_typed",
    "stage_from_words",
    "stage_of",
]

# --- stages ---------------------------------------------------------------------------------


#: Wrappers name stages with a handful of phrases: each is read once (short phrases only, a
#: bounded number of them: a few kilobytes).
_STAGE_MEMO: dict[str, Stage] = {}
_STAGE_MEMO_ENTRIES = 256
_STAGE_MEMO_KEY = 64


def stage_of(stage: Stage | str | None) -> Stage:
    """A caller's stage as a Stage (a name, synonym or command word; None is UNKNOWN)."""
    if stage is None:
        return Stage.UNKNOWN
    if type(stage) is Stage:
        return stage
    found = _STAGE_MEMO.get(stage) if len(stage) <= _STAGE_MEMO_KEY else None
    if found is None:
        found = Stage(stage)
        _remember(stage, found)
    return found


def _remember(key: str, stage: Stage) -> None:
    if len(key) <= _STAGE_MEMO_KEY and len(_STAGE_MEMO) < _STAGE_MEMO_ENTRIES:
        _STAGE_MEMO[key] = stage


def stage_from_words(words: str) -> Stage:
    """The stage named by a wrapper's words ("RCPT TO", "sending end of data", "DATA").

    A name or command word of the stage (see ``Stage``) first, then the words it contains.
    """
    memo = _STAGE_MEMO.get("\0" + words) if len(words) < _STAGE_MEMO_KEY else None
    if memo is None:
        memo = _stage_from_words(words)
        _remember("\0" + words, memo)
    return memo


def _stage_from_words(words: str) -> Stage:
    named = Stage.named(words)
    if named is not None:
        return named
    w = " ".join(words.lower().split())
    if "greeting" in w or "banner" in w or "initial connection" in w or "connect" in w:
        return Stage.CONNECT
    if "rcpt" in w:
        return Stage.RCPT
    if "end of data" in w or "message body" in w or "message content" in w or "bdat" in w:
        return Stage.END_OF_DATA
    if "mail from" in w:
        return Stage.MAIL
    if "data" in w:
        return Stage.DATA
    if "ehlo" in w or "helo" in w or "lhlo" in w:
        return Stage.HELO
    if "tls" in w:
        return Stage.STARTTLS
    if "auth" in w:
        return Stage.AUTH
    return Stage.UNKNOWN


#: Phrases of bounce prose that name the SMTP stage (Exim, Postfix, qmail, Sendmail, DragonFly ...).
#: qmail-remote's own: "Connected to X but greeting failed", "... but my name was rejected",
#: "... but sender was rejected", "X does not like recipient", "X failed on DATA command",
#: "X failed after I sent the message" (Sisimai set-of-emails lhost-qmail-04, -14).
_STAGE_PHRASES: tuple[tuple[str, int, Stage], ...] = (
    (
        r"\b(?:after|in reply to|while sending|in response to)\s+(?:the\s+)?"
        r"(?:RCPT\s+TO|RCPT)\b|does not like recipient|\[RCPT_TO\]|>>>\s*RCPT",
        re.IGNORECASE,
        Stage.RCPT,
    ),
    (
        r"\b(?:after|in reply to|while sending|in response to)\s+(?:the\s+)?"
        r"(?:MAIL\s+FROM|MAIL)\b|sender was rejected|\[MAIL_FROM\]|>>>\s*MAIL",
        re.IGNORECASE,
        Stage.MAIL,
    ),
    (
        r"\b(?:after|in reply to|while sending)\s+(?:the\s+)?(?:end of data|"
        r"end of message|final DATA|message body|DATA\s+(?:command\s+)?(?:terminator|"
        r"body))|(?:did not|didn't) like our final DATA|after end of data|"
        r"\[DATA\]|<<<\s*\.|>>>\s*\.\s*$|\bfailed after I sent the message\b",
        re.IGNORECASE | re.MULTILINE,
        Stage.END_OF_DATA,
    ),
    (
        r"\b(?:after|in reply to|while sending)\s+(?:the\s+)?DATA\b|>>>\s*DATA|"
        r"\bfailed on DATA command\b",
        re.IGNORECASE,
        Stage.DATA,
    ),
    (
        r"\b(?:after|in reply to)\s+(?:the\s+)?(?:EHLO|HELO|LHLO)\b|\bmy name was rejected\b",
        re.IGNORECASE,
        Stage.HELO,
    ),
    (
        r"\b(?:after|in reply to)\s+(?:the\s+)?(?:initial connection|greeting|"
        r"banner)|refused to talk to me|\bSMTP greeting\b|\bbut greeting failed\b",
        re.IGNORECASE,
        Stage.CONNECT,
    ),
)


#: The phrases compiled, each with the literals of which one occurs (case-folded) wherever it
#: matches (() when none can be said: the phrase is then always searched). Built on first use:
#: only bounce prose asks, and compiling them costs every new process otherwise.
_stage_phrases: tuple[tuple[re.Pattern[str], tuple[str, ...], Stage], ...] | None = None


def _compiled_stage_phrases() -> tuple[tuple[re.Pattern[str], tuple[str, ...], Stage], ...]:
    global _stage_phrases  # noqa: PLW0603 - derived once, on first use
    if _stage_phrases is None:
        from .prefilter import required_literals  # noqa: PLC0415 - not needed to import smtp

        phrases = []
        for pattern, flags, stage in _STAGE_PHRASES:
            # As they stand in the text with its white space folded (as ``flat`` below).
            found = tuple(" ".join(w.split()) for w in required_literals(pattern))
            phrases.append((re.compile(pattern, flags), found if all(found) else (), stage))
        _stage_phrases = tuple(phrases)
    return _stage_phrases


def find_stage(text: str) -> Stage | None:
    """The SMTP stage named anywhere in an MTA's prose ("... after RCPT TO ..."), or None."""
    flat = " ".join(text.split())  # wrappers are often folded ("in reply\n    to RCPT TO")
    texts = (text,) if flat == text else (text, flat)
    # A phrase whose every literal is absent cannot match: not searched. Only for ASCII text,
    # where case-folding the text finds exactly what the case-blind search would.
    folded = flat.casefold() if flat.isascii() else None
    for pattern, words, stage in _compiled_stage_phrases():
        if folded is not None and words and not any(w in folded for w in words):
            continue
        if any(pattern.search(t) for t in texts):
            return stage
    return None


# --- enhanced status codes (RFC 3463) -------------------------------------------------------

#: An enhanced status standing alone ("#5.1.1", "(5.1.1)", "dsn=5.1.1", "Status: 5.1.1"); an
#: IP address or a version number is not one.
#: An enhanced status stands apart: not inside a number, a word or a path ("ruby/2.2.0/net",
#: "v2.7.1" are versions).
ENHANCED = re.compile(r"(?<![0-9A-Za-z_./])([245])\.([0-9]{1,3})\.([0-9]{1,3})(?![0-9]|\.[0-9]|/)")


#: Reply codes that only AUTH gives (RFC 4954 §6: 530 authentication required, 534 mechanism
#: too weak, 535 credentials invalid, 538 encryption required): what such a reply says of a
#: user or an account is about the client that authenticates, the sender.
AUTH_CODES: Final = frozenset({530, 534, 535, 538})


def is_protocol_code(basic: int | None) -> bool:
    """Whether a basic code is a protocol error (RFC 5321 §4.2.2: 500-504, and 555, MAIL or
    RCPT parameters not recognised or not implemented): its number says precisely how."""
    return basic is not None and (500 <= basic <= 504 or basic == 555)


def enhanced_status(klass: str, subject: str, detail: str) -> str:
    """The normal form of an enhanced status: no leading zeros ("5.01.1" is "5.1.1")."""
    if subject[0] != "0" and detail[0] != "0":  # the usual case: already normal
        return f"{klass}.{subject}.{detail}"
    return f"{klass}.{int(subject)}.{int(detail)}"


# ENHANCED without its leading look-behind: a pattern that starts with a character class is
# searched with a fast scan for that class, a look-behind is tried at every position (3x
# slower on typical replies). find_enhanced checks the character before itself.
_ENHANCED_BODY = re.compile(r"([245])\.([0-9]{1,3})\.([0-9]{1,3})(?![0-9]|\.[0-9]|/)")
_NOT_BEFORE = frozenset("0123456789./_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def find_enhanced(text: str) -> str | None:
    """The first enhanced status in ``text``, in normal form, or None (as ENHANCED finds)."""
    search = _ENHANCED_BODY.search
    m = search(text)
    while m is not None:
        at = m.start()
        if at == 0 or text[at - 1] not in _NOT_BEFORE:
            return enhanced_status(m.group(1), m.group(2), m.group(3))
        m = search(text, at + 1)
    return None


# --- typed DSN fields (RFC 3464 §2.1.2: "type; value") --------------------------------------

_FIELD_TYPE = re.compile(r"\s*[A-Za-z][A-Za-z0-9-]{0,20}\s*")


def split_typed(value: str) -> tuple[str, str]:
    """Split a typed field ("dns; mx.example.com", "smtp; 550 ...") into (type, value).

    The type is lower-cased; a value without a type gives ("", value), stripped.
    """
    head, sep, rest = value.partition(";")
    if sep and _FIELD_TYPE.fullmatch(head):
        return head.strip().lower(), rest.strip()
    return "", value.strip()
