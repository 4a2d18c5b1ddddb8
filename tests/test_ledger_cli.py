"""The ledger command through the real executable: show, export, stats, forget, check, errors."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
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


CORPUS_LOG = Path("postfix") / "postfix-3.7.11-fakemx.log"


def test_replay_ledger_of_the_corpus_log_then_export(tmp_path: Path) -> None:
    from .conftest import shared_dir

    log = shared_dir() / "corpus" / CORPUS_LOG
    db = tmp_path / "corpus.db"
    first = cli("replay", str(log), "--ledger", str(db), "--year", "2025", "-o", os.devnull)
    assert first.returncode == 0, first.stderr
    assert "ledger: 50 new event(s), 0 already recorded" in first.stderr
    again = cli("replay", str(log), "--ledger", str(db), "--year", "2025", "--summary")
    assert "ledger: 0 new event(s), 50 already recorded" in again.stderr
    exported = cli("ledger", "--ledger", str(db), "export", "--suppressed")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    hard = {a: c for a, c in final_words().items() if lookup_code(c).estado == "Rebote"}
    assert {r["address"]: r["cause"] for r in rows} == hard
    assert all(
        r["decision"] == "suppressed" and r["first_time"].startswith("2025-11-26") for r in rows
    )


def test_classify_mail_ledger_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "mail.db"
    mail = str(FIXTURES / "mail")
    first = cli("classify-mail", mail, "--ledger", str(db), "--no-summary")
    # 19: rfc3464-28.eml holds two delivery reports (an mbox saved as .eml), each recorded.
    assert first.returncode == 0 and "ledger: 19 new event(s)" in first.stderr
    again = cli("classify-mail", mail, "--ledger", str(db), "--no-summary")
    assert "ledger: 0 new event(s), 19 already recorded" in again.stderr
    data = json.loads(cli("ledger", "--ledger", str(db), "stats", "--json").stdout)
    assert data["decisions"]["unsubscribed"] == 2  # the ARF complaint and the List-Unsubscribe
    assert data["causes"]["162"] == data["causes"]["163"] == 1


def test_replay_ledger_on_a_bad_ledger_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 300)
    done = cli("replay", str(POSTFIX_LOG), "--ledger", str(bad), "-o", os.devnull)
    assert done.returncode == 3 and "not a usable ledger" in done.stderr
    assert "Traceback" not in done.stderr
    mail = cli("classify-mail", str(FIXTURES / "mail"), "--ledger", str(bad))
    assert mail.returncode == 3 and "not a usable ledger" in mail.stderr


def _big_log(path: Path, messages: int) -> int:
    """A Postfix log: per message one sent or bounced line and a removal; returns deliveries."""
    replies = ("550 5.1.1 <{r}>: Recipient address rejected: User unknown", "250 2.0.0 Ok")
    with path.open("w", encoding="utf-8") as out:
        for n in range(messages):
            second = n % 86400
            stamp = f"Nov 26 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            rcpt = f"user{n % 50_000}@example.test"
            status = "bounced" if n % 7 == 0 else "sent"
            reply = replies[0 if status == "bounced" else 1].format(r=rcpt)
            qid = f"{n:011X}"
            out.write(
                f"{stamp} mta postfix/smtp[{n % 30000}]: {qid}: to=<{rcpt}>, relay=mx[1.2.3.4]:25,"
                f" delay=1, dsn=5.0.0, status={status} ({reply})\n"
                f"{stamp} mta postfix/qmgr[2]: {qid}: removed\n"
            )
    return messages


def test_kill_replay_ledger_midway_then_rerun_completes_it(tmp_path: Path) -> None:
    import re
    import signal

    log = tmp_path / "big.log"
    total = _big_log(log, 12_000)
    db = tmp_path / "l.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "classifier", "replay", str(log), "--ledger", str(db),
         "--year", "2025", "--progress", "--ledger-batch", "500", "-o", os.devnull],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert child.stderr is not None
    seen = b""
    while True:  # progress says how many lines were read (and recorded, batch by batch)
        piece = child.stderr.read1(4096)  # type: ignore[attr-defined]
        assert piece, seen[-300:]
        seen += piece
        counts = [int(n.replace(b",", b"")) for n in re.findall(rb"\r([\d,]+) lines", seen)]
        if counts and counts[-1] >= 0.8 * total:  # 40 % of the lines: several batches
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stderr.close()
    with Ledger.open(db) as ledger:
        _, recorded = ledger.totals()
        assert 0 < recorded < total
        assert ledger.verify() == []
    conn = sqlite3.connect(db)
    (last,) = conn.execute("SELECT max(seq) FROM ledger_events").fetchone()
    conn.close()
    assert recorded == last // 2 + 1  # every delivery up to the last one recorded: a prefix
    rerun = cli("replay", str(log), "--ledger", str(db), "--year", "2025", "-o", os.devnull)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{total - recorded} new event(s), {recorded} already recorded" in rerun.stderr
    clean = tmp_path / "clean.db"
    cli("replay", str(log), "--ledger", str(clean), "--year", "2025", "-o", os.devnull)
    with Ledger.open(db) as ledger, Ledger.open(clean) as fresh:
        assert list(ledger.states()) == list(fresh.states())
        assert ledger.totals() == fresh.totals() == (min(total, 50_000), total)
