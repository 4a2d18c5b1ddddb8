"""Sendmail: ``to=…, … dsn=…, stat=…`` recipient records ("Sendmail", O'Reilly, ``stat=``)."""

from __future__ import annotations

from .fields import dsn_field, queue_id_end, syslog_time
from .record import BOUNCED, DEFERRED, SENT, LogRecord, MalformedLineError

__all__ = ["parse_sendmail"]


def parse_sendmail(line: str) -> LogRecord | None:
    """A Sendmail recipient record: ``ID: to=…, …, dsn=X.Y.Z, stat=…``.

    ``stat=`` holds the remote's reply when there was one ("Deferred: 421 …", "Sent (…)") and
    Sendmail's own words otherwise ("User unknown"), so ``dsn=`` comes with it as the status
    that fills in what the words lack (``reply_status``).
    """
    s = line.find(" stat=")
    if s < 0:
        return None
    prog = line.find("]: ")
    if prog < 0 or prog > s:
        return None
    qid_start = prog + 3
    qid_end = queue_id_end(line, qid_start, s, "Sendmail stat= line")
    to = line.find("to=", qid_end, s)
    if to < 0 or line[to - 1] not in " ,":
        return None  # a sender record or a DSN notice, not a recipient record
    to_end = line.find(", ", to)
    if to_end < 0 or to_end > s:
        raise MalformedLineError("Sendmail to= field is not terminated")
    recipients = tuple(r.strip().strip("<>") for r in line[to + 3 : to_end].split(",") if r)
    stat = line[s + 6 :]
    dsn = dsn_field(line, to_end, s)
    if stat.startswith("Sent"):
        status = SENT
        reply = stat[6:-1] if stat.startswith("Sent (") and stat.endswith(")") else ""
    elif stat.startswith("queued"):
        return None
    else:
        status = DEFERRED if stat.startswith("Deferred") or dsn.startswith("4") else BOUNCED
        reply = stat
    return LogRecord(
        mta="sendmail",
        status=status,
        time=syslog_time(line),
        queue_id=line[qid_start:qid_end],
        recipients=recipients,
        reply=reply,
        dsn=dsn,
        reply_status=dsn if status is not SENT else "",
    )
