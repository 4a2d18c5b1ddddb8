"""Configuration files and variables (classifier/config.py), times in ISO 8601, the returned
original of a bounce, and senders remembered for delivery lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from classifier import classify_message, replay_lines
from classifier.config import Config, ConfigError, find_config, load_config
from classifier.logreplay.times import iso_time
from classifier.logs.senders import Senders, arrival_fields


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SMTP_CLASSIFIER_CONFIG", "SMTP_CLASSIFIER_RULES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def test_nearest_file_wins_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[tool.smtp-classifier]\nrules = ["outer"]\n')
    (tmp_path / "a" / "smtp-classifier.toml").write_text('rules = ["r"]\nheaders = "X-Id"\n')
    found = find_config(tmp_path / "a" / "b")
    assert found == (tmp_path / "a" / "smtp-classifier.toml").resolve()
    config = load_config(start=tmp_path / "a" / "b")
    assert config.rules == (found.parent / "r",) and config.headers == ("X-Id",)
    outer = load_config(start=tmp_path)
    assert outer.rules == (tmp_path.resolve() / "outer",)


def test_pyproject_without_the_table_is_not_a_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None
    assert load_config(start=tmp_path) == Config()


def test_user_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "xdg" / "smtp-classifier" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('output = "csv"\nbuiltin = false\n')
    assert load_config(start=tmp_path).output == "csv"
    monkeypatch.setenv("SMTP_CLASSIFIER_RULES", f"/x{':'}/y")
    assert load_config(start=tmp_path).rules == (Path("/x"), Path("/y"))
    monkeypatch.setenv("SMTP_CLASSIFIER_CONFIG", "")
    assert load_config(start=tmp_path).builtin is True  # "": no file at all


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('rulez = ["x"]\n', "unknown keys ['rulez']"),
        ("rules = 3\n", "rules must be a list of strings"),
        ('builtin = "no"\n', "builtin must be true or false"),
        ('output = "xml"\n', "output must be one of"),
        ("rules = [\n", "not valid TOML"),
    ],
)
def test_bad_files_are_errors(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "smtp-classifier.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        load_config(path)


def test_iso_time_infers_the_year_and_keeps_other_stamps() -> None:
    today = dt.date(2026, 1, 2)
    assert iso_time("Dec 31 23:59:59", today) == "2025-12-31T23:59:59"
    assert iso_time("Jan  3 00:00:00", today) == "2026-01-03T00:00:00"  # one day ahead: clock skew
    assert iso_time("Jan  4 00:00:00", today) == "2025-01-04T00:00:00"
    assert iso_time("Feb 29 01:00:00", today) == "2024-02-29T01:00:00"
    assert iso_time("2024-03-04 10:00:01", today) == "2024-03-04T10:00:01"
    assert iso_time("2024-03-04T10:00:01+01:00", today) == "2024-03-04T10:00:01+01:00"
    assert iso_time("1178807999", today) == "2007-05-10T14:39:59Z"
    assert iso_time("Foo 12 10:00:00", today) == "" and iso_time("Feb 30 10:00:00", today) == ""


def test_senders_memory_is_bounded() -> None:
    memory = Senders(limit=2)
    for n in range(3):
        memory.note(f"Q{n}", f"s{n}@x", None)
    memory.note("Q2", None, "<m@x>")  # the cleanup line: the sender stays
    assert (memory.get("Q0"), memory.get("Q2")) == (("", ""), ("s2@x", "<m@x>"))
    assert memory.forgotten == 1
    line = "Mar  4 10:00:00 mx postfix/qmgr[1]: {}: from=<a@b>, size=1, nrcpt=1 (queue active)"
    assert arrival_fields("postfix", line.format("Q" * 128)) == ("Q" * 128, "a@b", None)
    assert arrival_fields("postfix", line.format("Q" * 129)) is None  # no MTA's id: not kept


def test_replay_lines_remembers_the_sender_across_the_stream() -> None:
    lines = [
        "Mar  4 10:00:00 mx postfix/qmgr[1]: Q1: from=<a@shop.example>, size=9, nrcpt=1 (queue active)",
        *(f"Mar  4 10:00:00 mx CRON[2]: run {n}" for n in range(1000)),
        "Mar  4 10:00:01 mx postfix/smtp[3]: Q1: to=<b@dest.example>, relay=none, delay=1, "
        "dsn=4.4.1, status=deferred (connect to dest.example[192.0.2.1]:25: Connection refused)",
    ]
    lines.insert(1, "Mar  4 10:00:00 mx postfix/cleanup[4]: Q1: message-id=<m.1@shop.example>")
    (row,) = replay_lines(lines)
    assert (row.record.sender, row.record.relay, row.result.code) == ("a@shop.example", "", "113")
    assert row.to_dict()["message_id"] == "<m.1@shop.example>"


def test_headers_only_part_and_pasted_original() -> None:
    headers_only = (
        "From: MAILER-DAEMON@x\nSubject: failure\nDate: Tue, 04 Mar 2025 10:00:05 +0000\n"
        'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
        "Final-Recipient: rfc822; ann@dest.example\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
        "--B\nContent-Type: text/rfc822-headers\n\n"
        "Message-ID: <h.1@shop.example>\nFrom: news@shop.example\nTo: ann@dest.example\n"
        "Subject: Hi\nX-Campaign-Id: c-9\n--B--\n"
    )
    report = classify_message(headers_only, headers=["X-Campaign-Id", "X-Missing"])
    assert report.original.message_id == "<h.1@shop.example>"
    assert report.original.found_in == "headers"
    assert report.original.headers == {"X-Campaign-Id": "c-9", "X-Missing": ""}
    assert report.date == "2025-03-04T10:00:05+00:00"
    nothing = classify_message(b"\xff\x00 not mail at all")
    assert nothing.original.message_id == "" and nothing.date == ""


def test_pasted_original_of_a_qmail_bounce() -> None:
    mail = Path(__file__).resolve().parent.parent / "fixtures" / "mail" / "lhost-qmail-02.eml"
    report = classify_message(mail.read_bytes())
    assert report.original.found_in == "pasted"
    assert report.original.subject == "TEST #4"
