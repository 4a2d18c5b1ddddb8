"""Reading delivery attempts out of MTA log lines, one parser per log format.

Every parser takes one line (without its line break) and returns a ``LogRecord`` when the line
reports a delivery attempt or its outcome, ``None`` when it is some other line of that MTA (or
not of that format at all), and raises ``MalformedLineError`` when the line claims to be a delivery
but cannot be read. Parsers look for cheap substrings before doing any real work, because a
replay reads millions of lines and most of them are not deliveries.

Formats and where they are described:

* Postfix: ``postfix/smtp``, ``lmtp``, ``error``, ``local``, ``virtual``, ``pipe`` lines with
  ``to=<…>, … dsn=…, status=… (text)`` and ``qmgr`` ``status=expired`` lines (Postfix
  ``bounce(8)``/``qmgr(8)``, and the shared corpus captured from Postfix 3.7.11).
* Exim main log: ``**`` (bounced), ``==`` (deferred), ``=>``/``->``/``>>`` (delivered) and
  ``Completed`` (Exim specification, chapter "Log files").
* Sendmail: ``to=…, … dsn=…, stat=…`` recipient records ("Sendmail", O'Reilly, ``stat=``).
* PowerMTA accounting CSV, read through its header line (PowerMTA User's Guide, "Accounting
  records": ``type``, ``rcpt``, ``dsnAction``, ``dsnStatus``, ``dsnDiag``, ``bounceCat``).
* KumoMTA JSON log records (docs.kumomta.com, reference "Log Record").
* Any CSV or JSON-lines export, with the reply column named by the caller.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..errors import ClassifierError

__all__ = [
    "BOUNCED",
    "DEFERRED",
    "DONE",
    "EXPIRED",
    "FORMATS",
    "SENT",
    "LineKind",
    "LineParser",
    "LogRecord",
    "MalformedLineError",
    "csv_header",
    "parse_csv_row",
    "parse_exim",
    "parse_json",
    "parse_kumomta",
    "parse_postfix",
    "parse_powermta",
    "parse_sendmail",
    "powermta_header",
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
    stage: str | None = None
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


def _syslog_time(line: str) -> str:
    """The timestamp of a syslog line: RFC 3339 first token or the classic 15 characters."""
    if line[:1].isdigit():
        end = line.find(" ")
        return line[:end] if end > 0 else ""
    return line[:15]


def _dsn_field(line: str, start: int, status_at: int) -> str:
    """The ``dsn=`` value between ``start`` and the `` status=``/`` stat=`` field, or ""."""
    d = line.find(" dsn=", start, status_at)
    if d < 0:
        return ""
    end = line.find(",", d)
    return line[d + 5 : end if 0 <= end < status_at else status_at]


def _queue_id_end(line: str, start: int, status_at: int, what: str) -> int:
    """Where the queue id starting at ``start`` ends: at the ": " before the status field."""
    end = line.find(": ", start)
    if end < 0 or end > status_at or " " in line[start:end]:
        raise MalformedLineError(f"{what} without a queue id")
    return end


# --- Postfix ---------------------------------------------------------------------------------

_POSTFIX_STATUSES: Final = {
    "sent": SENT,
    "deferred": DEFERRED,
    "bounced": BOUNCED,
    "expired": EXPIRED,
    "SOFTBOUNCE": DEFERRED,  # soft_bounce = yes: a bounce turned into a deferral
}


def parse_postfix(line: str) -> LogRecord | None:
    """A Postfix delivery line (``to=<…>, … status=…``) or qmgr ``status=expired``/``removed``.

    The ``dsn=`` field is Postfix's own reading (a refused greeting ``554 5.7.1`` is logged
    ``dsn=4.7.1, status=deferred``), so ``reply`` is the text in the parentheses, which holds
    the remote's words ("host X said: …") or Postfix's description of a connection problem.
    """
    prog = line.find("postfix")
    if prog < 0:
        return None
    s = line.find(" status=")
    if s < 0:
        return _postfix_removed(line, prog) if line.endswith(": removed") else None
    head = line.find("]: ", prog)
    if prog > s or head < 0 or head > s:
        return None
    qid_start = head + 3
    qid_end = _queue_id_end(line, qid_start, s, "Postfix status line")
    word_start = s + 8
    word_end = word_start
    n = len(line)
    while word_end < n and line[word_end] not in ", (":
        word_end += 1
    status = _POSTFIX_STATUSES.get(line[word_start:word_end])
    if status is None:
        # deliverable/undeliverable (address probes) and anything new: not a delivery.
        return None
    qid = line[qid_start:qid_end]
    time = _syslog_time(line)
    rest = line[word_end:]
    if rest.startswith(" ("):
        reply = rest[2:-1] if rest.endswith(")") else rest[2:]
    else:
        reply = rest.lstrip(", ")
    if status == EXPIRED:
        return LogRecord("postfix", EXPIRED, time, qid, (), reply)
    to = line.find("to=<", qid_end, s)
    if to < 0:
        raise MalformedLineError("Postfix delivery line without to=<…>")
    to_end = line.find(">", to + 4, s)
    if to_end < 0:
        raise MalformedLineError("Postfix delivery line with an unterminated to=<…>")
    dsn = _dsn_field(line, to_end, s)
    return LogRecord("postfix", status, time, qid, (line[to + 4 : to_end],), reply, dsn)


def _postfix_removed(line: str, prog: int) -> LogRecord | None:
    """qmgr's "ID: removed": Postfix is done with the message."""
    head = line.find("]: ", prog)
    if head < 0:
        return None
    qid = line[head + 3 : -9]
    if not qid or " " in qid:
        return None
    return LogRecord("postfix", DONE, _syslog_time(line), qid, (), "")


