"""Every shipped scenario, replayed: the probe must get its codes, in every shape of the reply.

One reply reaches users in several shapes: on the wire, as a client library hands it over
(prefixes stripped, lines joined by LF), inside a Postfix log line (lines flattened with
spaces, prefixes kept) and in a DSN ``Diagnostic-Code`` (folded). All must classify alike.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from classifier import classify
from classifier.harness.scenario import Scenario, Step, load_scenarios
from classifier.harness.server import FakeServer
from classifier.logreplay import classify_record
from classifier.logs import parse_postfix
from classifier.network.probe import ProbeResult, probe_async

SCENARIOS = load_scenarios(Path(__file__).resolve().parent.parent / "fixtures" / "scenarios")
PROBE_TIMEOUT = 1.0  # the timeout scenarios delay 5-30 s; the probe must give up at once


def _mismatches(scenario: Scenario, result: ProbeResult) -> list[str]:
    out = []
    for address, code in scenario.expect.items():
        got = result.for_recipient(address)
        if got.code != code:
            c = got.classification
            out.append(
                f"{scenario.id}: {address} expected {code}, got {got.code or 'nothing'} "
                f"at {got.stage} (rule {c.rule_id}, reason {c.reason}, text {c.text[:80]!r})"
            )
    return out


@pytest.mark.asyncio
async def test_every_scenario_replayed_through_the_fake_server_gives_its_codes() -> None:
    async with FakeServer(SCENARIOS) as server:
        assert server.shared is not None
        own = [
            probe_async(server.address_for(s.id), list(s.expect), timeout=PROBE_TIMEOUT)
            for s in SCENARIOS
        ]
        routable = [s for s in SCENARIOS if not s.needs_own_port]
        shared = [
            probe_async(server.shared, list(s.expect), timeout=PROBE_TIMEOUT) for s in routable
        ]
        results = await asyncio.wait_for(asyncio.gather(*own, *shared), 30)
    problems: list[str] = []
    for scenario, result in zip([*SCENARIOS, *routable], results, strict=True):
        problems += _mismatches(scenario, result)
    assert not problems, "\n".join(problems)


# --- the same reply in four shapes ------------------------------------------------------------

_COMMAND = {
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
    "end_of_data": "end of DATA",
}


def _deciding_step(scenario: Scenario, address: str) -> tuple[str, Step] | None:
    """The step whose reply decides ``address``, when it is a reply (not a drop or delay)."""
    candidates: list[tuple[str, Step | None]] = [
        ("greeting", scenario.step("greeting")),
        ("mail", scenario.step("mail")),
        ("rcpt", scenario.rcpt_step(address)),
        ("data", scenario.step("data")),
        ("end_of_data", scenario.step("end_of_data")),
    ]
    for stage, step in candidates:
        if step is None or step.code is None or step.malformed or step.delay:
            continue
        if stage in ("mail", "rcpt") and 200 <= step.code < 300:
            continue
        return stage, step
    return None


def _cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for scenario in SCENARIOS:
        for address, code in scenario.expect.items():
            decided = _deciding_step(scenario, address)
            if decided is None or code == "250":
                continue
            stage, step = decided
            cases.append((f"{scenario.id}/{address.partition('@')[0]}", stage, step.text(), code))
    return cases


CASES = _cases()


def test_shape_cases_cover_most_scenarios() -> None:
    assert len({case[0].partition("/")[0] for case in CASES}) >= 60


def _lines(wire: str) -> list[str]:
    return [line.removesuffix("\r") for line in wire.split("\n")]


def _postfix_line(address: str, stage: str, wire: str) -> str:
    flat = " ".join(_lines(wire)).replace("\ufffd", "?")
    host = "mx.example.test[192.0.2.1]"
    if stage == "greeting":
        text = f"host {host} refused to talk to me: {flat}"
    else:
        text = f"host {host} said: {flat} (in reply to {_COMMAND[stage]} command)"
    status = "bounced" if flat.startswith("5") else "deferred"
    dsn = "5.0.0" if status == "bounced" else "4.0.0"
    return (
        "Nov 26 11:31:27 mta postfix/smtp[31896]: D3ECB162083: "
        f"to=<{address}>, relay={host}:25, delay=0.05, delays=0.02/0.03/0/0, "
        f"dsn={dsn}, status={status} ({text})"
    )


def _diagnostic_code(wire: str) -> str:
    flat = " ".join(_lines(wire))
    folded = textwrap.wrap(
        f"Diagnostic-Code: smtp; {flat}",
        width=78,
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(folded)


@pytest.mark.parametrize(("case", "stage", "wire", "code"), CASES, ids=[c[0] for c in CASES])
def test_reply_classifies_alike_on_the_wire_in_a_client_in_a_log_and_in_a_dsn(
    case: str, stage: str, wire: str, code: str
) -> None:
    lines = _lines(wire)
    client_view = "\n".join(line[4:] for line in lines)
    record = parse_postfix(_postfix_line("user@example.test", stage, wire))
    assert record is not None
    shapes = {
        "wire": classify(wire, stage=stage).code,
        "client": classify(f"{lines[0][:3]} {client_view}", stage=stage).code,
        "postfix log (text)": classify(record.reply).code,
        "postfix log (record)": classify_record(record).code,
        "dsn": classify(_diagnostic_code(wire)).code,
    }
    assert shapes == dict.fromkeys(shapes, code), case
