"""The same remote verdict in every shape it reaches users: one ParsedReply."""

from __future__ import annotations

import pytest

from classifier import Stage, classify, parse_reply

GMAIL_WIRE = (
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
    "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
    "550 5.1.1 unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser"
)
GMAIL_CLIENT = (
    GMAIL_WIRE.replace("\r\n", "\n").replace("550-5.1.1 ", "5.1.1 ").replace("550 5.1.1 ", "5.1.1 ")
)
GMAIL_LOG = (
    "host gmail-smtp-in.l.google.com[142.250.1.26] said: "
    + GMAIL_WIRE.replace("\r\n", " ")
    + " (in reply to RCPT TO command)"
)
GMAIL_DSN = "Diagnostic-Code: smtp; " + GMAIL_WIRE.replace("\r\n", "\r\n    ")


@pytest.mark.parametrize(
    "shape", [GMAIL_WIRE, GMAIL_WIRE.replace("\r\n", "\n"), GMAIL_LOG, GMAIL_DSN]
)
def test_multiline_reply_in_every_shape(shape: str) -> None:
    p = parse_reply(shape)
    assert (p.basic, p.enhanced) == (550, "5.1.1")
    assert p.text.startswith("The email account that you tried to reach does not exist.")
    assert "550" not in p.text and "5.1.1" not in p.text
    assert classify(shape).code == "131"


def test_client_library_form_keeps_enhanced_status() -> None:
    p = parse_reply("550 " + GMAIL_CLIENT)
    assert p.enhanced == "5.1.1"
    assert "5.1.1" not in p.text


def test_stage_from_postfix_wrapper() -> None:
    p = parse_reply(GMAIL_LOG)
    assert p.stage is Stage.RCPT
    assert p.remote_host == "gmail-smtp-in.l.google.com"
    assert p.wrapper == "postfix-said"


def test_explicit_stage_wins_and_unknown_stage_is_tolerated() -> None:
    assert parse_reply("550 no", stage="mail").stage is Stage.MAIL
    odd = parse_reply("550 no", stage="XCLIENT").stage
    assert odd.value == "xclient"
    assert Stage("RCPT TO") is Stage.RCPT
    assert Stage("end of data") is Stage.END_OF_DATA


@pytest.mark.parametrize(
    ("text", "basic", "enhanced", "stage", "wrapper"),
    [
        (
            "host mx[1.2.3.4] refused to talk to me: 554 5.7.1 Service unavailable",
            554,
            "5.7.1",
            Stage.CONNECT,
            "postfix-greeting",
        ),
        (
            "connect to mx.example.com[192.0.2.1]:25: server refused to talk to me: 421 Service not available",
            421,
            None,
            Stage.CONNECT,
            "postfix-greeting",
        ),
        (
            "lost connection with mx[1.2.3.4] while sending end of data -- message may be sent more than once",
            None,
            None,
            Stage.END_OF_DATA,
            "postfix-lost",
        ),
        (
            "connect to 127.0.0.1[127.0.0.1]:2619: Connection refused",
            None,
            None,
            Stage.CONNECT,
            "postfix-connect",
        ),
        (
            "delivery temporarily suspended: host mx[1.2.3.4] said: 451 4.3.0 busy (in reply to MAIL FROM command)",
            451,
            "4.3.0",
            Stage.MAIL,
            "postfix-said",
        ),
        (
            "SMTP error from remote mail server after RCPT TO:<a@example.jp>: 550 5.1.1 <a@example.jp>... User unknown",
            550,
            "5.1.1",
            Stage.RCPT,
            "exim",
        ),
        (
            "SMTP error from remote mail server after end of data: 550 : User unknown",
            550,
            None,
            Stage.END_OF_DATA,
            "exim",
        ),
        (
            "to=<a@b>, delay=1, mailer=esmtp, dsn=5.1.1, stat=User unknown",
            None,
            None,  # dsn=5.1.1 is Sendmail's status beside the words (ParsedReply.status)
            Stage.UNKNOWN,
            "sendmail",
        ),
        (
            ">>> RCPT To:<a@b.example>\n<<< 550 5.1.1 <a@b.example>... User unknown\n",
            550,
            "5.1.1",
            Stage.RCPT,
            "transcript",
        ),
        (
            "Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'",
            550,
            "5.1.1",
            Stage.UNKNOWN,
            "ndr",
        ),
        (
            "X-Postfix; Host or domain name not found. Name service error for name=x.example type=MX: Host not found",
            None,
            None,
            Stage.UNKNOWN,
            "dsn",
        ),
        ("Sorry, no mailbox here by that name. (#5.1.1)", None, "5.1.1", Stage.UNKNOWN, "raw"),
    ],
)
def test_wrappers(
    text: str, basic: int | None, enhanced: str | None, stage: Stage, wrapper: str
) -> None:
    p = parse_reply(text)
    assert (p.basic, p.enhanced, p.stage, p.wrapper) == (basic, enhanced, stage, wrapper)


