"""A delivery attempt read from one log line, and what kind of line it was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..enums import Stage
from ..errors import ClassifierError

__all__ = [
    "BOUNCED",
    "DEFERRED",
    "DONE",
    "EXPIRED",
    "SENT",
    "LineKind",
    "LogRecord",
    "MalformedLineError",
]


#: The attempt succeeded.
SENT: Final = "sent"
#: A temporary failure: the MTA will try again.
DEFERRED: Final = "deferred"
#: A permanent failure: the MTA gave up on this recipient.
BOUNCED: Final = "bounced"
#: The queue lifetime ran out after deferrals.
EXPIRED: Final = "expired"
#: Not an attempt: the MTA is done with the message (Postfix "removed", Exim "Completed").
DONE: Final = "done"


class MalformedLineError(ClassifierError):
    """A line that names a delivery but whose fields cannot be read (cut, mangled)."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One delivery attempt (or outcome) read from one log line."""

    #: Which log format the line came from: postfix, exim, sendmail, powermta, kumomta, csv, json.
    mta: str
    #: SENT, DEFERRED, BOUNCED, EXPIRED or DONE; "unknown" for exports without a status column.
    status: str
    #: The time as the log wrote it (not parsed: logs rarely carry the year or the zone).
    time: str
    #: The MTA's queue or message id ("" when the format has none).
    queue_id: str
    #: Recipients the line reports on; empty for message-level lines (Postfix expired, DONE).
    recipients: tuple[str, ...]
    #: The text to classify: the remote's reply, or the MTA's description of what happened.
    reply: str
    #: The MTA's own status code (Postfix/Sendmail ``dsn=``, PowerMTA ``dsnStatus``): its
    #: reading, kept as evidence, not the remote's words.
    dsn: str = ""
    #: SMTP stage when the format states it separately (KumoMTA ``response.command``).
    stage: Stage | None = None
    #: The MTA's own category, when it logs one (PowerMTA ``bounceCat``, KumoMTA
    #: ``bounce_classification``).
    category: str = ""


class LineKind:
    """What a line turned out to be; every input line is exactly one of these."""

    #: A delivery attempt or outcome (a LogRecord with a status other than DONE).
    DELIVERY: Final = "delivery"
    #: A known format's line that is not a delivery (arrivals, headers, DONE markers, blanks).
    SKIPPED: Final = "skipped"
    #: No known format recognised the line.
    UNRECOGNISED: Final = "unrecognised"
    #: A delivery line whose fields could not be read.
    MALFORMED: Final = "malformed"
