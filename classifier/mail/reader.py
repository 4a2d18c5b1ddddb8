"""Read a mail message into per-recipient evidence: what kind of report it is, and who failed.

No classification happens here; :mod:`classifier.mail.message` turns the evidence into codes. The
order of the checks matters: a feedback report or an unsubscribe request can carry
``Auto-Submitted: auto-replied`` too, and a DSN may also paste its text into a plain part.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field, replace
from email.message import Message

from ..enums import MessageKind
from ..picklable import by_fields
from .dsn import (
    ADDRESS_PATTERN,
    RecipientEvidence,
    clean_address,
    looks_like_dsn_fields,
    parse_delivery_status,
)
from .feedback import (
    NOT_COMPLAINTS,
    auto_reply_reason,
    parse_feedback_report,
    unsubscribe_reason,
)
from .parts import (
    MAX_MESSAGE_BYTES,
    MAX_REPORT_CHARS,
    MAX_SECOND_READ_BYTES,
    MAX_TEXT_CHARS,
    TextPart,
    header,
    parse_message,
    text_parts,
)
from .ses import decode_ses_json
from .text_bounces import (
    cut_original,
    decode_text_bounce,
    guess_mta,
    has_reply_code,
    local_recipients,
    looks_like_bounce_text,
    looks_like_delay,
)

#: Kinds of an attached message that are no report about our recipients.
_NOT_REPORTS = frozenset({MessageKind.UNKNOWN, MessageKind.AUTO_REPLY, MessageKind.UNSUBSCRIBE})

__all__ = ["MessageEvidence", "read_message"]

#: Recipients reported per message; a report naming more is cut (and still cheap to read).
MAX_RECIPIENTS = 1000
#: Characters of the human-readable parts that are read: an MTA writes its report in the first
#: text part, and a message of many big text parts must not cost more than its parse.
MAX_BODY_CHARS = 2 * MAX_TEXT_CHARS
#: Attached messages read in search of an embedded report: a forwarded bounce is among the
#: first, and each one read may search its own (a message of hundreds must stay cheap).
MAX_ATTACHED_READ = 8
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADER_TYPES = frozenset(
    {"text/rfc822-headers", "message/rfc822-headers", "message/global-headers"}
)
_NULL_SENDER = re.compile(r"^[^<@]{0,200}<>\s*$")
_TAG = re.compile(r"<[^>]{0,2000}>")
_FORWARDED = re.compile(r"^\s*(?:fwd?|fw|tr|wg|rv|enc|i)\s*:", re.IGNORECASE)
_QUOTED = re.compile(r"(?m)^>[ >]?\S")
_UNQUOTE = re.compile(r"(?m)^> ?")
_ADDRESS = re.compile(ADDRESS_PATTERN)
_TO_FIELD = re.compile(r"(?im)^to:\s*(.+(?:\n[ \t].+)*)")
_RECEIVED_FIELD = re.compile(r"(?im)^received:.{0,2000}(?:\n[ \t].{0,2000}){0,10}")
_RECEIVED_FOR = re.compile(rf"\bfor\s+<?({ADDRESS_PATTERN})>?", re.IGNORECASE)
#: Headers of a message a mailing list distributed (RFC 2369, Mailman, Precedence).
_LIST_MARKS = ("List-Id", "List-Post", "List-Unsubscribe", "X-BeenThere", "Sender")
_LIST_MARK = re.compile(
    r"(?im)^(?:list-(?:id|post|unsubscribe)|x-beenthere|sender):|^precedence:\s*(?:list|bulk)"
)
#: Received headers of a returned original searched for the envelope recipient.
MAX_RECEIVED = 30
#: Characters of a pasted original searched for header fields.
_MAX_HEADER_SEARCH = 64_000


@dataclass(frozen=True, slots=True)
class MessageEvidence:
    """What one message reports, before classification.

    kind: bounce, feedback, auto_reply, unsubscribe, notification (SES delivery) or unknown.
    """

    kind: MessageKind
    recipients: tuple[RecipientEvidence, ...] = ()
    decoded_by: str = ""
    note: str = ""
    feedback_type: str = ""
    subject: str = ""
    sender: str = ""
    message_id: str = ""
    #: What was cut from the report and why, in words (empty when nothing was).
    cuts: tuple[str, ...] = ()
    #: Recipients the report names that are not in ``recipients`` (over MAX_RECIPIENTS).
    unreported: int = 0
    #: The parsed message the evidence was read from (for its returned original's headers).
    source: Message | None = field(default=None, compare=False, repr=False)
    #: The text parts of ``source`` (parts.text_parts), read once and shared with
    #: original.find_original; None when not read.
    parts: tuple[TextPart, ...] | None = field(default=None, compare=False, repr=False)


_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (?:status|fail|notification|problem|report)|returned mail|"
    r"failure notice|mail delivery|delivery has failed|could not be delivered|not delivered|"
    r"non[ -]?remis|unzustellbar|nicht zustellbar|no entregado|warning: could not|"
    r"mail system error|returned to sender|delayed mail|delivery delayed|rejected|"
    r"message not delivered|nondeliverable|non-delivery|problem delivering|"
    r"error sending|bounce|unable to deliver|недостав|не доставлено",
    re.IGNORECASE,
)
_DAEMON = re.compile(
    r"mailer[-_]?daemon|postmaster|mail delivery (?:system|subsystem)|mail administrator|"
    r"system administrator|mail ?delivery|\bndr\b|\bbounces?\b",
    re.IGNORECASE,
)


def sent_as_report(msg: Message) -> bool:
    """Does the message come as a delivery report (report content type, daemon sender)?"""
    try:
        ctype = msg.get_content_type()
        report_type = str(msg.get_param("report-type", "") or "").lower()
    except Exception:
        ctype, report_type = "", ""
    if ctype == "multipart/report" and report_type in ("delivery-status", ""):
        return True
    sender = header(msg, "From")
    # A From of the null reverse-path ("<>") is what delivery reports are sent from.
    return bool(_DAEMON.search(sender)) or _NULL_SENDER.search(sender) is not None


def looks_like_bounce(msg: Message) -> bool:
    """A delivery report by its headers, or a subject that only bounces use."""
    return sent_as_report(msg) or bool(_BOUNCE_SUBJECT.search(header(msg, "Subject")))


def _html_to_text(html: str) -> str:
    text = re.sub(r"(?i)<br\s{0,10}/?>|</p>|</div>|</tr>|</li>", "\n", html[:200_000])
    text = _TAG.sub(" ", text)
    return (
        text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&quot;", '"')
    )


def _plain_body(parts: list[TextPart]) -> str:
    """The human-readable report: the top-level text/plain parts, else the HTML ones.

    Cut at MAX_BODY_CHARS (``_body_cut`` says whether it was).
    """
    plain = [p for p in parts if p.content_type == "text/plain" and p.depth == 0]
    html = not plain
    if html:
        plain = [p for p in parts if p.content_type == "text/html"]
    out: list[str] = []
    size = 0
    for part in plain:
        text = _html_to_text(part.text) if html else part.text
        out.append(text)
        size += len(text) + 1
        if size > MAX_BODY_CHARS:
            break
    return "\n".join(out)[:MAX_BODY_CHARS]


def _body_cut(parts: list[TextPart], body: str) -> bool:
    """Was the human-readable report cut (at MAX_BODY_CHARS or MAX_TEXT_CHARS)?"""
    return len(body) >= MAX_BODY_CHARS or any(
        p.cut for p in parts if p.content_type in ("text/plain", "text/html") and p.depth == 0
    )


#: The local parts of a reporting mail system's own address (From: MAILER-DAEMON@aol.com).
_DAEMON_LOCAL = frozenset({"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster"})


def _daemon_domain(sender: str) -> str:
    """The domain of a bounce's From when it is a mailer daemon's or postmaster's, else ""."""
    for address in _addresses(sender):
        local, _, domain = address.rpartition("@")
        if local in _DAEMON_LOCAL:
            return domain
    return ""