# --- Exim ------------------------------------------------------------------------------------

_EXIM_FLAGS: Final = {"**": BOUNCED, "==": DEFERRED, "=>": SENT, "->": SENT, ">>": SENT}


def _exim_prefix(line: str) -> tuple[str, list[str]] | None:
    """Split "date time [pid] [zone] id rest…" into the time and up to four tokens."""
    if len(line) < 20 or line[4] != "-" or line[7] != "-" or line[10] != " " or line[13] != ":":
        return None
    pos = line.find(" ", 11)
    if pos < 0:
        return None
    time = line[:pos]
    while line[pos + 1 : pos + 2] in ("[", "+", "-") and line[pos + 2 : pos + 3].isdigit():
        pos = line.find(" ", pos + 1)
        if pos < 0:
            return None
    return time, line[pos + 1 :].split(" ", 3)


def _exim_address(token: str) -> str:
    return token.rstrip(":").strip("<>")


def _exim_message(text: str) -> str:
    """Drop "host NAME [IP]: " after "… after RCPT TO:<x>: ", the form older Exims write."""
    h = text.find(": host ")
    if h >= 0:
        colon = text.find("]: ", h)
        if colon >= 0:
            return text[: h + 2] + text[colon + 3 :]
    return text


def parse_exim(line: str) -> LogRecord | None:
    """An Exim main-log delivery line: ``**`` bounced, ``==`` deferred, ``=>``/``->`` sent.

    ``** a@b: retry timeout exceeded`` is Exim giving up after deferrals: EXPIRED.
    ``== … retry time not reached`` is no attempt at all and gives ``None``.
    """
    split = _exim_prefix(line)
    if split is None:
        return None
    time, tokens = split
    if len(tokens) < 2:
        return None
    msgid, flag = tokens[0], tokens[1]
    if "-" not in msgid:
        return None
    if flag == "Completed" and len(tokens) == 2:
        return LogRecord("exim", DONE, time, msgid, (), "")
    status = _EXIM_FLAGS.get(flag)
    if status is None:
        return None
    if len(tokens) < 3:
        raise MalformedLineError(f"Exim {flag} line without an address")
    address = tokens[2]
    rest = tokens[3] if len(tokens) > 3 else ""
    recipient = _exim_address(address)
    if address.startswith(("|", "/")):
        lt = rest.find("<")
        gt = rest.find(">", lt)
        if lt >= 0 and gt > lt:
            recipient = rest[lt + 1 : gt]
    if status == SENT:
        c = rest.find(' C="')
        reply = ""
        if c >= 0:
            end = rest.find('"', c + 4)
            reply = rest[c + 4 : end if end >= 0 else len(rest)]
        return LogRecord("exim", SENT, time, msgid, (recipient,), reply)
    if address.endswith(":"):
        message = rest
    else:
        colon = rest.find(": ")
        if colon < 0:
            raise MalformedLineError(f"Exim {flag} line without a message")
        message = rest[colon + 2 :]
    if status == DEFERRED and "retry time not reached" in message:
        return None
    if "retry timeout exceeded" in message:
        status = EXPIRED
    return LogRecord("exim", status, time, msgid, (recipient,), _exim_message(message))


