"""A delivery attempt read from one log line, and what kind of line it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Final

from ..enums import LineKind, LogStatus, Stage
from ..errors import ClassifierError
from ..picklable import by_fields

__all__ = [
    "BOUNCED",
    "DEFERRED",
    "DONE",
    "EXPIRED",
    "SENT",
    "LineKind",
    "LogRecord",
    "LogStatus",
    "MalformedLineError",
    "delivery_record",
]


#: The statuses, by their short names (members of LogStatus).
SENT: Final = LogStatus.SENT
DEFERRED: Final = LogStatus.DEFERRED
BOUNCED: Final = LogStatus.BOUNCED
EXPIRED: Final = LogStatus.EXPIRED
DONE: Final = LogStatus.DONE


class MalformedLineError(ClassifierError):
    """A line that names a delivery but whose fields cannot be read (cut, mangled)."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One delivery attempt (or outcome) read from one log line."""

    #: Which log format the line came from: postfix, exim, sendmail, powermta, kumomta, csv, json.
    mta: str
    #: What happened; UNKNOWN for exports without a status column.
    status: LogStatus
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
    #: A status that fills in what ``reply`` lacks (``classify(..., status=)``): Sendmail's
    #: ``dsn=`` beside its own words ("User unknown"); "" where the MTA's status is only
    #: evidence (Postfix logs the remote's reply and its own reading of it).
    reply_status: str = ""
    #: The envelope sender, when the log names it (Postfix, Exim and Sendmail: from the
    #: message's arrival line; KumoMTA: from the record itself), else "".
    sender: str = ""
    #: The host the MTA delivered to or tried (Postfix ``relay=``, Exim ``H=``), else "".
    relay: str = ""
    #: The message's Message-ID as the MTA logged it on arrival (Postfix cleanup
    #: ``message-id=``, Exim ``id=``, Sendmail ``msgid=``), else "": the link to bounce mail.
    message_id: str = ""


def _setters() -> tuple[Callable[[LogRecord, Any], None], ...]:
    slots = vars(LogRecord)
    return tuple(slots[f.name].__set__ for f in fields(LogRecord))


(
    _mta,
    _status,
    _time,
    _queue_id,
    _recipients,
    _reply,
    _dsn,
    _stage,
    _category,
    _reply_status,
    _sender,
    _relay,
    _message_id,
) = _setters()
_new = LogRecord.__new__


def delivery_record(
    mta: str,
    status: LogStatus,
    time: str,
    queue_id: str,
    recipients: tuple[str, ...],
    reply: str,
    dsn: str,
    relay: str,
) -> LogRecord:
    """``LogRecord(mta=mta, ..., dsn=dsn, relay=relay)`` with the other fields at their
    defaults, its slots written directly: a frozen dataclass's ``__init__`` calls
    ``object.__setattr__`` per field, a fifth of the cost of a log line's parsing."""
    record: LogRecord = _new(LogRecord)
    _mta(record, mta)
    _status(record, status)
    _time(record, time)
    _queue_id(record, queue_id)
    _recipients(record, recipients)
    _reply(record, reply)
    _dsn(record, dsn)
    _stage(record, None)
    _category(record, "")
    _reply_status(record, "")
    _sender(record, "")
    _relay(record, relay)
    _message_id(record, "")
    return record


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(LogRecord)