def _addresses(value: str) -> list[str]:
    out: list[str] = []
    for raw in _ADDRESS.findall(value):
        address = clean_address(raw)
        if address and address not in out:
            out.append(address)
    return out


#: The header Microsoft's Junk Mail Reporting Program adds to a complained-of message: the
#: mailbox whose user marked it as junk (JMRP reports carry no message/feedback-report part).
_JMRP_HEADER = "X-HmXmrOriginalRecipient"


def _jmrp_recipients(parts: list[TextPart]) -> list[tuple[str, str]]:
    """(recipient, final recipient) of a JMRP complaint, or [] when it is none.

    The recipient is the address the sender used (the returned message's own X-RCPT-TO or To,
    when it names one address); the mailbox Microsoft names is kept beside it when it differs.
    """
    for part in parts:
        if part.content_type not in ("message/rfc822", "message/global") or part.depth > 1:
            continue
        named = _addresses(header(part.part, _JMRP_HEADER))
        if not named:
            continue
        used = _addresses(header(part.part, "X-RCPT-TO")) or _addresses(header(part.part, "To"))
        if len(used) == 1 and used[0] != named[0]:
            return [(used[0], named[0])]
        return [(named[0], "")]
    return []


def _original_recipients(parts: list[TextPart], pasted: str) -> list[str]:
    """Recipients named by the returned original (its To), as a last resort.

    ``pasted`` is the text after the report: an original pasted into the plain part. An
    original cut before its To, or one a mailing list distributed (whose To names the list
    or the author's correspondents), names its envelope recipient in a Received header's
    "for <a@b>" clause instead.
    """
    received: list[str] = []
    for part in parts:
        if part.content_type in ("message/rfc822", "message/global"):
            listed = any(header(part.part, name) for name in _LIST_MARKS)
            found = [] if listed else _addresses(header(part.part, "To"))
            if found:
                return found
            with contextlib.suppress(Exception):  # an unreadable header is no evidence
                received.extend(str(v) for v in part.part.get_all("Received") or ())
        if part.content_type in _HEADER_TYPES:
            text = part.text[:_MAX_HEADER_SEARCH]
            match = None if _LIST_MARK.search(text) else _TO_FIELD.search(text)
            if match:
                return _addresses(match.group(1))
            received.extend(m.group(0) for m in _RECEIVED_FIELD.finditer(text))
    text = pasted[:_MAX_HEADER_SEARCH]
    match = None if _LIST_MARK.search(text) else _TO_FIELD.search(text)
    if match:
        return _addresses(match.group(1))
    received.extend(m.group(0) for m in _RECEIVED_FIELD.finditer(text))
    found = []
    for value in received[:MAX_RECEIVED]:
        for_clause = _RECEIVED_FOR.search(value)
        address = clean_address(for_clause.group(1)) if for_clause else ""
        if address and address not in found:
            found.append(address)
    return found