# --- Sendmail --------------------------------------------------------------------------------


def parse_sendmail(line: str) -> LogRecord | None:
    """A Sendmail recipient record: ``ID: to=…, …, dsn=X.Y.Z, stat=…``.

    ``stat=`` holds the remote's reply when there was one ("Deferred: 421 …", "Sent (…)") and
    Sendmail's own words otherwise ("User unknown"), so ``reply`` keeps ``dsn=`` beside it.
    """
    s = line.find(" stat=")
    if s < 0:
        return None
    prog = line.find("]: ")
    if prog < 0 or prog > s:
        return None
    qid_start = prog + 3
    qid_end = _queue_id_end(line, qid_start, s, "Sendmail stat= line")
    to = line.find("to=", qid_end, s)
    if to < 0 or line[to - 1] not in " ,":
        return None  # a sender record or a DSN notice, not a recipient record
    to_end = line.find(", ", to)
    if to_end < 0 or to_end > s:
        raise MalformedLineError("Sendmail to= field is not terminated")
    recipients = tuple(r.strip().strip("<>") for r in line[to + 3 : to_end].split(",") if r)
    stat = line[s + 6 :]
    dsn = _dsn_field(line, to_end, s)
    if stat.startswith("Sent"):
        status = SENT
        reply = stat[6:-1] if stat.startswith("Sent (") and stat.endswith(")") else ""
    elif stat.startswith("queued"):
        return None
    else:
        status = DEFERRED if stat.startswith("Deferred") or dsn.startswith("4") else BOUNCED
        reply = f"dsn={dsn}, stat={stat}" if dsn else f"stat={stat}"
    qid = line[qid_start:qid_end]
    return LogRecord("sendmail", status, _syslog_time(line), qid, recipients, reply, dsn)


# --- CSV exports: PowerMTA accounting files and any other CSV --------------------------------


def csv_header(line: str, required: str) -> tuple[str, ...] | None:
    """The columns of a CSV header line, when it has a column named ``required``."""
    if required not in line:
        return None
    try:
        columns = tuple(c.strip() for c in _csv_fields(line))
    except MalformedLineError:
        return None
    return columns if required in columns else None


def powermta_header(line: str) -> tuple[str, ...] | None:
    """The columns of a PowerMTA accounting header ("type,timeLogged,…,rcpt,…")."""
    if not line.startswith("type,") or "rcpt" not in line:
        return None
    return csv_header(line, "rcpt")


def _csv_fields(line: str) -> list[str]:
    if '"' not in line:
        return line.split(",")
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:  # a stray carriage return or NUL inside quotes
        raise MalformedLineError(f"CSV line cannot be read: {exc}") from exc


_PMTA_TYPES: Final = {"d": SENT, "b": BOUNCED, "t": DEFERRED, "tq": DEFERRED, "rb": BOUNCED}
_PMTA_ACTIONS: Final = {
    "delivered": SENT,
    "relayed": SENT,
    "expanded": SENT,
    "failed": BOUNCED,
    "delayed": DEFERRED,
}


def _columns(header: Sequence[str], fields: Sequence[str]) -> dict[str, str]:
    return {name: fields[i] for i, name in enumerate(header) if i < len(fields)}


