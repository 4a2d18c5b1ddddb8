"""One row per recipient and attempt: the record, its classification, the output columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

from ..codes import CATALOGUE
from ..engine import Classifier, default_classifier
from ..logs import DONE, LogRecord, LogStatus
from ..outcome import after_log, logged_as_sent
from ..picklable import by_fields
from ..result import Classification
from .times import iso_time

__all__ = ["FIELDS", "ReplayRow", "classify_record", "refill", "render", "rows_of"]

#: Output columns, in order (JSON keys and the CSV header).
FIELDS: Final = (
    "source",
    "line",
    "time",
    "log_time",
    "id",
    "from",
    "message_id",
    "recipient",
    "relay",
    "mta",
    "mta_status",
    "dsn",
    "code",
    "label_en",
    "estado",
    "retry",
    "final",
    "reason",
    "rule_id",
    "tier",
    "stage",
    "matched",
    "text",
    "note",
)

#: Members read on every call, held as globals: Python 3.11 looks up an enum member on its
#: class at about twenty times the cost of a global.
_SENT: Final = LogStatus.SENT


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One recipient's delivery attempt (or final outcome) and its classification.

    For sent lines ``result`` is one shared 250 whose ``text`` is empty: the MTA's logged reply
    is ``record.reply`` (and the ``text`` of ``to_dict()``).
    """

    source: str
    line: int
    record: LogRecord
    recipient: str
    result: Classification

    def to_dict(self) -> dict[str, Any]:
        """The output record as a JSON-ready mapping (keys are ``FIELDS``).

        ``time`` is ISO 8601 (a syslog stamp's year inferred, see :mod:`.times`), ``log_time``
        the stamp as logged; ``code`` is null when unrecognised; ``retry`` and ``final`` say
        whether the platform retries the code (``final``: a recognised code it does not retry).
        """
        r, c = self.record, self.result
        return {
            "source": self.source,
            "line": self.line,
            "time": iso_time(r.time),
            "log_time": r.time,
            "id": r.queue_id,
            "from": r.sender,
            "message_id": r.message_id,
            "recipient": self.recipient,
            "relay": r.relay,
            "mta": r.mta,
            "mta_status": r.status,
            "dsn": r.dsn,
            **decision_columns(c),
            "matched": c.matched,
            "text": c.text or r.reply[:512],
            "note": c.note,
        }


def decision_columns(c: Classification) -> dict[str, Any]:
    """The columns a row takes from its decision alone (``code`` to ``stage``): ``code`` is
    null when unrecognised; ``retry`` and ``final`` say whether the platform retries the code
    (``final``: a recognised code it does not retry)."""
    info = CATALOGUE.get(c.code)  # one look-up for the label, estado and retry
    retry = info is not None and info.retry
    return {
        "code": c.code or None,
        "label_en": "" if info is None else info.label_en,
        "estado": "" if info is None else info.estado,
        "retry": retry,
        "final": info is not None and not retry,
        "reason": c.reason,
        "rule_id": c.rule_id,
        "tier": c.tier.value,
        "stage": c.stage.value,
    }


# --- classification of one record ------------------------------------------------------------


def classify_record(record: LogRecord, classifier: Classifier | None = None) -> Classification:
    """The classification of one record: its text, read in the light of the MTA's status
    (see :mod:`classifier.outcome`), by ``classifier`` (default: the bundled rules)."""
    if record.status is _SENT:
        return logged_as_sent()
    clf = classifier or default_classifier()
    result = clf.classify(record.reply, stage=record.stage, status=record.reply_status or None)
    return after_log(result, record.status)


#: One encoder for every row: json.dumps(..., ensure_ascii=False) builds one per call.
_JSON: Final = json.JSONEncoder(ensure_ascii=False)


def render(rows: Sequence[ReplayRow], output: str, explain: bool = False) -> str:
    """Rows as CSV lines or JSON lines; ``explain`` adds the decision in plain words."""
    if explain:
        return _render_explained(rows, output)
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            writer.writerow(["" if v is None else v for v in row.to_dict().values()])
        return buffer.getvalue()
    return "".join([_json_line(row) for row in rows])


#: The C string encoder that ``_JSON`` uses for every string (``ensure_ascii=False``).
_string: Final[Callable[[str], str]] = json.encoder.encode_basestring
#: The middle of a JSON row (``"code"`` to ``"stage"``), rendered once per decision.
_DECISIONS: dict[tuple[str, str | None, str | None, str, str], str] = {}
_DECISIONS_MAX: Final = 4096


