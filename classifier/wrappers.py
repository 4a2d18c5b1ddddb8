"""Unwrapping a reply from every shape but a bare one-line reply: DSN fields, Postfix, Exim,
Sendmail and qmail log text, transcripts, client-library and Exchange prose.

``reply.parse_reply`` reads the commonest shape itself and hands every other one to
``parse_general``; the result is the same ``ParsedReply`` either way (a test proves it).
"""

from __future__ import annotations

import re
from typing import Final

from .enums import Stage
from .reply import IN_REPLY_TO, MAX_TEXT, ParsedReply, decode, parsed_reply
from .smtp import enhanced_status, find_enhanced, stage_from_words, stage_of

__all__ = ["parse_general", "reported_action"]

#: Members read on every call, held as globals (an enum member on its class costs more).
_UNKNOWN: Final = Stage.UNKNOWN

# Control characters (NUL, escapes, ...) become spaces; tabs and line ends are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")


def _squash(text: str) -> str:
    """Collapse every run of white space to one space (faster than a regex substitution)."""
    return " ".join(text.split())


# A reply line: basic code, separator, optional enhanced status.
_LINE = re.compile(
    r"^[ \t]*([2-5][0-9][0-9])(?:([ -])|:(?= )|$)[ \t]*"
    r"(?:([245])\.([0-9]{1,3})\.([0-9]{1,3})(?![0-9.]))?"
)
# A code standing alone inside a wrapper, after a colon: "...: 550 5.1.1 text". What may
# stand before it (the start, [:;>] and white space, " - ", a quote) is checked by
# _embedded_reply around each code found: a search led by that alternation would try it at
# every position of the text.
# A reply code's second digit is 0-5 (RFC 5321 §4.2.1), or 7 as some servers send (571): so
# the submission ports after a host ("smtp.example.com:587 timed out") are not read as one.
# A continuation's dash may stand before a space when the lines were flattened ("refused to
# talk to me: 554- (RTR:DU) http://…", AOL's banner as Postfix logged it).
_EMBEDDED_CODE = re.compile(r"[2-5][0-57][0-9](?:[ -]|- )(?=\S)")
#: What may stand right before an embedded reply: a label's colon, a quote, a key's "="
#: ("response=421-4.7.0 Try again later", as client libraries log it), an opening bracket
#: followed by an enhanced status ("SMTP DATA error (503 5.5.1 RCPT first)"; not "(512 bytes
#: written)").
_BEFORE_CODE = frozenset(":;>'\"=(")
_ENHANCED_NEXT = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}\s")

_DSN_FIELD = re.compile(r"(?im)^[ \t]*diagnostic-code[ \t]*:[ \t]*((?:.*)(?:\r?\n[ \t]+.*)*)")
_DSN_STATUS = re.compile(r"(?im)^[ \t]*status[ \t]*:[ \t]*([245])\.([0-9]{1,3})\.([0-9]{1,3})")

# A DSN's per-recipient Action field (RFC 3464 §2.3.3) and the Status beside it, also where a
# pasted block was flattened to one line ("... Action: delayed Status: 4.4.1").
_DSN_ACTION = re.compile(
    r"(?i)(?<![\w-])action:[ \t]*(failed|delayed|delivered|relayed|expanded)\b"
)
_DSN_STATUS_ANY = re.compile(
    r"(?i)(?<![\w-])status[ \t]*:[ \t]*([245]\.[0-9]{1,3}\.[0-9]{1,3})(?![0-9.])"
)


# A text bounce's own statement that the failure is final: qmail-send's "This is a permanent
# error; I've given up." and Exim's "This is a permanent error. The following address(es)
# failed:". Said above a temporary reason, it is the MTA giving up (as Action: failed is).
_FINAL_BOUNCE = re.compile(
    r"(?i)this is a permanent error[;.,]?\s++(?:i've given up|the following address\(es\) failed)"
)


