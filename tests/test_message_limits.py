"""Bounce mail limits: every recipient of a big DSN is reported, whatever is cut is counted and
said, and a whole message has a time budget."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from classifier import classify_message
from classifier.cli import main
from classifier.mail import message as message_module
from classifier.mail.reader import MAX_RECIPIENTS


def _dsn(blocks: list[str]) -> bytes:
    return (
        "From: MAILER-DAEMON@example.org (Mail Delivery System)\n"
        "To: sender@example.org\nSubject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=BB\n\n"
        "--BB\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
        + "".join(blocks)
        + "--BB\nContent-Type: text/rfc822-headers\n\nTo: someone@example.com\n\n--BB--\n"
    ).encode()


def _ordinary(count: int) -> bytes:
    """A DSN of ``count`` ordinary recipients, about 280 characters each."""
    fields = "".join(
        f"Final-Recipient: rfc822; user{n:05d}@example.com\n"
        f"Original-Recipient: rfc822; user{n:05d}@example.com\n"
        "Action: failed\nStatus: 5.1.1\n"
        f"Remote-MTA: dns; mx{n}.example.com\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <user{n:05d}@example.com>: Recipient address "
        "rejected: User unknown in virtual mailbox table\n\n"
        for n in range(count)
    )
    part = "--BB\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
    return _dsn([part + fields])


def test_a_dsn_of_1000_ordinary_recipients_reports_all_of_them() -> None:
    raw = _ordinary(1000)
    assert len(raw) > 250_000
    report = classify_message(raw)
    assert len(report.recipients) == 1000
    assert {r.code for r in report.recipients} == {"131"}
    assert report.recipients[-1].recipient == "user00999@example.com"
    assert (report.note, report.unreported, report.over_budget) == ("", 0, 0)


def test_recipients_beyond_the_limit_are_counted_and_said() -> None:
    report = classify_message(_ordinary(MAX_RECIPIENTS + 200))
    assert len(report.recipients) == MAX_RECIPIENTS
    assert report.unreported == 200
    assert f"200 recipients beyond the first {MAX_RECIPIENTS} not reported" in report.note
    assert report.to_dict()["unreported"] == 200


def test_a_dsn_part_cut_by_the_message_limit_is_said() -> None:
    # 9000 recipients of ~280 bytes: the message is cut at 2 MiB inside the report part.
    report = classify_message(_ordinary(9000).replace(b"--BB\nContent-Type: text/rfc822", b""))
    assert len(report.recipients) == MAX_RECIPIENTS
    assert "a delivery-status part was cut" in report.note


def test_classify_mail_says_what_was_cut_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eml = tmp_path / "big.eml"
    eml.write_bytes(_ordinary(MAX_RECIPIENTS + 5))
    assert main(["classify-mail", "--json", str(eml)]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == MAX_RECIPIENTS
    assert f"{eml}: 5 recipients beyond the first {MAX_RECIPIENTS} not reported" in err
    assert "5 recipients not reported" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["code"] for r in rows} == {"131"}


def _hostile() -> bytes:
    """15 delivery-status parts x 33 recipients, each with a 3 900-space diagnostic (2 MB)."""
    diagnostic = "lost connection with x while a" + " " * 3900 + "b"
    parts = []
    for part in range(15):
        blocks = "".join(
            f"Final-Recipient: rfc822; u{part}x{n}@example.com\nAction: failed\n"
            f"Status: 5.1.1\nDiagnostic-Code: smtp; {diagnostic}\n\n"
            for n in range(33)
        )
        parts.append(
            "--BB\nContent-Type: message/delivery-status\n\n"
            f"Reporting-MTA: dns; mx.example.org\n\n{blocks}"
        )
    return _dsn(parts)


def test_a_message_has_a_time_budget_across_its_recipients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A clock that advances 0.1 s each time it is read: after ten readings the budget of
    # one second is spent, whatever this machine's speed.
    ticks = itertools.count()
    monkeypatch.setattr(message_module, "_clock", lambda: next(ticks) * 0.1)
    raw = _hostile()
    assert len(raw) > 1_900_000
    report = classify_message(raw, budget=1.0)
    assert len(report.recipients) == 15 * 33  # nobody is dropped
    assert all(r.code for r in report.recipients)
    assert 480 <= report.over_budget < 495
    assert f"{report.over_budget} recipients were read only up to 512 characters" in report.note
    assert report.to_dict()["over_budget"] == report.over_budget


def test_an_ordinary_message_is_not_cut_by_the_budget() -> None:
    report = classify_message(_ordinary(50))
    assert report.over_budget == 0 and report.note == ""