def _decision_json(c: Classification) -> str:
    """``"code": …, … "stage": …`` of a result, as ``to_dict`` and ``_JSON`` write them."""
    key = (c.code, c.reason, c.rule_id, c.tier, c.stage)
    text = _DECISIONS.get(key)
    if text is None:
        text = _JSON.encode(decision_columns(c))[1:-1]
        if len(_DECISIONS) >= _DECISIONS_MAX:
            _DECISIONS.clear()
        _DECISIONS[key] = text
    return text


def _json_line(row: ReplayRow) -> str:
    """``_JSON.encode(row.to_dict()) + "\\n"``, from pre-rendered pieces: the fields that are
    the same for every row of one decision are rendered once (tests/test_replay_json.py
    holds the two equal)."""
    r, c = row.record, row.result
    s = _string
    matched = "null" if c.matched is None else s(c.matched)
    note = "null" if c.note is None else s(c.note)
    return (
        f'{{"source": {s(row.source)}, "line": {row.line:d}, "time": {s(iso_time(r.time))}, '
        f'"log_time": {s(r.time)}, "id": {s(r.queue_id)}, "from": {s(r.sender)}, '
        f'"message_id": {s(r.message_id)}, "recipient": {s(row.recipient)}, '
        f'"relay": {s(r.relay)}, "mta": {s(r.mta)}, "mta_status": {s(r.status)}, '
        f'"dsn": {s(r.dsn)}, {_decision_json(c)}, "matched": {matched}, '
        f'"text": {s(c.text or r.reply[:512])}, "note": {note}}}\n'
    )


#: Where the arrival columns sit in a CSV row.
_FROM_AT: Final = FIELDS.index("from")
_ID_AT: Final = FIELDS.index("message_id")


def refill(text: str, sender: str | None, message_id: str | None, output: str = "json") -> str:
    """One row as ``render`` wrote it (a JSON or CSV line), with the sender and Message-ID its
    message's arrival lines gave where it had none: what ``render`` writes for the filled
    record."""
    if not sender and not message_id:
        return text
    if output == "csv":
        values = next(csv.reader(io.StringIO(text)))
        if sender and not values[_FROM_AT]:
            values[_FROM_AT] = sender
        if message_id and not values[_ID_AT]:
            values[_ID_AT] = message_id
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(values)
        return buffer.getvalue()
    # The two fields are replaced where they stand: a key's quotes cannot occur unescaped
    # inside a JSON string, so '"from": null, ' is that field and nothing else (parsing and
    # writing the whole row again gave the same text at ten times the cost, on the one
    # process that collects every worker's rows).
    for key, value in (('"from": ', sender), ('"message_id": ', message_id)):
        if not value:
            continue
        for empty in ("null, ", '"", '):
            old = key + empty
            at = text.find(old)
            if at >= 0:
                text = f"{text[:at]}{key}{_string(value)}, {text[at + len(old) :]}"
                break
    return text


def _render_explained(rows: Sequence[ReplayRow], output: str) -> str:
    data = [{**row.to_dict(), "explanation": row.result.explain()} for row in rows]
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for d in data:
            writer.writerow(["" if v is None else v for v in d.values()])
        return buffer.getvalue()
    return "".join(_JSON.encode(d) + "\n" for d in data)


def rows_of(
    record: LogRecord,
    source: str,
    number: int,
    final: bool,
    classifier: Classifier | None = None,
) -> list[ReplayRow]:
    """The rows of one record: one per recipient (one with no recipient for message lines)."""
    if record.status == DONE:
        return (
            [
                ReplayRow(
                    source=source, line=number, record=record, recipient="", result=logged_as_sent()
                )
            ]
            if final
            else []
        )
    result = classify_record(record, classifier)
    recipients = record.recipients
    if len(recipients) == 1:  # the usual line: one recipient
        return [_row(source, number, record, recipients[0], result)]
    return [_row(source, number, record, r, result) for r in recipients or ("",)]


_s_source, _s_line, _s_record, _s_recipient, _s_result = (
    vars(ReplayRow)[f.name].__set__ for f in fields(ReplayRow)
)
_new = ReplayRow.__new__


def _row(
    source: str, line: int, record: LogRecord, recipient: str, result: Classification
) -> ReplayRow:
    """``ReplayRow(source=source, ...)``, its slots written directly (a frozen dataclass's
    ``__init__`` calls ``object.__setattr__`` per field: twice the cost, on every row)."""
    row: ReplayRow = _new(ReplayRow)
    _s_source(row, source)
    _s_line(row, line)
    _s_record(row, record)
    _s_recipient(row, recipient)
    _s_result(row, result)
    return row


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(ReplayRow)