# A delay notice's own words: Postfix's "THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND
# YOUR MESSAGE.", Sendmail's "THIS IS A WARNING MESSAGE ONLY" and Exim's "Delay reason:" line:
# the MTA is still trying (as Action: delayed says), whatever failure it quotes.
_WARNING_ONLY = re.compile(r"THIS IS A WARNING (?:MESSAGE )?ONLY|(?m:^[ \t]*Delay reason:)", re.I)


def reported_action(data: str | bytes) -> tuple[str, str] | None:
    """The Action (and Status, "" when absent) of a delivery report block inside ``data``:
    what the reporting MTA did with the recipient. None when there is no Action field, or
    when the block reports recipients with different actions (nothing to say of one). A text
    bounce that calls its failure permanent (qmail-send, Exim) reports ``failed``; a delay
    notice's "THIS IS A WARNING ONLY" banner (Postfix, Sendmail) or "Delay reason:" (Exim)
    reports ``delayed``."""
    text = data[:MAX_TEXT] if isinstance(data, str) else bytes(data[:MAX_TEXT]).decode("latin-1")
    actions = (
        {m.group(1).lower() for m in _DSN_ACTION.finditer(text)}
        if "ction:" in text or "CTION:" in text
        else set()
    )
    if (
        not actions
        and ("WARNING" in text or "Delay reason" in text)
        and _WARNING_ONLY.search(text) is not None
    ):
        actions = {"delayed"}
    if not actions and _FINAL_BOUNCE.search(text) is not None:
        actions = {"failed"}
    if len(actions) != 1:
        return None
    statuses = {m.group(1) for m in _DSN_STATUS_ANY.finditer(text)}
    return actions.pop(), statuses.pop() if len(statuses) == 1 else ""


# A line that goes on with a multi-line reply: "550-text" or the last one, "550 text".
_DSN_REPLY_LINE = re.compile(r"\r?\n([2-5][0-9][0-9][ -][^\n]*+)")
#: Continuation lines of a Diagnostic-Code read at most (a reply is rarely longer).
MAX_REPLY_LINES = 64
_DIAG_TYPE = re.compile(r"^[ \t]*(smtp|x-[a-z0-9-]+|mta|esmtp|lmtp|x400|unix)[ \t]*;[ \t]*", re.I)
# Every pattern below reads untrusted text: each is linear (no two repeats that can share
# characters, possessive where a run could be split) or bounded, and where an unanchored
# search could restart on every occurrence of its head, the helper that uses it restarts
# only after the text already ruled out (tests/test_reply_linear.py feeds each 64 KiB of
# adversarial filler).

