"""Normalisation for meaning: a reply's words as clauses of plain tokens.

Mail servers paraphrase: ``Mail-box``, ``mail box`` and ``mailbox`` are one noun, ``Buzón``
and ``buzon`` one word, ``<a@b.example>`` and ``x@y`` one kind of thing. Concepts are matched
on tokens normalised here (case and accents folded, variants unified, addresses, host names,
IPs, URLs, ids and numbers replaced by upper-case placeholders such as ``ADDR`` that no folded
term can equal, quotes and brackets dropped), clause by
clause, so that "subject … state" pairs never straddle a sentence. The classified ``text``
stays the remote's own words; this form is only for matching.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MAX_LABEL",
    "MAX_MEANING_CHARS",
    "clauses",
    "fold",
    "positions",
    "shown",
    "tokens",
]

#: Characters of a reply read for meaning: the reason is stated early, and the work stays
#: bounded on any input.
MAX_MEANING_CHARS = 2048
#: A clause of at most this many tokens before a colon is a label ("Name server: x: error",
#: "Error SMTP: data not accepted"): it is read together with what follows.
MAX_LABEL = 4

# Every pattern below is linear: no nested repeats, bounded where it spans characters.
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']{1,400}", re.IGNORECASE)
_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]{1,64}@[^\s<>()\[\]\"',;:@]{1,255}")
# Strong clause boundaries: sentence ends, colons, semicolons, line ends, spaced dashes;
# Chinese and Japanese write no space after them, and end sentences with "。".
# A dot inside a token (host name, status code, version) is not a boundary.
_BOUNDARY = re.compile(
    r"[.!?;:](?=\s|$|[\u3040-\u30ff\u3400-\u9fff])|[\n\r|\u3002]|\s[-\u2013\u2014]+\s|\s\*+\s"
)
#: Scripts written without spaces between words (Han, Hiragana, Katakana), and Hangul, whose
#: words carry their particles: each character (for Hangul, each letter once folded) is a
#: token of its own, and a term's characters are matched as consecutive tokens.
_UNSPACED = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff]"
)
#: Words joined by "/" shorter than this stay one token ("i/o", "tcp/ip"); longer ones are
#: alternatives said together ("host/domain").
_SPLIT_SLASH = 4
#: "server(s)", "day(s)": the plural mark in brackets is dropped.
_PLURAL_MARK = re.compile(r"(?<=[^\W\d_])\(s\)", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019.\-/][^\W_]+)*")
_CONTRACTIONS = (
    ("won't", "will not"),
    ("won\u2019t", "will not"),
    ("can't", "can not"),
    ("can\u2019t", "can not"),
    ("cannot", "can not"),
    ("n't", " not"),
    ("n\u2019t", " not"),
)
#: Two sentences joined without a space ("Delivery error.Mailbox of … is FULL"): a word, a
#: dot and a capitalised word, alone, are no host name (hosts are written in lower case or
#: carry more labels). Linear: only word starts are tried.
_RUN_ON = re.compile(r"(?<![\w./:@-])([a-z]{3,})\.(?=[A-Z][a-z]{2,}(?![\w.]))")
#: A class name after its module (``smtplib.SMTPServerDisconnected``, ``ssl.SSLError``,
#: ``System.Net.Mail.SmtpException``): a label of mixed case, last in a dotted token, is a
#: word, not part of a host name (host labels are not written in mixed case). Linear: the
#: label is read once, possessively.
_CLASS_NAME = re.compile(r"(?<=[a-z0-9])\.([A-Z][A-Za-z]*+)(?![\w.])")
#: An identifier written in camel case (``RecipientNotFound``, ``SMTPRecipientsRefused``,
#: ``MustIssueStartTlsFirst``) says words: it is read as those words, unless it is part of a
#: dotted name (a status family such as ``RESOLVER.CON.ChainDisabled``). Linear: tried at word
#: starts only, each word's letters read twice (the look-ahead, then possessively).
_CAMEL = re.compile(r"(?<![\w.])(?=[A-Za-z]*?[a-z][A-Z])[A-Za-z]++(?![\w.])")
_CAMEL_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
#: Protocol words written with a digit, read as words rather than ids.
_DIGIT_WORDS = frozenset({"utf8", "smtputf8", "8bitmime", "ipv4", "ipv6", "tlsv1", "sslv3"})
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
#: Token pairs that are one word written apart ("mail box", "e mail").
_JOINED = {
    ("mail", "box"): "mailbox",
    ("mail", "boxes"): "mailboxes",
    ("e", "mail"): "email",
    ("e", "mails"): "emails",
    ("in", "box"): "inbox",
    ("user", "name"): "username",
    ("over", "quota"): "overquota",
    ("non", "existent"): "nonexistent",
    ("non", "existing"): "nonexisting",
    ("no", "existe"): "noexiste",
}


def fold(text: str) -> str:
    """Case and accents folded: ``Buzón`` → ``buzon``, ``Überschritten`` → ``uberschritten``."""
    text = text.casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


#: French and Italian elided articles and prepositions ("l'adresse", "dell'indirizzo"): the
#: word after the apostrophe is what is said.
_ELIDED = frozenset(
    {
        "l",
        "d",
        "j",
        "s",
        "c",
        "m",
        "t",
        "qu",
        "lorsqu",
        "jusqu",
        "puisqu",
        "un",
        "all",
        "dell",
        "dall",
        "nell",
        "sull",
        "coll",
        "quest",
        "quell",
        "nessun",
    }
)


def _placeholder(token: str) -> str:
    """A token as matched: hosts, IPs, statuses, ids and numbers become placeholders."""
    if token.isalpha():
        return token
    if "'" in token or "\u2019" in token:
        head, _, tail = token.replace("\u2019", "'").partition("'")
        if tail in {"s", ""}:
            token = head  # "recipient's"
        elif head in _ELIDED or head == "b":
            # An elided article ("l'adresse"), or a Python bytes literal (b'not local').
            token = tail.replace("'", "")
        else:
            token = (head + tail).replace("'", "")
    if token.isalpha():
        return token
    if token.isdigit():
        return "NUM"
    if "." in token:
        if _IPV4.fullmatch(token):
            return "IP"
        if _STATUS.fullmatch(token):
            return "STATUS"
        if any(c.isalpha() for c in token):
            return "HOST"
        return "NUM"
    if "-" in token or "/" in token:
        parts = re.split(r"[-/]", token)
        if any(parts) and all(p.isdigit() for p in parts if p):
            return "NUM"  # a numbered id or a date ("1700000000-1", "12/31")
        if all(p.isalpha() for p in parts):
            # "mail-box", "e-mail", "non-existent", "out-of-office": one word, joined.
            return "".join(parts) if "-" in token and len(parts) <= 3 else token
        if (
            "-" in token
            and len(parts) <= 3
            and all(p.isalpha() or p.isdigit() for p in parts)
            and any(p.isalpha() and len(p) >= 3 for p in parts)
        ):
            # A word with a number ("365-Server", "Office-365"): the number names a product
            # or a count, the word is what is said.
            return "".join(p for p in parts if p.isalpha())
    if any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
        return token if token in _DIGIT_WORDS else "ID"
    return token


#: How much of a word one Han or Kana character counts for in distances between concepts
#: (a word of these scripts is mostly two or three characters).
UNSPACED_WEIGHT = 1 / 3


def _unspaced(token: str) -> bool:
    return len(token) == 1 and _UNSPACED.match(token) is not None


def positions(clause: list[str]) -> list[float] | None:
    """Word positions of a clause's token boundaries when it holds Han or Kana, else None.

    Distances between concepts count words: a character of an unspaced script counts as a
    third of one, so "データが受け付けられません" is as close as "data was not accepted".
    """
    if not any(_unspaced(t) for t in clause):
        return None
    out = [0.0]
    for token in clause:
        out.append(out[-1] + (UNSPACED_WEIGHT if _unspaced(token) else 1.0))
    return out


def shown(words: tuple[str, ...]) -> str:
    """Matched tokens as people read them: no space between Han or Kana characters."""
    text = ""
    for i, word in enumerate(words):
        if i and not (_unspaced(word) and _unspaced(words[i - 1])):
            text += " "
        text += word
    return text


def _split_unspaced(raw: str) -> list[str]:
    """A run of letters split so that each Han or Kana character stands alone."""
    parts: list[str] = []
    start = 0
    for m in _UNSPACED.finditer(raw):
        if m.start() > start:
            parts.append(raw[start : m.start()])
        parts.append(m.group(0))
        start = m.end()
    if start < len(raw):
        parts.append(raw[start:])
    return parts


def _raw_tokens(clause: str) -> list[str]:
    """The clause's words as written: "a/b" as two words, unspaced scripts per character."""
    out: list[str] = []
    for match in _TOKEN.finditer(clause):
        raw = match.group(0)
        if "/" in raw:
            parts = raw.split("/")
            if all(p.isalpha() and len(p) >= _SPLIT_SLASH for p in parts):
                out.extend(parts)  # "host/domain"; "i/o" and "tcp/ip" stay one word
                continue
        if not raw.isascii() and _UNSPACED.search(raw):
            out.extend(_split_unspaced(raw))
            continue
        out.append(raw)
    return out


