"""``smtp-classifier classify-mail``: bounce mail from .eml files, directories, mbox, Maildir."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import TextIO

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
from .ledger import add_ledger_options, open_ledger, tell_recorded

__all__ = ["register"]

EXIT_OK = 0
EXIT_UNRECOGNISED = 1
EXIT_INPUT = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the classify-mail subcommand."""
    p = sub.add_parser(
        "classify-mail",
        help="classify bounce mail (DSNs, MTA bounces, ARF reports, auto-replies)",
        description="Read .eml files, directories, mbox files or Maildirs ('-' for stdin) and "
        "print one line per recipient reported, then a summary per code. Files of a directory "
        "that are not mail are reported as skipped on stderr, with the reason. With --ledger DB "
        "every recipient's outcome is also recorded in the bounce ledger (a message read "
        "twice is recorded once). Exit 0 when every message was recognised, 1 when some were "
        "not, 3 when an input could not be read (the others are still read) or the ledger "
        "cannot be used.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, directory, mbox, Maildir, -")
    p.add_argument("--json", action="store_true", help="JSON lines (summary goes to stderr)")
    p.add_argument("--no-summary", action="store_true", help="omit the per-code summary")
    add_ledger_options(p, required=False)
    p.set_defaults(func=run)


def _table_row(name: str, report: MessageReport, r: BounceRecipient | None) -> str:
    if r is None:
        return f"{'-':<5} {report.kind:<11} {'-':<32} {'-':<22} {name}  ({report.note})"
    c = r.classification
    if c is None:
        why = report.note or "-"
    else:
        why = c.rule_id or (c.note if c.tier is Tier.NONE and c.note else c.tier.value)
    return f"{r.code or '-':<5} {r.kind:<11} {r.recipient[:32]:<32} {why[:22]:<22} {name}"


def _print_report(name: str, report: MessageReport, as_json: bool, out: TextIO) -> None:
    """One line per recipient, or one line saying why the message has none."""
    if as_json:
        for r in report.recipients:
            print(json.dumps({"message": name, **r.to_dict()}, ensure_ascii=False), file=out)
        if not report.recipients:
            row = {"message": name, "kind": report.kind, "code": "", "note": report.note}
            print(json.dumps(row), file=out)
        return
    for r in report.recipients:
        print(_table_row(name, report, r), file=out)
    if not report.recipients:
        print(_table_row(name, report, None), file=out)


def _summary(
    counts: Counter[str], messages: int, unknown: int, cut: Counter[str], out: TextIO
) -> None:
    print(
        f"\n{messages} messages, {sum(counts.values())} recipients, {unknown} unrecognised, "
        f"{cut['skipped']} files skipped",
        file=out,
    )
    if cut["unreported"] or cut["over_budget"]:
        print(
            f"{cut['unreported']} recipients not reported, {cut['over_budget']} read in part "
            "(time budget): see the messages' notes",
            file=out,
        )
    for code, count in sorted(counts.items()):
        print(f"  {code:<5} {count}", file=out)


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
            print(f"smtp-classifier classify-mail: {exc}", file=sys.stderr)
            return EXIT_INPUT
    try:
        code = _classify_all(args, recorder)
        if recorder is not None:
            recorder.flush()
            tell_recorded("classify-mail", recorder.recorded, recorder.fed, sys.stderr)
    except LedgerError as exc:
        print(f"smtp-classifier classify-mail: {exc}", file=sys.stderr)
        return EXIT_INPUT
    finally:
        if recorder is not None:
            recorder.ledger.close()
    return code


def _classify_all(args: argparse.Namespace, recorder: _Recorder | None) -> int:
    out = sys.stdout
    counts: Counter[str] = Counter()
    cut: Counter[str] = Counter()
    messages = unknown = 0
    failed_input = False
    if not args.json:
        print(f"{'code':<5} {'kind':<11} {'recipient':<32} {'rule / tier':<22} message", file=out)
    for path in args.paths:
        try:
            for source in iter_mail([path]):
                if source.skipped:
                    cut["skipped"] += 1
                    failed_input = failed_input or source.unreadable
                    print(
                        f"smtp-classifier classify-mail: skipped {source.name}: {source.skipped}",
                        file=sys.stderr,
                    )
                    continue
                report = classify_message(source.data)
                cut.update(unreported=report.unreported, over_budget=report.over_budget)
                for what in report.cuts:
                    print(f"smtp-classifier classify-mail: {source.name}: {what}", file=sys.stderr)
                messages += 1
                if report.kind == "unknown":
                    unknown += 1
                _print_report(source.name, report, args.json, out)
                if recorder is not None:
                    recorder.add(report, source.data, source.name)
                counts.update(r.code or "none" for r in report.recipients)
        except InputError as exc:
            print(f"smtp-classifier classify-mail: {exc}", file=sys.stderr)
            failed_input = True
    if not args.no_summary:
        _summary(counts, messages, unknown, cut, sys.stderr if args.json else out)
    if failed_input:
        return EXIT_INPUT
    return EXIT_UNRECOGNISED if unknown else EXIT_OK