# Postfix's "status=bounced (text)": the text runs to the last ")" of the input.
_POSTFIX_STATUS = re.compile(
    r"\bstatus=(sent|deferred|bounced|expired|undeliverable|deliverable|softbounce)\s*+\("
)
_SAID = re.compile(r"^host ([^\s\[]+)(?:\[[^\]]*\](?::\d+)?)? said:\s*", re.I)
_REFUSED_TALK = re.compile(
    r"^host ([^\s\[]+)(?:\[[^\]]*\](?::\d+)?)? refused to talk to me:\s*", re.I
)
# A host name is at most 255 octets (RFC 1035 §2.3.4), an address in brackets far less.
_LOST = re.compile(
    r"^(?:lost connection with|conversation with) (\S{1,255}?)(?:\[[^\]]{0,64}+\](?::\d+)?)?"
    r"(?: timed out)? while (.+)",
    re.I | re.S,
)
_SUSPENDED = re.compile(r"^delivery temporarily suspended:\s*", re.I)
#: How Postfix's reasons begin, as mailq shows them in brackets.
_MAILQ_REASONS = (
    "delivery temporarily suspended:",
    "host ",
    "connect to ",
    "lost connection with ",
    "conversation with ",
)
# Postfix bounce text starts with the recipient: "<a@b> (expanded from <c@d>): ...".
_RCPT_PREFIX = re.compile(r"^<[^<>\s]*>(?: \(expanded from <[^<>\s]*>\))?:\s*")
_CONNECT_TO = re.compile(r"^connect to ([^\s\[]+?)(?:\[[^\]]*\](?::\d+)?)?:\s*", re.I)
_SERVER_REFUSED = re.compile(r"^server refused to talk to me:\s*", re.I)
# The stage words, the address and the rest of the command line before ":" are bounded (a
# path is at most 256 octets, a command line 512: RFC 5321 §4.5.3.1), so each occurrence of
# the head costs a bounded scan, whatever follows.
_EXIM = re.compile(
    r"SMTP error from remote (?:mail server|mailer) after (?>((?:pipelined )?(?:end of data|"
    r"initial connection|MAIL FROM|RCPT TO|[a-z]{1,32}+)))(?::?\s{0,8}+<[^>]{0,512}+>)?"
    r"[^:\n]{0,512}+:\s*+(?:host (\S++) \[[^\]]*+\]:\s*+)?",
    re.I,
)
# Postfix's own refusals as smtpd and cleanup log them: "NOQUEUE: reject: RCPT from
# host[addr]: 554 5.7.1 <a@b>: ...; from=<...> to=<...> proto=ESMTP helo=<...>", and a milter's
# "milter-reject: END-OF-MESSAGE from host[addr]: 4.7.1 Try again later; from=<...> ...".
_POSTFIX_REJECT = re.compile(
    r"\b(?:milter-reject|reject|reject_warning): (CONNECT|HELO|EHLO|MAIL|RCPT|DATA|"
    r"END-OF-MESSAGE|VRFY|ETRN|BDAT|header|body) from [^\s\[]{0,255}+\[[^\]]{0,64}+\]"
    r"(?::[0-9]{1,5})?: "
)
#: The fields Postfix appends to such a line, after the reply's words.
_POSTFIX_REJECT_FIELDS = ("; from=<", "; to=<", "; proto=", "; helo=<")
# PHPMailer's report of a refused command: "SMTP server error: DATA END command failed Detail:
# <the server's words> SMTP code: 554 Additional SMTP info: 5.7.1". The words run to " SMTP
# code:" (bounded: a reply line is at most 512 octets, a multi-line one a few of them).
_PHPMAILER = re.compile(
    r"SMTP server error: ([A-Z]{2,8}+(?: [A-Z]{2,8}+)?) command failed Detail: (.{0,2000}?)\s*+"
    r"SMTP code: ([2-5][0-9][0-9])(?:\s*+Additional SMTP info: ([245]\.[0-9]{1,3}\.[0-9]{1,3}))?",
    re.S,
)
_PHPMAILER_QUIT = "SMTP server error: QUIT command failed"
_SENDMAIL_STAT = re.compile(r"\bstat=(.*)$", re.I | re.S)
_SENDMAIL_DSN = re.compile(r"\bdsn=([245])\.([0-9]{1,3})\.([0-9]{1,3})", re.I)
# Sendmail's "reply=550 5.1.1 text" runs to the next ", field=" or the end of the input.
_SENDMAIL_REPLY = re.compile(r"\breply=[2-5][0-9][0-9][ -]", re.I)
_SENDMAIL_REPLY_END = re.compile(r",\s*+\w++=|\n|\Z")
_TRANSCRIPT_CMD = re.compile(r"(?m)^>>> ?([A-Za-z]+(?: [A-Za-z]+)?)")
_TRANSCRIPT_REPLY = re.compile(r"(?m)^<<< ?(.*)$")
# Exchange and client-library prose quoting the reply; the quote and white space closing it
# are cut by _quoted_remote (a lazy group before "\s*$" would rescan the tail).
_QUOTED_REMOTE = re.compile(
    r"(?:remote server returned|the response from the remote server was|"
    r"the error that the other server returned was|server replied|remote host said)"
    r"\s*+:?\s*+['\"]?\s*+([2-5][0-9][0-9][ -].*)",
    re.I | re.S,
)


