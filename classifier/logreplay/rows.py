"""One row per recipient and attempt: the record, its classification, the output columns."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Final

from ..engine import classify
from ..enums import Verdict
from ..logs import BOUNCED, DONE, EXPIRED, SENT, LogRecord
from ..policy import gave_up
from ..result import Classification

__all__ = ["FIELDS", "ReplayRow", "classify_record", "render", "rows_of", "sent_result"]

#: Output columns, in order (JSON keys and the CSV header).
FIELDS: Final = (
    "source",
    "line",
    "time",
    "id",
    "recipient",
    "mta",
    "mta_status",
    "dsn",
    "code",
    "estado",
    "reason",
    "rule",
    "tier",
    "stage",
    "matched",
    "text",
    "note",
)

_EXPIRED_WHY: Final = "the MTA gave up after deferrals (queue lifetime expired)"
_GAVE_UP_WHY: Final = "the MTA bounced the recipient on a temporary failure: it gave up"


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
        """The output record as a JSON-ready mapping (keys are ``FIELDS``)."""
        r, c = self.record, self.result
        return {
            "source": self.source,
            "line": self.line,
            "time": r.time,
            "id": r.queue_id,
            "recipient": self.recipient,
            "mta": r.mta,
            "mta_status": r.status,
            "dsn": r.dsn,
            "code": c.code,
            "estado": c.estado,
            "reason": c.reason,
            "rule": c.rule_id,
            "tier": c.tier.value,
            "stage": c.stage.value,
            "matched": c.matched,
            "text": c.text or r.reply[:512],
            "note": c.note,
        }


# --- classification of one record ------------------------------------------------------------


@cache
def sent_result() -> Classification:
    """Status sent is 250 whatever the text says ("delivered to mailbox", a queue id).

    One shared result, built lazily (and inherited by forked workers): its ``text`` is empty
    and the row shows the MTA's logged reply instead (building a result per sent line would
    cost more than parsing the line).
    """
    base = classify("250 2.0.0 Ok").with_code(
        "250", reason="delivered", why="the MTA logged the delivery as sent"
    )
    return replace(base, text="")


def classify_record(record: LogRecord) -> Classification:
    """The classification of one record: its text, read in the light of the MTA's status.

    sent → 250; expired → 133; a bounce on a temporary reply → 133 (the MTA gave up);
    otherwise the code the reply's words give (a deferral stays a retry code: 202, 421, 113).
    """
    status = record.status
    if status == SENT:
        return sent_result()
    result = classify(record.reply, stage=record.stage)
    if status == EXPIRED:
        return gave_up(result, why=_EXPIRED_WHY)
    if status == BOUNCED and result.verdict is Verdict.TRANSIENT:
        return gave_up(result, why=_GAVE_UP_WHY)
    return result


#: One encoder for every row: json.dumps(..., ensure_ascii=False) builds one per call.
_JSON: Final = json.JSONEncoder(ensure_ascii=False)


def render(rows: Sequence[ReplayRow], output: str) -> str:
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            writer.writerow(["" if v is None else v for v in row.to_dict().values()])
        return buffer.getvalue()
    encode = _JSON.encode
    return "".join(encode(row.to_dict()) + "\n" for row in rows)


def rows_of(record: LogRecord, source: str, number: int, final: bool) -> list[ReplayRow]:
    """The rows of one record: one per recipient (one with no recipient for message lines)."""
    if record.status == DONE:
        return [ReplayRow(source, number, record, "", sent_result())] if final else []
    result = classify_record(record)
    return [ReplayRow(source, number, record, r, result) for r in record.recipients or ("",)]
