"""``smtp-classifier classify-mail``: bounce mail from .eml files, directories, mbox, Maildir."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any, TextIO

from ..engine import Classifier
from ..enums import Tier
from ..errors import InputError
from ..ledger import (
    BATCH,
    FeedCounts,
    Ledger,
    LedgerError,
    LedgerEvent,
    RecordCounts,
    message_events,
)
from ..mail.mailbox import iter_mail
from ..mail.message import BounceRecipient, MessageReport, classify_message
from ._common import (
    RowWriter,
    add_output_options,
    add_rules_options,
    classifier_for,
    config_for,
    fail,
    open_output,
    output_format,
    write_text,
)
from .ledger import add_ledger_options, open_ledger, tell_recorded

__all__ = ["register", "rows_of"]

EXIT_OK = 0
EXIT_UNRECOGNISED = 1
EXIT_INPUT = 3

_TABLE = (
    ("code", "code", 5),
    ("kind", "kind", 11),
    ("recipient", "recipient", 32),
    ("rule_id", "rule / tier", 24),
    ("original_message_id", "original message-id", 30),
    ("message", "message", 60),
)
_CSV = (
    ("message", "message", 0),
    ("date", "date", 0),
    ("recipient", "recipient", 0),
    ("kind", "kind", 0),
    ("code", "code", 0),
    ("estado", "estado", 0),
    ("reason", "reason", 0),
    ("rule_id", "rule_id", 0),
    ("tier", "tier", 0),
    ("status", "status", 0),
    ("original_message_id", "original_message_id", 0),
    ("original_from", "original_from", 0),
    ("original_to", "original_to", 0),
    ("original_subject", "original_subject", 0),
    ("original_date", "original_date", 0),
    ("note", "note", 0),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the classify-mail subcommand."""
    p = sub.add_parser(
        "classify-mail",
        help="classify bounce mail (DSNs, MTA bounces, ARF reports, auto-replies)",
        description="Read .eml files, directories, mbox files or Maildirs ('-' for stdin) and "
        "print one line per recipient reported, with the returned original's Message-ID, From, "
        "To, Subject and Date, then a summary per code. Files of a directory that are not mail "
        "are reported as skipped on stderr, with the reason. With --ledger DB every "
        "recipient's outcome is also recorded in the bounce ledger (a message read twice is "
        "recorded once). Exit 0 when every message was recognised, 1 when some were not, 3 "
        "when an input could not be read (the others are still read) or the ledger cannot be "
        "used.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, directory, mbox, Maildir, -")
    p.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME",
        help="also report this header of the returned original (repeatable), e.g. X-Campaign-Id",
    )
    add_output_options(p)
    add_rules_options(p)
    add_ledger_options(p, required=False)
    p.set_defaults(func=run)


def rows_of(name: str, report: MessageReport, explain: bool = False) -> list[dict[str, Any]]:
    """The output rows of one message: one per recipient, or one saying why there is none."""
    original = report.original
    common: dict[str, Any] = {
        "message": name,
        "date": report.date,
        "original_message_id": original.message_id,
        "original_from": original.sender,
        "original_to": original.to,
        "original_subject": original.subject,
        "original_date": original.date,
        "headers": dict(original.headers),
    }
    if not report.recipients:
        return [{**common, "kind": report.kind, "code": None, "note": report.note}]
    return [_recipient_row(common, report, r, explain) for r in report.recipients]


def _recipient_row(
    common: dict[str, Any], report: MessageReport, r: BounceRecipient, explain: bool
) -> dict[str, Any]:
    row: dict[str, Any] = dict(common)
    row.update(
        recipient=r.recipient,
        kind=r.kind,
        action=r.action,
        status=r.status,
        diagnostic=r.diagnostic,
        remote_mta=r.remote_mta,
        reporting_mta=r.reporting_mta,
        feedback_type=r.feedback_type,
        decoded_by=r.decoded_by,
    )
    c = r.classification
    if c is None:
        row.update(code=None, rule_id=None, tier=None, note=report.note or None)
    else:
        row.update(c.to_dict())
        if explain:
            row["explanation"] = c.explain()
    return row


