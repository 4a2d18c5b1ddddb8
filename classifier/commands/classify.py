"""``smtp-classifier classify``: replies from arguments or stdin, as a table, JSON lines or CSV."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..engine import Classifier
from ..enums import Stage
from ..near_miss import near_misses
from ..safetext import clean_json
from ._common import (
    RowWriter,
    add_output_options,
    add_rules_options,
    classifier_for,
    fail,
    open_output,
    output_format,
    write_text,
)

__all__ = ["register"]

#: Table and CSV columns: (field, heading, width).
COLUMNS = (
    ("code", "code", 5),
    ("estado", "estado", 19),
    ("reason", "reason", 26),
    ("rule_id", "rule / tier", 40),
    ("text", "text", 70),
)
_CSV_COLUMNS = (
    ("line", "line", 0),
    ("code", "code", 0),
    ("estado", "estado", 0),
    ("reason", "reason", 0),
    ("rule_id", "rule_id", 0),
    ("tier", "tier", 0),
    ("basic", "basic", 0),
    ("enhanced", "enhanced", 0),
    ("stage", "stage", 0),
    ("text", "text", 0),
)
_HINT = (
    "reading replies from the terminal, one per line (Ctrl-D ends); "
    'or pass them as arguments: smtp-classifier classify "550 5.1.1 user unknown"\n'
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the classify subcommand."""
    p = sub.add_parser(
        "classify",
        help="classify SMTP replies given as arguments or one per line on stdin",
        description="Classify replies given as arguments, or read stdin ('-' or no argument): "
        'one reply per line, or JSON lines with a "reply" field (and optional "stage"); other '
        "fields of a JSON line are kept in its output row. Exit 0 when every reply got a code, "
        "1 when some were unrecognised.",
    )
    p.add_argument("replies", nargs="*", metavar="REPLY", help='replies ("-" or none: stdin)')
    p.add_argument(
        "--stage", help="SMTP stage of every reply (connect, helo, mail, rcpt, data, end_of_data)"
    )
    p.add_argument(
        "--line-numbers",
        action="store_true",
        help='add "line": the input line (or argument) number of each reply',
    )
    add_output_options(p)
    add_rules_options(p)
    p.set_defaults(func=run)


@dataclass(slots=True)
class _Input:
    """One reply to classify, where it came from, and the input fields to keep."""

    reply: str
    stage: str | None
    line: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Tally:
    blank: int = 0
    not_json: list[int] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)


def _from_stdin(stream: TextIO, stage: str | None, tally: _Tally) -> Iterator[_Input]:
    import json  # noqa: PLC0415 - standard input only: a reply given as argument never needs it

    for number, raw in enumerate(stream, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            tally.blank += 1
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict) and isinstance(obj.get("reply"), str):
                obj = clean_json(obj)  # kept fields are output: no lone surrogates
                own = obj.get("stage")
                extra = {k: v for k, v in obj.items() if k not in ("reply", "stage")}
                yield _Input(obj["reply"], own if isinstance(own, str) else stage, number, extra)
                continue
            tally.not_json.append(number)
        yield _Input(line, stage, number)


def _inputs(args: argparse.Namespace, tally: _Tally) -> Iterator[_Input]:
    replies = list(args.replies)
    if replies and replies != ["-"]:
        if "-" in replies:
            fail("classify", 'give "-" alone to read stdin (it is taken as stdin)')
        for number, reply in enumerate(replies, 1):
            if reply == "-":
                yield from _from_stdin(sys.stdin, args.stage, tally)
            else:
                yield _Input(reply, args.stage, number)
        return
    if not replies and sys.stdin.isatty():
        write_text(sys.stderr, _HINT)
    yield from _from_stdin(sys.stdin, args.stage, tally)


def _row(item: _Input, clf: Classifier, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    result = clf.classify(item.reply, stage=Stage(item.stage) if item.stage else None)
    row: dict[str, Any] = dict(item.extra)
    if args.line_numbers:
        row["line"] = item.line
    row.update(result.to_dict())
    explanation = ""
    if args.explain:
        explanation = result.explain()
        missed = near_misses(clf, item.reply, result, stage=item.stage)
        if missed:
            explanation += " " + " ".join(missed)
        row["explanation"] = explanation
    return row, explanation


def run(args: argparse.Namespace) -> int:
    """Classify and print."""
    clf = classifier_for(args)
    form = output_format(args)
    tally = _Tally()
    with open_output(args, "classify") as out:
        if out is None:
            return 2
        summary_only = bool(args.summary) and out is sys.stdout and args.output is None
        columns = _CSV_COLUMNS if form == "csv" else COLUMNS
        writer = RowWriter(out, form, columns)
        for item in _inputs(args, tally):
            row, explanation = _row(item, clf, args)
            if form == "table" and row["rule_id"] is None:
                row["rule_id"] = f"({row['tier']})"  # the table shows who decided
            tally.codes[row["code"] or "unrecognised"] += 1
            if summary_only:
                continue
            writer.write(row)
            if explanation:
                writer.note(explanation)
        if not summary_only:
            writer.close()
    _report(tally, args)
    return 1 if tally.codes["unrecognised"] else 0


def _report(tally: _Tally, args: argparse.Namespace) -> None:
    if tally.not_json:
        lines = ", ".join(str(n) for n in tally.not_json[:10])
        more = " …" if len(tally.not_json) > 10 else ""
        fail(
            "classify",
            f"{len(tally.not_json)} line(s) look like JSON but are not a JSON object with a "
            f'"reply" string (classified as plain text): line {lines}{more}',
        )
    if tally.blank:
        fail("classify", f"{tally.blank} blank line(s) skipped")
    if args.summary:
        total = sum(tally.codes.values())
        out = sys.stdout
        write_text(out, f"{total} replies, {tally.codes['unrecognised']} unrecognised")
        if tally.blank:
            write_text(out, f", {tally.blank} blank lines skipped")
        write_text(out, "\n")
        for code, count in sorted(tally.codes.items()):
            write_text(out, f"  {code:<12} {count}\n")
