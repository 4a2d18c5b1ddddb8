"""Any CSV or JSON-lines export, with the reply column named by the caller."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ..enums import LogStatus
from .fields import columns, csv_fields, load_object, recipients_of
from .record import BOUNCED, DEFERRED, EXPIRED, SENT, LogRecord, MalformedLineError

__all__ = ["parse_csv_row", "parse_json"]

_STATUS_WORDS: Final = {
    "sent": SENT,
    "delivered": SENT,
    "delivery": SENT,
    "success": SENT,
    "relayed": SENT,
    "deferred": DEFERRED,
    "deferral": DEFERRED,
    "delayed": DEFERRED,
    "transient": DEFERRED,
    "transientfailure": DEFERRED,
    "soft": DEFERRED,
    "softbounce": DEFERRED,
    "bounced": BOUNCED,
    "bounce": BOUNCED,
    "failed": BOUNCED,
    "failure": BOUNCED,
    "hard": BOUNCED,
    "hardbounce": BOUNCED,
    "rejected": BOUNCED,
    "expired": EXPIRED,
    "expiration": EXPIRED,
}
_RECIPIENT_NAMES: Final = ("recipient", "rcpt", "to", "email", "address")
_ID_NAMES: Final = ("queue_id", "message_id", "msgid", "id")
_TIME_NAMES: Final = ("time", "timestamp", "date", "ts")
_STATUS_NAMES: Final = ("status", "action", "event")


def _first(row: Mapping[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        value = row.get(name)
        if value not in (None, ""):
            return value
    return None


def _generic(
    mta: str, row: Mapping[str, Any], reply: object, status_field: str | None
) -> LogRecord:
    raw_status = row.get(status_field) if status_field else _first(row, _STATUS_NAMES)
    status = LogStatus.UNKNOWN
    if isinstance(raw_status, str):
        key = raw_status.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
        status = _STATUS_WORDS.get(key, LogStatus.UNKNOWN)
    time, qid = _first(row, _TIME_NAMES), _first(row, _ID_NAMES)
    recipients = recipients_of(_first(row, _RECIPIENT_NAMES))
    text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
    return LogRecord(
        mta=mta,
        status=status,
        time="" if time is None else str(time),
        queue_id="" if qid is None else str(qid),
        recipients=recipients,
        reply=text,
    )


def _dig(obj: Mapping[str, Any], path: str) -> Any:
    if path in obj:
        return obj[path]
    value: Any = obj
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def parse_json(
    line: str, field: str, *, status_field: str | None = None, obj: Mapping[str, Any] | None = None
) -> LogRecord | None:
    """Any JSON-lines export: the reply is ``field`` (dotted for nested keys, "a.b").

    The recipient, id, time and status are taken from the usual names (``recipient``/``rcpt``/
    ``to``/``email``, ``queue_id``/``message_id``/``id``, ``time``/``timestamp``, ``status``/
    ``action``/``event`` or ``status_field``); a status word that is not known gives "unknown".
    """
    obj = obj if obj is not None else load_object(line)
    if obj is None:
        return None
    reply = _dig(obj, field)
    if reply is None:
        raise MalformedLineError(f"JSON record without the field {field!r}")
    return _generic("json", obj, reply, status_field)


def parse_csv_row(
    line: str, header: Sequence[str], field: str, *, status_field: str | None = None
) -> LogRecord | None:
    """A row of any CSV export with a header line; the reply is the column ``field``."""
    if not line.strip():
        return None
    row = columns(header, csv_fields(line))
    if field not in row:
        raise MalformedLineError(f"CSV row too short for the column {field!r}")
    return _generic("csv", row, row[field], status_field)
