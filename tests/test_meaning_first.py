"""Where the words of a reply say more than the phrase a rule recognised, or than its codes."""

from __future__ import annotations

import pytest

from classifier import classify
from classifier.reply import parse_reply


@pytest.mark.parametrize(
    ("reply", "stage", "code"),
    [
        # A count of bad recipients is a limit on the sender, not an unknown user.
        ("451 too many invalid recipients", None, "202"),
        ("421 smtp.example.it ESMTP - Too many invalid recipients from this IP", None, "421"),
        ("550 5.1.1 invalid recipient", "rcpt", "131"),
        # Without a code, the words give the class: a delay notice, a temporary failure.
        ("fullbox@example.com\n    Delay reason: mailbox is full", None, "202"),
        ("(temporary failure. Command output: maildrop: maildir over quota.)", None, "202"),
        ("maildrop: maildir over quota.", None, "552"),
        ("Dialup/transient IP not allowed.", "connect", "554"),
        # Stock "mailbox unavailable" gives way to a cause stated in the same reply...
        (
            "550 5.2.1 Mailbox unavailable. This server does not accept mails from this sender"
            " address",
            "rcpt",
            "554",
        ),
        # ...but not to another reading of the mailbox itself.
        ("550 Mailbox unavailable", "rcpt", "134"),
        # A 421 closes the channel, whatever ran short; another 4xx only defers.
        ("421 4.3.4 allocated resources exceeded", None, "421"),
        ("421 4.4.1 bye Connection reset by peer", None, "421"),
        ("450 4.7.1 Too many concurrent connections", None, "202"),
        ("421 4.7.0 Too many concurrent SMTP connections", None, "421"),
        # RFC 3463's X.3.2 text: a service down for now, or (521) a host that takes no mail.
        ("450 System not accepting network messages. (#4.3.2)", "rcpt", "202"),
        # Protocol codes about commands and extensions keep their code.
        ("503 5.5.0 AUTH not permitted now", None, "504"),
        ("501 5.5.4 DSN extension has been disabled.", "rcpt", "501"),
        ("555 RCPT TO parameters not recognized or not implemented", "rcpt", "504"),
        # A recipient refused with nothing more said.
        ("550 Recipient rejected", "rcpt", "131"),
        ("Recipient address rejected", None, "131"),
        ("550 inactive recipient rejected", "rcpt", "132"),
    ],
)
def test_meaning_decides(reply: str, stage: str | None, code: str) -> None:
    assert classify(reply, stage=stage).code == code


def test_dotnet_client_exception_gives_the_server_words() -> None:
    text = (
        "System.Net.Mail.SmtpException: Mailbox unavailable. The server response was: 5.7.1"
        " Unable to relay"
    )
    parsed = parse_reply(text)
    assert parsed.text.startswith("5.7.1 Unable to relay")
    assert parsed.wrapper == "client"
    assert classify(text, stage="rcpt").code == "551"


def test_python_smtplib_tuple_gives_code_and_words() -> None:
    text = "smtplib.SMTPRecipientsRefused: {'a@example.net': (550, b'not relaying to that domain')}"
    parsed = parse_reply(text)
    assert (parsed.basic, parsed.text) == (550, "not relaying to that domain")
    assert classify("SMTPConnectError: (421, b'4.7.0 Temporary System Problem')").code == "421"


def test_python_tuple_cut_in_a_log_line_still_gives_code_and_words() -> None:
    # A log line cut inside the tuple (first-sight batch-13, Amazon SES via Django).
    parsed = parse_reply("error (550, b'unterminated")
    assert (parsed.basic, parsed.text) == (550, "unterminated")
    text = "SMTPDataError at /contact/\n(554, b'Message rejected: Email address is not verified'"
    parsed = parse_reply(text)
    assert (parsed.basic, parsed.text) == (554, "Message rejected: Email address is not verified")
    assert parse_reply("error (550, b'").basic is None


def test_diagnostic_code_continued_on_unindented_reply_lines() -> None:
    text = (
        "Diagnostic-Code: smtp; 550- Greetings 550-\n"
        "550- The account you're trying to reach doesn't exist\n"
        "550 Bye"
    )
    parsed = parse_reply(text)
    assert "doesn't exist" in parsed.text
    assert classify(text).code == "131"


def test_diagnostic_code_continuation_is_bounded() -> None:
    text = "Diagnostic-Code: smtp; 550-a\n" + "550-b\n" * 10_000
    parsed = parse_reply(text)
    assert parsed.text.count("b") <= 64


# Log lines whose words match no rule (or a rule whose code depends on the class): the status
# beside them says the class (first-sight batches 14, 18 and 26).
_STATUS_LINES = [
    (
        "EF0B15F675: to=<a@example.com>, relay=spamfilter, delay=4.2, "
        "delays=1.6/0/0/2.6, dsn=2.0.0, status=sent (delivered via spamfilter service)",
        "250",
    ),
    (
        "11FDF5F62A: to=<a@example.com>, relay=local, delay=80181, "
        "delays=80181/0.02/0/0, dsn=4.0.0, status=deferred (user lookup error)",
        "202",
    ),
    (
        "o6SGfUfN002977: to=<a@example.com>, delay=00:00:01, mailer=esmtp, "
        "relay=gmail-smtp-in.l.google.com. [209.85.229.27], dsn=5.0.0, stat=Service unavailable",
        "554",
    ),
    # No dsn=: Postfix's status word says it.
    (
        "2BC793B8A4: to=<jo@example.com>, orig_to=<webmaster@example.org>, relay=local, "
        'delay=6, status=sent ("|/usr/bin/procmail")',
        "250",
    ),
    ("to=<a@example.com>, relay=none, delay=5, status=deferred (words of no rule)", "202"),
    # The sending MTA's own lookup failed: 113 whatever class its dsn= files the attempt under.
    (
        "2241C417F7: to=<a@example.es>, relay=none, delay=0.1, dsn=4.4.3, status=deferred "
        "(Host or domain name not found. Name service error for name=example.es type=MX: "
        "Host not found, try again)",
        "113",
    ),
]


@pytest.mark.parametrize(("line", "code"), _STATUS_LINES)
def test_the_status_beside_the_words_states_the_class(line: str, code: str) -> None:
    assert classify(line).code == code


def test_postfix_status_word_is_the_status_without_dsn() -> None:
    assert parse_reply('to=<a@example.com>, relay=local, status=sent ("|procmail")').status == (
        "2.0.0"
    )


def test_qmail_giving_up_on_a_host_is_not_the_queue_giving_up() -> None:
    text = (
        "<a@example.org>:\n192.0.2.7 does not like recipient.\n"
        "Remote host said: 550 5.1.1 <a@example.org>: Recipient address rejected: "
        "User unknown\nGiving up on 192.0.2.7."
    )
    assert classify(text).code == "131"
    assert classify("I'm not going to try again; giving up after 5 days").code == "133"


def test_postfix_connect_error_is_a_connection_failure_whatever_the_errno() -> None:
    for error in ("Permission denied", "Address not available", "Connection refused"):
        result = classify(f"connect to mx.example.com[192.0.2.1]:25: {error}")
        assert (result.code, result.rule_id) == ("113", "postfix.connect-failed"), error
