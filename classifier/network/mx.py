"""DNS outcomes for a recipient domain: where to deliver, or which bounce code it already is.

What the resolver says decides codes before any SMTP server is reached: NXDOMAIN is 111,
no mail host (no MX and no address fallback, or a null MX, RFC 7505) is 112, and a resolver
that fails or times out is 113. The wording given to the classifier is Postfix's, so the same
rules that read Postfix logs explain these results.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from ..engine import classify
from ..result import Classification

__all__ = [
    "DnsOutcome",
    "async_resolver_for",
    "check_domain",
    "check_domain_async",
    "host_addresses",
    "name_service_error",
    "normal_name",
    "resolver_for",
]

_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class DnsOutcome:
    """What DNS said about a domain: mail hosts to try, or a classification when there are none."""

    domain: str
    status: str  # mx | implicit_mx | nxdomain | no_mail_host | null_mx | servfail | timeout | error
    hosts: tuple[str, ...]
    text: str
    classification: Classification | None

    @property
    def code(self) -> str | None:
        """The bounce code when DNS alone decides, else None (mail can be attempted)."""
        return None if self.classification is None else self.classification.code

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "domain": self.domain,
            "status": self.status,
            "hosts": list(self.hosts),
            "text": self.text,
            "code": self.code,
        }


def normal_name(name: str) -> str:
    """A domain name as compared and reported: no surrounding blanks, no final dot, lower case."""
    return name.strip().rstrip(".").lower()


_R = TypeVar("_R", dns.resolver.Resolver, dns.asyncresolver.Resolver)


def _only(resolver: _R, host: str, port: int, timeout: float) -> _R:
    resolver.nameservers = [host]
    resolver.port = port
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


def resolver_for(host: str, port: int, *, timeout: float = _TIMEOUT) -> dns.resolver.Resolver:
    """A resolver asking only ``host:port`` (no /etc/resolv.conf), with a bounded lifetime."""
    return _only(dns.resolver.Resolver(configure=False), host, port, timeout)


def async_resolver_for(
    host: str, port: int, *, timeout: float = _TIMEOUT
) -> dns.asyncresolver.Resolver:
    """Async twin of :func:`resolver_for`."""
    return _only(dns.asyncresolver.Resolver(configure=False), host, port, timeout)


def _outcome(domain: str, status: str, text: str) -> DnsOutcome:
    # No stage: the text is Postfix's log wording, not a reply at connect (where the policy
    # reads a domain problem as the sender's). The rules that read Postfix logs decide the
    # code (NXDOMAIN 111, no mail host or null MX 112, failure 113), tested for each status.
    return DnsOutcome(
        domain=domain, status=status, hosts=(), text=text, classification=classify(text)
    )


def name_service_error(name: str, rdtype: str, detail: str) -> str:
    """Postfix's words for a failed lookup, e.g. ``detail`` "Host not found, try again"."""
    return (
        f"Host or domain name not found. Name service error for name={name} type={rdtype}: {detail}"
    )


def _failure(domain: str, rdtype: str, exc: BaseException) -> DnsOutcome:
    if isinstance(exc, dns.resolver.NXDOMAIN):
        text = name_service_error(domain, rdtype, "Host not found")
        return _outcome(domain, "nxdomain", text)
    if isinstance(exc, dns.exception.Timeout):
        status = "timeout"
    elif isinstance(exc, dns.resolver.NoNameservers):  # SERVFAIL or REFUSED from each
        status = "servfail"
    else:
        status = "error"
    text = name_service_error(domain, rdtype, "Host not found, try again")
    return _outcome(domain, status, text)


def _no_mail_host(domain: str) -> DnsOutcome:
    text = name_service_error(domain, "A", "Host found but no data record of requested type")
    return _outcome(domain, "no_mail_host", text)


def _from_mx(domain: str, answer: dns.resolver.Answer) -> DnsOutcome:
    records = sorted(
        ((int(r.preference), r.exchange.to_text(omit_final_dot=True)) for r in answer),
        key=lambda item: item[0],
    )
    hosts = tuple(host for _, host in records if host not in ("", "."))
    if not hosts:  # RFC 7505 null MX: "MX 0 ."
        text = f"{domain}: Domain {domain} does not accept mail (nullMX)"
        return _outcome(domain, "null_mx", text)
    return DnsOutcome(
        domain=domain,
        status="mx",
        hosts=hosts,
        text=f"MX for {domain}: {', '.join(hosts)}",
        classification=None,
    )


_Query = Callable[[str, str], Awaitable[dns.resolver.Answer]]


async def _decide(domain: str, query: _Query) -> DnsOutcome:
    domain = normal_name(domain)
    try:
        dns.name.from_text(domain)
    except dns.exception.DNSException:
        return _failure(domain, "MX", dns.resolver.NXDOMAIN())  # type: ignore[no-untyped-call]
    try:
        return _from_mx(domain, await query(domain, "MX"))
    except dns.resolver.NoAnswer:
        pass
    except dns.exception.DNSException as exc:
        return _failure(domain, "MX", exc)
    # No MX: RFC 5321 5.1 implicit MX, the domain's own address records.
    for rdtype in ("A", "AAAA"):
        try:
            await query(domain, rdtype)
        except dns.resolver.NoAnswer:
            continue
        except dns.exception.DNSException as exc:
            return _failure(domain, rdtype, exc)
        return DnsOutcome(
            domain=domain,
            status="implicit_mx",
            hosts=(domain,),
            text=f"no MX; {domain} has {rdtype}",
            classification=None,
        )
    return _no_mail_host(domain)


async def check_domain_async(
    domain: str,
    *,
    resolver: dns.asyncresolver.Resolver | None = None,
    timeout: float | None = None,
) -> DnsOutcome:
    """Resolve ``domain``'s mail hosts with an async resolver.

    Each query is bounded by the resolver's lifetime; ``timeout`` bounds all of them together
    (up to three: MX, A, AAAA) and running out of it is a DNS timeout (113), not an exception.
    """
    res = resolver if resolver is not None else dns.asyncresolver.Resolver()

    async def query(name: str, rdtype: str) -> dns.resolver.Answer:
        return await res.resolve(name, rdtype, search=False)

    try:
        return await asyncio.wait_for(_decide(domain, query), timeout)
    except TimeoutError:
        timed_out = dns.exception.Timeout()  # type: ignore[no-untyped-call]
        return _failure(normal_name(domain), "MX", timed_out)


def check_domain(domain: str, *, resolver: dns.resolver.Resolver | None = None) -> DnsOutcome:
    """Blocking twin of :func:`check_domain_async` (do not call it from a running loop)."""
    res = resolver if resolver is not None else dns.resolver.Resolver()

    async def query(name: str, rdtype: str) -> dns.resolver.Answer:
        return res.resolve(name, rdtype, search=False)

    return asyncio.run(_decide(domain, query))


async def host_addresses(
    host: str,
    *,
    resolver: dns.asyncresolver.Resolver | None = None,
    timeout: float | None = None,
) -> list[str]:
    """IPv4 then IPv6 addresses of a mail host; empty when it has none or DNS fails.

    ``timeout`` bounds both queries together; what was found by then is returned.
    """
    res = resolver if resolver is not None else dns.asyncresolver.Resolver()
    addresses: list[str] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            for rdtype in ("A", "AAAA"):
                try:
                    answer = await res.resolve(host, rdtype, search=False)
                except dns.exception.DNSException:
                    continue
                addresses.extend(r.to_text() for r in answer)
    return addresses
