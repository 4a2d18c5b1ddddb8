"""classify_message(): bounce mail, feedback reports and auto-replies, one result per recipient.

The message is read into per-recipient evidence by :mod:`classifier.mail.reader`; each
recipient's diagnostic text is classified with :func:`classifier.classify`, and then the
bounce-level policy of the catalogue is applied (docs/bounce-mail.md):

* ``Action: delayed`` is a warning: 202, not final;
* ``Action: delivered | relayed | expanded``: 250;
* a failed recipient is 133 (the MTA gave up after retrying) when its Status is 4.x.x or the
  remote's last reply was temporary, when the text says the message expired or the destination
  could not be reached, and when no reason is recognised at all;
* otherwise the remote's words decide, also when they disagree with the Status field.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from typing import Any

from ..engine import classify
from ..enums import Verdict
from ..policy import gave_up
from ..result import Classification
from .dsn import RecipientEvidence
from .feedback import NOT_COMPLAINTS
from .reader import MessageEvidence, read_message

__all__ = ["BounceRecipient", "MessageReport", "classify_message"]

_DELIVERED = frozenset({"delivered", "relayed", "expanded"})
_MAX_DIAGNOSTIC = 4000


@dataclass(frozen=True, slots=True)
class BounceRecipient:
    """One recipient a message reports on, with the code the policy gives it.

    kind: bounce, delay, delivery, feedback, auto_reply, unsubscribe or unknown.
    classification is None when there is nothing to record (auto-replies, not-spam reports).
    """

    recipient: str
    kind: str
    action: str
    status: str
    diagnostic: str
    remote_mta: str
    reporting_mta: str
    feedback_type: str
    decoded_by: str
    classification: Classification | None

    @property
    def code(self) -> str:
        """The MasterBase code, "" when there is none."""
        return self.classification.code if self.classification is not None else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "recipient": self.recipient,
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

    kind: str
    recipients: tuple[BounceRecipient, ...]
    decoded_by: str
    subject: str
    sender: str
    message_id: str
    note: str = ""

    @property
    def is_bounce(self) -> bool:
        """Does the message report a failed or delayed delivery?"""
        return any(r.kind in ("bounce", "delay") for r in self.recipients)

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


def _decide(ev: RecipientEvidence) -> tuple[str, Classification]:
    """The bounce-level policy for one DSN-like recipient: (kind, classification)."""
    action = ev.action or "failed"
    result = _text_classification(ev)
    if action == "delayed":
        return "delay", result.with_code(
            "202", why="Action: delayed: a warning, the reporting MTA is still retrying"
        )
    if action in _DELIVERED:
        return "delivery", result.with_code(
            "250", reason="delivered", why=f"Action: {action}: the message was delivered"
        )
    if result.reason == "expired":
        return "bounce", result
    if ev.status[:1] == "4" or result.verdict == Verdict.TRANSIENT:
        said = f"Status {ev.status}" if ev.status[:1] == "4" else "a temporary (4xx) reply"
        return "bounce", gave_up(
            result,
            why=f"final failure after {said}: the reporting MTA treated the failure as "
            "temporary and gave up retrying",
        )
    if not result.recognised or result.verdict == Verdict.SUCCESS:
        return "bounce", result.with_code(
            "133",
            reason="expired",
            why="failed recipient with no recognisable reason: the MTA gave up",
        )
    if result.reason == "connection_failed":
        return "bounce", gave_up(
            result, why="the destination could not be reached until the MTA gave up retrying"
        )
    return "bounce", result


def _recipient(
    ev: RecipientEvidence, kind: str, result: Classification | None, feedback_type: str = ""
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
    )


def _from_evidence(evidence: MessageEvidence) -> tuple[BounceRecipient, ...]:
    kind = evidence.kind
    out: list[BounceRecipient] = []
    for ev in evidence.recipients:
        if kind == "feedback":
            ftype = evidence.feedback_type
            if ftype in NOT_COMPLAINTS:
                out.append(_recipient(ev, "feedback", None, ftype))
                continue
            result = classify("").with_code(
                "162",
                reason="complaint",
                why=f"ARF feedback report (RFC 5965), Feedback-Type: {ftype}",
            )
            out.append(_recipient(ev, "feedback", result, ftype))
        elif kind == "unsubscribe":
            result = classify("").with_code(
                "163", reason="list_unsubscribe", why=f"List-Unsubscribe request: {evidence.note}"
            )
            out.append(_recipient(ev, "unsubscribe", result))
        elif kind == "auto_reply":
            out.append(_recipient(ev, "auto_reply", None))
        elif kind in ("bounce", "notification"):
            rkind, result = _decide(ev)
            out.append(_recipient(ev, rkind, result))
    return tuple(out)


def _message_kind(kind: str, recipients: tuple[BounceRecipient, ...]) -> str:
    """A delivery report is a bounce if any recipient failed, else a delay or a delivery."""
    if kind not in ("bounce", "notification") or not recipients:
        return kind
    kinds = {r.kind for r in recipients}
    for candidate in ("bounce", "delay", "delivery"):
        if candidate in kinds:
            return candidate
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
            kind="unknown",
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