# .NET's SmtpException: its own wording of the status code ("Mailbox unavailable.", localised),
# then the server's words after "The server response was:".
_CLIENT_RESPONSE = re.compile(
    r"(?:the server response was|a resposta do servidor foi|la r[eé]ponse du serveur [eé]tait"
    r"|la respuesta del servidor fue|服务器响应为)"
    r"\s*+:\s*+",
    re.I,
)
# Python smtplib's exceptions show the reply as a tuple: "(550, b'not relaying to that domain')";
# logs that print such tuples may quote the code and list the lines (Cisco AsyncOS: "Unknown
# address error ('501', ['5.5.4 Invalid Address'])").
_PY_REPLY = re.compile(r"\((['\"]?)([2-5][0-9][0-9])\1, \[?b?(['\"])")

# A bare single-line reply ("550 5.1.1 ...") that carries no wrapper or field to unwrap.
_BARE = re.compile(r"[2-5][0-9][0-9][ -](?![^\n]*(?:SMTP error from remote|status=|\n))")
_LATE_FAILURE = re.compile(r"(?:^|\s)([45][0-9][0-9])[ -](?:[45]\.[0-9]{1,3}\.[0-9]{1,3}\s)?")
_FOLD = re.compile(r"\r?\n[ \t]+")


def _dsn_reply_lines(text: str, pos: int) -> str:
    """The lines after a Diagnostic-Code field that go on with its multi-line reply ("550-..."
    at the start of a line, not indented as RFC 5322 folding would have them), joined."""
    more: list[str] = []
    while len(more) < MAX_REPLY_LINES:
        m = _DSN_REPLY_LINE.match(text, pos)
        if m is None:
            break
        more.append(m.group(1))
        pos = m.end()
    return "".join(" " + line for line in more)


def _unfold(text: str) -> str:
    """Undo header folding (CRLF/LF followed by white space)."""
    return _FOLD.sub(" ", text) if "\n" in text else text


def _split_reply(text: str) -> tuple[int | None, str | None, str]:
    """Strip per-line code prefixes; return (basic, enhanced, text on one line)."""
    basic: int | None = None
    enhanced: str | None = None
    if "\n" not in text and "\r" not in text:  # the common case: one line
        m = _LINE.match(text)
        if m is None:
            return None, None, text.strip()
        basic = int(m.group(1))
        if m.group(3):
            enhanced = enhanced_status(m.group(3), m.group(4), m.group(5))
        flat = text[m.end() :].strip()
    else:
        parts: list[str] = []
        for raw_line in text.splitlines():
            line = raw_line
            m = _LINE.match(line)
            if m is not None:
                code = int(m.group(1))
                if basic is None:
                    basic = code
                    if m.group(3):
                        enhanced = enhanced_status(m.group(3), m.group(4), m.group(5))
                if code == basic:
                    line = line[m.end() :]
            elif enhanced is not None and line.lstrip().startswith(enhanced + " "):
                # Client libraries strip "550-" but keep the enhanced status on every line.
                line = line.lstrip()[len(enhanced) + 1 :]
            if line.strip():
                parts.append(line.strip())
        flat = " ".join(parts)
    if basic is not None and flat:
        # Postfix flattens multi-line replies and keeps every "550-5.1.1 " prefix inside.
        prefix = f" {basic}-"
        if prefix in flat or (enhanced and f" {basic} {enhanced} " in flat):
            pat = rf"\s{basic}[ -](?:{re.escape(enhanced)}\s)?" if enhanced else rf"\s{basic}-"
            flat = re.sub(pat, " ", flat)
    return basic, enhanced, flat


#: A code a client says it got, within the first _GOT_REACH characters of its message
#: ("Expected smtp code 250, got 552", "Sending failed with error 550").
_GOT_CODE = re.compile(
    r"(?i)\b(?:got|responded with|error code:?|with error|smtp code:"
    r"|respondi[oó]|respondeu|respuesta|resposta)"
    r"(?: code)? [\"']?([2-5][0-9][0-9])(?![0-9.])"
)
_GOT_REACH = 400
#: A greeting or a closing (220, 221) that a client quotes or reports after its own words is
#: what it got instead of an answer ("Server rejected EHLO command. Response: 220-…", "but got
#: code "221", with message "221 Closing connection""), never a delivery: the words decide.
_NOT_AN_ANSWER = frozenset({220, 221})


