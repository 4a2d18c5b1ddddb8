"""``smtp-classifier probe``: deliver a test message and classify what happens per recipient."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TextIO

from ..network.mx import async_resolver_for
from ..network.probe import ProbeError, ProbeResult, probe_async
from ._common import add_rules_options, classifier_for, fail, open_output, write_text

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the probe subcommand."""
    p = sub.add_parser(
        "probe",
        help="deliver a test message over SMTP and classify each recipient's outcome",
        description="Connect to HOST:PORT (or, without it, to the best MX of the recipients' "
        "domain), send one message to every --to address and classify the reply that decided "
        "each recipient: refused connections, drops and timeouts are 113, DNS outcomes "
        "111/112/113. Every step is bounded by --timeout. Exit 0 when every recipient was "
        "accepted (250), 1 otherwise, 2 on bad arguments.",
    )
    p.add_argument("target", nargs="?", metavar="HOST:PORT", help="server (default: look up MX)")
    p.add_argument("--to", action="append", required=True, metavar="ADDR", help="recipient")
    p.add_argument("--from", dest="sender", default="probe@localhost", metavar="ADDR")
    p.add_argument("--helo", default="probe.localhost", help="name sent in EHLO/HELO")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per step (default 10)")
    p.add_argument("--port", type=int, default=25, help="SMTP port when looking up MX")
    p.add_argument(
        "--dns-server",
        metavar="HOST:PORT",
        help="ask only this DNS server (default: the system resolver)",
    )
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument(
        "-o", "--output", metavar="FILE", help='write the result to FILE ("-": standard output)'
    )
    p.add_argument(
        "--explain", action="store_true", help="say in plain words why each code was given"
    )
    add_rules_options(p)
    p.set_defaults(func=run)


def _print(result: ProbeResult, out: TextIO, explain: bool) -> None:
    if result.dns is not None:
        write_text(out, f"dns         {result.dns.status}: {result.dns.text}\n")
    for reply in result.replies:
        shown = reply.text.replace("\r\n", "\n").replace("\n", "\n            ")
        write_text(out, f"{reply.stage:<11} {shown}\n")
    for item in result.recipients:
        c = item.classification
        why = f" (rule {c.rule_id})" if c.rule_id else ""
        write_text(out, f"{item.address}\t{c.code or '-'}\t{item.stage}\t{c.label_en}{why}\n")
        if explain:
            write_text(out, f"      {c.explain()}\n")


def run(args: argparse.Namespace) -> int:
    """Probe once and print the outcome."""
    resolver = None
    if args.dns_server:
        host, _, port = args.dns_server.rpartition(":")
        if not host or not port.isdigit():
            fail("probe", "--dns-server must be HOST:PORT")
            return EXIT_USAGE
        resolver = async_resolver_for(host, int(port), timeout=args.timeout)
    if args.timeout <= 0:
        fail("probe", "--timeout must be positive")
        return EXIT_USAGE
    try:
        result = asyncio.run(
            probe_async(
                args.target,
                args.to,
                sender=args.sender,
                port=args.port,
                timeout=args.timeout,
                helo=args.helo,
                resolver=resolver,
                classifier=classifier_for(args),
            )
        )
    except ProbeError as exc:
        fail("probe", str(exc))
        return EXIT_USAGE
    with open_output(args, "probe") as out:
        if out is None:
            return EXIT_USAGE
        if args.json:
            write_text(out, json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        else:
            _print(result, out, args.explain)
    return EXIT_OK if all(r.code == "250" for r in result.recipients) else EXIT_FAILED
