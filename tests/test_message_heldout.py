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


def test_a_mailing_list_address_from_the_quoted_original_is_never_reported() -> None:
    # InterScan names no recipient; the original's To is the list (List-Post of the original).
    report = report_of("flufl-dumbass_01.eml")
    assert "python-list@python.org" not in addresses(report)
    # Exim-style text naming no recipient; the original's X-Original-To/List-Post is the list.
    assert "test-a@listserv.our-domain.de" not in addresses(report_of("flufl-simple_43.eml"))


def test_the_line_introducing_the_sender_is_not_a_recipient_line() -> None:
    (only,) = report_of("mdsbp-misidentified-recipient.eml").recipients
    assert only.recipient == "john@b.co.uk"  # "(ultimately generated from john@b.co.uk)"
    assert only.final_recipient == "john.b@b.c"


def test_sendmail_expanded_from_note_gives_the_address_the_sender_used() -> None:
    (only,) = report_of("mdsbp-warning-9.eml").recipients
    assert (only.recipient, only.final_recipient) == (
        "gail.windy@example.net",
        "gail.windy@example.com",
    )
    (only,) = report_of("flufl-sendmail_01.eml").recipients
    assert (only.recipient, only.final_recipient) == ("zzzzz@nfg.nl", "zzzzz@shaft.coal.nl")


def test_an_undisclosed_address_generated_from_a_recipient() -> None:
    assert addresses(report_of("flufl-simple_16.eml")) == ["userx@example.com"]


def test_feedback_without_original_rcpt_to_names_the_returned_messages_recipient() -> None:
    # SocketLabs ARF: only "Redacted-Address", and the original is cut before its To; its
    # Received header still says "for <fbl-test@service.socketlabs.com>".
    report = report_of("bounceemail-bounce-auto-respond.eml")
    assert report.kind == "feedback"
    assert addresses(report) == ["fbl-test@service.socketlabs.com"]
    assert report.recipients[0].code == "162"