#: Headers that name a mailing list or the sending side, in the bounce or in the returned
#: original: their addresses never bounced (RFC 2369 List-*, RFC 5322 Sender/Reply-To, the
#: original's envelope sender, Mailman's X-BeenThere).
_LIST_SIDE_HEADERS = (
    "List-Post",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Help",
    "List-Owner",
    "List-Archive",
    "X-BeenThere",
    "Sender",
    "Reply-To",
    "Errors-To",
    "Return-Path",
)
_LIST_SIDE_NAMES = frozenset(name.lower() for name in _LIST_SIDE_HEADERS)
_LIST_SIDE_FIELD = re.compile(
    r"(?im)^(?:" + "|".join(_LIST_SIDE_HEADERS) + r"):[ \t]*(.{0,2000}(?:\n[ \t].{0,2000}){0,10})"
)


def _list_side(msg: Message, parts: list[TextPart], pasted: str) -> list[str]:
    """Addresses of the list and the sending side, from the bounce and the returned original."""
    found: list[str] = []
    messages = [msg] + [
        p.part for p in parts if p.content_type in ("message/rfc822", "message/global")
    ]
    for message in messages[: MAX_ATTACHED_READ + 1]:
        try:  # the names it has, looked at once: most messages carry none of these headers
            present = frozenset(str(name).lower() for name in message)
        except Exception:
            present = _LIST_SIDE_NAMES
        for name in _LIST_SIDE_HEADERS:
            if name.lower() in present:
                found.extend(_addresses(header(message, name)))
    texts = [p.text for p in parts if p.content_type in _HEADER_TYPES] + [pasted]
    for text in texts:
        for match in _LIST_SIDE_FIELD.finditer(text[:_MAX_HEADER_SEARCH]):
            found.extend(_addresses(match.group(1)))
    return list(dict.fromkeys(found))