def parse_powermta(line: str, header: Sequence[str]) -> LogRecord | None:
    """A PowerMTA accounting record, read through the file's header line.

    ``d`` (delivered), ``b`` (bounced), ``t``/``tq`` (transient) and ``rb``/``rs`` (remote
    bounce or status) records are deliveries; ``r`` (received) and ``f`` (feedback) are not.
    A bounce whose ``bounceCat`` is ``message-expired`` is PowerMTA giving up: EXPIRED.
    """
    fields = _csv_fields(line)
    if len(fields) < 2:
        raise MalformedLineError("PowerMTA record with fewer than two columns")
    row = _columns(header, fields)
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
        "powermta", status, row.get("timeLogged", ""), qid, (rcpt,), reply, dsn, None, category
    )


# --- JSON: KumoMTA log records and any other JSON lines --------------------------------------

_KUMO_TYPES: Final = {
    "Delivery": SENT,
    "Bounce": BOUNCED,
    "TransientFailure": DEFERRED,
    "Expiration": EXPIRED,
    "AdminBounce": BOUNCED,
    "OOB": BOUNCED,
}
_KUMO_NOT_DELIVERY: Final = frozenset({"Reception", "Feedback", "Rejection", "Delay"})
_KUMO_STAGES: Final = {
    "EHLO": "helo",
    "HELO": "helo",
    "LHLO": "helo",
    "STARTTLS": "starttls",
    "AUTH": "auth",
    "MAIL FROM": "mail",
    "RCPT TO": "rcpt",
    "DATA": "data",
    ".": "end_of_data",
    "BDAT": "end_of_data",
    "QUIT": "quit",
}


