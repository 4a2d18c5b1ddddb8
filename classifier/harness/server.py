"""A fake SMTP server that replays scenarios exactly, with a transcript of every session.

Stages after the greeting are served by aiosmtpd through its public handler hooks (plus an
``smtp_DATA`` override for a scripted reply to the DATA command itself). A scripted greeting
cannot go through aiosmtpd (its 220 banner has no hook), so those connections get a plain
:class:`asyncio.Protocol` from the same listener.

Each scenario gets its own listener (needed when the greeting, EHLO or MAIL reply is
scripted: the server must know the scenario before the client names a recipient); one more,
shared listener routes by recipient domain for scenarios that only script RCPT and later.

What the server keeps is bounded: the newest ``max_transcripts`` sessions, at most
``max_exchanges`` commands and messages per session, of each message its size and its first
``keep_message_bytes`` bytes, and at most ``max_kept_bytes`` of message content in all. What is
not kept is counted in the transcript (``cut_bytes``, ``dropped``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from .loopthread import LoopThread
from .scenario import DEFAULT_END_OF_DATA, Scenario, Step

__all__ = ["LISTEN_BACKLOG", "BackgroundServer", "Exchange", "FakeServer", "Transcript"]

_DEFAULT_OK = b"250 OK"
_BYE = b"221 Bye"
_DATA_GO = b"354 End data with <CR><LF>.<CR><LF>"
_NO_ROUTE = b"550 5.1.2 fake server: no scenario for this recipient domain"
_CLOSE_TIMEOUT = 5.0
#: Connections the kernel queues while the loop is busy building sessions: with the default
#: (100) a burst of simultaneous clients overflows it and their connects wait for a SYN
#: retransmission (one second, then three ...). The kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 4096


@dataclass(frozen=True, slots=True)
class Exchange:
    """One command and what the server did about it (``reply`` None: it closed instead)."""

    stage: str
    command: str
    reply: bytes | None
    closed: bool = False
    at: float = 0.0


@dataclass(slots=True)
class Transcript:
    """Everything one client session saw; filled in while the session runs."""

    port: int
    peer: str
    scenario: str | None
    started: float = field(default_factory=time.monotonic)
    exchanges: list[Exchange] = field(default_factory=list)
    #: The first bytes of each message received (FakeServer ``keep_message_bytes``).
    messages: list[bytes] = field(default_factory=list)
    #: The full size of each message received.
    message_sizes: list[int] = field(default_factory=list)
    ended: bool = False
    #: Exchanges and messages recorded at most; beyond, they are only counted in ``dropped``.
    max_exchanges: int = 1000
    #: Exchanges and messages not recorded (over ``max_exchanges``).
    dropped: int = 0
    #: Bytes of received messages that were not kept.
    cut_bytes: int = 0

    def add(self, stage: str, command: str, reply: bytes | None, *, closed: bool = False) -> None:
        """Record one exchange (timestamps are relative to the session start)."""
        if len(self.exchanges) >= self.max_exchanges:
            self.dropped += 1
            return
        at = round(time.monotonic() - self.started, 4)
        self.exchanges.append(Exchange(stage, command, reply, closed, at))

    @property
    def kept_bytes(self) -> int:
        """Bytes of message content this transcript holds."""
        return sum(len(m) for m in self.messages)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (replies decoded with replacement, message sizes only)."""
        return {
            "port": self.port,
            "peer": self.peer,
            "scenario": self.scenario,
            "exchanges": [
                {
                    "stage": e.stage,
                    "command": e.command,
                    "reply": None if e.reply is None else e.reply.decode("utf-8", "replace"),
                    "closed": e.closed,
                    "at": e.at,
                }
                for e in self.exchanges
            ],
            "messages": list(self.message_sizes),
            "ended": self.ended,
            "dropped": self.dropped,
            "cut_bytes": self.cut_bytes,
        }


def _accepted(code: int | None) -> bool:
    """A 2xx reply: the server takes the sender or recipient into the envelope."""
    return code is not None and 200 <= code < 300