def _embedded_report(
    parts: list[TextPart], body: str, report: str, depth: int
) -> MessageEvidence | None:
    """A bounce forwarded as an attachment, quoted with "> ", or pasted after the report."""
    attached = [
        part.part
        for part in parts
        if part.content_type in ("message/rfc822", "message/global") and part.depth == 0
    ]
    candidates: list[bytes | str | Message] = [*attached[:MAX_ATTACHED_READ]]
    quoted = _QUOTED.search(body)
    if quoted:
        candidates.append(_UNQUOTE.sub("", body[quoted.start() :]))
    if len(report) < len(body) - 20:
        candidates.append(body[len(report) :].lstrip("\r\n"))
    for candidate in candidates:
        inner = read_message(candidate, _depth=depth + 1)
        if inner.kind not in _NOT_REPORTS and inner.recipients:
            return inner
    return None


def read_message(data: bytes | str | Message, *, _depth: int = 0) -> MessageEvidence:
    """Evidence from one message; never raises.

    Only the first MAX_MESSAGE_BYTES are read; when that finds no report in a bigger message
    (a report placed after a large attachment), the message is read again up to
    MAX_SECOND_READ_BYTES.
    """
    found = _read(data, MAX_MESSAGE_BYTES, _depth)
    if (
        found.kind is MessageKind.UNKNOWN
        and isinstance(data, bytes | str)
        and len(data) > MAX_MESSAGE_BYTES
    ):
        found = _read(data, MAX_SECOND_READ_BYTES, _depth)
    return found


