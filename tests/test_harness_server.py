"""The fake server sends exactly what a scenario says, records sessions, and survives abuse."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import socket
import struct
from collections.abc import Callable
from typing import Any

import pytest

from classifier.harness.scenario import Scenario, parse_scenario
from classifier.harness.server import FakeServer
from classifier.network.probe import probe_async

STEP = 5.0  # seconds: bound of every network step in these tests


def scenario(sid: str, expect: dict[str, str] | None = None, **steps: Any) -> Scenario:
    obj = {"id": sid, "description": "test", "source": "test", **steps}
    obj["expect"] = expect or {"user": "250"}
    return parse_scenario(obj)


GMAIL = [
    "550-5.1.1 The email account that you tried to reach does not exist. Please try",
    "550-5.1.1 double-checking the recipient's email address for typos or",
    "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser x1si",
]


class Client:
    """A raw SMTP client: sends lines, reads exact bytes, every read bounded."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, address: tuple[str, int]) -> Client:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*address), STEP)
        return cls(reader, writer)

    async def reply(self) -> bytes:
        """One whole reply (multi-line included), as sent."""
        out = b""
        while True:
            line = await asyncio.wait_for(self.reader.readline(), STEP)
            out += line
            if not line or line[3:4] != b"-":
                return out

    async def send(self, line: str) -> bytes:
        self.writer.write(line.encode() + b"\r\n")
        return await self.reply()

    async def eof(self) -> bytes:
        return await asyncio.wait_for(self.reader.read(), STEP)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), STEP)


@pytest.mark.asyncio
async def test_replies_are_sent_byte_for_byte_and_transcribed() -> None:
    s = scenario(
        "exact",
        {"user": "131", "lat": "131", "lf": "554"},
        rcpt={
            "user": GMAIL,
            "lat": {"bytes": "550 5.1.1 caf\\xe9 latin-1 byte"},
            "lf": "550-5.7.1 first line\n550 5.7.1 second line (bare LF)",
        },
    )
    async with FakeServer([s], port=None) as server:
        client = await Client.open(server.address_for("exact"))
        assert (await client.reply()).startswith(b"220 ")
        assert (await client.send("EHLO client.test")).startswith(b"250-")
        assert await client.send("MAIL FROM:<a@client.test>") == b"250 OK\r\n"
        got = await client.send("RCPT TO:<user@exact.test>")
        assert got == "\r\n".join(GMAIL).encode() + b"\r\n"
        assert (
            await client.send("RCPT TO:<lat@exact.test>") == b"550 5.1.1 caf\xe9 latin-1 byte\r\n"
        )
        bare = await client.send("RCPT TO:<lf@exact.test>")
        assert bare == b"550-5.7.1 first line\n550 5.7.1 second line (bare LF)\r\n"
        assert await client.send("RSET") == b"250 OK\r\n"
        assert (await client.send("QUIT")).startswith(b"221")
        await client.close()
        transcript = server.sessions("exact")[0]
        assert [e.stage for e in transcript.exchanges][-2:] == ["rset", "quit"]
        stages = [(e.stage, e.command) for e in transcript.exchanges]
        assert stages[:4] == [
            ("greeting", ""),
            ("ehlo", "EHLO client.test"),
            ("mail", "MAIL FROM:<a@client.test>"),
            ("rcpt", "RCPT TO:<user@exact.test>"),
        ]
        assert transcript.exchanges[3].reply == "\r\n".join(GMAIL).encode()


@pytest.mark.asyncio
async def test_greeting_refusal_is_sent_then_closed_and_client_bytes_are_ignored() -> None:
    text = "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"
    refuse = scenario("refuse", {"user": "554"}, greeting={"reply": text, "then": "close"})
    drop = scenario("drop", {"user": "113"}, greeting={"close": True})
    async with FakeServer([refuse, drop], port=None) as server:
        client = await Client.open(server.address_for("refuse"))
        client.writer.write(b"EHLO early.talker\r\n")
        assert await client.eof() == text.encode() + b"\r\n"
        await client.close()
        client = await Client.open(server.address_for("drop"))
        assert await client.eof() == b""
        await client.close()
        assert [e.reply for e in server.sessions("drop")[0].exchanges] == [None]


@pytest.mark.asyncio
async def test_close_after_reply_and_close_instead_of_reply() -> None:
    s = scenario(
        "closing",
        {"a": "421", "b": "113"},
        rcpt={
            "a": {
                "reply": "421 4.7.0 Try again later, closing connection. (RCPT)",
                "then": "close",
            },
            "b": {"close": True},
        },
    )
    async with FakeServer([s], port=None) as server:
        for rcpt, expected in (("a", b"421 4.7.0 Try again later"), ("b", b"")):
            client = await Client.open(server.address_for("closing"))
            await client.reply()
            await client.send("HELO c.test")
            await client.send("MAIL FROM:<>")
            client.writer.write(f"RCPT TO:<{rcpt}@closing.test>\r\n".encode())
            assert (await client.eof()).startswith(expected)
            await client.close()