def _embedded_reply(body: str) -> tuple[int, int]:
    """Where the first code standing alone in ``body`` starts with what stands before it
    (``(?:^|[:;>]\\s*|\\s-\\s|'|"|=)[2-5][0-9][0-9][ -](?=\\S)``), and where the code
    itself starts; (-1, -1) when there is none.

    Codes are found in order; the first with a valid head before it is the leftmost match
    (no head holds a digit, so a later code's head cannot start before an earlier code).
    Each white space run is read back once, so the scan is linear.
    """
    pos = 0
    while (m := _EMBEDDED_CODE.search(body, pos)) is not None:
        p = m.start()
        if p == 0:
            return 0, 0
        before = body[p - 1]
        if before in _BEFORE_CODE and not (
            (before == ":" and _place_before(body, p - 1))
            or (
                before == "("
                and _ENHANCED_NEXT.match(body, m.end()) is None
                and not _error_bracket(body, p - 1)
            )
        ):
            return p - 1, p
        if before.isspace():
            i = p - 2
            while i >= 0 and body[i].isspace():
                i -= 1
            if i >= 0 and body[i] in ":;>":
                return i, p
            if p >= 3 and body[p - 2] == "-" and body[p - 3].isspace():
                return p - 3, p
            # A code followed by an enhanced status of its own class is a reply wherever it
            # stands ("authentication error  504 5.7.4 Unrecognized authentication type").
            if (
                body[p + 3] == " "
                and body[m.end() : m.end() + 1] == body[p]
                and _ENHANCED_NEXT.match(body, m.end())
            ):
                return p - 1, p
        pos = p + 1
    return -1, -1


#: Names of a failure that a bracketed reply may follow without its enhanced status, and how
#: far back before the bracket they are read.
_ERROR_NAMES = ("error", "exception", "failure", "fatalerror")
_ERROR_NAME_REACH = 64


def _error_bracket(body: str, bracket: int) -> bool:
    """Whether the "(" at ``bracket`` opens the whole text or follows the name of an error or
    exception ("Net::SMTPFatalError (553 Recipient domain not specified."): what it holds is
    what the server said, not a count ("(512 bytes written)")."""
    head = body[max(bracket - _ERROR_NAME_REACH, 0) : bracket].rstrip().lower()
    return not head or head.endswith(_ERROR_NAMES)


#: How far back a name joined to a colon is read ("mailer.go:201", "mx.example.com:250").
_PLACE_REACH = 64


def _place_before(body: str, colon: int) -> bool:
    """Whether the colon at ``colon`` joins a file or host name to a number (``mailer.go:201``,
    a source line; ``host:250``-like ports): a place, not a label before a reply."""
    i = colon - 1
    stop = max(colon - _PLACE_REACH, -1)
    while i > stop and not body[i].isspace() and body[i] not in "[(<\"'":
        if body[i] in "./\\":
            return i < colon - 1
        i -= 1
    return False


def _bracketed(text: str) -> bool:
    """Whether ``text`` is one bracketed whole: its first "(" closes at its last character."""
    if not text.endswith(")"):
        return False
    depth = 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


#: The class each Postfix delivery status states, for a log line without its dsn=.
_POSTFIX_STATUS_CLASS: Final = {
    "sent": "2.0.0",
    "deliverable": "2.0.0",
    "deferred": "4.0.0",
    "softbounce": "4.0.0",
    "bounced": "5.0.0",
    "expired": "5.0.0",
    "undeliverable": "5.0.0",
}


#: qmail-send's "delivery N: RESULT: report" log line, and the class each result says.
_QMAIL_DELIVERY = re.compile(r"(?i)\bdelivery [0-9]{1,12}: (success|deferral|failure): ?")
_QMAIL_RESULT_CLASS: Final = {"success": "2.0.0", "deferral": "4.0.0", "failure": "5.0.0"}


