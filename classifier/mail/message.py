"""classify_message(): bounce mail, feedback reports and auto-replies, one result per recipient.

The message is read into per-recipient evidence by :mod:`classifier.mail.reader`; each
recipient's diagnostic text is classified with :func:`classifier.classify` (the Status
field filling in what the words lack), and the reporting MTA's last word (Action, Status) is
applied by :func:`classifier.outcome.after_dsn` (docs/bounce-mail.md). ARF complaints are 162,
unsubscribe requests 163, auto-replies get no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from typing import Any

from ..engine import classify
from ..enums import MessageKind, RecipientKind
from ..outcome import after_dsn
from ..result import Classification
from .dsn import RecipientEvidence
from .feedback import NOT_COMPLAINTS
from .reader import MessageEvidence, read_message

__all__ = ["BounceRecipient", "MessageReport", "classify_message"]

_MAX_DIAGNOSTIC = 4000


@dataclass(frozen=True, slots=True)
class BounceRecipient:
    """One recipient a message reports on, with the code the policy gives it.

    kind: bounce, delay, delivery, feedback, auto_reply, unsubscribe or unknown.
    classification is None when there is nothing to record (auto-replies, not-spam reports).
    """

    recipient: str
    kind: RecipientKind
    action: str
    status: str
    diagnostic: str
    remote_mta: str
    reporting_mta: str
    feedback_type: str
    decoded_by: str
    classification: Classification | None
    #: The address finally delivered to, when the report names one besides ``recipient``.
    final_recipient: str = ""

    @property
    def code(self) -> str:
        """The MasterBase code, "" when there is none."""
        return self.classification.code if self.classification is not None else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "recipient": self.recipient,
            "final_recipient": self.final_recipient,
            "kind": self.kind,
            "code": self.code,
            "action": self.action,
            "status": self.status,
            "diagnostic": self.diagnostic,
            "remote_mta": self.remote_mta,
            "reporting_mta": self.reporting_mta,
            "feedback_type": self.feedback_type,
            "decoded_by": self.decoded_by,
            "classification": (
                self.classification.to_dict() if self.classification is not None else None
            ),
        }


@dataclass(frozen=True, slots=True)
class MessageReport:
    """Everything one message says: its kind and one entry per recipient.

    kind: bounce (some recipient failed), delay (only warnings), delivery (only delivery
    reports), feedback, auto_reply, unsubscribe, or unknown (nothing recognised; ``recipients``
    is then empty and ``note`` says why).
    """

    kind: MessageKind
    recipients: tuple[BounceRecipient, ...]
    decoded_by: str
    subject: str
    sender: str
    message_id: str
    note: str = ""

    @property
    def is_bounce(self) -> bool:
        """Does the message report a failed or delayed delivery?"""
        return any(r.kind in (RecipientKind.BOUNCE, RecipientKind.DELAY) for r in self.recipients)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "decoded_by": self.decoded_by,
            "subject": self.subject,
            "sender": self.sender,
            "message_id": self.message_id,
            "note": self.note,
            "recipients": [r.to_dict() for r in self.recipients],
        }


def _text_classification(ev: RecipientEvidence) -> Classification:
    """Classify the diagnostic; the Status field fills in only what the text lacks."""
    return classify(ev.diagnostic[:_MAX_DIAGNOSTIC], stage=ev.stage, status=ev.status or None)


def _recipient(
    ev: RecipientEvidence,
    kind: RecipientKind,
    result: Classification | None,
    feedback_type: str = "",
) -> BounceRecipient:
    return BounceRecipient(
        recipient=ev.recipient,
        kind=kind,
        action=ev.action,
        status=ev.status,
        diagnostic=ev.diagnostic[:_MAX_DIAGNOSTIC],
        remote_mta=ev.remote_mta,
        reporting_mta=ev.reporting_mta,
        feedback_type=feedback_type,
        decoded_by=ev.decoded_by,
        classification=result,
        final_recipient=ev.final_recipient,
    )


def _from_evidence(evidence: MessageEvidence) -> tuple[BounceRecipient, ...]:
    kind = evidence.kind
    out: list[BounceRecipient] = []
    for ev in evidence.recipients:
        if kind is MessageKind.FEEDBACK:
            ftype = evidence.feedback_type
            if ftype in NOT_COMPLAINTS:
                out.append(_recipient(ev, RecipientKind.FEEDBACK, None, ftype))
                continue
            result = Classification.unrecognised().with_code(
                "162",
                reason="complaint",
                why=f"ARF feedback report (RFC 5965), Feedback-Type: {ftype}",
            )
            out.append(_recipient(ev, RecipientKind.FEEDBACK, result, ftype))
        elif kind is MessageKind.UNSUBSCRIBE:
            result = Classification.unrecognised().with_code(
                "163", reason="list_unsubscribe", why=f"List-Unsubscribe request: {evidence.note}"
            )
            out.append(_recipient(ev, RecipientKind.UNSUBSCRIBE, result))
        elif kind is MessageKind.AUTO_REPLY:
            out.append(_recipient(ev, RecipientKind.AUTO_REPLY, None))
        elif kind in (MessageKind.BOUNCE, MessageKind.NOTIFICATION):
            rkind, result = after_dsn(_text_classification(ev), ev.action or "failed", ev.status)
            out.append(_recipient(ev, rkind, result))
    return tuple(out)


def _message_kind(kind: MessageKind, recipients: tuple[BounceRecipient, ...]) -> MessageKind:
    """A delivery report is a bounce if any recipient failed, else a delay or a delivery."""
    if kind not in (MessageKind.BOUNCE, MessageKind.NOTIFICATION) or not recipients:
        return kind
    kinds = {r.kind for r in recipients}
    for candidate in (RecipientKind.BOUNCE, RecipientKind.DELAY, RecipientKind.DELIVERY):
        if candidate in kinds:
            return MessageKind(candidate.value)
    return kind


def classify_message(data: bytes | str | Message) -> MessageReport:
    """Read a bounce, DSN, feedback report or auto-reply; one result per recipient reported.

    Never raises: unreadable or unrecognised input gives ``kind="unknown"`` with no
    recipients, and an auto-reply gives ``kind="auto_reply"`` with no code.
    """
    try:
        evidence = read_message(data)
        recipients = _from_evidence(evidence)
    except Exception as exc:  # a last guard: malformed mail must never escape as a crash
        return MessageReport(
            kind=MessageKind.UNKNOWN,
            recipients=(),
            decoded_by="",
            subject="",
            sender="",
            message_id="",
            note=f"unreadable message ({type(exc).__name__})",
        )
    return MessageReport(
        kind=_message_kind(evidence.kind, recipients),
        recipients=recipients,
        decoded_by=evidence.decoded_by,
        subject=evidence.subject,
        sender=evidence.sender,
        message_id=evidence.message_id,
        note=evidence.note,
    )
