"""``smtp-classifier classify``: replies from arguments or stdin, as a table or JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ..engine import Classifier, default_classifier
from ..enums import Stage
from ..result import Classification

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the classify subcommand."""
    p = sub.add_parser(
        "classify",
        help="classify SMTP replies given as arguments or one per line on stdin",
        description="Classify replies given as arguments, or read stdin: one reply per line, "
        'or JSON lines with a "reply" field (and optional "stage") for multi-line replies. '
        "Exit 0 when every reply got a code, 1 when some were unrecognised.",
    )
    p.add_argument("replies", nargs="*", metavar="REPLY", help="replies (default: read stdin)")
    p.add_argument(
        "--stage", help="SMTP stage of every reply (connect, helo, mail, rcpt, data, end_of_data)"
    )
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.add_argument("--explain", action="store_true", help="print the decision in plain words")
    p.add_argument(
        "--rules",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="extra rule directory, checked before the bundled rules (repeatable)",
    )
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace, stdin: TextIO) -> Iterator[tuple[str, str | None]]:
    if args.replies:
        for reply in args.replies:
            yield reply, args.stage
        return
    for raw in stdin:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict) and isinstance(obj.get("reply"), str):
                stage = obj.get("stage")
                yield obj["reply"], stage if isinstance(stage, str) else args.stage
                continue
        yield line, args.stage


def _row(result: Classification) -> str:
    who = result.rule_id or result.tier.value
    code = result.code or "-"
    reason = result.reason or "-"
    return f"{code:<5} {result.estado or '-':<19} {reason:<26} {who:<40} {result.text[:70]}"


def run(args: argparse.Namespace) -> int:
    """Classify and print."""
    clf = Classifier.from_dirs(args.rules) if args.rules else default_classifier()
    out = sys.stdout
    if not args.json:
        print(f"{'code':<5} {'estado':<19} {'reason':<26} {'rule / tier':<40} text", file=out)
    unrecognised = 0
    for reply, stage in _inputs(args, sys.stdin):
        result = clf.classify(reply, stage=Stage(stage) if stage else None)
        if not result.recognised:
            unrecognised += 1
        if args.json:
            data = result.to_dict()
            if args.explain:
                data["explanation"] = result.explain()
            out.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            print(_row(result), file=out)
            if args.explain:
                print(f"      {result.explain()}", file=out)
    out.flush()
    return 1 if unrecognised else 0