def test_whole_postfix_log_line() -> None:
    line = (
        "Nov 26 11:31:27 mta postfix/smtp[31896]: D3ECB162083: to=<user@banner554.test>, "
        "relay=127.0.0.1[127.0.0.1]:2601, delay=0.05, delays=0.02/0.03/0/0, dsn=4.7.1, "
        "status=deferred (host 127.0.0.1[127.0.0.1] refused to talk to me: 554 5.7.1 Service "
        "unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org)"
    )
    p = parse_reply(line)
    # Postfix's own dsn=4.7.1 is not the remote's verdict: the 554 inside is.
    assert (p.basic, p.enhanced, p.stage) == (554, "5.7.1", Stage.CONNECT)
    assert classify(line).code == "554"


def test_enhanced_status_consistency_is_checked() -> None:
    assert parse_reply("550 5.1.1 x").consistent
    assert not parse_reply("550 4.2.2 mailbox full").consistent


def test_folded_dsn_field_and_status_hint() -> None:
    text = 'Status: 5.1.1\nDiagnostic-Code: X-Postfix; unknown user:\n    "kijitora"'
    p = parse_reply(text)
    assert (p.enhanced, p.status) == (None, "5.1.1")  # the Status is not the remote's words
    assert p.text == 'unknown user: "kijitora"'
    assert parse_reply(text, status="4.02.2").status == "4.2.2"  # the caller's status wins


def test_status_beside_the_reply_fills_in_only_what_the_words_lack() -> None:
    # No rule knows these words: the Status decides by its enhanced status (5.1.1: 131).
    assert classify("550 zz qq", status="5.1.1").code == "131"
    assert classify("Status: 5.1.1\nDiagnostic-Code: smtp; 550 zz qq").code == "131"
    # Not applied when the words carry their own status, when it is only a class, or when its
    # class contradicts the reply code; the same DSN block by classify or classify_message.
    assert classify("550 5.7.1 zz qq", status="5.1.1").enhanced == "5.7.1"
    assert classify("550 zz qq", status="5.0.0").code == classify("550 zz qq").code
    assert classify("550 zz qq", status="4.2.2").code == classify("550 zz qq").code
    sendmail = classify("to=<a@b>, delay=1, mailer=esmtp, dsn=5.1.1, stat=zz qq")
    assert (sendmail.code, sendmail.enhanced) == ("131", "5.1.1")


def test_ip_address_is_not_an_enhanced_status() -> None:
    assert parse_reply("blocked 5.1.1.1 today").enhanced is None


def test_bytes_in_any_encoding() -> None:
    assert parse_reply(b"550 5.1.1 caf\xe9 latin-1 byte").basic == 550
    assert parse_reply("550 5.1.1 Адрес не найден".encode()).text == "Адрес не найден"
    assert parse_reply(bytes(bytearray(b"452 4.2.2 full"))).enhanced == "4.2.2"


def test_fast_path_parses_exactly_like_the_general_path() -> None:
    from classifier import load_rules
    from classifier.rules import iter_examples
    from classifier.wrappers import parse_general

    replies = [e.reply for _, _, e in iter_examples(load_rules())]
    shapes = [
        *replies,
        *(f"smtp; {r}" for r in replies),
        *(
            f"host mx.example.com[192.0.2.1] said: {r} (in reply to RCPT TO command)"
            for r in replies
        ),
        *(f"{r}." for r in replies),
        *(" ".join(r.splitlines()) for r in replies if "\n" in r),
        *(
            f"host mx.example.com[192.0.2.1] said: {' '.join(r.splitlines())} (in reply to RCPT TO command)"
            for r in replies
            if "\n" in r
        ),
        "550 5.1.1 user (in reply to) unknown",
        "550 5.1.1<x@example.com> no such user",
        "550 5.1.1. x",
        "550 a 550-b",
        "550-5.1.1 a 550 5.1.1 b",
        "250 2.0.0 ok 550 5.1.1 no",
        "421 4.7.0 x SMTP error from remote y",
    ]
    for reply in shapes:
        for stage in (None, "rcpt"):
            assert parse_reply(reply, stage) == parse_general(reply, stage), reply