def _peer(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


class _GreetingProtocol(asyncio.Protocol):
    """Serves a scripted greeting (refusal, drop, delay) and closes; ignores client bytes."""

    def __init__(self, owner: FakeServer, step: Step, scenario: Scenario) -> None:
        self._owner = owner
        self._step = step
        self._scenario = scenario
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._transcript: Transcript | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._transcript = self._owner._opened(transport, self._scenario.id)
        loop = asyncio.get_running_loop()
        if self._step.delay:
            self._timer = loop.call_later(self._step.delay, self._act)
        else:
            self._act()

    def _act(self) -> None:
        transport, transcript = self._transport, self._transcript
        if transport is None or transport.is_closing() or transcript is None:
            return
        if self._step.reply is not None:
            transport.write(self._step.reply + b"\r\n")
        transcript.add("greeting", "", self._step.reply, closed=True)
        transport.close()

    def data_received(self, data: bytes) -> None:
        """Client bytes are discarded: this server only refuses."""

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._transport is not None and self._transcript is not None:
            self._owner._closed(self._transport, self._transcript)
        self._transport = None


class _ReplaySMTP(SMTP):
    """aiosmtpd's SMTP with a scripted reply to the DATA command and session bookkeeping."""

    def __init__(self, handler: _ReplayHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._replay = handler

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._replay.attach(transport)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._replay.detach()
        super().connection_lost(error)

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's naming
        step = self._replay.step("data")
        if step is None:
            await super().smtp_DATA(arg)
            return
        reply = await self._replay.perform(self, step, "data", "DATA")
        await self.push(reply)


class _ReplayHandler:
    """aiosmtpd hooks answering from a scenario; a hook that replies also updates state."""

    def __init__(self, owner: FakeServer, scenario: Scenario | None) -> None:
        self._owner = owner
        self._scenario = scenario  # None on the shared port until a RCPT routes the session
        self._fixed = scenario is not None
        self.transcript: Transcript | None = None
        self._transport: asyncio.BaseTransport | None = None

    def attach(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        sid = self._scenario.id if self._scenario else None
        self.transcript = self._owner._opened(transport, sid)
        self.transcript.add("greeting", "", self._owner.greeting)

    def detach(self) -> None:
        if self._transport is not None and self.transcript is not None:
            self._owner._closed(self._transport, self.transcript)

    def step(self, stage: str) -> Step | None:
        return None if self._scenario is None else self._scenario.step(stage)

    def _record(self, stage: str, command: str, reply: bytes | None, closed: bool) -> None:
        if self.transcript is not None:
            self.transcript.add(stage, command, reply, closed=closed)

    async def perform(self, server: SMTP, step: Step, stage: str, command: str) -> bytes:
        """Delay, then return the reply to push; a close-without-reply never returns."""
        if step.delay:
            await asyncio.sleep(step.delay)
        transport = server.transport
        if step.reply is None:
            self._record(stage, command, None, True)
            if transport is not None:
                transport.close()
            # connection_lost cancels this coroutine; nothing must be pushed meanwhile.
            await asyncio.Event().wait()
        assert step.reply is not None
        self._record(stage, command, step.reply, step.close_after)
        if step.close_after and transport is not None:
            asyncio.get_running_loop().call_soon(transport.close)
        return step.reply

    async def answer(
        self, server: SMTP, stage: str, command: str, step: Step | None, default: bytes
    ) -> tuple[bytes, int | None]:
        """The reply to one command and its basic code: the scripted step's, else ``default``.

        Every default is a 250 reply; the transcript records either.
        """
        if step is None:
            self._record(stage, command, default, False)
            return default, 250
        return await self.perform(server, step, stage, command), step.code

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str | bytes]:
        step = self.step("ehlo")
        default = "\r\n".join(responses).encode()
        reply, code = await self.answer(server, "ehlo", f"EHLO {hostname}", step, default)
        if code == 250:
            session.host_name = hostname
        return list(responses) if step is None else [reply]

    async def handle_HELO(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> bytes:
        default = f"250 {server.hostname}".encode()
        step = self.step("helo")
        reply, code = await self.answer(server, "helo", f"HELO {hostname}", step, default)
        if code == 250:
            session.host_name = hostname
        return reply

    async def handle_MAIL(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> bytes:
        step = self.step("mail")
        reply, code = await self.answer(server, "mail", f"MAIL FROM:<{address}>", step, _DEFAULT_OK)
        if _accepted(code):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return reply

    async def handle_RCPT(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> bytes:
        command = f"RCPT TO:<{address}>"
        if self._fixed:
            scenario = self._scenario
        else:  # the shared port: each recipient goes to its domain's scenario
            scenario = self._owner.route(address)
            if scenario is None:
                self._record("rcpt", command, _NO_ROUTE, False)
                return _NO_ROUTE
            if self._scenario is None:  # the first routed recipient names the session
                self._scenario = scenario
                if self.transcript is not None:
                    self.transcript.scenario = scenario.id
        step = None if scenario is None else scenario.rcpt_step(address)
        reply, code = await self.answer(server, "rcpt", command, step, _DEFAULT_OK)
        if _accepted(code):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return reply

    async def handle_RSET(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> bytes:
        self._record("rset", "RSET", _DEFAULT_OK, False)
        return _DEFAULT_OK

    async def handle_QUIT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> bytes:
        self._record("quit", "QUIT", _BYE, False)
        return _BYE

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> bytes:
        content = envelope.original_content or b""
        if self.transcript is not None:
            self.transcript.add("data", "DATA", _DATA_GO)
            self._owner._keep(self.transcript, content)
        command = f"<message of {len(content)} bytes>"
        step = self.step("end_of_data")
        reply, _ = await self.answer(server, "end_of_data", command, step, DEFAULT_END_OF_DATA)
        return reply


def _closed_port(host: str) -> int:
    """A port nothing listens on (bound, then released) for "connection refused" scenarios."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


class FakeServer:
    """Serve scenarios on 127.0.0.1: one listener per scenario plus a routing listener.

    Use ``async with FakeServer(scenarios) as server:`` on the caller's loop, or
    :class:`BackgroundServer` from blocking code. Ports 0 pick free ports.
    """

    def __init__(
        self,
        scenarios: Iterable[Scenario],
        *,
        host: str = "127.0.0.1",
        port: int | None = 0,
        base_port: int | None = 0,
        hostname: str = "fake.test",
        idle_timeout: float = 60.0,
        data_size_limit: int = 10 * 1024 * 1024,
        max_transcripts: int = 10_000,
        max_exchanges: int = 1000,
        keep_message_bytes: int = 64 * 1024,
        max_kept_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.scenarios: tuple[Scenario, ...] = tuple(scenarios)
        self.host = host
        self._port = port
        self._base_port = base_port
        self.hostname = hostname
        self.idle_timeout = idle_timeout
        self.data_size_limit = data_size_limit
        self.max_transcripts = max_transcripts
        self.max_exchanges = max_exchanges
        self.keep_message_bytes = keep_message_bytes
        self.max_kept_bytes = max_kept_bytes
        self._kept_bytes = 0
        self.greeting = f"220 {hostname} ESMTP fake".encode()
        self._by_domain = {s.domain: s for s in self.scenarios}
        self._servers: list[asyncio.Server] = []
        self._live: set[asyncio.BaseTransport] = set()
        self.transcripts: list[Transcript] = []
        self.endpoints: dict[str, tuple[str, int]] = {}
        self.shared: tuple[str, int] | None = None

    def route(self, address: str) -> Scenario | None:
        """The scenario serving ``address``'s domain, if any."""
        domain = address.strip().strip("<>").rpartition("@")[2].lower()
        return self._by_domain.get(domain)

    def address_for(self, scenario_id: str) -> tuple[str, int]:
        """(host, port) of the listener dedicated to one scenario."""
        return self.endpoints[scenario_id]

    def _opened(self, transport: asyncio.BaseTransport, sid: str | None) -> Transcript:
        """Track a new session (stop() aborts it) and start its transcript."""
        self._live.add(transport)
        sockname = transport.get_extra_info("sockname")
        port = sockname[1] if isinstance(sockname, tuple) else 0
        transcript = Transcript(
            port=port, peer=_peer(transport), scenario=sid, max_exchanges=self.max_exchanges
        )
        self.transcripts.append(transcript)
        if len(self.transcripts) > self.max_transcripts:  # a long-running server keeps the newest
            gone = len(self.transcripts) - self.max_transcripts
            self._kept_bytes -= sum(t.kept_bytes for t in self.transcripts[:gone])
            del self.transcripts[:gone]
        return transcript

    def _keep(self, transcript: Transcript, content: bytes) -> None:
        """Record a received message: its size, and its first bytes while the bounds allow."""
        if len(transcript.message_sizes) >= self.max_exchanges:
            transcript.dropped += 1
            transcript.cut_bytes += len(content)
            return
        room = max(0, min(self.keep_message_bytes, self.max_kept_bytes - self._kept_bytes))
        kept = bytes(content[:room])
        self._kept_bytes += len(kept)
        transcript.messages.append(kept)
        transcript.message_sizes.append(len(content))
        transcript.cut_bytes += len(content) - len(kept)

    def _closed(self, transport: asyncio.BaseTransport, transcript: Transcript) -> None:
        self._live.discard(transport)
        transcript.ended = True

    def _factory(self, scenario: Scenario | None) -> asyncio.BaseProtocol:
        greeting = scenario.step("greeting") if scenario is not None else None
        if greeting is not None and scenario is not None:
            return _GreetingProtocol(self, greeting, scenario)
        handler = _ReplayHandler(self, scenario)
        return _ReplaySMTP(
            handler,
            hostname=self.hostname,
            ident="ESMTP fake",
            enable_SMTPUTF8=True,
            timeout=self.idle_timeout,
            data_size_limit=self.data_size_limit,
        )

    async def _listen(self, scenario: Scenario | None, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        if scenario is not None and scenario.refuse:
            return self.host, port or _closed_port(self.host)
        server = await loop.create_server(
            lambda: self._factory(scenario),
            self.host,
            port,
            reuse_address=True,
            backlog=LISTEN_BACKLOG,
        )
        self._servers.append(server)
        bound: int = server.sockets[0].getsockname()[1]
        return self.host, bound

    async def start(self) -> None:
        """Open the listeners; on failure close what was opened."""
        try:
            if self._port is not None:
                self.shared = await self._listen(None, self._port)
            if self._base_port is not None:
                for index, scenario in enumerate(self.scenarios):
                    port = self._base_port + index if self._base_port else 0
                    self.endpoints[scenario.id] = await self._listen(scenario, port)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close listeners and every open session first (3.12+ ``wait_closed`` waits for them)."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for transport in list(self._live):
            if isinstance(transport, asyncio.Transport):
                transport.abort()
            else:
                transport.close()
        self._live.clear()
        if servers:  # one bound for all listeners, not one each (a hundred scenarios)
            closing = asyncio.gather(*(server.wait_closed() for server in servers))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing, _CLOSE_TIMEOUT)

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def sessions(self, scenario_id: str) -> list[Transcript]:
        """Transcripts of the sessions that served one scenario."""
        return [t for t in self.transcripts if t.scenario == scenario_id]

    def postfix_transport(self) -> str:
        """Postfix ``transport_maps`` lines sending each scenario domain to its own port."""
        lines = []
        for s in self.scenarios:
            if s.id in self.endpoints:
                host, port = self.endpoints[s.id]
                nexthop = f"ipv6:{host}" if ":" in host else host
                lines.append(f"{s.domain} smtp:[{nexthop}]:{port}\n")
        return "".join(lines)


class BackgroundServer:
    """A :class:`FakeServer` on its own loop thread, for blocking clients and external MTAs."""

    def __init__(self, scenarios: Sequence[Scenario], **kwargs: Any) -> None:
        self._thread: LoopThread | None = None
        self._scenarios = scenarios
        self._kwargs = kwargs
        self._server: FakeServer | None = None

    @property
    def server(self) -> FakeServer:
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server

    def start(self, timeout: float = 10.0) -> FakeServer:
        """Start listening; returns the running server (its ports are known on return)."""

        async def _start() -> FakeServer:
            server = FakeServer(self._scenarios, **self._kwargs)
            await server.start()
            return server

        self._thread, server = LoopThread.start(_start, timeout, "smtp-classifier-fake-server")
        self._server = server
        return server

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and its thread; bounded by ``timeout``."""
        thread, server = self._thread, self._server
        self._thread = None
        if thread is None:
            return
        if server is not None:
            with contextlib.suppress(TimeoutError):
                thread.run(server.stop(), timeout)
        thread.close(timeout)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
