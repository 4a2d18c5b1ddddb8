"""Recipients read from real bounces of formats the reader was not tuned to.

The messages are in fixtures/heldout-mail (sources and licences in its SOURCES.md).
"""

from __future__ import annotations

from pathlib import Path

from classifier import classify_message
from classifier.mail.message import MessageReport

HELDOUT = Path(__file__).resolve().parent.parent / "fixtures" / "heldout-mail"


def report_of(name: str) -> MessageReport:
    return classify_message((HELDOUT / name).read_bytes())


def addresses(report: MessageReport) -> list[str]:
    return [r.recipient.lower() for r in report.recipients]


def test_dsn_reports_the_original_recipient_and_keeps_the_final_one() -> None:
    report = report_of("mdsbp-warning-2.eml")
    assert addresses(report) == ["a@example.co.uk", "c@example.co.uk"]
    first, second = report.recipients
    assert first.final_recipient == "b@example.co.uk"
    assert second.final_recipient == ""  # the same address twice is not repeated
    assert first.to_dict()["final_recipient"] == "b@example.co.uk"


def test_pmdf_dsn_original_recipient_over_the_mailbox_it_expanded_to() -> None:
    (only,) = report_of("flufl-dsn_04.eml").recipients
    assert only.recipient == "userx@example.ch"
    assert only.final_recipient == "haasm@yogi.urz.example.ch"