def _recipients(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(str(v) for v in value if v)
    return ()


def _load_object(line: str) -> dict[str, Any] | None:
    """The JSON object on a line, or None (not JSON, or JSON but not an object)."""
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def parse_kumomta(line: str, obj: Mapping[str, Any] | None = None) -> LogRecord | None:
    """A KumoMTA log record (one JSON object per line).

    ``Delivery``, ``Bounce``, ``TransientFailure``, ``Expiration``, ``AdminBounce`` and ``OOB``
    records are deliveries; ``Reception``, ``Rejection``, ``Feedback`` and ``Delay`` are not.
    The reply is rebuilt as "code x.y.z content" from ``response``; ``response.command`` gives
    the stage.
    """
    obj = obj if obj is not None else _load_object(line)
    if obj is None:
        return None
    kind = obj.get("type")
    if not isinstance(kind, str) or "response" not in obj:
        return None
    status = _KUMO_TYPES.get(kind)
    if status is None:
        return None
    response = obj.get("response")
    if not isinstance(response, dict):
        raise MalformedLineError("KumoMTA record whose response is not an object")
    code = response.get("code")
    content = str(response.get("content") or "")
    enhanced = response.get("enhanced_code")
    dsn = ""
    if isinstance(enhanced, dict):
        dsn = f"{enhanced.get('class')}.{enhanced.get('subject')}.{enhanced.get('detail')}"
    parts = [str(code) if isinstance(code, int) else "", dsn, content]
    reply = " ".join(p for p in parts if p)
    command = response.get("command")
    stage = _KUMO_STAGES.get(command.strip().upper()) if isinstance(command, str) else None
    recipients = _recipients(obj.get("recipient"))
    if not recipients:
        raise MalformedLineError(f"KumoMTA {kind} record without a recipient")
    category = obj.get("bounce_classification")
    return LogRecord(
        "kumomta",
        status,
        str(obj.get("timestamp", "")),
        str(obj.get("id", "")),
        recipients,
        reply,
        dsn,
        stage,
        category if isinstance(category, str) else "",
    )


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
    status = "unknown"
    if isinstance(raw_status, str):
        key = raw_status.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
        status = _STATUS_WORDS.get(key, "unknown")
    time, qid = _first(row, _TIME_NAMES), _first(row, _ID_NAMES)
    recipients = _recipients(_first(row, _RECIPIENT_NAMES))
    text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
    return LogRecord(
        mta,
        status,
        "" if time is None else str(time),
        "" if qid is None else str(qid),
        recipients,
        text,
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
    obj = obj if obj is not None else _load_object(line)
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
    row = _columns(header, _csv_fields(line))
    if field not in row:
        raise MalformedLineError(f"CSV row too short for the column {field!r}")
    return _generic("csv", row, row[field], status_field)


# --- Choosing the parser for each line -------------------------------------------------------

FORMATS: Final = ("auto", "postfix", "exim", "sendmail", "powermta", "kumomta", "csv", "json")


class LineParser:
    """Sends each line to the parser of its format and says what kind of line it was.

    In ``auto`` mode each line is recognised by cheap markers, so one stream may mix formats
    (a syslog file holding Postfix and Sendmail). CSV files need their header line: the parser
    remembers the last header seen until ``reset()`` is called for a new file.
    """

    __slots__ = ("field", "fmt", "header", "header_kind", "status_field")

    def __init__(
        self, fmt: str = "auto", *, field: str | None = None, status_field: str | None = None
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown log format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if fmt in ("csv", "json") and not field:
            raise ValueError(f"the {fmt} format needs the name of the reply field")
        self.fmt = fmt
        self.field = field
        self.status_field = status_field
        self.header: tuple[str, ...] | None = None
        self.header_kind = ""

    def reset(self) -> None:
        """Forget the CSV header: the next file starts afresh."""
        self.header = None
        self.header_kind = ""

    def observe_header(self, line: str, *, first: bool) -> bool:
        """Take ``line`` as the CSV header when it is one; ``first`` is the file's first line."""
        if self.fmt in ("auto", "powermta"):
            header = powermta_header(line)
            if header is not None:
                self.header, self.header_kind = header, "powermta"
                return True
        if first and self.field and self.fmt in ("auto", "csv") and not line.startswith("{"):
            header = csv_header(line, self.field)
            if header is not None:
                self.header, self.header_kind = header, "csv"
                return True
        return False

    def parse(self, line: str, *, first: bool = False) -> tuple[str, LogRecord | None]:
        """The kind of ``line`` (a LineKind value) and its record when it is a delivery."""
        if not line or line.isspace():
            return LineKind.SKIPPED, None
        if (first or line.startswith("type,")) and self.observe_header(line, first=first):
            return LineKind.SKIPPED, None
        fmt = self.fmt
        if fmt == "auto":
            fmt = self._detect(line)
            if not fmt:
                return LineKind.UNRECOGNISED, None
        try:
            record, known = self._parse(fmt, line)
        except MalformedLineError:
            return LineKind.MALFORMED, None
        if record is None:
            return (LineKind.SKIPPED if known else LineKind.UNRECOGNISED), None
        if record.status == DONE:
            return LineKind.SKIPPED, record
        return LineKind.DELIVERY, record

    def _parse(self, fmt: str, line: str) -> tuple[LogRecord | None, bool]:
        """The record of ``line`` read as ``fmt``, and whether the line is of that format."""
        record: LogRecord | None
        if fmt == "postfix":
            record = parse_postfix(line)
            known = record is not None or "postfix" in line
        elif fmt == "exim":
            record = parse_exim(line)
            known = record is not None or _exim_prefix(line) is not None
        elif fmt == "sendmail":
            record = parse_sendmail(line)
            known = record is not None or "]: " in line
        elif fmt in ("powermta", "csv"):
            if self.header is None or (self.fmt != "auto" and self.header_kind != fmt):
                return None, False
            if self.header_kind == "powermta":
                record = parse_powermta(line, self.header)
            else:
                assert self.field is not None
                record = parse_csv_row(
                    line, self.header, self.field, status_field=self.status_field
                )
            known = True
        else:  # kumomta or json
            obj = _load_object(line)
            if obj is None:
                return None, False
            if fmt != "json" and isinstance(obj.get("type"), str) and "response" in obj:
                record = parse_kumomta(line, obj)
            elif self.field:
                record = parse_json(line, self.field, status_field=self.status_field, obj=obj)
            else:
                return None, False
            known = True
        return record, known

    def _detect(self, line: str) -> str:
        """The likely format of one line, from cheap substring tests only."""
        c = line[0]
        if c == "{":
            return "kumomta"
        if self.header is not None and "," in line:
            return self.header_kind
        if c.isdigit() and len(line) > 20 and line[4] == "-" and line[10] == " ":
            return "exim"
        if "postfix" in line and "]: " in line:
            return "postfix"
        if " stat=" in line or "sendmail[" in line or "sm-mta[" in line:
            return "sendmail"
        return ""
