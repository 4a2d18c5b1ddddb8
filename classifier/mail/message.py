"""classify_message(): bounce mail, feedback reports and auto-replies, one result per recipient.

The message is read into per-recipient evidence by :mod:`classifier.mail.reader`; each
recipient's diagnostic text is classified with :func:`classifier.classify` (the Status
field filling in what the words lack), and the reporting MTA's last word (Action, Status) is
applied by :func:`classifier.outcome.after_dsn` (docs/bounce-mail.md). ARF complaints are 162,
unsubscribe requests 163, auto-replies get no code.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from ..engine import Classifier, default_classifier
from ..enums import MessageKind, RecipientKind
from ..outcome import after_dsn
from ..picklable import by_fields
from ..result import Classification
from .dsn import RecipientEvidence
from .feedback import NOT_COMPLAINTS
from .mailbox import more_mbox_messages
from .original import OriginalMessage, bounce_date, find_original
from .parts import MAX_MESSAGE_BYTES
from .reader import MessageEvidence, read_message

__all__ = ["MESSAGE_BUDGET", "BounceRecipient", "MessageReport", "classify_message"]

_MAX_DIAGNOSTIC = 4000
#: Seconds of classification one message may take, all its recipients together. Once spent,
#: the remaining recipients' diagnostics are read only up to _SHORT_DIAGNOSTIC characters (still
#: with their Status), and the report says how many. An ordinary report of 1000 recipients takes
#: a small part of it; a hostile one (hundreds of long diagnostics) cannot multiply its cost.
MESSAGE_BUDGET = 1.0
#: Characters of a diagnostic read once the budget is spent: the longest SMTP reply line
#: (RFC 5321 §4.5.3.1.5).
_SHORT_DIAGNOSTIC = 512
#: The clock of the budget: CPU seconds of the calling thread, so that the answer does not
#: depend on how busy the machine is.
_clock = time.thread_time


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
    #: Why there are no recipients, and what was cut, in words ("" when nothing was).
    note: str = ""
    #: Recipients the message names but that are not reported (beyond MAX_RECIPIENTS).
    unreported: int = 0
    #: Recipients whose diagnostic was read only in part because MESSAGE_BUDGET was spent.
    over_budget: int = 0
    #: Each thing that was cut, in words (also in ``note``).
    cuts: tuple[str, ...] = ()
    #: When the bounce was written (its Date, else its newest Received), ISO 8601.
    date: str = ""
    #: The message the bounce returns: its Message-ID, From, To, Subject, Date and the
    #: headers asked for with ``headers=`` (empty strings when the bounce does not carry it).
    original: OriginalMessage = field(default_factory=OriginalMessage)

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
            "date": self.date,
            "note": self.note,
            "unreported": self.unreported,
            "over_budget": self.over_budget,
            "cuts": list(self.cuts),
            "original": self.original.to_dict(),
            "recipients": [r.to_dict() for r in self.recipients],
        }


def _text_classification(ev: RecipientEvidence, length: int, clf: Classifier) -> Classification:
    """Classify the diagnostic; the Status field fills in only what the text lacks."""
    return clf.classify(ev.diagnostic[:length], stage=ev.stage, status=ev.status or None)


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


def _from_evidence(
    evidence: MessageEvidence, budget: float, clf: Classifier
) -> tuple[tuple[BounceRecipient, ...], int]:
    """One result per recipient, and how many were decided after the budget was spent."""
    kind = evidence.kind
    out: list[BounceRecipient] = []
    default_classifier()  # built (once per process) before the clock starts
    deadline = _clock() + budget
    over_budget = 0
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
            length = _MAX_DIAGNOSTIC
            if len(ev.diagnostic) > _SHORT_DIAGNOSTIC and _clock() > deadline:
                length = _SHORT_DIAGNOSTIC
                over_budget += 1
            classified = _text_classification(ev, length, clf)
            rkind, result = after_dsn(classified, ev.action or "failed", ev.status)
            out.append(_recipient(ev, rkind, result))
    return tuple(out), over_budget


def _message_kind(kind: MessageKind, recipients: tuple[BounceRecipient, ...]) -> MessageKind:
    """A delivery report is a bounce if any recipient failed, else a delay or a delivery."""
    if kind not in (MessageKind.BOUNCE, MessageKind.NOTIFICATION) or not recipients:
        return kind
    kinds = {r.kind for r in recipients}
    for candidate in (RecipientKind.BOUNCE, RecipientKind.DELAY, RecipientKind.DELIVERY):
        if candidate in kinds:
            return MessageKind(candidate.value)
    return kind


def classify_message(
    data: bytes | str | Message,
    *,
    budget: float = MESSAGE_BUDGET,
    classifier: Classifier | None = None,
    headers: Sequence[str] = (),
) -> MessageReport:
    """Read a bounce, DSN, feedback report or auto-reply; one result per recipient reported.

    ``classifier``: the rules to classify diagnostics with (default: the bundled ones).
    ``headers``: more headers of the returned original to report in ``original.headers``
    (``X-Campaign-Id``, a tracking id), besides its Message-ID, From, To, Subject and Date.

    Never raises: unreadable or unrecognised input gives ``kind="unknown"`` with no
    recipients, and an auto-reply gives ``kind="auto_reply"`` with no code. Whatever is cut
    (recipients beyond MAX_RECIPIENTS, a report part beyond its size limit, diagnostics read in
    part once ``budget`` seconds of classification are spent) is counted and said in ``note``.
    """
    try:
        evidence = read_message(data)
        clf = classifier or default_classifier()
        recipients, over_budget = _from_evidence(evidence, budget, clf)
        msg = evidence.source
        date = bounce_date(msg) if msg is not None else ""
        original = (
            find_original(msg, headers, evidence.parts) if msg is not None else OriginalMessage()
        )
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
    cuts = list(evidence.cuts)
    more = more_mbox_messages(data[:MAX_MESSAGE_BYTES]) if isinstance(data, bytes) else 0
    if more:
        cuts.append(
            f"the data is an mbox: {more} more messages follow the first, which alone is read "
            "here (classify-mail and iter_mail read each)"
        )
    if over_budget:
        cuts.append(
            f"time budget of {budget:g} s spent: the diagnostics of {over_budget} recipients "
            f"were read only up to {_SHORT_DIAGNOSTIC} characters"
        )
    return MessageReport(
        kind=_message_kind(evidence.kind, recipients),
        recipients=recipients,
        decoded_by=evidence.decoded_by,
        subject=evidence.subject,
        sender=evidence.sender,
        message_id=evidence.message_id,
        note="; ".join(part for part in (evidence.note, *cuts) if part),
        unreported=evidence.unreported,
        over_budget=over_budget,
        cuts=tuple(cuts),
        date=date,
        original=original,
    )


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(BounceRecipient, MessageReport)
