"""``smtp-classifier replay``: classify every delivery line of MTA logs, at scale."""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TextIO

from ..engine import Classifier
from ..ledger import BATCH, Ledger, LedgerError, ReplaySink
from ..logreplay import FINAL_WINDOW, ReplayOptions, ReplaySummary, replay
from ..logreplay.live import Line, follow, replay_live, stream_lines
from ..logreplay.run import LedgerRow
from ..logs.parser import FORMATS
from ._common import (
    add_output_options,
    add_rules_options,
    classifier_for,
    fail,
    open_output,
    output_format,
    write_text,
)
from .ledger import add_ledger_options, open_ledger, tell_recorded

__all__ = ["register", "run"]

_DESCRIPTION = """\
Read MTA logs (plain or gzip files, or standard input as "-") and write one record per
delivery attempt: time, queue id, recipient, the MTA's status, the MasterBase code, estado,
reason, the rule that decided and the words it matched. Postfix, Exim, Sendmail, PowerMTA
accounting CSV and KumoMTA JSON logs are recognised line by line; other CSV or JSON-lines
exports are read with --field naming the reply column.

Live: "-" on a pipe (tail -F mail.log | smtp-classifier replay -) and --follow FILE (follows
rotation like tail -F) write each row as soon as its line is read; --final rows come out when
the MTA is done with the message. Stop with Ctrl-C or SIGTERM (the summary, if asked, then
prints).
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
    add_output_options(parser)
    add_rules_options(parser)
    parser.add_argument(
        "--follow",
        action="store_true",
        help="keep reading FILE as it grows, across rotation (like tail -F); one row per line "
        "as soon as it is read",
    )
    parser.add_argument(
        "--final",
        action="store_true",
        help="only the last word per message and recipient (deferred then expired: 133)",
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
            fail("replay", f"{count} {kind} line(s): {places}")
    for problem in summary.problems:
        fail("replay", problem)
    unclassified = summary.codes["unclassified"]
    if unclassified:
        fail("replay", f"{unclassified} delivery row(s) got no code")


def _is_pipe() -> bool:
    """Standard input is a pipe, socket or terminal (read live), not a regular file."""
    try:
        return not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False  # an in-memory stream: read it whole


class _StoppedError(Exception):
    """SIGTERM while following: stop reading, write what is pending, exit 0."""


def _on_term(_signum: int, _frame: FrameType | None) -> None:
    raise _StoppedError


def _live(
    args: argparse.Namespace,
    out: TextIO | None,
    clf: Classifier,
    ledger: Callable[[list[LedgerRow]], None] | None = None,
) -> ReplaySummary:
    lines: Iterator[Line]
    summary = ReplaySummary()
    if args.follow:
        lines = follow(args.files[0], args.max_line_bytes)
    else:
        lines = stream_lines("-", sys.stdin.buffer, args.max_line_bytes, summary.problems)
    previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        replay_live(
            lines,
            out,
            fmt=args.fmt,
            field=args.field,
            status_field=args.status_field,
            final=args.final,
            output="csv" if output_format(args) == "csv" else "json",
            classifier=clf,
            summary=summary,
            ledger=ledger,
            explain=args.explain,
        )
    except (KeyboardInterrupt, _StoppedError):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return summary


def run(args: argparse.Namespace) -> int:
    """Run the replay; returns the exit code."""
    if args.fmt in ("csv", "json") and not args.field:
        fail("replay", f"--format {args.fmt} needs --field")
        return 2
    if (
        args.workers < 0
        or args.max_line_bytes < 1
        or args.final_window < 1
        or args.top < 0
        or args.ledger_batch < 1
    ):
        fail("replay", "numbers must be positive")
        return 2
    if args.follow and (len(args.files) != 1 or args.files == ["-"]):
        fail("replay", "--follow takes exactly one FILE")
        return 2
    clf = classifier_for(args)
    summarise = bool(args.summary) or args.summary_json
    names = args.files or ["-"]
    live = args.follow or (names == ["-"] and _is_pipe())
    if names == ["-"] and not args.follow and sys.stdin.isatty():
        write_text(
            sys.stderr,
            "reading log lines from the terminal (Ctrl-D ends); "
            "give log files, pipe a log in, or --follow FILE\n",
        )
    ledger: Ledger | None = None
    if args.ledger:
        try:
            ledger = open_ledger(args.ledger, args.policy)
        except LedgerError as exc:
            fail("replay", str(exc))
            return 3
    sink = None
    if ledger is not None:
        sink = ReplaySink(ledger, year=args.year, batch=args.ledger_batch)
    with open_output(args, "replay") as stream:
        if stream is None:
            if ledger is not None:
                ledger.close()
            return 2
        records = not summarise or bool(args.output and args.output != "-")
        out: TextIO | None = stream if records else None
        try:
            if live:
                summary = _live(args, out, clf, sink)
            else:
                options = ReplayOptions(
                    fmt=args.fmt,
                    field=args.field,
                    status_field=args.status_field,
                    final=args.final,
                    output="csv" if output_format(args) == "csv" else "json",
                    records=records,
                    max_line_bytes=args.max_line_bytes,
                    workers=args.workers or os.cpu_count() or 1,
                    final_window=args.final_window,
                    ledger=sink is not None,
                    explain=args.explain,
                )
                show = sys.stderr.isatty() if args.progress is None else args.progress
                summary = replay(
                    names,
                    stream,
                    options,
                    progress=sys.stderr if show else None,
                    ledger=sink,
                    classifier=clf,
                )
        except LedgerError as exc:
            fail("replay", str(exc))
            return 3
        finally:
            if sink is not None:
                try:
                    sink.flush()  # what was read is recorded, also after an input error
                except LedgerError as exc:
                    fail("replay", str(exc))
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
