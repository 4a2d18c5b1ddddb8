"""Replay harness: scripted fake SMTP and DNS servers, a delivery probe, DNS outcomes.

Everything here talks to real sockets on 127.0.0.1 so that tests exercise what a mail
client, a resolver or a real MTA would see.
"""

from __future__ import annotations

from classifier.harness.dnsserver import FakeDnsServer
from classifier.harness.mx import DnsOutcome, check_domain, check_domain_async
from classifier.harness.probe import (
    ProbeError,
    ProbeResult,
    RecipientResult,
    StageReply,
    probe,
    probe_async,
)
from classifier.harness.scenario import Scenario, ScenarioError, Step, load_scenarios
from classifier.harness.server import BackgroundServer, Exchange, FakeServer, Transcript

__all__ = [
    "BackgroundServer",
    "DnsOutcome",
    "Exchange",
    "FakeDnsServer",
    "FakeServer",
    "ProbeError",
    "ProbeResult",
    "RecipientResult",
    "Scenario",
    "ScenarioError",
    "StageReply",
    "Step",
    "Transcript",
    "check_domain",
    "check_domain_async",
    "load_scenarios",
    "probe",
    "probe_async",
]
