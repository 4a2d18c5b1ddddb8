"""The probe: per-stage replies and one classification per recipient, whatever the server does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from classifier.cli import main
from classifier.harness.dnsserver import FakeDnsServer
from classifier.harness.scenario import Scenario, parse_scenario
from classifier.harness.server import FakeServer
from classifier.network.probe import ProbeError, probe, probe_async

GMAIL = [
    "550-5.1.1 The email account that you tried to reach does not exist. Please try",
    "550-5.1.1 double-checking the recipient's email address for typos or",
    "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser x1si",
]


def scenario(sid: str, expect: dict[str, str], **steps: Any) -> Scenario:
    return parse_scenario(
        {"id": sid, "description": "test", "source": "test", **steps, "expect": expect}
    )


@pytest.mark.asyncio
async def test_refused_connection_is_113() -> None:
    async with FakeServer([scenario("refused", {"u": "113"}, connect="refuse")]) as server:
        result = await probe_async(server.address_for("refused"), ["u@refused.test"], timeout=2)
    assert result.codes == {"u@refused.test": "113"}
    (reply,) = result.replies
    assert (reply.stage, reply.event) == ("connect", "refused")
    assert "Connection refused" in reply.text
    assert result.for_recipient("U@REFUSED.TEST").stage == "connect"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("greeting", "code", "event"),
    [
        ({"reply": "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"}, "554", None),
        ({"reply": ["421-4.7.0 [127.0.0.1] Our system has detected an unusual rate of", "421 4.7.0 unsolicited mail originating from your IP address."]}, "421", None),
        ({"close": True}, "113", "closed"),
        ({"close": True, "delay": 30}, "113", "timeout"),
        ({"reply": "250 hello, but not a greeting"}, "113", "malformed"),
        ({"bytes": "Service unavailable", "malformed": True}, "113", "malformed"),
    ],
)  # fmt: skip
async def test_greeting_refusals_drops_and_silence(
    greeting: dict[str, Any], code: str, event: str | None
) -> None:
    s = scenario("greet", {"a": code, "b": code}, greeting=greeting)
    async with FakeServer([s]) as server:
        started = time.monotonic()
        result = await probe_async(
            server.address_for("greet"), ["a@greet.test", "b@greet.test"], timeout=0.5
        )
        assert time.monotonic() - started < 3
    assert result.codes == {"a@greet.test": code, "b@greet.test": code}
    assert [(r.stage, r.event) for r in result.replies] == [("connect", event)]


@pytest.mark.asyncio
async def test_partial_acceptance_then_delivery() -> None:
    s = scenario(
        "partial",
        {"ok": "250", "nouser": "131", "full": "202"},
        rcpt={"nouser": GMAIL, "full": "452 4.2.2 Mailbox full"},
    )
    async with FakeServer([s]) as server:
        result = await probe_async(
            server.address_for("partial"),
            ["ok@partial.test", "nouser@partial.test", "full@partial.test"],
            message=b"Subject: x\n\n.leading dot\nend\n",
            timeout=2,
        )
        message = server.sessions("partial")[0].messages[0]
    assert result.codes == {
        "ok@partial.test": "250",
        "nouser@partial.test": "131",
        "full@partial.test": "202",
    }
    assert [r.stage for r in result.recipients] == ["end_of_data", "rcpt", "rcpt"]
    rcpt = [r for r in result.replies if r.stage == "rcpt"]
    assert rcpt[1].text == "\r\n".join(GMAIL)
    assert rcpt[1].recipient == "nouser@partial.test"
    assert message == b"Subject: x\r\n\r\n.leading dot\r\nend\r\n"


@pytest.mark.asyncio
async def test_failures_mid_conversation() -> None:
    scenarios = [
        scenario("drop", {"a": "113", "b": "113"}, rcpt={"a": {"close": True}}),
        scenario("slow", {"a": "113"}, rcpt={"a": {"reply": "250 ok", "delay": 30}}),
        scenario("junk", {"a": "113"}, rcpt={"a": {"bytes": "Mailbox unavailable", "malformed": True}}),
        scenario("close421", {"a": "421", "b": "421"}, rcpt={"a": {"reply": "421 4.7.0 Try again later, closing connection. (RCPT)", "then": "close"}}),
        scenario("dataref", {"a": "554", "n": "131"}, rcpt={"n": GMAIL}, end_of_data=["554-5.7.1 Message rejected due to content restrictions.", "554 5.7.1 ref=abc123"]),
        scenario("datacmd", {"a": "504"}, data="503 Bad sequence of commands"),
        scenario("eodslow", {"a": "113"}, end_of_data={"reply": "250 ok", "delay": 30}),
        scenario("mailref", {"a": "554", "b": "554"}, mail="553 5.7.1 Sender address rejected: not owned by user"),
        scenario("helo", {"a": "554"}, ehlo="550 5.7.1 no", helo="550 5.7.1 no HELO either"),
    ]  # fmt: skip
    async with FakeServer(scenarios) as server:
        results = {}
        for s in scenarios:
            results[s.id] = await probe_async(server.address_for(s.id), list(s.expect), timeout=0.5)
    for s in scenarios:
        assert results[s.id].codes == dict(s.expect), s.id
    events = {sid: [r.event for r in res.replies if r.event] for sid, res in results.items()}
    assert events["drop"] == ["closed"]
    assert events["slow"] == ["timeout"]
    assert events["junk"] == ["malformed"]
    assert events["eodslow"] == ["timeout"]
    assert "timed out while sending RCPT TO" in results["slow"].replies[-1].text
    assert results["helo"].recipients[0].stage == "helo"


@pytest.mark.asyncio
async def test_probe_resolves_mx_with_a_real_dns_server() -> None:
    s = scenario("mx", {"user": "131"}, rcpt={"user": GMAIL}, domain="mail.test")
    records = {
        "mail.test": {"MX": ["10 mx1.mail.test."]},
        "mx1.mail.test": {"A": ["127.0.0.1"]},
        "hostless.test": {"MX": ["10 nowhere.hostless.test."]},
        "nomail.test": {"TXT": ['"no mail"']},
    }
    with FakeDnsServer(records, failures={"broken.test": "servfail"}) as dns_server:
        resolver = dns_server.async_resolver(timeout=0.5)
        async with FakeServer([s]) as server:
            port = server.address_for("mx")[1]
            found = await probe_async(None, ["user@mail.test"], resolver=resolver, port=port)
        assert found.codes == {"user@mail.test": "131"}
        assert found.dns is not None and found.dns.hosts == ("mx1.mail.test",)
        assert found.replies[-1].text.startswith("550-5.1.1")
        for domain, code in [
            ("missing.test", "111"),
            ("nomail.test", "112"),
            ("broken.test", "113"),
            ("hostless.test", "113"),
        ]:
            result = await probe_async(None, [f"u@{domain}"], resolver=resolver, port=port)
            assert result.codes == {f"u@{domain}": code}, domain
    with pytest.raises(ProbeError, match="single domain"):
        await probe_async(None, ["a@one.test", "b@two.test"], resolver=resolver)


@pytest.mark.asyncio
async def test_dns_slower_than_the_probe_timeout_is_113_not_an_exception() -> None:
    records = {"slowmx.test": {"MX": ["10 mx.slowmx.test."]}}
    failures = {"silent.test": "drop", "mx.slowmx.test": "drop"}
    with FakeDnsServer(records, failures=failures) as dns_server:
        resolver = dns_server.async_resolver(timeout=5)  # each query outlives the probe's bound
        for domain in ("silent.test", "slowmx.test"):
            started = time.monotonic()
            result = await probe_async(None, [f"u@{domain}"], resolver=resolver, timeout=0.2)
            assert time.monotonic() - started < 3
            assert result.codes == {f"u@{domain}": "113"}, domain


@pytest.mark.parametrize(
    "recipients",
    [[], ["not-an-address"], ["a@b.test\r\nRCPT TO:<x@y>"], "<>"],
)
def test_bad_requests_raise_probe_error(recipients: list[str] | str) -> None:
    with pytest.raises(ProbeError):
        probe(("127.0.0.1", 9), recipients)


@pytest.mark.parametrize(
    "options",
    [{"sender": "a b@c.test"}, {"helo": "bad host\r\nRSET"}, {"timeout": -1}],
)
def test_bad_options_raise_probe_error(options: dict[str, Any]) -> None:
    with pytest.raises(ProbeError):
        probe(("127.0.0.1", 9), ["a@b.test"], **options)


def test_blocking_probe_and_cli_against_the_fixture_server(
    fake_smtp_server: Callable[..., FakeServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = fake_smtp_server(
        [
            scenario("cli", {"ok": "250", "nouser": "131"}, rcpt={"nouser": GMAIL}),
            scenario("clean", {"ok": "250"}),
        ]
    )
    host, port = server.address_for("cli")
    assert probe(f"{host}:{port}", ["ok@cli.test"], timeout=2).codes == {"ok@cli.test": "250"}

    rc = main(["probe", f"{host}:{port}", "--to", "ok@cli.test", "--to", "nouser@cli.test"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "nouser@cli.test\t131\trcpt" in out
    assert "550-5.1.1 The email account" in out

    host, port = server.address_for("clean")
    rc = main(["probe", f"[{host}]:{port}", "--to", "ok@clean.test", "--json", "--timeout", "2"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert data["recipients"][0]["code"] == "250"
    assert data["replies"][0]["stage"] == "connect"

    assert main(["probe", "127.0.0.1:1", "--to", "x@y.test", "--timeout", "0"]) == 2
    assert main(["probe", "127.0.0.1:1", "--to", "x@y.test", "--dns-server", "nope"]) == 2
    assert main(["probe", "127.0.0.1:1", "--to", "bad"]) == 2
    capsys.readouterr()


def test_cli_probe_resolves_mx_through_a_named_dns_server(
    fake_smtp_server: Callable[..., FakeServer],
    fake_dns_server: Callable[..., FakeDnsServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = fake_smtp_server(scenario("viamx", {"u": "250"}))
    dns_server = fake_dns_server({"viamx.test": {"A": ["127.0.0.1"]}})
    port = server.address_for("viamx")[1]
    dns_at = f"{dns_server.host}:{dns_server.port}"
    argv = ["probe", "--to", "u@viamx.test", "--port", str(port), "--dns-server", dns_at]
    assert main(argv) == 0
    assert "implicit_mx" in capsys.readouterr().out
    assert main(["probe", "--to", "u@gone.test", "--dns-server", dns_at]) == 1
    assert "u@gone.test\t111\tdns" in capsys.readouterr().out
    assert main(["probe", "--to", "u@gone.test", "--dns-server", dns_at, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["recipients"][0]["stage"] == "dns"
