"""The ledger command through the real executable: show, export, stats, forget, check, errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifier import lookup_code, replay_lines
from classifier.ledger import Decision, Ledger, ReplayFeed

from .conftest import FIXTURES

POSTFIX_LOG = FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "classifier", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def final_words() -> dict[str, str]:
    """The last code per recipient, as replay --final reads the log (expiries included)."""
    lines = POSTFIX_LOG.read_text(encoding="utf-8").splitlines()
    return {
        r.recipient.lower(): r.result.code for r in replay_lines(lines, final=True) if r.recipient
    }


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    lines = POSTFIX_LOG.read_text(encoding="utf-8").splitlines()
    with Ledger.open(path) as ledger:
        ledger.record_many(ReplayFeed(year=2025).events(replay_lines(lines, source="fakemx.log")))
    return path


def test_export_suppressed_csv_matches_the_logs_final_words(ledger_path: Path) -> None:
    done = cli("ledger", "--ledger", str(ledger_path), "export", "--suppressed")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    got = {r["address"]: (r["decision"], r["cause"], r["estado"]) for r in rows}
    # every recipient whose last word is a hard bounce (estado Rebote), and only those
    hard = {a: c for a, c in final_words().items() if lookup_code(c).estado == "Rebote"}
    assert got == {a: ("suppressed", c, "Rebote") for a, c in hard.items()}
    assert got["nouser@partial.test"] == ("suppressed", "131", "Rebote")
    assert got["user@rcpt452.test"] == ("suppressed", "133", "Rebote")
    assert f"{len(rows)} address(es) exported" in done.stderr


def test_export_jsonl_and_decision_filter(ledger_path: Path) -> None:
    done = cli("ledger", "--ledger", str(ledger_path), "export", "--format", "jsonl")
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0 and records
    assert {r["decision"] for r in records} >= {"suppressed", "deliverable", "retrying"}
    retrying = cli(
        "ledger", "--ledger", str(ledger_path), "export", "--format", "jsonl",
        "--decision", "retrying",
    )  # fmt: skip
    only = [json.loads(line) for line in retrying.stdout.splitlines()]
    assert only and {r["decision"] for r in only} == {"retrying"}
    assert len(only) == sum(r["decision"] == "retrying" for r in records)


def test_show_text_and_json(ledger_path: Path) -> None:
    done = cli("ledger", "--ledger", str(ledger_path), "show", "NoUser@Partial.TEST")
    assert done.returncode == 0, done.stderr
    assert "decision   suppressed (131)" in done.stdout and "user_unknown" in done.stdout
    js = cli("ledger", "--ledger", str(ledger_path), "show", "user@rcpt452.test", "--json")
    data = json.loads(js.stdout)
    assert (data["decision"], data["cause"], data["hard"], data["soft"]) == (
        "suppressed",
        "133",
        1,
        1,
    )
    assert [h["code"] for h in data["history"]] == ["202", "133"]
    missing = cli("ledger", "--ledger", str(ledger_path), "show", "nobody@nowhere.test")
    assert missing.returncode == 1 and "not in the ledger" in missing.stderr


def test_stats_counts_and_chart(ledger_path: Path) -> None:
    done = cli("ledger", "--ledger", str(ledger_path), "stats", "--json")
    data = json.loads(done.stdout)
    with Ledger.open(ledger_path) as ledger:
        states = list(ledger.states())
    assert data["addresses"] == len(states)
    assert data["decisions"]["suppressed"] == sum(s.decision is Decision.SUPPRESSED for s in states)
    text = cli("ledger", "--ledger", str(ledger_path), "stats").stdout
    assert f"addresses {len(states)}" in text and "#" in text and "133 Bounce after sending" in text


def test_forget_removes_the_address_and_its_events(ledger_path: Path) -> None:
    before = json.loads(cli("ledger", "--ledger", str(ledger_path), "stats", "--json").stdout)
    done = cli("ledger", "--ledger", str(ledger_path), "forget", "user@rcpt452.test")
    assert done.returncode == 0 and "2 event(s) deleted" in done.stdout
    after = json.loads(cli("ledger", "--ledger", str(ledger_path), "stats", "--json").stdout)
    assert (after["addresses"], after["events"]) == (before["addresses"] - 1, before["events"] - 2)
    assert cli("ledger", "--ledger", str(ledger_path), "show", "user@rcpt452.test").returncode == 1
    again = cli("ledger", "--ledger", str(ledger_path), "forget", "user@rcpt452.test")
    assert again.returncode == 1 and "not in the ledger" in again.stderr
    assert cli("ledger", "--ledger", str(ledger_path), "check").returncode == 0


def test_ledger_from_the_environment(ledger_path: Path) -> None:
    env = {**os.environ, "SMTP_CLASSIFIER_LEDGER": str(ledger_path)}
    assert cli("ledger", "stats", env=env).returncode == 0
    env.pop("SMTP_CLASSIFIER_LEDGER")
    done = cli("ledger", "stats", env=env)
    assert done.returncode == 2 and "--ledger DB" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01garbage" * 512, "not a usable ledger"),
        (b"SQLite format 3\x00" + b"\xff" * 8000, "not a usable ledger"),
    ],
)
def test_bad_files_are_a_clear_error_not_a_traceback(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    for action in (("stats",), ("export", "--suppressed"), ("show", "a@b.test")):
        done = cli("ledger", "--ledger", str(path), *action)
        assert done.returncode == 3, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr


def test_absent_ledger_and_bad_policy(tmp_path: Path, ledger_path: Path) -> None:
    done = cli("ledger", "--ledger", str(tmp_path / "absent.db"), "stats")
    assert done.returncode == 3 and "no ledger at" in done.stderr
    assert not (tmp_path / "absent.db").exists()
    policy = tmp_path / "p.toml"
    policy.write_text("[retry_fail]\nfailures = -1\n")
    bad = cli("ledger", "--ledger", str(ledger_path), "--policy", str(policy), "stats")
    assert bad.returncode == 3 and "failures" in bad.stderr and "Traceback" not in bad.stderr