def _postfix_status(text: str) -> tuple[str, str] | None:
    """The status word and text of Postfix's ``status=… (text)``: from the first such head
    to the input's last ")" (only white space may follow it), or None."""
    close = len(text.rstrip()) - 1
    if close < 0 or text[close] != ")":
        return None
    m = _POSTFIX_STATUS.search(text, 0, close)
    return None if m is None else (m.group(1), text[m.end() : close])


def _quoted_remote(text: str) -> str | None:
    """The reply quoted after "Remote Server returned", without the closing quote and space."""
    m = _QUOTED_REMOTE.search(text)
    if m is None:
        return None
    head, tail = m.group(1)[:4], m.group(1)[4:].rstrip()
    return head + (tail[:-1] if tail[-1:] in ("'", '"') else tail)


def _sendmail_reply(text: str) -> str | None:
    """The first ``reply=NNN text`` whose text ends at a ", field=" or at the end of the
    input (the last line), or None.

    Once one occurrence finds its line ending first, every later one on that line would too:
    the search goes on from the next line, so the text is scanned once.
    """
    pos = 0
    while (m := _SENDMAIL_REPLY.search(text, pos)) is not None:
        start = m.start() + 6
        end = _SENDMAIL_REPLY_END.search(text, m.end())
        assert end is not None  # \Z always matches
        if end.group() != "\n" or end.start() == len(text) - 1:
            return text[start : end.start()]
        pos = end.end()
    return None


def _finish(
    body: str,
    stage: Stage,
    wrapper: str,
    host: str | None,
    truncated: bool,
    status: str | None = None,
) -> ParsedReply:
    """Split codes from the remote's words and build the ParsedReply."""
    at = body.rfind("(in reply to ")
    m = IN_REPLY_TO.match(body, at - 1 if at > 0 else 0) if at >= 0 else None
    if m is not None:
        if stage is _UNKNOWN:
            stage = stage_from_words(m.group(1))
        body = body[: m.start()]
    basic, enhanced, flat = _split_reply(body)
    if basic is not None and basic < 300:
        # A greeting continuation ("220-host ...") followed by a refusal: the refusal is the
        # reply ("220-laposte 421 4.2.1 Service refuse").
        late = _LATE_FAILURE.search(flat)
        if late is not None:
            basic, enhanced, flat = _split_reply(flat[late.start(1) :])
    if basic is None:
        # Codes embedded after a wrapper we do not know: "...: 550 5.1.1 user unknown".
        head, code = _embedded_reply(body)
        if 0 <= head < 400:
            b2, e2, flat2 = _split_reply(body[code:])
            if b2 is not None and b2 not in _NOT_AN_ANSWER:
                if body[head] == "(" and flat2.endswith(")") and "(" not in flat2:
                    flat2 = flat2[:-1].rstrip()  # the bracket that held the reply
                basic, enhanced, flat = b2, e2, flat2
    if basic is None:
        # A client's own report of the code it got ("Expected smtp code 250, got 552",
        # "Server responded with 550 esmtp: protocol deviation"); its words stay as they are.
        got = _GOT_CODE.search(body, 0, _GOT_REACH)
        if got is not None and int(got.group(1)) not in _NOT_AN_ANSWER:
            basic = int(got.group(1))
    if enhanced is None:
        enhanced = find_enhanced(flat)
    consistent = basic is None or enhanced is None or str(basic)[0] == enhanced[0]
    flat = _squash(flat)[:MAX_TEXT]
    return parsed_reply(basic, enhanced, consistent, flat, stage, wrapper, host, truncated, status)


def _or(given: Stage, read: Stage) -> Stage:
    """The caller's stage when given, else the one the wrapper's words tell."""
    return given if given is not _UNKNOWN else read


