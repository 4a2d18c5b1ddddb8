"""Mail that is not a bounce but still says something about a recipient.

* ARF feedback reports (RFC 5965): a complaint about one of our messages.
* Auto-replies (RFC 3834) and vacation notices: the mailbox works; nothing to record.
* List-Unsubscribe requests sent by mail (RFC 2369 ``mailto:`` targets): the recipient asks to
  leave the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from ..smtp import split_typed
from .dsn import clean_address, report_fields
from .parts import header

__all__ = [
    "FeedbackReport",
    "auto_reply_reason",
    "parse_feedback_report",
    "unsubscribe_reason",
]

#: ARF feedback types that are not a complaint (RFC 6650 not-spam; RFC 6591 auth-failure).
NOT_COMPLAINTS = frozenset({"not-spam", "auth-failure", "dmarc"})


@dataclass(frozen=True, slots=True)
class FeedbackReport:
    """The fields of a message/feedback-report part that matter here."""

    feedback_type: str
    recipients: tuple[str, ...]
    reporting_mta: str
    source_ip: str


def parse_feedback_report(text: str) -> FeedbackReport:
    """Read the fields of an RFC 5965 report (unfolded, case-insensitive, repeated allowed)."""
    feedback_type = ""
    recipients: list[str] = []
    reporting = ""
    source_ip = ""
    for item in report_fields(text):
        if item is None:
            continue
        name, value = item
        if name == "feedback-type" and not feedback_type:
            feedback_type = value.split(";")[0].strip().lower()
        elif name in ("original-rcpt-to", "removal-recipient"):
            address = clean_address(value)
            if address and address not in recipients:
                recipients.append(address)
        elif name == "reporting-mta" and not reporting:
            reporting = split_typed(value)[1]
        elif name == "source-ip" and not source_ip:
            source_ip = value
    return FeedbackReport(
        feedback_type=feedback_type,
        recipients=tuple(recipients),
        reporting_mta=reporting,
        source_ip=source_ip,
    )


_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ _-]?(?:reply|response|antwort|respuesta)|auto:|autoreply|"
    r"out of (?:the )?office|vacation|away from|abwesenheit|fuera de la oficina|"
    r"respuesta autom[aá]tica|r[ée]ponse automatique|absence|resposta autom[aá]tica|"
    r"ausente|automatisch)",
    re.IGNORECASE,
)


def auto_reply_reason(msg: Message) -> str | None:
    """Why ``msg`` is an auto-reply (RFC 3834 header, vendor header, subject), or None."""
    auto = header(msg, "Auto-Submitted").lower()
    if auto.startswith("auto-replied"):
        return "Auto-Submitted: auto-replied (RFC 3834)"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation"):
        if header(msg, name):
            return f"{name} header"
    if header(msg, "X-Apple-Action").lower().startswith("vacation"):
        return "X-Apple-Action: VACATION"
    precedence = header(msg, "Precedence").lower()
    if precedence == "auto_reply":
        return "Precedence: auto_reply"
    if _AUTO_SUBJECT.search(header(msg, "Subject")):
        return "auto-reply subject"
    return None


_UNSUBSCRIBE_SUBJECT = re.compile(
    r"^\s*(?:unsubscribe|unsub|remove(?: me)?|opt[ -]?out|signoff|sign-off|"
    r"darme de baja|dar de baja|baja|desuscribir(?:me)?|desinscribir(?:me)?|"
    r"cancelar suscripci[oó]n|descadastrar|d[ée]sabonnement|d[ée]sinscription|abmelden)\b",
    re.IGNORECASE,
)
_UNSUBSCRIBE_LOCAL = re.compile(
    r"^(?:unsubscribe|unsub|leave|remove|optout|opt-out|signoff)(?:[-+._].*)?@"
    r"|[-+](?:unsubscribe|unsub|leave|request-unsubscribe)@",
    re.IGNORECASE,
)


def unsubscribe_reason(msg: Message) -> str | None:
    """Why ``msg`` is a List-Unsubscribe request sent by mail, or None.

    Recognised: Apple Mail's ``X-Apple-Unsubscribe: true``; a subject that is an unsubscribe
    command ("unsubscribe", "remove", "baja" ...), the form mail clients send to a
    ``List-Unsubscribe: <mailto:...?subject=unsubscribe>`` target; or a message sent to an
    unsubscribe mailbox (``unsubscribe-...@``, ``...-leave@``) that is not itself a report.
    """
    if header(msg, "X-Apple-Unsubscribe").lower().startswith("true"):
        return "X-Apple-Unsubscribe: true"
    subject = header(msg, "Subject")
    if _UNSUBSCRIBE_SUBJECT.match(subject) and len(subject) <= 80:
        return f"subject {subject.strip()[:40]!r}"
    to = clean_address(header(msg, "To"))
    if to and _UNSUBSCRIBE_LOCAL.search(to):
        return f"sent to the unsubscribe address {to}"
    return None