def _read(data: bytes | str | Message, limit: int, _depth: int) -> MessageEvidence:
    msg = parse_message(data, limit)
    subject = header(msg, "Subject")
    sender = header(msg, "From")
    base = MessageEvidence(
        kind=MessageKind.UNKNOWN,
        subject=subject,
        sender=sender,
        message_id=header(msg, "Message-ID"),
        source=msg,
    )
    parts = list(text_parts(msg))
    base = replace(base, parts=tuple(parts))
    body = _plain_body(parts)
    report = cut_original(body)  # the MTA's own words, without the returned original
    # Reports embedded in a forwarded message are looked for first, in any other message
    # only when nothing else is found.
    forwarded = _depth < 2 and bool(_FORWARDED.match(subject))
    if forwarded:
        inner = _embedded_report(parts, body, report, _depth)
        if inner is not None:
            return inner

    # 1. ARF feedback report (RFC 5965).
    feedback = [p for p in parts if p.content_type == "message/feedback-report"]
    if feedback:
        arf = parse_feedback_report(feedback[0].text)
        recipients = arf.recipients or tuple(_original_recipients(parts, ""))
        note = "" if arf.feedback_type not in NOT_COMPLAINTS else "not a complaint"
        return replace(
            base,
            kind=MessageKind.FEEDBACK,
            recipients=tuple(
                RecipientEvidence(recipient=r, reporting_mta=arf.reporting_mta, decoded_by="arf")
                for r in recipients
            ),
            decoded_by="arf",
            feedback_type=arf.feedback_type or "abuse",
            note=note,
        )

    # 1b. Microsoft's JMRP complaint: no feedback-report part, but the returned message
    #     carries the header Microsoft adds for the complaining mailbox.
    jmrp = [] if any(p.content_type in _DSN_TYPES for p in parts) else _jmrp_recipients(parts)
    if jmrp:
        return replace(
            base,
            kind=MessageKind.FEEDBACK,
            recipients=tuple(
                RecipientEvidence(recipient=r, final_recipient=f, decoded_by="jmrp")
                for r, f in jmrp
            ),
            decoded_by="jmrp",
            feedback_type="abuse",
        )

    excluded = _addresses(sender)
    sender_side = excluded + _addresses(header(msg, "To"))
    # The list's and the sender's own addresses: named by a report, they never bounced.
    never = [*excluded, *_list_side(msg, parts, body[len(report) :])]
    failed_header = _addresses(header(msg, "X-Failed-Recipients"))

    # 2. RFC 3464 delivery-status parts, completed by the text part for empty diagnostics.
    evidence: list[RecipientEvidence] = []
    decoded_by = ""
    cuts: list[str] = []
    message_cut = isinstance(data, bytes | str) and len(data) > limit
    for index, part in enumerate(parts):
        if part.content_type in _DSN_TYPES:
            evidence.extend(parse_delivery_status(part.text))
            if part.cut or (message_cut and index == len(parts) - 1):
                # Cut at its own limit, or the message was cut inside it (nothing follows it).
                cuts.append(
                    "a delivery-status part was cut (the message is read up to "
                    f"{limit} bytes, a report part up to {MAX_REPORT_CHARS} characters): "
                    "recipients after the cut are not reported"
                )
    if evidence:
        decoded_by = "rfc3464"
    elif looks_like_dsn_fields(report):
        evidence = parse_delivery_status(report, decoded_by="rfc3464-text")
        decoded_by = "rfc3464-text" if evidence else ""

    # 3. Amazon SES notifications (JSON).
    if not evidence:
        ses = decode_ses_json(body)
        if ses is not None:
            kind, found = ses
            mapping = {
                "Bounce": MessageKind.BOUNCE,
                "Complaint": MessageKind.FEEDBACK,
                "Delivery": MessageKind.NOTIFICATION,
            }
            return replace(
                base,
                kind=mapping.get(kind, MessageKind.UNKNOWN),
                recipients=tuple(found),
                decoded_by="amazon-ses-notification",
                feedback_type="abuse" if kind == "Complaint" else "",
            )

    bounce_like = bool(evidence) or looks_like_bounce(msg)

    # 4. Unsubscribe requests and auto-replies (checked before free-text decoding, because
    #    an ordinary message can quote addresses that look like recipient lines). A subject
    #    alone ("Re: rejected") does not make a report.
    if not evidence and not sent_as_report(msg):
        why = unsubscribe_reason(msg)
        who = excluded
        if why:
            return replace(
                base,
                kind=MessageKind.UNSUBSCRIBE,
                recipients=tuple(
                    RecipientEvidence(recipient=a, decoded_by="list-unsubscribe") for a in who
                ),
                decoded_by="list-unsubscribe",
                note=why,
            )
        why = auto_reply_reason(msg)
        if why:
            return replace(
                base,
                kind=MessageKind.AUTO_REPLY,
                recipients=tuple(RecipientEvidence(recipient=a, decoded_by="rfc3834") for a in who),
                decoded_by="rfc3834",
                note=why,
            )

    # 5. The MTA's free text: recipients of its own, or diagnostics for the DSN's.
    mta = guess_mta(body, sender)
    # With DSN recipients the text only adds missing diagnostics and the stage ("after EHLO"),
    # so a long human-readable part is skipped when every recipient has its diagnostic.
    needed = bool(body) and (
        not evidence or len(body) <= 32_000 or any(not r.diagnostic for r in evidence)
    )
    text_found = (
        decode_text_bounce(
            report, excluded=never, sender_side=sender_side, decoded_by=mta, cut=False
        )
        if needed
        else []
    )
    confirmed = [
        r for r in text_found if r.recipient in failed_header or r.final_recipient in failed_header
    ]
    if confirmed and not evidence:
        # X-Failed-Recipients names the failed addresses: other addresses of the text were
        # quoted, not failed. (A header that names none of them was rewritten on the way.)
        text_found = confirmed
    if len(evidence) == 1 and not evidence[0].diagnostic and not text_found:
        # One recipient and no Diagnostic-Code: the human-readable report is about it.
        evidence = [replace(evidence[0], diagnostic=" ".join(report.split())[:4000])]
    if evidence:
        by_address = {r.recipient: r for r in text_found}
        by_address.update({r.final_recipient: r for r in text_found if r.final_recipient})
        evidence = [
            r.merged(by_address[r.recipient])
            if r.recipient in by_address and (not r.diagnostic or not r.stage)
            else r
            for r in evidence
        ]
    elif text_found and (
        bounce_like
        or looks_like_bounce_text(body)
        or any(has_reply_code(r.diagnostic) for r in text_found)
    ):
        evidence = text_found
        decoded_by = mta
        bounce_like = True
        if _body_cut(parts, body):
            cuts.append(
                f"the text report was read up to {MAX_BODY_CHARS} characters: "
                "recipients after the cut are not reported"
            )

    elif not text_found and (bounce_like or looks_like_bounce_text(body)):
        # Recipients named without their domain, at the domain of the daemon reporting them.
        domain = _daemon_domain(sender)
        named, intro = local_recipients(report, domain) if domain else ([], "")
        if named:
            evidence = [
                RecipientEvidence(recipient=a, action="failed", diagnostic=intro, decoded_by=mta)
                for a in named
            ]
            decoded_by = mta
            bounce_like = True

    if not evidence and _depth < 2 and not forwarded:
        inner = _embedded_report(parts, body, report, _depth)
        if inner is not None:
            return inner

    if not evidence and bounce_like:
        failed = failed_header
        if not failed:
            # The returned original says who it was for; only a single addressee is
            # unambiguous (with several, which of them failed is not known).
            addressees = [
                a
                for a in (
                    _original_recipients(parts, body[len(report) :])
                    or _original_recipients([], report)  # a "To: a@b" summary in the report
                )
                if a not in sender_side and a not in never
            ]
            failed = addressees if len(addressees) == 1 else []
        if failed:
            evidence = [
                RecipientEvidence(
                    recipient=a,
                    action="delayed" if looks_like_delay(report) else "failed",
                    diagnostic=" ".join(report.split())[:4000],
                    decoded_by=f"{mta}-fallback",
                )
                for a in failed
            ]
            decoded_by = f"{mta}-fallback"

    if evidence:
        unreported = max(0, len(evidence) - MAX_RECIPIENTS)
        if unreported:
            cuts.append(f"{unreported} recipients beyond the first {MAX_RECIPIENTS} not reported")
        return replace(
            base,
            kind=MessageKind.BOUNCE,
            recipients=tuple(evidence[:MAX_RECIPIENTS]),
            decoded_by=decoded_by,
            cuts=tuple(cuts),
            unreported=unreported,
        )
    if bounce_like:
        return replace(base, note="looks like a bounce, but names no recipient it can be tied to")
    return replace(base, note="no report recognised")


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(MessageEvidence)
