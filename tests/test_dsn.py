"""RFC 3464 delivery-status fields: folding, repeated blocks, missing separators, comments."""

from __future__ import annotations

from classifier.mail.dsn import (
    clean_address,
    looks_like_dsn_fields,
    normalise_action,
    parse_delivery_status,
)

# Field blocks as Sendmail and Postfix write them (Sisimai set-of-emails rfc3464-35.eml, and
# Postfix 3.7.11's own DSN in fixtures/postfix).
SENDMAIL_NO_BLANK_LINES = """Reporting-MTA: dns; cs.utk.edu
Original-Recipient: rfc822;kijitora@nyaan.example.com
Final-Recipient: rfc822;kijitora@nyaan.example.com
Action: failed
Status: 5.0.0 (permanent failure)
Diagnostic-Code: smtp;  550 'kijitora@nyaan.example.com' is not a
 registered gateway user
Remote-MTA: dns; nyaan.example.com
Original-Recipient: rfc822;sabatora@cat.example.net
Final-Recipient: rfc822;sabatora@cat.example.net
Action: delayed
Status: 4.0.0 (cat.example.net: host name lookup failure)
Original-Recipient: rfc822;mikeneko@neko.example.or.jp
Final-Recipient: rfc822;mikeneko@neko.example.or.jp
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 550 user unknown
Remote-MTA: dns; neko.example.or.jp
"""

POSTFIX_FOLDED = """Reporting-MTA: dns; mta.test
X-Postfix-Queue-ID: D3ECB162083
Arrival-Date: Thu, 26 Nov 2026 11:31:27 +0000 (UTC)

Final-Recipient: rfc822; user@banner554.test
Original-Recipient: rfc822;user@banner554.test
Action: failed
Status: 4.7.1
Remote-MTA: dns; 127.0.0.1
Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host [127.0.0.1]
    blocked using zen.spamhaus.org
"""


def test_recipients_without_blank_lines_between_blocks() -> None:
    found = parse_delivery_status(SENDMAIL_NO_BLANK_LINES)
    assert [r.recipient for r in found] == [
        "kijitora@nyaan.example.com",
        "sabatora@cat.example.net",
        "mikeneko@neko.example.or.jp",
    ]
    assert [r.action for r in found] == ["failed", "delayed", "failed"]
    assert [r.status for r in found] == ["5.0.0", "4.0.0", "5.0.0"]
    assert all(r.reporting_mta == "cs.utk.edu" for r in found)


def test_folded_diagnostic_is_unfolded_and_type_removed() -> None:
    first = parse_delivery_status(SENDMAIL_NO_BLANK_LINES)[0]
    assert first.diagnostic == "550 'kijitora@nyaan.example.com' is not a registered gateway user"
    assert first.diagnostic_type == "smtp"
    assert first.remote_mta == "nyaan.example.com"
    (postfix,) = parse_delivery_status(POSTFIX_FOLDED)
    assert postfix.diagnostic == (
        "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"
    )
    assert postfix.reporting_mta == "mta.test"


def test_status_comment_stands_in_for_a_missing_diagnostic() -> None:
    delayed = parse_delivery_status(SENDMAIL_NO_BLANK_LINES)[1]
    assert delayed.diagnostic == "cat.example.net: host name lookup failure"
    # "(permanent failure)" says nothing more than the class and is not used.
    assert parse_delivery_status(SENDMAIL_NO_BLANK_LINES)[0].diagnostic.startswith("550 ")


def test_field_names_are_case_insensitive_and_actions_normalised() -> None:
    text = "final-recipient: RFC822; <Kijitora@Example.JP>\naction: Deliverable\nSTATUS: 2.1.5\n"
    (found,) = parse_delivery_status(text)
    assert found.recipient == "kijitora@example.jp"
    assert found.action == "delivered"
    assert found.status == "2.1.5"
    assert normalise_action("expired") == "failed"
    assert normalise_action("nonsense") == ""


def test_a_block_without_recipient_is_ignored_and_duplicates_merge() -> None:
    text = (
        "Reporting-MTA: dns; a.example\n\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; a@b.example\nAction: failed\n\n"
        "Final-Recipient: rfc822; a@b.example\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 x\n"
    )
    (found,) = parse_delivery_status(text)
    assert (found.recipient, found.status, found.diagnostic) == ("a@b.example", "5.1.1", "550 x")


def test_garbage_gives_no_recipient() -> None:
    assert parse_delivery_status("") == []
    assert parse_delivery_status("\x00\xff" * 1000) == []
    assert parse_delivery_status("Final-Recipient: rfc822; not an address\n") == []


def test_address_cleaning_and_detection() -> None:
    assert clean_address("rfc822; <A.B@Example.COM>") == "a.b@example.com"
    assert clean_address("rfc822;") == ""
    assert looks_like_dsn_fields("Final-Recipient: rfc822; a@b.example\nAction: failed")
    assert not looks_like_dsn_fields("Hello, this is a letter.")


def test_a_malformed_recipient_address_is_reported_as_written() -> None:
    # Sendmail reports a mistyped domain in the Final-Recipient as the sender wrote it; the
    # report is about that address and must not vanish.
    fields = (
        "Reporting-MTA: dns; mta.example.com\n\n"
        "Final-Recipient: RFC822; recipient@#example.net\nAction: failed\nStatus: 5.1.2\n"
        "Diagnostic-Code: SMTP; 550 Host unknown\n\n"
        "Final-Recipient: rfc822; <>\nAction: failed\nStatus: 5.0.0\n"
    )
    (only,) = parse_delivery_status(fields)
    assert (only.recipient, only.status) == ("recipient@#example.net", "5.1.2")
    # A valid address is still preferred to a malformed Original-Recipient.
    fields = (
        "Original-Recipient: rfc822;1\nFinal-Recipient: rfc822; a@example.org\nAction: failed\n"
    )
    (only,) = parse_delivery_status(fields)
    assert only.recipient == "a@example.org"
