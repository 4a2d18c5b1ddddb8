"""Test fakes: scripted fake SMTP and DNS servers and the scenarios they play.

Everything here talks to real sockets on 127.0.0.1 so that tests exercise what a mail
client, a resolver or a real MTA would see. The live network features that users run (the
delivery probe, DNS outcomes) are in :mod:`classifier.network`.
"""

from __future__ import annotations

from .dnsserver import FakeDnsServer
from .scenario import Scenario, ScenarioError, Step, load_scenarios
from .server import BackgroundServer, Exchange, FakeServer, Transcript

__all__ = [
    "BackgroundServer",
    "Exchange",
    "FakeDnsServer",
    "FakeServer",
    "Scenario",
    "ScenarioError",
    "Step",
    "Transcript",
    "load_scenarios",
]
