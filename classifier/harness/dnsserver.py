"""A tiny authoritative DNS server on 127.0.0.1 for tests: real UDP, answers from a dict.

Tests of DNS outcomes must go through a real resolver and a real server (a mock of the
resolver library would prove nothing about what dnspython raises). Names can also be made
to fail: ``"servfail"``, ``"refused"`` or ``"drop"`` (never answer, so the client times out).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, cast

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset

from ..errors import ClassifierError
from ..network.mx import async_resolver_for, normal_name, resolver_for
from .loopthread import LoopThread

__all__ = ["FakeDnsError", "FakeDnsServer"]

Records = Mapping[str, Mapping[str, Sequence[str]]]
_FAILURES = frozenset({"servfail", "refused", "drop"})


class FakeDnsError(ClassifierError, ValueError):
    """The fake DNS server was asked for something it cannot do."""


class _DnsProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: FakeDnsServer) -> None:
        self._owner = owner
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except (dns.exception.DNSException, ValueError):
            return  # garbage: a real server would drop it too
        answer = self._owner.answer(query)
        if answer is not None and self._transport is not None:
            self._transport.sendto(answer.to_wire(), addr)


class FakeDnsServer:
    """Serve ``records`` ({name: {rdtype: [rdata text, ...]}}) on UDP 127.0.0.1, a free port.

    ``failures`` maps names to ``servfail`` / ``refused`` / ``drop``. Unknown names get
    NXDOMAIN; known names without the asked type get an empty NOERROR answer.
    """

    def __init__(
        self,
        records: Records,
        *,
        failures: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        ttl: int = 60,
    ) -> None:
        self.records = {
            normal_name(k): {t.upper(): list(v) for t, v in r.items()} for k, r in records.items()
        }
        self.failures = {normal_name(k): v for k, v in (failures or {}).items()}
        bad = set(self.failures.values()) - _FAILURES
        if bad:
            raise FakeDnsError(f"unknown failure kinds {sorted(bad)}; use {sorted(_FAILURES)}")
        self.host = host
        self.port = 0
        self.ttl = ttl
        self.queries: list[tuple[str, str]] = []
        self._thread: LoopThread | None = None
        self._transport: asyncio.DatagramTransport | None = None

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        """Build the response to one query (None: stay silent)."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name = normal_name(question.name.to_text())
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        failure = self.failures.get(name)
        if failure == "drop":
            return None
        if failure is not None:
            rcode = dns.rcode.SERVFAIL if failure == "servfail" else dns.rcode.REFUSED
            response.set_rcode(rcode)
            return response
        if name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        rdatas = self.records[name].get(rdtype, [])
        if rdatas:
            response.answer.append(
                dns.rrset.from_text_list(question.name, self.ttl, "IN", rdtype, rdatas)
            )
        return response

    def start(self, timeout: float = 5.0) -> tuple[str, int]:
        """Start serving in a background thread; returns (host, port)."""

        async def _open() -> int:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DnsProtocol(self), local_addr=(self.host, 0)
            )
            self._transport = transport
            port: int = transport.get_extra_info("sockname")[1]
            return port

        self._thread, self.port = LoopThread.start(_open, timeout, "smtp-classifier-fake-dns")
        return self.host, self.port

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; bounded by ``timeout``."""
        thread, transport = self._thread, self._transport
        self._thread = self._transport = None
        if thread is None:
            return
        if transport is not None:
            thread.loop.call_soon_threadsafe(transport.close)
        with contextlib.suppress(TimeoutError):
            thread.close(timeout)

    def resolver(self, timeout: float = 2.0) -> dns.resolver.Resolver:
        """A blocking resolver that asks only this server."""
        return resolver_for(self.host, self.port, timeout=timeout)

    def async_resolver(self, timeout: float = 2.0) -> dns.asyncresolver.Resolver:
        """An async resolver that asks only this server."""
        return async_resolver_for(self.host, self.port, timeout=timeout)

    def __enter__(self) -> FakeDnsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
