"""``smtp-classifier ledger``: per-address decisions (show, export, stats, forget, check)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Final, TextIO

from ..ledger import Decision, FeedCounts, Ledger, LedgerError, RecordCounts, load_policy
from ..ledger.report import export, render_show, render_stats, stats

__all__ = ["ENV_LEDGER", "add_ledger_options", "open_ledger", "register", "tell_recorded"]

#: Environment variable naming the ledger when --ledger is not given.
ENV_LEDGER: Final = "SMTP_CLASSIFIER_LEDGER"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_LEDGER: Final = 3

_DESCRIPTION = """\
The bounce ledger keeps, per recipient address, what replayed logs and bounce mail said and
what to do: deliverable, retrying, suppressed (a hard bounce: the code that caused it),
retry_fail (retryable failures for too long) or unsubscribed. Feed it with
`replay --ledger DB` or `classify-mail --ledger DB`. DB is an SQLite file or a
postgresql:// URI (the postgres extra). docs/ledger.md has the policy.
"""
_EPILOG = """\
exit codes: 0 done; 1 the address is not in the ledger (show, forget) or the check found
inconsistencies; 2 usage error; 3 the ledger or the policy cannot be used.
"""


def add_ledger_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """--ledger and --policy, shared with replay and classify-mail (``required``: the ledger
    command itself, where $SMTP_CLASSIFIER_LEDGER is the default)."""
    parser.add_argument(
        "--ledger",
        metavar="DB",
        default=os.environ.get(ENV_LEDGER) if required else None,
        help=f"SQLite file or postgresql:// URI (default: ${ENV_LEDGER})"
        if required
        else "also record every outcome in this bounce ledger (SQLite file or postgresql:// URI)",
    )
    parser.add_argument("--policy", metavar="TOML", help="ledger policy file over the defaults")


def tell_recorded(command: str, recorded: RecordCounts, fed: FeedCounts, stream: TextIO) -> None:
    """One line on what went into the ledger, and what could not (nothing vanishes unsaid)."""
    stream.write(
        f"smtp-classifier {command}: ledger: {recorded.new} new event(s), "
        f"{recorded.duplicate} already recorded, {recorded.refolded} address(es) refolded\n"
    )
    if fed.bad_address:
        places = ", ".join(fed.samples)
        stream.write(
            f"smtp-classifier {command}: ledger: {fed.bad_address} row(s) without a usable "
            f"recipient address not recorded: {places}\n"
        )
    if fed.no_time:
        stream.write(
            f"smtp-classifier {command}: ledger: {fed.no_time} event(s) without a readable "
            "time (recorded first in the order)\n"
        )
    if fed.pending_dropped:
        stream.write(
            f"smtp-classifier {command}: ledger: {fed.pending_dropped} deferred message(s) "
            "forgotten before their expiry (pending window full)\n"
        )


def open_ledger(target: str, policy_path: str | None, *, create: bool = True) -> Ledger:
    """Open the ledger with the policy; raises LedgerError."""
    return Ledger.open(target, load_policy(policy_path), create=create)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ledger subcommand and its own subcommands."""
    parser = sub.add_parser(
        "ledger",
        help="per-address decisions from classified events: show, export, stats, forget",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_ledger_options(parser, required=True)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    show = actions.add_parser("show", help="one address: decision, counts, last events")
    show.add_argument("address")
    show.add_argument("--json", action="store_true", help="JSON instead of text")
    show.add_argument("--history", type=int, default=20, help="events shown (20)")
    show.set_defaults(func=_run, act=_do_show)

    exp = actions.add_parser("export", help="addresses as CSV or JSON lines")
    exp.add_argument(
        "--suppressed",
        action="store_true",
        help="only addresses to stop sending to (suppressed, retry_fail, unsubscribed)",
    )
    exp.add_argument(
        "--decision",
        action="append",
        choices=[d.value for d in Decision],
        help="only this decision (repeatable)",
    )
    exp.add_argument("--format", dest="fmt", choices=("csv", "jsonl"), default="csv")
    exp.add_argument("-o", "--output", help="write to this file (default: stdout)")
    exp.set_defaults(func=_run, act=_do_export)

    st = actions.add_parser("stats", help="addresses per decision and cause, as a chart")
    st.add_argument("--json", action="store_true", help="JSON instead of text")
    st.set_defaults(func=_run, act=_do_stats)

    forget = actions.add_parser("forget", help="delete everything about addresses")
    forget.add_argument("addresses", nargs="+", metavar="ADDRESS")
    forget.set_defaults(func=_run, act=_do_forget)

    check = actions.add_parser(
        "check", help="verify that every stored decision is the fold of its events"
    )
    check.set_defaults(func=_run, act=_do_check)


def _fail(message: str) -> int:
    print(f"smtp-classifier ledger: {message}", file=sys.stderr)
    return EXIT_LEDGER


def _open(args: argparse.Namespace, *, create: bool = False) -> Ledger | None:
    if not args.ledger:
        print(f"smtp-classifier ledger: --ledger DB or ${ENV_LEDGER} is needed", file=sys.stderr)
        return None
    return open_ledger(args.ledger, args.policy, create=create)


def _run(args: argparse.Namespace) -> int:
    """Open the ledger, run the chosen action, close; ledger errors are told, not raised."""
    try:
        ledger = _open(args)
        if ledger is None:
            return EXIT_USAGE
        with ledger:
            return int(args.act(ledger, args))
    except LedgerError as exc:
        return _fail(str(exc))


def _do_show(ledger: Ledger, args: argparse.Namespace) -> int:
    state = ledger.get(args.address)
    if state is None:
        print(f"{args.address}: not in the ledger", file=sys.stderr)
        return EXIT_FAILED
    events = ledger.history(state.address, max(0, args.history))
    if args.json:
        data = state.to_dict()
        data["history"] = [
            {"time": e.time, "code": e.code, "reason": e.reason, "origin": e.origin} for e in events
        ]
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render_show(state, events, ledger))
    return EXIT_OK


def _do_export(ledger: Ledger, args: argparse.Namespace) -> int:
    wanted: set[Decision] | None = None
    if args.suppressed:
        wanted = {d for d in Decision if d.stops}
    if args.decision:
        chosen = {Decision(d) for d in args.decision}
        wanted = chosen if wanted is None else wanted & chosen
    out: TextIO = sys.stdout
    if args.output:
        try:
            out = open(args.output, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            print(f"smtp-classifier ledger: cannot write {args.output}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        written = export(ledger.states(wanted), out, args.fmt)
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"{written} address(es) exported", file=sys.stderr)
    return EXIT_OK


def _do_stats(ledger: Ledger, args: argparse.Namespace) -> int:
    data = stats(ledger)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render_stats(data))
    return EXIT_OK


def _do_forget(ledger: Ledger, args: argparse.Namespace) -> int:
    missing = 0
    for address in args.addresses:
        if ledger.get(address) is None:
            print(f"{address}: not in the ledger", file=sys.stderr)
            missing += 1
            continue
        deleted = ledger.forget(address)
        print(f"{address}: forgotten ({deleted} event(s) deleted)")
    return EXIT_FAILED if missing else EXIT_OK


def _do_check(ledger: Ledger, args: argparse.Namespace) -> int:
    wrong = ledger.verify()
    addresses, events = ledger.totals()
    for address in wrong[:20]:
        print(f"inconsistent: {address}")
    print(f"{addresses} addresses, {events} events, {len(wrong)} inconsistent")
    return EXIT_FAILED if wrong else EXIT_OK
