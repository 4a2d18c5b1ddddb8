"""pytest fixtures for any project that installs smtp-classifier: scripted SMTP and DNS servers.

``fake_smtp_server(scenarios)`` starts a fake SMTP server on 127.0.0.1 (free ports) that
answers exactly as the scenarios say; ``fake_dns_server(records)`` starts a real UDP DNS
server. Both run in a background thread, so blocking clients, async clients on the test's
own loop and external programs (an MTA) can all talk to them; both are stopped at teardown.

Nothing is imported from the library until a fixture is used, so projects that never use
these fixtures pay nothing and see no warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .harness.dnsserver import FakeDnsServer
    from .harness.scenario import Scenario
    from .harness.server import FakeServer

__all__ = ["fake_dns_server", "fake_smtp_server"]


def _scenarios(items: Iterable[Any]) -> list[Scenario]:
    from .harness.scenario import Scenario, load_scenarios, parse_scenario  # noqa: PLC0415 - lazy on purpose

    out: list[Scenario] = []
    for item in items:
        if isinstance(item, Scenario):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(parse_scenario(dict(item), origin="test"))
        else:
            out.extend(load_scenarios(item))
    return out


@pytest.fixture
def fake_smtp_server() -> Iterator[Callable[..., FakeServer]]:
    """Factory: ``server = fake_smtp_server(scenarios, **options)`` → a running FakeServer.

    ``scenarios`` mixes Scenario objects, scenario dicts (the JSON format) and paths of
    scenario files or directories. Options are those of ``FakeServer`` (``port``,
    ``base_port``, ``hostname``, ``idle_timeout``). ``server.address_for(id)`` is the
    scenario's own (host, port); ``server.shared`` routes by recipient domain.
    """
    from .harness.server import BackgroundServer  # noqa: PLC0415 - lazy on purpose

    running: list[BackgroundServer] = []

    def start(scenarios: Any, **options: Any) -> FakeServer:
        single = isinstance(scenarios, Mapping | str | Path) or not isinstance(scenarios, Iterable)
        items = [scenarios] if single else scenarios
        background = BackgroundServer(_scenarios(items), **options)
        server = background.start()
        running.append(background)
        return server

    try:
        yield start
    finally:
        for background in reversed(running):
            background.stop()


@pytest.fixture
def fake_dns_server() -> Iterator[Callable[..., FakeDnsServer]]:
    """Factory: ``dns = fake_dns_server(records, failures=None)`` → a running FakeDnsServer.

    ``records`` is ``{name: {rdtype: [rdata, ...]}}``; ``failures`` maps names to
    ``"servfail"``, ``"refused"`` or ``"drop"``. ``dns.resolver()`` asks only this server.
    """
    from .harness.dnsserver import FakeDnsServer  # noqa: PLC0415 - lazy on purpose

    running: list[FakeDnsServer] = []

    def start(
        records: Mapping[str, Mapping[str, Sequence[str]]],
        *,
        failures: Mapping[str, str] | None = None,
    ) -> FakeDnsServer:
        server = FakeDnsServer(records, failures=failures)
        server.start()
        running.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(running):
            server.stop()