def tokens(clause: str) -> list[str]:
    """The normalised tokens of one clause (already folded, placeholders applied)."""
    out: list[str] = []
    for word in _raw_tokens(clause):
        raw = word
        if raw.startswith(("n'", "n\u2019")) and len(raw) > 2:
            out.append("ne")  # French "n'existe pas": the negation stays a word of its own
            raw = raw[2:]
        token = _placeholder(raw)
        if token == "NUM":
            continue  # "for 5 days" and "for days" say the same
        if out:
            joined = _JOINED.get((out[-1], token))
            if joined is not None:
                out[-1] = joined
                continue
        out.append(token)
    return out


def _camel_words(m: re.Match[str]) -> str:
    word = m.group(0)
    if word.endswith(("Exception", "Error")):
        return word  # an exception's type: its message says what happened
    split = _CAMEL_SPLIT.sub(" ", word)
    # Words of two letters or more: "FCrDNS", "iPhone" are names, not words run together.
    return split if min(len(w) for w in split.split(" ")) >= 2 else word


def _class_name(m: re.Match[str]) -> str:
    label = m.group(1)
    mixed = any(c.islower() for c in label) and any(c.isupper() for c in label[1:])
    return " " + label if mixed else m.group(0)


def clauses(text: str) -> list[list[str]]:
    """The reply's words for matching: a list of clauses, each a list of normalised tokens."""
    text = text[:MAX_MEANING_CHARS]
    if "." in text:
        text = _RUN_ON.sub(r"\1. ", text)
        text = _CLASS_NAME.sub(_class_name, text)
    if not text.islower():  # an upper-case letter somewhere (or no letter at all)
        text = _CAMEL.sub(_camel_words, text)
    text = fold(text)
    text = _URL.sub(" URL ", text)
    if "@" in text:
        text = _ADDRESS.sub(" ADDR ", text)
    if "'" in text or "\u2019" in text or "cannot" in text:
        for old, new in _CONTRACTIONS:
            text = text.replace(old, new)
    if "(s)" in text:
        text = _PLURAL_MARK.sub("s", text)
    out: list[list[str]] = []
    start = 0
    label = False  # the previous clause is a short label before a colon ("Name server:")
    for boundary in _BOUNDARY.finditer(text):
        words = tokens(text[start : boundary.start()])
        if words:
            if label and out:
                out[-1].extend(words)
            else:
                out.append(words)
        label = bool(words) and boundary.group(0) == ":" and len(out[-1]) <= MAX_LABEL
        start = boundary.end()
    words = tokens(text[start:])
    if words:
        if label and out:
            out[-1].extend(words)
        else:
            out.append(words)
    return out
