"""``smtp-classifier replay``: classify every delivery line of MTA logs, at scale."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from ..ledger import BATCH, Ledger, LedgerError, ReplaySink
from ..logreplay import FINAL_WINDOW, ReplayOptions, ReplaySummary, replay
from ..logs.parser import FORMATS
from .ledger import add_ledger_options, open_ledger, tell_recorded

__all__ = ["register", "run"]

_DESCRIPTION = """\
Read MTA logs (plain or gzip files, or standard input as "-") and write one record per
delivery attempt: time, queue id, recipient, the MTA's status, the MasterBase code, estado,
reason, the rule that decided and the words it matched. Postfix, Exim, Sendmail, PowerMTA
accounting CSV and KumoMTA JSON logs are recognised line by line; other CSV or JSON-lines
exports are read with --field naming the reply column.
"""
_EPILOG = """\
With --ledger DB every delivery attempt is also recorded in the bounce ledger (see
`smtp-classifier ledger --help`); replaying the same lines again records nothing twice.

exit codes: 0 every line read and every delivery classified; 1 some input lines were bad
(malformed, overlong, undecodable, damaged gzip) or some delivery got no code; 2 usage error;
3 an input could not be opened or read (the message says how many lines were done), or the
ledger cannot be used.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``replay`` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="classify every delivery line of Postfix, Exim, Sendmail, PowerMTA or KumoMTA logs",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help='log files; "-" or none: stdin')
    parser.add_argument(
        "--format", dest="fmt", choices=FORMATS, default="auto", help="input format (auto)"
    )
    parser.add_argument("--field", help="reply column of a generic CSV/JSON export (a.b: nested)")
    parser.add_argument("--status-field", help="status column of a generic CSV/JSON export")
    parser.add_argument("--csv", action="store_true", help="write CSV instead of JSON lines")
    parser.add_argument("-o", "--output", help="write records to this file (default: stdout)")
    parser.add_argument(
        "--final",
        action="store_true",
        help="only the last word per message and recipient (deferred then expired: 133)",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print counts per code, reason and rule and the top unrecognised replies "
        "(records are then written only with --output)",
    )
    parser.add_argument("--summary-json", action="store_true", help="the summary as JSON")
    parser.add_argument("--top", type=int, default=20, help="templates in the summary (20)")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (1; 0: one per CPU)"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: when stderr is a terminal)",
    )
    parser.add_argument(
        "--max-line-bytes",
        type=int,
        default=ReplayOptions().max_line_bytes,
        help="longer lines are counted, not read",
    )
    parser.add_argument(
        "--final-window",
        type=int,
        default=FINAL_WINDOW,
        help=f"recipients --final keeps pending before writing the oldest ({FINAL_WINDOW})",
    )
    add_ledger_options(parser, required=False)
    parser.add_argument(
        "--year", type=int, help="year of syslog times, which have none (default: this year)"
    )
    parser.add_argument(
        "--ledger-batch",
        type=int,
        default=BATCH,
        metavar="N",
        help=f"events per ledger transaction ({BATCH})",
    )
    parser.set_defaults(func=run)


def _report(summary: ReplaySummary, stream: TextIO) -> None:
    """Tell about bad or unknown input on stderr, with the places of the first few lines.

    Unrecognised lines (other programs' lines in a shared syslog, say) are told but are not
    an error; the others make the exit code 1.
    """
    for kind in ("malformed", "overlong", "undecodable", "unrecognised"):
        count = summary.undecodable if kind == "undecodable" else summary.kinds[kind]
        if count:
            places = ", ".join(summary.samples.get(kind, []))
            stream.write(f"smtp-classifier replay: {count} {kind} line(s): {places}\n")
    for problem in summary.problems:
        stream.write(f"smtp-classifier replay: {problem}\n")
    unclassified = summary.codes["unclassified"]
    if unclassified:
        stream.write(f"smtp-classifier replay: {unclassified} delivery row(s) got no code\n")


def run(args: argparse.Namespace) -> int:
    """Run the replay; returns the exit code."""
    if args.fmt in ("csv", "json") and not args.field:
        print(f"smtp-classifier replay: --format {args.fmt} needs --field", file=sys.stderr)
        return 2
    if (
        args.workers < 0
        or args.max_line_bytes < 1
        or args.final_window < 1
        or args.top < 0
        or args.ledger_batch < 1
    ):
        print("smtp-classifier replay: numbers must be positive", file=sys.stderr)
        return 2
    summarise = args.summary or args.summary_json
    workers = args.workers or os.cpu_count() or 1
    options = ReplayOptions(
        fmt=args.fmt,
        field=args.field,
        status_field=args.status_field,
        final=args.final,
        output="csv" if args.csv else "json",
        records=not summarise or bool(args.output),
        max_line_bytes=args.max_line_bytes,
        workers=workers,
        final_window=args.final_window,
        ledger=bool(args.ledger),
    )
    show = sys.stderr.isatty() if args.progress is None else args.progress
    names = args.files or ["-"]
    ledger: Ledger | None = None
    if args.ledger:
        try:
            ledger = open_ledger(args.ledger, args.policy)
        except LedgerError as exc:
            print(f"smtp-classifier replay: {exc}", file=sys.stderr)
            return 3
    out: TextIO = sys.stdout
    if args.output:
        try:
            out = open(args.output, "w", encoding="utf-8", errors="backslashreplace", newline="")  # noqa: SIM115
        except OSError as exc:
            print(f"smtp-classifier replay: cannot write {args.output}: {exc}", file=sys.stderr)
            if ledger is not None:
                ledger.close()
            return 2
    sink = None
    if ledger is not None:
        sink = ReplaySink(ledger, year=args.year, batch=args.ledger_batch)
    try:
        summary = replay(names, out, options, progress=sys.stderr if show else None, ledger=sink)
    except LedgerError as exc:
        print(f"smtp-classifier replay: {exc}", file=sys.stderr)
        return 3
    finally:
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()
        if sink is not None:
            try:
                sink.flush()  # what was read is recorded, also after an input error
            except LedgerError as exc:
                print(f"smtp-classifier replay: {exc}", file=sys.stderr)
            finally:
                sink.ledger.close()
    if args.summary_json:
        sys.stdout.write(json.dumps(summary.to_dict(args.top), ensure_ascii=False, indent=2))
        sys.stdout.write("\n")
    elif args.summary:
        sys.stdout.write(summary.render(args.top))
    _report(summary, sys.stderr)
    if sink is not None:
        tell_recorded("replay", sink.recorded, sink.feed.counts, sys.stderr)
    return 0 if summary.clean else 1
