"""The MTA's last word: an MTA that gave up retrying (DSN, log replay) gives 133, decided once."""

from __future__ import annotations

from classifier import classify, classify_message
from classifier.logreplay import classify_record
from classifier.logs import parse_postfix
from classifier.outcome import gave_up


def test_gave_up_is_133_for_temporary_meanings() -> None:
    r = gave_up(classify("452 4.2.2 <a@example.com>: Mailbox full"), why="queue expired")
    assert (r.code, r.reason, r.note) == ("133", "expired", "queue expired")


def test_gave_up_keeps_facts_about_the_address() -> None:
    reply = (
        "450 4.1.1 <a@example.org>: Recipient address rejected: User unknown in virtual alias table"
    )
    assert gave_up(classify(reply), why="x").code == "131"


def test_replay_and_dsn_agree_on_a_final_temporary_failure() -> None:
    line = (
        "Nov 26 11:31:27 mta postfix/smtp[1]: ABC123: to=<a@example.org>, relay=mx[192.0.2.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=4.1.1, status=bounced (host mx[192.0.2.1] said: 450 4.1.1 "
        "<a@example.org>: Recipient address rejected: User unknown in virtual alias table "
        "(in reply to RCPT TO command))"
    )
    record = parse_postfix(line)
    assert record is not None
    assert classify_record(record).code == "131"
    full = line.replace("User unknown in virtual alias table", "Mailbox full")
    record = parse_postfix(full)
    assert record is not None
    assert classify_record(record).code == "133"
    dsn = (
        "From: MAILER-DAEMON@mta.example\r\nTo: s@example.net\r\nSubject: Undelivered Mail\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mta.example\r\n\r\n"
        "Final-Recipient: rfc822; a@example.org\r\nAction: failed\r\nStatus: 4.2.2\r\n"
        "Diagnostic-Code: smtp; 452 4.2.2 <a@example.org>: Mailbox full\r\n--B--\r\n"
    )
    assert [r.code for r in classify_message(dsn).recipients] == ["133"]


def test_gave_up_keeps_a_null_mx_but_not_a_domain_that_did_not_resolve() -> None:
    # Google reports a null MX with Status 4.0.0 (Sisimai set-of-emails rfc3464-52.eml): what
    # the domain publishes does not change by retrying. NXDOMAIN after retries is giving up.
    null_mx = (
        "DNS Error: 80458680 DNS type 'mx' lookup of libsisimai.org responded with code NOERROR "
        "The domain libsisimai.org doesn't receive email according to the administrator: "
        "returned Null MX https://www.rfc-editor.org/info/rfc7505"
    )
    assert gave_up(classify(null_mx, status="4.0.0"), why="x").code == "112"
    nxdomain = "DNS Error: DNS type 'mx' lookup of example.jp responded with code NXDOMAIN"
    assert classify(nxdomain).code == "111"
    assert gave_up(classify(nxdomain, status="4.0.0"), why="x").code == "133"


def test_a_failed_local_delivery_program_is_a_mailbox_problem_not_an_unknown_user() -> None:
    # Postfix maps procmail's exit status to "user unknown" (Status 5.1.1); the words say the
    # mailbox file could not be created (Sisimai set-of-emails lhost-postfix-01.eml).
    r = classify(
        'procmail: Couldn\'t create "/var/spool/mail/neko" id: r.example.org: No such user',
        status="5.1.1",
    )
    assert (r.code, r.reason) == ("132", "mailbox_error")
    # Sendmail's name for a delivery program's unnamed exit status (deliver.c).
    assert classify("554 5.3.0 unknown mailer error 1").code == "132"
    # PHPMailer's "Mailer Error:" is a label before its own message, not a mailer's failure.
    labelled = classify("Mailer Error: SMTP connect() failed.")
    assert labelled.reason != "mailbox_error"