def _no_reply(
    text: str, stage: Stage, wrapper: str, host: str, truncated: bool, hint: str | None
) -> ParsedReply:
    """An MTA's own words about a connection that gave no reply: no codes to split off."""
    return ParsedReply(
        basic=None,
        enhanced=None,
        consistent=True,
        text=_squash(text)[:MAX_TEXT],
        stage=stage,
        wrapper=wrapper,
        remote_host=host,
        truncated=truncated,
        status=hint,
    )


def parse_general(data: str | bytes, stage: Stage | str | None = None) -> ParsedReply:
    """The general path of parse_reply: every wrapper and shape."""
    text, truncated = decode(data)
    if not text.isprintable() and _CONTROL.search(text) is not None:
        text = _CONTROL.sub(" ", text)
    text = text.strip()
    given = stage_of(stage)
    if _BARE.match(text) is not None:
        # A reply as the server sent it: no wrapper to look into.
        return _finish(text, given, "raw", None, truncated)
    wrapper = "raw"
    hint: str | None = None

    low = text.lower()
    if "diagnostic-code" in low:
        m = _DSN_FIELD.search(text)
        if m is not None:
            s = _DSN_STATUS.search(text)
            hint = enhanced_status(s.group(1), s.group(2), s.group(3)) if s else None
            text = _unfold(m.group(1) + _dsn_reply_lines(text, m.end())).strip()
            low = text.lower()
            wrapper = "dsn"
    if "status=" in low:
        found = _postfix_status(text)
        if found is not None:
            word, inner = found
            # Postfix's own dsn= goes beside the words, never in place of the remote's codes;
            # without it, the status word still says the class (status=sent: delivered).
            dsn = _SENDMAIL_DSN.search(text) if hint is None and "dsn=" in low else None
            if dsn is not None:
                hint = enhanced_status(dsn.group(1), dsn.group(2), dsn.group(3))
            elif hint is None:
                hint = _POSTFIX_STATUS_CLASS[word]
            text = inner.strip()
            low = text.lower()
            wrapper = "postfix-log"
    if "delivery " in low and ": " in low:
        q = _QMAIL_DELIVERY.search(text)
        if q is not None:
            # qmail-send's log: the report after "delivery N: success:" with its spaces
            # written "_" and its line ends "/"; the result word says the class.
            if hint is None:
                hint = _QMAIL_RESULT_CLASS[q.group(1).lower()]
            text = text[q.end() :].replace("_", " ").replace("/", "\n").strip()
            low = text.lower()
            wrapper = "qmail-log"
    d = _DIAG_TYPE.match(text)
    if d is not None:
        if wrapper == "raw":
            wrapper = "dsn"
        text = _unfold(text[d.end() :]).strip()
        low = text.lower()
    if text.startswith("<"):
        m = _RCPT_PREFIX.match(text)
        if m is not None:
            text = text[m.end() :]
            low = text.lower()
    if wrapper != "raw" and _BARE.match(text) is not None:
        return _finish(text, given, wrapper, None, truncated, hint)
    if low.startswith("(") and low[1:].startswith(_MAILQ_REASONS) and _bracketed(text):
        # mailq shows a deferred message's reason in brackets: "(connect to …: timed out)".
        text = text[1:-1].strip()
        low = text.lower()
    while low.startswith("delivery temporarily suspended:"):
        text = _SUSPENDED.sub("", text, count=1).strip()
        low = text.lower()
    if low.startswith("host "):
        m = _SAID.match(text)
        if m is not None:
            return _finish(text[m.end() :], given, "postfix-said", m.group(1), truncated, hint)
        m = _REFUSED_TALK.match(text)
        if m is not None:
            st = _or(given, Stage.CONNECT)
            return _finish(text[m.end() :], st, "postfix-greeting", m.group(1), truncated, hint)
    if low.startswith("connect to "):
        m = _CONNECT_TO.match(text)
        if m is not None:
            rest = text[m.end() :]
            r = _SERVER_REFUSED.match(rest)
            if r is not None:
                st = _or(given, Stage.CONNECT)
                return _finish(rest[r.end() :], st, "postfix-greeting", m.group(1), truncated, hint)
            st = _or(given, Stage.CONNECT)
            return _no_reply(text, st, "postfix-connect", m.group(1), truncated, hint)
    if low.startswith(("lost connection with", "conversation with")):
        m = _LOST.match(text)
        if m is not None:
            st = _or(given, stage_from_words(m.group(2)))
            return _no_reply(text, st, "postfix-lost", m.group(1), truncated, hint)
    if "smtp error from remote" in low:
        m = _EXIM.search(text)
        if m is not None:
            st = _or(given, stage_from_words(m.group(1)))
            return _finish(text[m.end() :], st, "exim", m.group(2), truncated, hint)
    if "<<<" in text and ">>>" in text:
        replies = _TRANSCRIPT_REPLY.findall(text)
        cmds = _TRANSCRIPT_CMD.findall(text)
        if replies:
            st = _or(given, stage_from_words(cmds[-1]) if cmds else _UNKNOWN)
            last = [r for r in replies if r.strip()]
            return _finish("\n".join(last[-8:]), st, "transcript", None, truncated, hint)
    if "reject" in low and " from " in low:
        m = _POSTFIX_REJECT.search(text)
        if m is not None:
            rest = text[m.end() :]
            ends = [i for i in (rest.find(f) for f in _POSTFIX_REJECT_FIELDS) if i >= 0]
            body = rest[: min(ends)] if ends else rest
            st = _or(given, stage_from_words(m.group(1)))
            return _finish(body, st, "postfix-reject", None, truncated, hint)
    if "stat=" in low:
        m = _SENDMAIL_STAT.search(text)
        if m is not None:
            dsn = _SENDMAIL_DSN.search(text)
            rep = _sendmail_reply(text)
            body = rep if rep is not None else m.group(1)
            if dsn is not None:
                hint = enhanced_status(dsn.group(1), dsn.group(2), dsn.group(3))
            return _finish(body, given, "sendmail", None, truncated, hint)
    if "SMTP server error: " in text:
        m = _PHPMAILER.search(text)
        if m is not None:
            command, detail, code, extra = m.groups()
            read = stage_from_words(command)
            with_extra = extra and not detail.startswith(extra)
            body = f"{code} {extra} {detail}" if with_extra else f"{code} {detail}"
            return _finish(body, _or(given, read), "client", None, truncated, hint)
        quit_at = text.rfind(_PHPMAILER_QUIT)
        if quit_at > 0 and text[quit_at + len(_PHPMAILER_QUIT) :].strip(" .:") in ("", "Detail"):
            # PHPMailer's note that QUIT failed too, after the failure it reported: the
            # connection was already gone, and QUIT says nothing about the delivery.
            text = text[:quit_at].rstrip()
            low = text.lower()
    if (
        "response" in low
        or "resposta" in low
        or "respuesta" in low
        or "ponse du serveur" in low
        or "服务器响应" in text
    ):
        c = _CLIENT_RESPONSE.search(text)
        if c is not None:
            body = text[c.end() :]
            if not any(ch.isalpha() for ch in body[:64]):
                # The server said nothing: the client's own words name the code in RFC 5321's
                # stock text ("Syntax error, command unrecognized. The server response was: ").
                body = text[: c.start()]
            return _finish(body, given, "client", None, truncated, hint)
    if ", b'" in text or ', b"' in text or ", '" in text or ", ['" in text:
        p = _PY_REPLY.search(text)
        if p is not None:
            end = text.find(p.group(3) + ")", p.end())
            if end < 0:  # a log line cut inside the tuple: up to its last quote, or all
                end = text.rfind(p.group(3), p.end())
                end = len(text.rstrip()) if end < 0 else end
            if end > p.end():
                body = f"{p.group(2)} {text[p.end() : end]}"
                return _finish(body, given, "client", None, truncated, hint)
    if "remote" in low or "server" in low:
        quoted = _quoted_remote(text)
        if quoted is not None:
            return _finish(quoted, given, "ndr", None, truncated, hint)
    return _finish(text, given, wrapper, None, truncated, hint)
