"""``smtp-classifier fake-server``: serve scenario files so that any MTA can be pointed at them."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import signal
import socket
from pathlib import Path

from ..engine import Classifier
from ..harness.scenario import Scenario, ScenarioError, load_scenarios
from ..harness.server import FakeServer
from ._common import add_rules_options, classifier_for, fail

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the fake-server subcommand."""
    p = sub.add_parser(
        "fake-server",
        help="serve scripted SMTP scenarios on 127.0.0.1 for any MTA or client",
        description="Serve scenario files (fixtures/scenarios/*.json): one port per scenario, "
        "plus one port routing by recipient domain (<id>.test) for scenarios that only script "
        "RCPT and later stages. Prints where each scenario listens, then runs until Ctrl-C or "
        "SIGTERM. Exit 0 after a clean stop, 1 when a port cannot be opened, 2 on bad options, "
        "3 when a scenario file cannot be read or is invalid.",
    )
    p.add_argument(
        "--fixtures",
        action="append",
        type=Path,
        required=True,
        metavar="PATH",
        help="scenario file or directory of *.json (repeatable)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=0, help="routing port (default 0: a free port; -1: none)"
    )
    p.add_argument(
        "--base-port",
        type=int,
        default=0,
        metavar="N",
        help="first per-scenario port, then N+1, ... (default 0: free ports; -1: none)",
    )
    p.add_argument("--only", action="append", default=[], metavar="ID", help="serve only these")
    p.add_argument(
        "--postfix-transport",
        type=Path,
        metavar="FILE",
        help="write Postfix transport_maps lines (<domain> smtp:[host]:port) to FILE",
    )
    p.add_argument(
        "--transcript", type=Path, metavar="FILE", help="on exit, write sessions as JSON lines"
    )
    p.add_argument("--idle-timeout", type=float, default=300.0, help="seconds (default 300)")
    p.add_argument(
        "--allow-remote", action="store_true", help="allow a non-loopback --host (off by default)"
    )
    add_rules_options(p)
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    """Is ``host`` a loopback address, or a name (``localhost``) whose every address is one?"""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(a).split("%", 1)[0]).is_loopback for a in addresses
    )


def _address(host: str) -> str:
    """The address to listen on: a name (``localhost``) becomes its first address, IPv4
    first, so that every listener has one port and the printed map is exact."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return host
        infos.sort(key=lambda info: info[0] != socket.AF_INET)
        return str(infos[0][4][0]) if infos else host
    return host


def _disagreements(scenarios: list[Scenario], clf: Classifier) -> list[str]:
    """Scripted RCPT refusals whose expected code the rules in use do not give."""
    found = []
    for scenario in scenarios:
        for address, code in scenario.expect.items():
            step = scenario.rcpt_step(address)
            if step is None or step.code is None or step.code < 400:
                continue
            got = clf.classify(step.text(), stage="rcpt")
            if got.code != code:
                by = f" (rule {got.rule_id})" if got.rule_id else ""
                found.append(
                    f"scenario {scenario.id}: {address} expects {code}, "
                    f"the rules in use give {got.code or 'nothing'}{by}"
                )
    return found


def _port(value: int) -> int | None:
    return None if value < 0 else value


def run(args: argparse.Namespace) -> int:
    """Load, listen, print the map, serve until a signal."""
    if not is_loopback(args.host) and not args.allow_remote:
        fail("fake-server", "refusing a non-loopback --host without --allow-remote")
        return EXIT_USAGE
    for option, value in (("--port", args.port), ("--base-port", args.base_port)):
        if not 0 <= value < 65536 and value != -1:
            fail("fake-server", f"{option} must be 0..65535 or -1")
            return EXIT_USAGE
    try:
        scenarios = load_scenarios(*args.fixtures)
    except ScenarioError as exc:
        fail("fake-server", str(exc))
        return EXIT_INPUT
    if args.only:
        wanted = set(args.only)
        scenarios = [s for s in scenarios if s.id in wanted]
        missing = wanted - {s.id for s in scenarios}
        if missing:
            fail("fake-server", f"unknown scenario ids {sorted(missing)}")
            return EXIT_USAGE
    # With your own rules, say where they would read a scripted refusal differently.
    if args.rules:
        for line in _disagreements(scenarios, classifier_for(args)):
            fail("fake-server", line)
    server = FakeServer(
        scenarios,
        host=_address(args.host),
        port=_port(args.port),
        base_port=_port(args.base_port),
        idle_timeout=args.idle_timeout,
    )
    return asyncio.run(_serve(server, args))


async def _serve(server: FakeServer, args: argparse.Namespace) -> int:
    try:
        await server.start()
    except (OSError, OverflowError) as exc:  # OverflowError: --base-port N runs past 65535
        fail("fake-server", f"cannot listen: {exc}")
        return EXIT_FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if args.postfix_transport is not None:
            args.postfix_transport.write_text(server.postfix_transport(), encoding="utf-8")
        if server.shared is not None:
            host, port = server.shared
            print(f"listening on {host}:{port} (routing by recipient domain)")
        for scenario in server.scenarios:
            if scenario.id in server.endpoints:
                host, port = server.endpoints[scenario.id]
                state = "refuses connections" if scenario.refuse else "listening"
                print(f"{scenario.id} {scenario.domain} {host}:{port} {state}")
        print(f"ready: {len(server.scenarios)} scenarios; Ctrl-C or SIGTERM stops", flush=True)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.stop()
        if args.transcript is not None:
            with args.transcript.open("w", encoding="utf-8") as out:
                for transcript in server.transcripts:
                    out.write(json.dumps(transcript.to_dict(), ensure_ascii=False) + "\n")
    print("stopped", flush=True)
    return EXIT_OK