@pytest.mark.asyncio
async def test_scripted_ehlo_helo_and_data_replies_keep_the_session_usable() -> None:
    s = scenario(
        "stages",
        {"user": "554"},
        ehlo="550 5.7.1 EHLO rejected",
        data="554 5.7.1 no DATA for you",
    )
    async with FakeServer([s], port=None) as server:
        client = await Client.open(server.address_for("stages"))
        await client.reply()
        assert await client.send("EHLO c.test") == b"550 5.7.1 EHLO rejected\r\n"
        assert (await client.send("HELO c.test")).startswith(b"250 ")
        assert await client.send("MAIL FROM:<a@c.test>") == b"250 OK\r\n"
        assert await client.send("RCPT TO:<user@stages.test>") == b"250 OK\r\n"
        assert await client.send("DATA") == b"554 5.7.1 no DATA for you\r\n"
        await client.close()


@pytest.mark.asyncio
async def test_shared_port_routes_by_recipient_domain() -> None:
    a = scenario("alpha", {"user": "131"}, rcpt={"user": GMAIL})
    b = scenario("beta", {"user": "202"}, rcpt={"user": "452 4.2.2 Mailbox full"})
    async with FakeServer([a, b], base_port=None) as server:
        assert server.shared is not None and not server.endpoints
        result = await probe_async(
            server.shared,
            ["user@alpha.test", "user@beta.test", "user@nowhere.test"],
            timeout=STEP,
        )
        codes = result.codes
        assert codes["user@alpha.test"] == "131"
        assert codes["user@beta.test"] == "202"
        assert codes["user@nowhere.test"] != "250"


def test_fixture_serves_blocking_clients_with_partial_acceptance(
    fake_smtp_server: Callable[..., FakeServer],
) -> None:
    server = fake_smtp_server(
        {
            "id": "partial",
            "description": "d",
            "source": "s",
            "rcpt": {"nouser": GMAIL, "full": "452 4.2.2 Mailbox full"},
            "expect": {"ok": "250", "nouser": "131", "full": "202"},
        }
    )
    with smtplib.SMTP(*server.address_for("partial"), timeout=STEP) as client:
        refused = client.sendmail(
            "a@client.test",
            ["ok@partial.test", "nouser@partial.test", "full@partial.test"],
            b"Subject: t\r\n\r\nhello\r\n",
        )
    assert refused["full@partial.test"] == (452, b"4.2.2 Mailbox full")
    assert refused["nouser@partial.test"][0] == 550
    assert "ok@partial.test" not in refused
    assert server.sessions("partial")[0].messages[0].endswith(b"hello\r\n")


@pytest.mark.asyncio
async def test_stop_does_not_wait_for_idle_clients() -> None:
    """Python 3.12+ wait_closed() waits for open connections; stop() must close them first."""
    s = scenario("idle", rcpt={"*": {"reply": "250 ok", "delay": 30}})
    server = FakeServer([s])
    await server.start()
    idle = await Client.open(server.address_for("idle"))
    await idle.reply()
    slow = await Client.open(server.address_for("idle"))
    await slow.reply()
    await slow.send("HELO c.test")
    await slow.send("MAIL FROM:<>")
    slow.writer.write(b"RCPT TO:<user@idle.test>\r\n")  # the server sleeps 30 s on this one
    await asyncio.wait_for(server.stop(), STEP)
    assert await idle.eof() == b""
    await idle.close()
    await slow.close()


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.asyncio
async def test_server_survives_abusive_clients_and_keeps_serving() -> None:
    good = scenario("good", {"user": "131"}, rcpt={"user": GMAIL})
    refuse = scenario("ban", {"user": "554"}, greeting={"reply": "554 5.7.1 go away"})
    async with FakeServer([good, refuse], idle_timeout=10) as server:
        address = server.address_for("good")

        async def garbage() -> None:
            client = await Client.open(address)
            await client.reply()
            client.writer.write(bytes(range(256)) * 4 + b"\r\n\x00\xff\r\nEHLO\r\n")
            reply = await client.reply()
            assert reply[:1] in (b"5", b"")
            await client.close()

        async def huge_line(newline: bool) -> None:
            client = await Client.open(address)
            await client.reply()
            client.writer.write(b"MAIL FROM:<" + b"a" * 1_000_000 + (b">\r\n" if newline else b""))
            if newline:
                assert (await client.reply()).startswith(b"500 ")
                assert (await client.send("QUIT")).startswith(b"221")
            else:
                client.writer.write_eof()
                await client.eof()
            await client.close()

        async def abrupt(stage: int) -> None:
            client = await Client.open(address)
            if stage > 0:
                await client.reply()
                client.writer.write(
                    b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<user@good.test>\r\nDATA\r\n"
                )
            sock = client.writer.get_extra_info("socket")
            _reset(sock.dup())
            client.writer.transport.abort()

        async def refused_client() -> None:
            client = await Client.open(server.address_for("ban"))
            client.writer.write(b"x" * 100_000)
            await client.eof()
            await client.close()

        abuse = [garbage(), huge_line(True), huge_line(False), refused_client()]
        abuse += [abrupt(i % 2) for i in range(20)]
        outcomes = await asyncio.wait_for(asyncio.gather(*abuse, return_exceptions=True), 30)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        assert not failures

        # Many parallel well-behaved sessions, then one more: all classified correctly.
        results = await asyncio.wait_for(
            asyncio.gather(
                *(probe_async(address, ["user@good.test"], timeout=STEP) for _ in range(60))
            ),
            30,
        )
        assert {r.codes["user@good.test"] for r in results} == {"131"}
        final = await probe_async(address, ["user@good.test", "other@good.test"], timeout=STEP)
        assert final.codes == {"user@good.test": "131", "other@good.test": "250"}
