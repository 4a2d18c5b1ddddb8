"""Non-standard bounces: recipients and their diagnostic texts from an MTA's free text.

qmail, Exim, old Sendmail and Postfix, Exchange, Lotus Notes, Courier, OpenSMTPD, Gmail,
Yahoo, mail.ru, GMX and many appliances write a human-readable report instead of (or beside)
an RFC 3464 part. They share a shape: an introduction, then for each failed recipient its
address followed by the remote server's words, then a marker and a copy of the original
message. The decoder below reads that shape rather than one layout per vendor:

1. cut the text at the first marker of the returned original (or at the first block of
   original headers), so nothing in the quoted message is ever read;
2. find recipient lines (an address that starts a line, a Sendmail transcript line
   ``550 <a@b>... text``, ``RCPT TO:<a@b>`` followed by ``<<<`` replies, or a sentence such
   as "could not be delivered to <a@b>");
3. give each recipient the text up to the next recipient as its diagnostic, and the
   introduction when that is empty; read the SMTP stage from the MTA's wrapper words.

Amazon SES / SNS JSON notifications are decoded in :mod:`classifier.mail.ses`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..smtp import ENHANCED, find_enhanced, find_stage
from .dsn import ADDRESS_PATTERN, RecipientEvidence, clean_address

__all__ = [
    "cut_original",
    "decode_text_bounce",
    "guess_mta",
    "has_reply_code",
    "local_recipients",
    "looks_like_bounce_text",
    "looks_like_delay",
]

_ADDR = ADDRESS_PATTERN

#: Lines that introduce the returned original message (qmail, Exim, Postfix, Sendmail,
#: Gmail, Notes, Courier, OpenSMTPD, Exchange, Microsoft CDO, mail.ru, Yahoo, GMX, DragonFly ...).
_ORIGINAL_MARKERS = re.compile(
    r"""^[\s>|*=_-]*(?:
        below\ this\ line\ is\ a\ copy\ of\ the\ message
      | this\ is\ a\ copy\ of\ the\ message
      | (?:the\ )?original\ message\ (?:follows|headers?|is\ attached|as\ received)
      | -+\ ?original\ message\ ?-+
      | original\ message\ -{2,}
      | (?:the\ )?(?:original|returned|unsent|rejected)\ message(?:\ header)?s?\ ?
        (?:follows?|:|-{2,}|$)
      | message\ headers\ follow
      | headers\ of\ the\ original\ message
      | (?:a\ |the\ )?copy\ of\ (?:the\ |your\ )?(?:original\ )?message
      | below\ is\ a\ copy\ of\ the\ original\ message
      | unsent\ message\ follows
      | message\ text\ follows
      | text\ of\ the\ message\ follows
      | your\ message\ (?:reads|follows|was\ as\ follows)
      | original\ message\ header
      | returned\ message
      | undelivered\ message\ (?:headers\ )?follows
      | the\ header\ of\ the\ original\ message
      | received\ message\ (?:headers\ )?follows?
      | content-type:\ message/rfc822
      | original\ message\ headers:
      | old\ message:  # Microsoft CDO's non-delivery report
      | 元のメッセージ
      | исходное\ сообщение
    )""",
    re.IGNORECASE | re.VERBOSE,
)

#: Words of which every marker above contains one: a cheap test before the expression.
_MARKER_HINTS = ("message", "copy", "original", "content-type", "元のメッセージ", "исходное")

_ORIGINAL_HEADERS = frozenset(
    {
        "return-path",
        "received",
        "dkim-signature",
        "domainkey-signature",
        "message-id",
        "mime-version",
        "x-mailer",
        "authentication-results",
        "arc-seal",
        "date",
        "subject",
        "from",
        "to",
        "reply-to",
        "content-type",
        "user-agent",
        "x-originating-ip",
    }
)
#: A header field line, also as quoted with ">" (a returned original quoted like a reply).
_HEADER_LINE = re.compile(r"^(?:> ?)?([A-Za-z][A-Za-z0-9-]{1,40}):[ \t]?\S")


def cut_original(text: str) -> str:
    """The report part of a bounce text: everything before the quoted original message."""
    lines = text.splitlines(keepends=True)
    # The hints found anywhere in the text: a line can hold only those (no hint has a letter
    # whose lower case depends on its neighbours), and a text with none is not searched for
    # them line by line.
    whole = text.lower()
    hints = tuple(hint for hint in _MARKER_HINTS if hint in whole)
    offset = 0
    for index, line in enumerate(lines):
        if (
            index
            and hints
            and any(hint in line.lower() for hint in hints)
            and _ORIGINAL_MARKERS.match(line)
        ):
            return text[:offset]
        if ":" in line[:42] and _starts_header_block(lines, index):
            return text[:offset]
        offset += len(line)
    return text


def _starts_header_block(lines: list[str], index: int) -> bool:
    match = _HEADER_LINE.match(lines[index])
    if not match or match.group(1).lower() not in _ORIGINAL_HEADERS:
        return False
    known = 1
    for line in lines[index + 1 : index + 6]:
        other = _HEADER_LINE.match(line)
        if other and other.group(1).lower() in _ORIGINAL_HEADERS:
            known += 1
        elif not line.strip():
            break
    return known >= 3


# Recipient lines, most specific first.
_TRANSCRIPT_LINE = re.compile(
    rf"^\s*(?:<<<\s*)?([245]\d\d)[ -](?:[245]\.\d{{1,3}}\.\d{{1,3}}\s+)?<?({_ADDR})>?\.\.\.\s*(.*)$"
)
_RCPT_COMMAND = re.compile(rf"^\s*>>>\s*RCPT\s+TO:\s*<?({_ADDR})>?", re.IGNORECASE)
_RCPT_DETAIL = re.compile(
    rf"^\s*(?:RCPT\s+TO|Envelope-To|Recipient(?:\s+address)?)\s*:\s*<?({_ADDR})>?", re.IGNORECASE
)
_LEADING_ADDRESS = re.compile(
    rf"^\s{{0,12}}(?:\d+[.)]\s+|[*•-]{{1,2}}\s+)?[<\x22\[]?(?i:mailto:|smtp:)?({_ADDR})[>\x22\]]?"
    rf"(?:\s*\(([^)]{{0,200}})\))?(?:<mailto:[^>]{{0,200}}>)?(.*)$"
)
#: A labelled line whose value is one address: "Intended recipient: a@b", "Error-for: a@b",
#: "Invalid final delivery userid: a@b", "Recipient: [SMTP:a@b]", "Delivery failed 20
#: attempts: a@b" (SMTP32, LSMTP, USA.NET, HotPOP, MailEnable ...).
_LABELLED_ADDRESS = re.compile(
    rf"^\s{{0,12}}(?:[*•-]{{1,2}}\s*)?([A-Za-z][\w ./()-]{{0,40}}?)\s*:\s*[\[<\x22]?(?i:smtp:)?"
    rf"({_ADDR})[\]>\x22]?\s*[.;,]?\s*$"
)
#: Labels of such lines that name the sending side or the original's headers, not a recipient.
_SENDER_LABEL = re.compile(
    r"(?:^|[\s-])(?:from|to|cc|bcc|sender|reply-to|return-path|errors-to|contact|by|owner|"
    r"admin|administrator|postmaster|list|x-[\w-]+)$",
    re.IGNORECASE,
)
_SENTENCE_ADDRESS = re.compile(
    rf"""(?:\b(?:to|for)\b:?\s*(?:address\s*)?<({_ADDR})>
        | \b(?:recipient|address|user|mailbox|rcpt)\b:?\s*(?:address\s*)?<?({_ADDR})
        | <({_ADDR})>\s*(?::|\.{{3}}|,|\s|$)
        | \b(?:deliver(?:ed|ing|y)?|undeliverable|sent|send|reach|addressed)\s+
          (?:[\w-]{{1,20}}\s+){{0,2}}?to\s+[\x22']?<?({_ADDR})
        | \bSMTP[:=]<?({_ADDR})
        | \bwas\ addressed,\s*<?({_ADDR})
        )""",
    re.IGNORECASE | re.VERBOSE,
)
#: An alias note after a recipient: Exim's "(generated from a@b)", Sendmail's and Postfix's
#: "(expanded from: <a@b>)". The address inside is the one the sender used.
_ALIAS_OF = re.compile(
    rf"\((?:ultimately\s+)?(?:generated|expanded)\s+from:?\s*<?({_ADDR})>?", re.IGNORECASE
)
#: A comment after an address that notes where it came from, not why it failed.
_ALIAS_NOTE = re.compile(r"(?:ultimately\s+)?(?:generated|expanded)\s+from\b", re.IGNORECASE)
#: A line that only says what an address was generated from ("an undisclosed address").
_ALIAS_LINE = re.compile(
    rf"^\s*(?:an\s+undisclosed\s+address\s*)?\((?:ultimately\s+)?generated\s+from:?\s*<?({_ADDR})>?",
    re.IGNORECASE,
)
#: Words that introduce the sender of the returned message, not a recipient
#: ("A message sent by <a@b> could not be delivered", "message from a@b").
_INTRODUCES_SENDER = re.compile(
    r"(?:\b(?:sent|written|submitted|posted)\s+by|\bmessage\s+from|\bfrom)\s*:?\s*[<\x22]?$",
    re.IGNORECASE,
)
_NOT_RECIPIENT = re.compile(
    r"^(?:mailer-daemon|postmaster|root|no-?reply|do-?not-?reply|abuse|support|help)@",
    re.IGNORECASE,
)

_REPLY_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?:[ -]|$)(?:\s*([245]\.\d{1,3}\.\d{1,3}))?")
_FAILURE_BASIC = re.compile(r"(?<![\d.])[45]\d\d(?:[ -]|$)", re.MULTILINE)

#: Boilerplate lines that say nothing about the failure and must not be classified.
_BOILERPLATE = re.compile(
    r"^\s*(?:giving up on \S+\.?|"
    r"for further assistance,? please .*|please include this problem report.*|"
    r"the mail system\s*|if you do so, please include.*|delete your own text.*|"
    r"this is a permanent error;? i've given up\.? sorry it didn't work out\.?|"
    r"-{3,}.*|={3,}.*|\*{3,}.*)$",
    re.IGNORECASE,
)


_BOUNCE_PROSE = re.compile(
    r"could not be delivered|undeliverable|unable to deliver|delivery (?:has )?failed|"
    r"permanent (?:fatal )?errors?|did not reach|could not be reached|rejected your message|"
    r"failed permanently|returned mail|not be delivered|delivery to the following|"
    r"was not delivered|couldn't be delivered|message could not|mail delivery failed|"
    r"no such user|user unknown|unknown user|user not (?:known|found)",
    re.IGNORECASE,
)


_DELAY_PROSE = re.compile(
    r"has not yet been delivered|this is a warning message only|delivery attempts will continue|"
    r"will (?:continue|keep) (?:trying|to try)|is only a temporary failure report|"
    r"message will be retried|delay reason:|has been delayed|delivery is delayed|"
    r"you do not need to resend|still trying to deliver",
    re.IGNORECASE,
)


def looks_like_delay(text: str) -> bool:
    """Is the report a delay warning (still retrying) rather than a failure?"""
    return bool(_DELAY_PROSE.search(text))


def looks_like_bounce_text(text: str) -> bool:
    """Does the report part of a text say that delivery failed?"""
    return bool(_BOUNCE_PROSE.search(cut_original(text[:50_000])))


def has_reply_code(text: str) -> bool:
    """Does the text carry an SMTP reply code or an enhanced status code?"""
    return find_enhanced(text) is not None or _REPLY_CODE.search(text) is not None


def _clean_segment(lines: Iterable[str]) -> str:
    kept = [ln.strip() for ln in lines if ln.strip() and not _BOILERPLATE.match(ln)]
    return "\n".join(kept)


def _candidates(
    lines: list[str], excluded: set[str], sender_side: set[str]
) -> list[tuple[int, str, str]]:
    """(line index, recipient, inline text) for each recipient line, most specific kind."""
    transcript: list[tuple[int, str, str]] = []
    leading: list[tuple[int, str, str]] = []
    for index, line in enumerate(lines):
        if "@" not in line:
            continue  # every recipient line names an address
        if _introduces_sender(lines, index):
            continue
        match = _TRANSCRIPT_LINE.match(line)
        if match:
            address = clean_address(match.group(2))
            if address and address not in excluded:
                transcript.append((index, address, line.strip()))
            continue
        match = _RCPT_COMMAND.match(line)
        if match:
            address = clean_address(match.group(1))
            if address and address not in excluded:
                transcript.append((index, address, ""))
            continue
        match = _RCPT_DETAIL.match(line)
        if match:
            address = clean_address(match.group(1))
            if address and address not in excluded:
                leading.append((index, address, ""))
            continue
        match = _LABELLED_ADDRESS.match(line)
        if match and not _SENDER_LABEL.search(match.group(1).strip()):
            address = clean_address(match.group(2))
            if address and address not in sender_side and not _NOT_RECIPIENT.match(address):
                # The label may be the reason itself ("User mailbox exceeds allowed size: a@b").
                leading.append((index, address, match.group(1).strip()))
            continue
        match = _ALIAS_LINE.match(line)
        if match:
            # "(generated from a@b)" names its own recipient unless it notes the line above.
            address = clean_address(match.group(1))
            noted = leading and leading[-1][0] >= index - 3
            if address and address not in excluded and not noted:
                leading.append((index, address, ""))
            continue
        match = _LEADING_ADDRESS.match(line)
        if match:
            address = clean_address(match.group(1))
            rest = match.group(3).strip().lstrip(":;,.- ").strip()
            comment = (match.group(2) or "").strip()
            if comment and not _ALIAS_NOTE.match(comment):
                # "a@b (user not found)": the comment is the reason (GroupWise, Novell).
                rest = f"{comment} {rest}".strip()
            if not address or address in excluded:
                continue
            if address in sender_side and not has_reply_code("\n".join(lines[index : index + 4])):
                continue  # our own sender named in a greeting ("a@b 様", "Dear a@b")
            leading.append((index, address, rest))
    if transcript:
        # A transcript names its recipients; a listed address without a transcript line
        # (Sendmail's "(reason: ...)" list) still counts.
        named = {address for _, address, _ in transcript}
        extra = [item for item in leading if item[1] not in named]
        return sorted(transcript + extra)
    if leading:
        return leading
    sentence: list[tuple[int, str, str]] = []
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        for match in _SENTENCE_ADDRESS.finditer(line):
            if _INTRODUCES_SENDER.search(line[: match.start()].rstrip()[-40:]):
                continue
            raw = next(g for g in match.groups() if g)
            address = clean_address(raw)
            if address and address not in sender_side and not _NOT_RECIPIENT.match(address):
                sentence.append((index, address, line.strip()))
                break
    return sentence


def _introduces_sender(lines: list[str], index: int) -> bool:
    """Is the address that starts this line the sender, introduced by the line above?"""
    for previous in reversed(lines[max(0, index - 2) : index]):
        if previous.strip():
            return bool(_INTRODUCES_SENDER.search(previous.rstrip()[-40:]))
    return False


def _aliases(lines: list[str]) -> dict[str, str]:
    """Recipient → the address it was generated or expanded from, where a note says so.

    The note follows the address on its line or on the more indented lines below it.
    """
    out: dict[str, str] = {}
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        match = _LEADING_ADDRESS.match(line) or _TRANSCRIPT_LINE.match(line)
        if not match:
            continue
        address = clean_address(match.group(2 if match.re is _TRANSCRIPT_LINE else 1))
        indent = len(line) - len(line.lstrip())
        block = [line.strip()]
        for below in lines[index + 1 : index + 4]:
            if not below.strip() or len(below) - len(below.lstrip()) <= indent:
                break
            block.append(below.strip())
        alias = _ALIAS_OF.search(" ".join(block))
        original = clean_address(alias.group(1)) if alias else ""
        if address and original and original != address:
            out.setdefault(address, original)
    return out


#: Sendmail's note under a listed address: "(reason: 553 Sender Policy Framework (SPF) fail)".
_REASON_NOTE = re.compile(r"^\s*\(reason:\s*(.{1,500})\)\s*$", re.IGNORECASE)


def _sendmail_reasons(lines: list[str]) -> dict[str, str]:
    """Address → the remote's reply Sendmail notes under it in its list of failed addresses.

    Only a note that the transcript shows the remote saying ("<<< 553 ..."): without one the
    note is Sendmail's own short form of its summary line, which says more.
    """
    out: dict[str, str] = {}
    said = {ln.strip()[3:].strip() for ln in lines if ln.lstrip().startswith("<<<")}
    for index, line in enumerate(lines):
        match = _REASON_NOTE.match(line)
        if match is None or match.group(1).strip() not in said:
            continue
        for above in reversed(lines[max(0, index - 3) : index]):
            leading = _LEADING_ADDRESS.match(above)
            if leading is not None and not _REASON_NOTE.match(above):
                address = clean_address(leading.group(1))
                if address:
                    out.setdefault(address, match.group(1).strip())
                break
    return out


def _merge_consecutive(found: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """One entry per run of the same address ("<a@b>: host x said: 550 <a@b>: ...")."""
    out: list[tuple[int, str, str]] = []
    for item in found:
        if out and out[-1][1] == item[1]:
            continue
        out.append(item)
    return out


def decode_text_bounce(
    text: str,
    *,
    excluded: Iterable[str] = (),
    sender_side: Iterable[str] = (),
    decoded_by: str = "text",
    cut: bool = True,
) -> list[RecipientEvidence]:
    """Recipients and their diagnostic texts from the free text of a bounce.

    ``excluded`` lists addresses that are never recipients (the bounce's own From);
    ``sender_side`` those not taken from running prose (the bounce's To, i.e. our sender).
    ``cut``: the returned original is cut off first (``cut_original``); False when ``text``
    is already its result (cutting again would give the same text).
    """
    report = cut_original(text) if cut else text
    lines = report.splitlines()
    excluded_set = {clean_address(a) for a in excluded} - {""}
    sender_set = excluded_set | ({clean_address(a) for a in sender_side} - {""})
    found = _merge_consecutive(_candidates(lines, excluded_set, sender_set))
    if not found:
        return []
    first = found[0][0]
    intro = _clean_segment(lines[:first])
    # The introduction stands for a recipient's diagnostic only with a failure code of its
    # own: a subject quoted in it ("RELEASED Mailman 2.0.12") carries no status.
    intro_has_code = any(m.group(1) in "45" for m in ENHANCED.finditer(intro)) or bool(
        _FAILURE_BASIC.search(intro)
    )
    action = "delayed" if looks_like_delay(report) else "failed"
    aliases = _aliases(lines)
    reasons = _sendmail_reasons(lines)
    by_recipient: dict[str, RecipientEvidence] = {}
    order: list[str] = []
    for position, (index, address, written) in enumerate(found):
        end = found[position + 1][0] if position + 1 < len(found) else len(lines)
        body = lines[index + 1 : end]
        inline = written
        if inline and _TRANSCRIPT_LINE.match(lines[index]):
            body = []  # a Sendmail transcript line is the whole diagnostic for its address
            said = reasons.get(address, "")
            if said and not lines[index].lstrip().startswith("<<<") and said != inline:
                # Sendmail's own summary line ("550 5.1.1 a@b... User unknown") restates the
                # remote's reply in its own words; the "(reason: ...)" is what the remote said.
                inline = said
        elif lines[index].lstrip().startswith(">>>"):
            # Sendmail transcript: the replies follow the command as "<<< " lines.
            body = [ln for ln in body if not ln.lstrip().startswith(">>>")]
        segment = _clean_segment([inline, *body])
        context = "\n".join(lines[max(0, index - 2) : end])
        if has_reply_code(segment):
            diagnostic = segment
        elif intro_has_code:
            diagnostic = _clean_segment([intro, segment])
        else:
            diagnostic = segment if len(segment) >= 8 else _clean_segment([segment, intro])
        # Report the address the sender used; the one it was expanded to is kept beside it.
        alias = aliases.get(address, "")
        used, final = (alias, address) if alias and alias not in excluded_set else (address, "")
        record = RecipientEvidence(
            recipient=used,
            final_recipient=final,
            action=action,
            diagnostic=diagnostic,
            stage=find_stage(context),
            decoded_by=decoded_by,
        )
        previous = by_recipient.get(used)
        if previous is None:
            by_recipient[used] = record
            order.append(used)
        elif has_reply_code(record.diagnostic) and not has_reply_code(previous.diagnostic):
            by_recipient[used] = record
    return [by_recipient[a] for a in order]


#: Signature phrases of the MTAs whose text bounces are read here; only used to name the
#: decoder in results (``decoded_by``), never to decide a code.
_SIGNATURES: tuple[tuple[str, str], ...] = (
    ("this is the qmail-send program", "qmail"),
    ("qmail", "qmail"),
    ("dragonfly mail agent", "dragonfly"),
    ("this message was created automatically by mail delivery software", "exim"),
    ("the following address(es) failed", "exim"),
    ("transcript of session follows", "sendmail"),
    ("this is the mail system at host", "postfix"),
    ("the postfix program", "postfix"),
    ("the mail system", "postfix"),
    ("diagnostic information for administrators", "exchange"),
    ("microsoft exchange", "exchange"),
    ("could not be reached", "exchange"),
    ("technical details of permanent failure", "gmail"),
    ("delivery to the following recipient", "gmail"),
    ("sorry, we were unable to deliver your message", "yahoo"),
    ("failure reasons", "lotus-notes"),
    ("lotus", "lotus-notes"),
    ("courier mail server", "courier"),
    ("this is the mailer-daemon, please do not reply", "opensmtpd"),
    ("mail.ru", "mail.ru"),
    ("gmx", "gmx"),
    ("sendgrid", "sendgrid"),
    ("amazonses", "amazon-ses"),
)


def guess_mta(text: str, sender: str = "") -> str:
    """A name for the software that wrote a text bounce ("text" when unknown)."""
    low = text[:20_000].lower()
    sender_low = sender.lower()
    for needle, name in _SIGNATURES:
        if needle in low or needle in sender_low:
            return f"text/{name}"
    return "text"


#: The end of a sentence that introduces a list of recipients ("Your mail to the following
#: recipients could not be delivered because they are not accepting mail from a@b:").
_LIST_INTRO = re.compile(
    r"\b(?:following|these)\s+(?:recipients?|addresses|users?)\b[^\n]{0,300}:\s*$", re.IGNORECASE
)
#: A line that is only a name: a local part without its domain.
_LOCAL_NAME = re.compile(r"^\s{0,12}([A-Za-z0-9][A-Za-z0-9._+-]{0,63})\s*$")
_MAX_LOCAL_NAMES = 100


def local_recipients(report: str, domain: str) -> tuple[list[str], str]:
    """Recipients a bounce lists by name only, at ``domain``, and the sentence introducing them.

    AOL names its members by screen name alone, one a line after the sentence that gives the
    reason; the mailbox is the name at the domain whose mailer daemon wrote the bounce.
    Returns ([], "") unless such a list follows such a sentence.
    """
    lines = report.splitlines()
    for index, line in enumerate(lines):
        if ":" not in line or not _LIST_INTRO.search(line):
            continue
        names: list[str] = []
        ended = True  # the list runs to the end of the report or to a blank line
        for below in lines[index + 1 :]:
            match = _LOCAL_NAME.match(below)
            if match is None:
                if below.strip():
                    # Prose right below a name: a display name and its explanation
                    # (Exchange), not a list of mailbox names.
                    ended = not names
                    break
                if names:
                    break
                continue
            names.append(f"{match.group(1).lower()}@{domain}")
            if len(names) >= _MAX_LOCAL_NAMES:
                break
        if names and ended:
            return list(dict.fromkeys(names)), line.strip()
    return [], ""
