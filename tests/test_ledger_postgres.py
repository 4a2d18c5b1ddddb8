"""The PostgreSQL ledger against a real server ($SMTP_CLASSIFIER_TEST_POSTGRES, a URI; .ci/run
starts one on 127.0.0.1): same states as SQLite, several writers without lost updates."""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from classifier import replay_lines
from classifier.ledger import DEFAULT_POLICY, Ledger, LedgerError, ReplayFeed
from classifier.ledger.policy import empty_state, fold

from .conftest import FIXTURES, ROOT
from .test_ledger_store import synthetic

ENV = "SMTP_CLASSIFIER_TEST_POSTGRES"
pytestmark = pytest.mark.postgres


@pytest.fixture
def dsn() -> Iterator[str]:
    """A URI whose search_path is a fresh schema, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    base = os.environ.get(ENV)
    if not base:
        pytest.skip(f"${ENV} is not set: no PostgreSQL server to test against")
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at ${ENV} cannot be reached: {exc}")
    schema = f"ledger_test_{secrets.token_hex(4)}"
    admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def test_unreachable_server_is_a_clear_error() -> None:
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    with pytest.raises(LedgerError, match="cannot connect"):
        Ledger.open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_postfix_log_gives_the_same_ledger_as_sqlite(dsn: str, tmp_path: Path) -> None:
    lines = (FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log").read_text().splitlines()
    events = list(ReplayFeed(year=2025).events(replay_lines(lines, source="fakemx.log")))
    with Ledger.open(dsn) as pg, Ledger.open(tmp_path / "l.db") as lite:
        assert pg.record_many(events).new == len(events)
        lite.record_many(events)
        assert list(pg.states()) == list(lite.states())
        assert list(pg.suppressed()) == list(lite.suppressed())
        assert pg.counts() and sorted(pg.counts()) == sorted(lite.counts())
        assert pg.record_many(events).duplicate == len(events)
        some = events[0].address
        assert pg.history(some, 5) == lite.history(some, 5)
        assert pg.forget(some) == lite.forget(some) > 0
        assert pg.get(some) is None and pg.totals() == lite.totals()
        assert pg.verify() == []


def test_batches_decide_as_sqlite_one_event_at_a_time(dsn: str, tmp_path: Path) -> None:
    events = synthetic(400, 30)
    # copies of some keys at another place, some before their first copy in the stream
    twins = [dataclasses.replace(e, seq=e.seq + 1000, origin="rotated.log") for e in events[::7]]
    stream = events[:200] + twins + events[200:]
    with Ledger.open(dsn) as pg, Ledger.open(tmp_path / "one.db") as one:
        counts = pg.record_many(stream, batch=64)
        for e in stream:
            one.record(e)
        assert (counts.new, counts.duplicate) == (len(events), len(twins))
        assert list(pg.states()) == list(one.states())
        for address in {e.address for e in twins}:
            assert pg.history(address, 50) == one.history(address, 50)
        assert pg.verify() == []


def test_schema_version_and_foreign_tables(dsn: str) -> None:
    import psycopg

    Ledger.open(dsn).close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT value FROM ledger_meta WHERE name = 'schema_version'")
        assert row.fetchone() == ("1",)
        conn.execute("UPDATE ledger_meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(LedgerError, match="upgrade smtp-classifier"):
        Ledger.open(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE ledger_meta SET value = 'x' WHERE name = 'schema_version'")
    with pytest.raises(LedgerError, match="not ours"):
        Ledger.open(dsn)


_WRITER = """
import random, sys
from tests.test_ledger_store import synthetic
from classifier.ledger import Ledger
part, parts = int(sys.argv[2]), int(sys.argv[3])
events = synthetic(4_000, 40)
mine = events[part::parts] + random.Random(part).sample(events, 250)  # some overlap
mine.sort(key=lambda e: e.order)  # mostly newer than the state: folded onto it
with Ledger.open(sys.argv[1]) as ledger:
    print("ready", flush=True)
    sys.stdin.readline()  # all writers start together
    counts = ledger.record_many(mine, batch=40)
print(counts.new, counts.duplicate)
"""


def test_concurrent_writers_lose_no_update(dsn: str) -> None:
    parts = 4
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, dsn, str(i), str(parts)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(parts)
    ]
    for w in writers:
        assert w.stdout is not None and w.stdout.readline() == "ready\n"
    for w in writers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.flush()
    results = []
    for w in writers:
        out, _ = w.communicate(timeout=300)
        assert w.returncode == 0, out
        results.append(tuple(int(x) for x in out.split()))
    events = synthetic(4_000, 40)
    assert sum(new for new, _ in results) == len(events)  # each event recorded exactly once
    expected = {}
    for address in sorted({e.address for e in events}):
        mine = sorted((e for e in events if e.address == address), key=lambda e: e.order)
        expected[address] = fold(empty_state(address), mine, DEFAULT_POLICY)
    with Ledger.open(dsn) as ledger:
        assert ledger.totals() == (len(expected), len(events))
        assert {s.address: s for s in ledger.states()} == expected
        assert ledger.verify() == []