def _table_view(row: dict[str, Any]) -> dict[str, Any]:
    view = dict(row)
    if view.get("rule_id") is None:
        tier = view.get("tier")
        view["rule_id"] = (
            view.get("note") if tier in (None, Tier.NONE.value) and view.get("note") else tier
        )
    return view


def _summary(
    counts: Counter[str], messages: int, unknown: int, cut: Counter[str], out: TextIO
) -> None:
    write_text(
        out,
        f"\n{messages} messages, {sum(counts.values())} recipients, {unknown} unrecognised, "
        f"{cut['skipped']} files skipped\n",
    )
    if cut["unreported"] or cut["over_budget"]:
        print(
            f"{cut['unreported']} recipients not reported, {cut['over_budget']} read in part "
            "(time budget): see the messages' notes",
            file=out,
        )
    for code, count in sorted(counts.items()):
        write_text(out, f"  {code:<5} {count}\n")


class _Recorder:
    """The messages' events, recorded a batch at a time."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.fed = FeedCounts()
        self.recorded = RecordCounts()
        self.pending: list[LedgerEvent] = []

    def add(self, report: MessageReport, data: bytes, origin: str) -> None:
        self.pending += message_events(report, data, origin=origin, counts=self.fed)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.recorded.add(self.ledger.record_many(self.pending))
            self.pending = []


def run(args: argparse.Namespace) -> int:
    """Classify every message found and print the results (and record them in a ledger)."""
    recorder = None
    if args.ledger:
        try:
            recorder = _Recorder(open_ledger(args.ledger, args.policy))
        except LedgerError as exc:
            fail("classify-mail", str(exc))
            return EXIT_INPUT
    try:
        code = _classify_all(args, recorder)
        if recorder is not None:
            recorder.flush()
            tell_recorded("classify-mail", recorder.recorded, recorder.fed, sys.stderr)
    except LedgerError as exc:
        fail("classify-mail", str(exc))
        return EXIT_INPUT
    finally:
        if recorder is not None:
            recorder.ledger.close()
    return code


def _classify_all(args: argparse.Namespace, recorder: _Recorder | None) -> int:
    clf: Classifier = classifier_for(args)
    headers = [*config_for(args).headers, *args.header]
    form = output_format(args)
    counts: Counter[str] = Counter()
    cut: Counter[str] = Counter()
    messages = unknown = 0
    failed_input = False
    with open_output(args, "classify-mail") as out:
        if out is None:
            return 2
        rows_wanted = not args.summary or (args.output not in (None, "-"))
        columns = _CSV + tuple((h, h, 0) for h in headers) if form == "csv" else _TABLE
        writer = RowWriter(out, form, columns)
        for path in args.paths:
            try:
                for source in iter_mail([path]):
                    if source.skipped:
                        cut["skipped"] += 1
                        failed_input = failed_input or source.unreadable
                        fail("classify-mail", f"skipped {source.name}: {source.skipped}")
                        continue
                    report = classify_message(source.data, classifier=clf, headers=headers)
                    cut.update(unreported=report.unreported, over_budget=report.over_budget)
                    for what in report.cuts:
                        fail("classify-mail", f"{source.name}: {what}")
                    messages += 1
                    if report.kind == "unknown":
                        unknown += 1
                    if recorder is not None:
                        recorder.add(report, source.data, source.name)
                    counts.update(r.code or "none" for r in report.recipients)
                    if not rows_wanted:
                        continue
                    for row in rows_of(source.name, report, args.explain):
                        if form == "csv":
                            writer.write({**row, **row["headers"]})
                        else:
                            writer.write(_table_view(row) if form == "table" else row)
                        if args.explain and row.get("explanation"):
                            writer.note(row["explanation"])
            except InputError as exc:
                fail("classify-mail", str(exc))
                failed_input = True
        if rows_wanted:
            writer.close()
    if args.summary is not False:
        to_stdout = args.summary or form == "table"
        _summary(counts, messages, unknown, cut, sys.stdout if to_stdout else sys.stderr)
    if failed_input:
        return EXIT_INPUT
    return EXIT_UNRECOGNISED if unknown else EXIT_OK