def test_latin1_bytes_with_a_few_accented_letters_read_as_words() -> None:
    from classifier import classify
    from classifier.reply import decode

    assert decode(b"550 Buz\xf3n lleno")[0] == "550 Buzón lleno"
    assert decode(b"\x93quoted\x94")[0] == "\u201cquoted\u201d"  # Windows-1252 quotes
    result = classify(b"550 Buz\xf3n lleno")
    assert (result.code, result.rule_id) == ("552", "es.buzon-lleno")


def test_utf8_cut_inside_a_character_keeps_what_is_whole() -> None:
    from classifier.reply import decode

    assert decode("550 Buzón".encode()[:8])[0] == "550 Buz"
    text = decode("550 caixa postal cheia, ção".encode() + b"\xff")[0]
    assert text.startswith("550 caixa postal cheia, ção")  # mostly UTF-8: read as UTF-8


def test_a_version_or_path_is_not_an_enhanced_status() -> None:
    # Ruby's backtrace names its library directory "2.2.0": not a success status.
    parsed = parse_reply("end of file reached (EOFError) from /usr/lib/ruby/2.2.0/net/smtp.rb:526")
    assert parsed.enhanced is None
    assert parse_reply("client v2.7.1 failed").enhanced is None
    assert parse_reply("550-5.1.1 The email account does not exist").enhanced == "5.1.1"
    assert parse_reply("Diagnostic: dsn=5.1.1, status=bounced").enhanced == "5.1.1"


def test_mailq_brackets_around_a_postfix_reason_are_unwrapped() -> None:
    text = "(delivery temporarily suspended: connect to mx.example.net[192.0.2.7]:25: Connection timed out)"
    result = classify(text)
    assert (result.code, result.reason) == ("113", "connection_failed")
    assert result.text.startswith("connect to mx.example.net")


def test_a_reply_logged_as_a_key_value_is_found() -> None:
    parsed = parse_reply("Server terminates connection. response=421-4.7.0 Try again later")
    assert (parsed.basic, parsed.enhanced) == (421, "4.7.0")
    # A number that only looks like a code inside a key's value is not one.
    assert parse_reply("to=<a@example.org>, delay=238024, status=deferred").basic is None


def test_only_one_bracketed_whole_is_unwrapped() -> None:
    assert parse_reply("(host not found) and (bar)").text == "(host not found) and (bar)"


def test_a_submission_port_after_a_host_is_not_a_reply_code() -> None:
    parsed = parse_reply("Failed to connect to smtp.example.com:587 timed out")
    assert parsed.basic is None
    assert parse_reply("Could not connect to mail.example.com:465 Connection refused").basic is None
    # 571 is sent by some servers and stays a reply code.
    assert parse_reply("host mx.example.com said: 571 Delivery not authorized").basic == 571


def test_a_source_line_or_port_after_a_name_is_not_a_reply_code() -> None:
    # "mailer.go:201" is a place in a program's source: the reply is the 550 later on.
    parsed = parse_reply(
        "2017/11/16 10:38:35 [...les/mailer/mailer.go:201 processMailQueue()] [E] Fail to send"
        " emails: gomail: could not send email 1: Rcpt: 550 Mailbox not found"
    )
    assert (parsed.basic, parsed.text) == (550, "Mailbox not found")
    # A label's colon joined to its word still leads a reply ("said:550").
    assert parse_reply("host mx.example.com[192.0.2.1] said:550 is now disabled").basic == 550


def test_a_reply_in_brackets_needs_its_enhanced_status() -> None:
    parsed = parse_reply("SMTP DATA error (503 5.5.1 RCPT first)")
    assert (parsed.basic, parsed.enhanced, parsed.text) == (503, "5.5.1", "RCPT first")
    # A count in brackets is no reply: "(512 bytes written)".
    text = "SMTP timeout while connected to mx.example.com after end of data (512 bytes written)"
    assert parse_reply(text).basic is None


