"""PowerMTA accounting CSV, read through its header line (PowerMTA User's Guide, "Accounting
records": ``type``, ``rcpt``, ``dsnAction``, ``dsnStatus``, ``dsnDiag``, ``bounceCat``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .fields import columns, csv_fields, csv_header
from .record import BOUNCED, DEFERRED, EXPIRED, SENT, LogRecord, MalformedLineError

__all__ = ["parse_powermta", "powermta_header"]


def powermta_header(line: str) -> tuple[str, ...] | None:
    """The columns of a PowerMTA accounting header ("type,timeLogged,…,rcpt,…")."""
    if not line.startswith("type,") or "rcpt" not in line:
        return None
    return csv_header(line, "rcpt")


_PMTA_TYPES: Final = {"d": SENT, "b": BOUNCED, "t": DEFERRED, "tq": DEFERRED, "rb": BOUNCED}
_PMTA_ACTIONS: Final = {
    "delivered": SENT,
    "relayed": SENT,
    "expanded": SENT,
    "failed": BOUNCED,
    "delayed": DEFERRED,
}


def parse_powermta(line: str, header: Sequence[str]) -> LogRecord | None:
    """A PowerMTA accounting record, read through the file's header line.

    ``d`` (delivered), ``b`` (bounced), ``t``/``tq`` (transient) and ``rb``/``rs`` (remote
    bounce or status) records are deliveries; ``r`` (received) and ``f`` (feedback) are not.
    A bounce whose ``bounceCat`` is ``message-expired`` is PowerMTA giving up: EXPIRED.
    """
    fields = csv_fields(line)
    if len(fields) < 2:
        raise MalformedLineError("PowerMTA record with fewer than two columns")
    row = columns(header, fields)
    kind = row.get("type", fields[0])
    status = _PMTA_TYPES.get(kind)
    if kind == "rs":
        status = _PMTA_ACTIONS.get(row.get("dsnAction", "").lower())
    if status is None:
        return None
    rcpt = row.get("rcpt", "")
    if not rcpt:
        raise MalformedLineError("PowerMTA record without rcpt")
    category = row.get("bounceCat", "")
    if status == BOUNCED and category == "message-expired":
        status = EXPIRED
    dsn_status = row.get("dsnStatus", "")
    reply = row.get("dsnDiag", "") or dsn_status
    qid = row.get("envId", "") or row.get("jobId", "")
    dsn = dsn_status.split(" ", 1)[0]
    return LogRecord(
        mta="powermta",
        status=status,
        time=row.get("timeLogged", ""),
        queue_id=qid,
        recipients=(rcpt,),
        reply=reply,
        dsn=dsn,
        stage=None,
        category=category,
    )
