"""The SQLite ledger: schema and version, bad files, WAL readers, crash safety, idempotence."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from classifier import ClassifierError
from classifier.ledger import Decision, Ledger, LedgerError, LedgerEvent, event_key, load_policy
from classifier.ledger.schema import APPLICATION_ID, SCHEMA_VERSION
from classifier.ledger.sqlite import PAGE_BYTES

from .conftest import ROOT

CODES = ("250", "250", "250", "131", "202", "421", "133", "554")


def synthetic(count: int, addresses: int, seed: int = 7) -> list[LedgerEvent]:
    """Events spread over ``addresses`` addresses and 30 days, in no particular order."""
    rnd = random.Random(seed)
    return [
        LedgerEvent(
            key=event_key("s", str(n)),
            address=f"user{rnd.randrange(addresses)}@example.test",
            time=1_700_000_000 + rnd.randrange(30 * 86400),
            code=rnd.choice(CODES),
            transient=rnd.random() < 0.2,
            seq=n,
        )
        for n in range(count)
    ]


def test_new_ledger_has_schema_version_wal_and_application_id(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_BYTES
    conn.close()


def test_an_empty_file_becomes_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    with Ledger.open(path) as ledger:
        assert ledger.totals() == (0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a database at all\n" * 100, "not a usable ledger"),
        (b"SQLite format 3\x00" + b"\xff" * 4000, "not a usable ledger"),
    ],
)
def test_garbage_files_give_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    with pytest.raises(LedgerError, match=message) as info:
        Ledger.open(path)
    assert isinstance(info.value, ClassifierError)


def test_foreign_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="not a bounce ledger"):
        Ledger.open(path)
    conn = sqlite3.connect(path)
    names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert names == {"invoices"}


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LedgerError, match="upgrade smtp-classifier"):
        Ledger.open(path)


def test_damaged_table_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger.open(path) as ledger:
        ledger.record_many(synthetic(50, 10))
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE ledger_addresses")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="no such table"):
        Ledger.open(path).get("user1@example.test")


def test_missing_file_without_create(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger at"):
        Ledger.open(tmp_path / "absent.db", create=False)


def test_recording_twice_changes_nothing(tmp_path: Path) -> None:
    evs = synthetic(3000, 200)
    with Ledger.open(tmp_path / "l.db") as ledger:
        first = ledger.record_many(evs, batch=500)
        before = list(ledger.states())
        again = ledger.record_many(reversed(evs), batch=700)
        assert (first.new, first.duplicate) == (3000, 0)
        assert (again.new, again.duplicate) == (0, 3000)
        assert list(ledger.states()) == before
        assert ledger.totals() == (200, 3000)


def test_a_reader_sees_committed_batches_while_a_writer_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    evs = synthetic(400, 40)
    with Ledger.open(path) as writer, Ledger.open(path) as reader:
        writer.record_many(evs[:200])
        seen = reader.totals()
        with writer.store.batch() as tx:  # a write transaction left open...
            tx.insert_events(
                sorted(
                    (e.key, e.address, e.time, e.code, e.transient, "", "", e.seq)
                    for e in evs[200:]
                )
            )
            assert reader.totals() == seen  # ...is not seen, and does not block the reader
        assert reader.totals()[1] == 400


def test_a_failed_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    evs = synthetic(1000, 50)
    with Ledger.open(tmp_path / "l.db") as ledger:
        ledger.record_many(evs[:500])
        before = list(ledger.states())

        def broken() -> object:
            yield from evs[500:]
            raise RuntimeError("input died")

        with pytest.raises(RuntimeError):
            ledger.record_many(broken(), batch=10_000)  # type: ignore[arg-type]
        assert list(ledger.states()) == before
        assert ledger.verify() == []


def test_policy_change_refolds_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    evs = [
        LedgerEvent(key=event_key("u", str(i)), address="a@x.test", time=1e9 + i, code="163")
        for i in range(2)
    ]
    with Ledger.open(path) as ledger:
        ledger.record_many(evs)
        assert ledger.get("a@x.test").decision is Decision.UNSUBSCRIBED  # type: ignore[union-attr]
    other = tmp_path / "p.toml"
    other.write_text("[codes]\nunsubscribe = ['162']\n")
    with Ledger.open(path, load_policy(other)) as ledger:
        state = ledger.get("a@x.test")
        assert state is not None and (state.decision, state.cause) == (Decision.SUPPRESSED, "163")


_CHILD = """
import sys
from tests.test_ledger_store import synthetic
from classifier.ledger import Ledger
events = synthetic(60_000, 3_000)
with Ledger.open(sys.argv[1]) as ledger:
    for start in range(0, len(events), 2_000):
        ledger.record_many(events[start:start + 2_000])
        print(start + 2_000, flush=True)
"""


def test_kill_during_recording_then_rerun_gives_the_full_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    done = [int(child.stdout.readline()) for _ in range(3)]  # three batches committed...
    child.send_signal(signal.SIGKILL)  # ...and killed in the middle of the next ones
    child.wait()
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    with Ledger.open(path) as ledger:
        _, recorded = ledger.totals()
        assert recorded >= done[-1] and recorded % 2_000 == 0 and recorded < 60_000
        assert ledger.verify() == []  # what was committed is consistent
        ledger.record_many(synthetic(60_000, 3_000))
        got = list(ledger.states())
        assert ledger.totals()[1] == 60_000
        assert ledger.store.integrity() == "ok"  # type: ignore[attr-defined]
    with Ledger.open(tmp_path / "clean.db") as clean:
        clean.record_many(synthetic(60_000, 3_000))
        assert got == list(clean.states())