def test_postfix_own_refusals_are_unwrapped_to_the_reply_and_stage() -> None:
    line = (
        "Feb 28 10:59:29 mx postfix/cleanup[46417]: 7F2DF64430: milter-reject: END-OF-MESSAGE"
        " from forward12h.cmail.yandex.net[87.250.230.154]: 4.7.1 Try again later;"
        " from=<user@example1.com> to=<rcpt@example.com> proto=ESMTP helo=<forward12h>"
    )
    parsed = parse_reply(line)
    assert (parsed.enhanced, parsed.stage, parsed.text) == (
        "4.7.1",
        Stage.END_OF_DATA,
        "4.7.1 Try again later",
    )
    assert classify(line).code == "201"  # stock words alone: no description
    line = (
        "postfix/smtpd[10031]: NOQUEUE: reject: RCPT from mail.example.org[192.0.2.62]: 504 5.5.2"
        " <mail>: Helo command rejected: need fully-qualified hostname; from=<forum@example.org>"
        " to=<a@example.net> proto=ESMTP helo=<mail>"
    )
    parsed = parse_reply(line)
    assert (parsed.basic, parsed.stage) == (504, Stage.RCPT)
    assert parsed.text == "<mail>: Helo command rejected: need fully-qualified hostname"


def test_phpmailer_command_failure_is_unwrapped() -> None:
    text = (
        "SMTP Error: The following recipients failed: a@example.com: SMTP server error: RCPT TO"
        " command failed Detail: <a@example.com>: Recipient address rejected: User unknown"
        " SMTP code: 550 Additional SMTP info: 5.1.1"
    )
    parsed = parse_reply(text)
    assert (parsed.basic, parsed.enhanced, parsed.stage) == (550, "5.1.1", Stage.RCPT)
    assert parsed.text == "<a@example.com>: Recipient address rejected: User unknown"
    text = (
        "SMTP Error: data not accepted.SMTP server error: DATA END command failed Detail: Message"
        " rejected: Sending paused for this account.\n SMTP code: 554"
    )
    parsed = parse_reply(text)
    assert (parsed.basic, parsed.stage) == (554, Stage.END_OF_DATA)
    assert classify(text).code == "554"


def test_a_flattened_continuation_dash_still_leads_a_reply() -> None:
    # AOL's banner as Postfix logged it: "554-" with the rest of the line after a space.
    line = (
        "Feb 22 08:14:28 macfly postfix/smtp[23591]: E77201FB641: host mailin-02.mx.aol.com"
        "[64.12.138.120] refused to talk to me: 554- (RTR:DU)  http://postmaster.example/554"
    )
    parsed = parse_reply(line)
    assert parsed.basic == 554 and parsed.text.startswith("(RTR:DU)")
    assert classify(line).code == "554"


def test_a_code_with_its_own_status_is_a_reply_after_a_space() -> None:
    parsed = parse_reply("authentication error  504 5.7.4 Unrecognized authentication type")
    assert (parsed.basic, parsed.enhanced) == (504, "5.7.4")
    # Without a status of its class the number stays part of the words.
    assert parse_reply("It took 250 ms to answer").basic is None
    # Nor does a status of another class make one.
    assert parse_reply("sent 250 5.7.1 times").basic is None


def test_a_closing_a_client_got_instead_of_an_answer_is_no_delivery() -> None:
    text = (
        'Expected response code "250" but got code "221", with message "221 Closing '
        'connection. Waiting command exceed timeout."'
    )
    assert parse_reply(text).basic is None
    assert classify(text).code != "250"
    # Any other code the client reports it got stays the reply's code.
    assert parse_reply('Expected response code "250" but got code "552"').basic == 552
    assert parse_reply("Sending failed with error 550").basic == 550
    assert parse_reply("Unknown SMTP code: 451").basic == 451


def test_a_reply_in_brackets_after_an_error_name_or_alone_is_read() -> None:
    parsed = parse_reply(
        "Error performing ActionMailer::DeliveryJob in 462.62ms: "
        "Net::SMTPFatalError (553 Recipient domain not specified."
    )
    assert (parsed.basic, parsed.text) == (553, "Recipient domain not specified.")
    assert parse_reply("(451 too many errors from your ip, please retry)").basic == 451
    # A count in brackets after other words is still no reply.
    assert parse_reply("timeout after end of data (512 bytes written)").basic is None


def test_phpmailer_quit_failure_after_the_report_is_left_out() -> None:
    text = (
        "SMTP Error: Could not connect to SMTP host. Connection failed. "
        "stream_socket_enable_crypto(): SSL operation failed with code 1. OpenSSL Error "
        "messages:\nerror:0A000086:SSL routines::certificate verify failedSMTP server error: "
        "QUIT command failed"
    )
    parsed = parse_reply(text)
    assert "QUIT" not in parsed.text
    assert classify(text).code == "113"
