"""DNS outcomes through a real resolver asking a real DNS server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Callable

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from classifier import ClassifierError
from classifier.harness.dnsserver import FakeDnsServer
from classifier.network.mx import check_domain, check_domain_async

RECORDS = {
    "mail.test": {"MX": ["20 mx2.mail.test.", "10 mx1.mail.test."]},
    "mx1.mail.test": {"A": ["127.0.0.1"]},
    "implicit.test": {"A": ["127.0.0.1"]},
    "v6only.test": {"AAAA": ["::1"]},
    "nomail.test": {"TXT": ['"v=spf1 -all"']},
    "nullmx.test": {"MX": ["0 ."]},
}
FAILURES = {"broken.test": "servfail", "refusing.test": "refused", "silent.test": "drop"}


@pytest.fixture
def dns_server(fake_dns_server: Callable[..., FakeDnsServer]) -> FakeDnsServer:
    return fake_dns_server(RECORDS, failures=FAILURES)


@pytest.mark.parametrize(
    ("domain", "status", "code", "reason"),
    [
        ("missing.test", "nxdomain", "111", "dns_nxdomain"),
        ("nomail.test", "no_mail_host", "112", "dns_no_mx"),
        ("nullmx.test", "null_mx", "112", "dns_no_mx"),
        ("broken.test", "servfail", "113", "dns_failure"),
        ("refusing.test", "servfail", "113", "dns_failure"),
        ("silent.test", "timeout", "113", "dns_failure"),
    ],
)
def test_dns_outcomes_give_their_codes(
    dns_server: FakeDnsServer, domain: str, status: str, code: str, reason: str
) -> None:
    outcome = check_domain(domain, resolver=dns_server.resolver(timeout=0.5))
    assert (outcome.status, outcome.code) == (status, code)
    assert outcome.classification is not None
    assert outcome.classification.reason == reason
    assert outcome.hosts == ()
    assert domain in outcome.text


def test_mail_hosts_in_preference_order_and_implicit_mx(dns_server: FakeDnsServer) -> None:
    resolver = dns_server.resolver()
    outcome = check_domain("Mail.Test.", resolver=resolver)
    assert (outcome.status, outcome.hosts, outcome.code) == (
        "mx",
        ("mx1.mail.test", "mx2.mail.test"),
        None,
    )
    assert check_domain("implicit.test", resolver=resolver).hosts == ("implicit.test",)
    assert check_domain("v6only.test", resolver=resolver).status == "implicit_mx"
    assert ("mail.test", "MX") in dns_server.queries


def test_invalid_domain_name_is_nxdomain_without_asking(dns_server: FakeDnsServer) -> None:
    outcome = check_domain("a" * 70 + ".test", resolver=dns_server.resolver())
    assert outcome.code == "111"
    assert dns_server.queries == []


@pytest.mark.asyncio
async def test_async_resolution_agrees(dns_server: FakeDnsServer) -> None:
    resolver = dns_server.async_resolver(timeout=0.5)
    assert (await check_domain_async("mail.test", resolver=resolver)).hosts[0] == "mx1.mail.test"
    assert (await check_domain_async("missing.test", resolver=resolver)).code == "111"
    assert (await check_domain_async("silent.test", resolver=resolver)).code == "113"


def test_dns_server_ignores_garbage_and_keeps_answering(dns_server: FakeDnsServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"\x00garbage", (dns_server.host, dns_server.port))
        query = dns.message.make_query("mail.test", dns.rdatatype.MX)
        sock.sendto(query.to_wire(), (dns_server.host, dns_server.port))
        answer = dns.message.from_wire(sock.recv(4096))
    assert answer.rcode() == dns.rcode.NOERROR
    assert answer.answer


def test_unknown_failure_kind_is_refused() -> None:
    with pytest.raises(ClassifierError, match="unknown failure"):
        FakeDnsServer({}, failures={"x.test": "explode"})
