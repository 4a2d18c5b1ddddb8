"""classify_message(): DSNs, MTA text bounces, feedback reports, auto-replies, unsubscribes."""

from __future__ import annotations

import email.policy
from pathlib import Path

import pytest

from classifier.mail.message import BounceRecipient, MessageReport, classify_message

MAIL = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def report_of(name: str) -> MessageReport:
    return classify_message((MAIL / name).read_bytes())


def by_address(report: MessageReport) -> dict[str, BounceRecipient]:
    return {r.recipient: r for r in report.recipients}


def dsn(
    blocks: str,
    *,
    human: str = "This is the mail system at host mta.test.\n",
    original: str = "From: a@sender.test\nTo: someone@else.test\nSubject: hi\n\nhello\n",
) -> bytes:
    """A multipart/report DSN built the way Postfix lays it out."""
    return (
        "From: MAILER-DAEMON@mta.test (Mail Delivery System)\n"
        "To: a@sender.test\nSubject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        f"--B\nContent-Type: text/plain\n\n{human}\n"
        f"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mta.test\n\n{blocks}\n"
        f"--B\nContent-Type: message/rfc822\n\n{original}\n--B--\n"
    ).encode()


def test_multi_recipient_dsn_gives_one_result_each() -> None:
    report = report_of("rfc3464-35.eml")
    assert report.kind == "bounce"
    found = by_address(report)
    assert set(found) == {
        "kijitora@nyaan.example.com",
        "sabatora@cat.example.net",
        "mikeneko@neko.example.or.jp",
    }
    assert found["mikeneko@neko.example.or.jp"].code == "131"
    assert found["mikeneko@neko.example.or.jp"].kind == "bounce"
    delayed = found["sabatora@cat.example.net"]
    assert (delayed.kind, delayed.action, delayed.code) == ("delay", "delayed", "202")
    assert delayed.classification is not None and not delayed.classification.final
    assert found["kijitora@nyaan.example.com"].reporting_mta == "cs.utk.edu"


def test_folded_diagnostic_code_is_read_whole() -> None:
    blocks = (
        "Final-Recipient: rfc822; user@rcpt550ml.test\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does\n"
        "    not exist. Please try 550-5.1.1 double-checking the recipient's email\n"
        "    address for typos or 550 5.1.1 unnecessary spaces.\n"
    )
    (r,) = classify_message(dsn(blocks)).recipients
    assert r.code == "131"
    assert "does not exist" in r.diagnostic
    assert r.classification is not None and r.classification.enhanced == "5.1.1"


def test_delivered_relayed_expanded_are_250() -> None:
    report = report_of("rfc3464-28.eml")
    assert report.kind == "delivery"
    (r,) = report.recipients
    assert (r.recipient, r.kind, r.code) == ("kijitora@neko.example.jp", "delivery", "250")
    for action in ("relayed", "expanded"):
        blocks = f"Final-Recipient: rfc822; x@y.example\nAction: {action}\nStatus: 2.0.0\n"
        (r,) = classify_message(dsn(blocks)).recipients
        assert (r.kind, r.code) == ("delivery", "250")


def test_delayed_is_202_and_not_final() -> None:
    blocks = (
        "Final-Recipient: rfc822; full@partial.test\nAction: delayed\nStatus: 4.2.2\n"
        "Diagnostic-Code: smtp; 452 4.2.2 <full@partial.test>: Mailbox over quota\n"
    )
    (r,) = classify_message(dsn(blocks)).recipients
    assert (r.kind, r.code) == ("delay", "202")
    assert r.classification is not None
    assert r.classification.final is False
    assert "delayed" in (r.classification.note or "")


def test_expiry_is_133() -> None:
    (exchange,) = report_of("lhost-exchange2007-05.eml").recipients
    assert exchange.code == "133"  # 550 4.4.7 QUEUE.Expired
    (exim,) = report_of("lhost-exim-06.eml").recipients
    assert (exim.recipient, exim.code) == ("kijitora@example.com", "133")  # retry timeout


def test_final_failure_without_a_reason_is_133() -> None:
    # A failed recipient with a 4.x.x status and nothing else: the MTA gave up retrying.
    (r,) = classify_message(
        dsn("Final-Recipient: rfc822; u@x.test\nAction: failed\nStatus: 4.4.7\n", human="")
    ).recipients
    assert r.code == "133"
    assert r.classification is not None and r.classification.reason == "expired"
    # Postfix-made text with no reply from the remote side, Status 4.4.2 (lost connection).
    blocks = (
        "Final-Recipient: rfc822; user@rcptdrop.test\nAction: failed\nStatus: 4.4.2\n"
        "Diagnostic-Code: X-Postfix; lost connection with 127.0.0.1[127.0.0.1] while\n"
        "    sending RCPT TO\n"
    )
    (r,) = classify_message(dsn(blocks)).recipients
    assert r.code == "133"


def test_status_and_diagnostic_disagreeing() -> None:
    # Status says "other" (5.0.0) while the remote's words say the mailbox is full.
    blocks = (
        "Final-Recipient: rfc822; k@x.test\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: smtp; 552 5.2.2 <k@x.test>... Mailbox full\n"
    )
    (r,) = classify_message(dsn(blocks)).recipients
    assert r.code == "552"
    # A final failure with a 4.x.x Status is 133 whatever the text: the MTA gave up retrying
    # (a Postfix banner refusal is deferred by Postfix itself, then expires).
    blocks = (
        "Final-Recipient: rfc822; user@banner554.test\nAction: failed\nStatus: 4.7.1\n"
        "Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host [127.0.0.1]\n"
        "    blocked using zen.spamhaus.org\n"
    )
    (r,) = classify_message(dsn(blocks)).recipients
    assert r.code == "133"
    assert r.classification is not None and r.classification.rule_id  # evidence kept
    # Status 5.4.1 (routing) while the text is Office 365's directory refusal: mailbox unknown.
    (r,) = report_of("lhost-postfix-30.eml").recipients
    assert (r.status, r.code) == ("5.4.1", "131")


def test_status_fills_in_when_the_text_has_no_enhanced_code() -> None:
    blocks = (
        "Final-Recipient: rfc822; k@x.test\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 Requested action not taken\n"
    )
    (r,) = classify_message(dsn(blocks)).recipients
    assert r.code == "131"


def test_qmail_text_bounce_two_recipients() -> None:
    report = report_of("lhost-qmail-02.eml")
    assert report.kind == "bounce"
    assert report.decoded_by == "text/qmail"
    assert [r.recipient for r in report.recipients] == [
        "userunknown@example.jp",
        "filtered@example.jp",
    ]
    first = report.recipients[0]
    assert "550 5.1.1" in first.diagnostic
    assert first.code == "131"
    assert first.classification is not None and first.classification.stage == "rcpt"


def test_exim_text_bounce_reads_stage_and_reply() -> None:
    report = report_of("lhost-exim-02.eml")
    assert [r.recipient for r in report.recipients] == [
        "kijitora@example.jp",
        "sabatora@example.jp",
    ]
    for r in report.recipients:
        assert "after RCPT TO" in r.diagnostic
        assert r.classification is not None and r.classification.stage == "rcpt"
    assert report.recipients[0].code == "131"


def test_exchange_and_office365_ndrs() -> None:
    (r,) = report_of("lhost-office365-05.eml").recipients
    assert r.recipient == "kijitora@example.jp"
    assert "5.1.8" in r.diagnostic or "Sender address rejected" in r.diagnostic
    assert r.code == "554"  # our sender was refused, not the mailbox
    text = (
        "From: System Administrator <postmaster@example.com>\nTo: shironeko@example.jp\n"
        "Subject: Undeliverable: Nyaan\n\n"
        "Your message did not reach some or all of the intended recipients.\n\n"
        "      Subject:\tNyaan\n      Sent:\t4/29/01 11:34:45 PM\n\n"
        "The following recipient(s) could not be reached:\n\n"
        "      kijitora@example.com on 4/29/01 11:34:45 PM\n"
        "            Recipient Not Found\n"
        "            MSEXCH:IMC:NEKO:KIJITORA:CAT\n"
    )
    (r,) = classify_message(text).recipients
    assert (r.recipient, r.code) == ("kijitora@example.com", "131")


def test_quoted_original_message_is_never_read() -> None:
    text = (
        "From: MAILER-DAEMON@mx.example.org\nTo: sender@example.org\nSubject: failure notice\n\n"
        "Hi. This is the qmail-send program at mx.example.org.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        "<real@example.jp>:\n"
        "192.0.2.153 does not like recipient.\n"
        "Remote host said: 552 5.2.2 <real@example.jp>... Mailbox full\n\n"
        "--- Below this line is a copy of the message.\n\n"
        "Return-Path: <sender@example.org>\nFrom: sender@example.org\n"
        "To: real@example.jp, quoted@example.net\nSubject: forwarded report\n\n"
        "<quoted@example.net>:\nRemote host said: 550 5.1.1 <quoted@example.net>... User unknown\n"
    )
    report = classify_message(text)
    assert [r.recipient for r in report.recipients] == ["real@example.jp"]
    assert report.recipients[0].code == "552"
    assert "User unknown" not in report.recipients[0].diagnostic


def test_forwarded_bounce_quoted_with_angle_brackets() -> None:
    (r,) = report_of("lhost-sendmail-14.eml").recipients
    assert (r.recipient, r.code) == ("kijitora@example.com", "131")


def test_amazon_ses_notification_json() -> None:
    report = report_of("lhost-amazonses-09.eml")
    (r,) = report.recipients
    assert (r.recipient, r.code, r.decoded_by) == (
        "bounce@simulator.amazonses.com",
        "131",
        "amazon-ses-notification",
    )


def test_arf_feedback_report_is_162_with_type_and_recipient() -> None:
    report = report_of("arf-01.eml")
    assert report.kind == "feedback"
    (r,) = report.recipients
    assert (r.kind, r.code, r.feedback_type) == ("feedback", "162", "abuse")
    assert r.recipient == "redacted@example.net"
    assert r.classification is not None and "Feedback-Type: abuse" in (r.classification.note or "")


def test_arf_not_spam_has_no_code() -> None:
    raw = (
        "From: fbl@isp.example\nTo: abuse@sender.example\nSubject: FW: report\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\n\n'
        "--F\nContent-Type: text/plain\n\nThis is a not-spam report.\n"
        "--F\nContent-Type: message/feedback-report\n\n"
        "Feedback-Type: not-spam\nUser-Agent: x/1\nVersion: 1\n"
        "Original-Rcpt-To: reader@isp.example\n"
        "--F--\n"
    )
    report = classify_message(raw)
    (r,) = report.recipients
    assert (r.kind, r.recipient, r.feedback_type, r.classification, r.code) == (
        "feedback",
        "reader@isp.example",
        "not-spam",
        None,
        "",
    )


def test_auto_reply_is_not_a_bounce_and_has_no_code() -> None:
    report = report_of("rfc3834-02.eml")
    assert report.kind == "auto_reply"
    assert not report.is_bounce
    (r,) = report.recipients
    assert (r.kind, r.classification, r.code) == ("auto_reply", None, "")
    header_only = (
        "From: Ana <ana@example.cl>\nTo: news@sender.example\nSubject: Re: Ofertas\n"
        "Auto-Submitted: auto-replied\n\nEstoy de vacaciones hasta el lunes.\n"
    )
    report = classify_message(header_only)
    assert report.kind == "auto_reply"
    assert "RFC 3834" in report.note


def test_list_unsubscribe_by_mail_is_163() -> None:
    report = report_of("arf-26.eml")
    assert report.kind == "unsubscribe"
    (r,) = report.recipients
    assert (r.recipient, r.code) == ("example@icloud.com", "163")
    plain = (
        "From: Reader <reader@example.org>\nTo: unsubscribe-4711@lists.sender.example\n"
        "Subject: unsubscribe\n\n"
    )
    (r,) = classify_message(plain).recipients
    assert (r.recipient, r.kind, r.code) == ("reader@example.org", "unsubscribe", "163")


def test_an_ordinary_message_is_unknown_without_recipients() -> None:
    report = classify_message(
        "From: a@example.org\nTo: b@example.org\nSubject: lunch\n\nSee you at noon.\n"
    )
    assert (report.kind, report.recipients) == ("unknown", ())


def test_message_object_and_str_inputs_agree() -> None:
    raw = (MAIL / "lhost-qmail-02.eml").read_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert classify_message(parsed).to_dict() == classify_message(raw).to_dict()
    assert classify_message(raw.decode("utf-8", "replace")).recipients[0].code == "131"


def test_to_dict_is_json_ready() -> None:
    import json

    data = report_of("rfc3464-35.eml").to_dict()
    text = json.dumps(data)
    assert '"kind": "bounce"' in text
    first = data["recipients"][0]
    assert set(first) >= {"recipient", "action", "status", "diagnostic", "code", "classification"}


@pytest.mark.parametrize("name", sorted(p.name for p in MAIL.glob("*.eml")))
def test_every_sample_is_recognised(name: str) -> None:
    report = report_of(name)
    assert report.kind != "unknown"
    assert report.recipients


OLD_POSTFIX = """From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender

This is the Postfix program at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

\t\t\tThe Postfix program

<a@example.jp>: host mx.example.jp[192.0.2.1] said: 550 5.1.1 <a@example.jp>:
    Recipient address rejected: User unknown in local recipient table (in reply
    to RCPT TO command)
<b@example.jp>: host mx.example.jp[192.0.2.1] said: 552 5.2.2 Mailbox full (in
    reply to RCPT TO command)
<c@example.jp>: connect to mx.example.jp[192.0.2.9]:25: Connection refused
"""

COURIER = """From: Courier mail server at mx.example.com <@>
To: sender@example.org
Subject: NOTICE: mail delivery status.

This is a delivery status notification from mx.example.com,
running the Courier mail server, version 1.0.

The original message was received on Thu, 29 Apr 2021 23:34:45 +0900
from localhost (localhost [127.0.0.1])

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<kijitora@example.jp>:
    mx.example.jp [192.0.2.1]:
>>> RCPT TO:<kijitora@example.jp>
<<< 550 5.1.1 <kijitora@example.jp>... User Unknown
"""

EXIM_DELAY = """From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: sender@example.org
Subject: Warning: message 1abcDE-000123-AB delayed 24 hours

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.example.org.

The address to which the message has not yet been delivered is:

  k@example.jp
    host mx.example.jp [192.0.2.1]
    Delay reason: SMTP error from remote mail server after RCPT TO:<k@example.jp>:
    451 4.7.1 Greylisting in action, please come back later

No action is required on your part.
"""

READ_RECEIPT = """From: reader@example.jp
To: sender@example.org
Subject: Read: Hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="X"

--X
Content-Type: text/plain

Your message was read on Thursday.
--X
Content-Type: message/disposition-notification

Final-Recipient: rfc822; reader@example.jp
Disposition: manual-action/MDN-sent-manually; displayed
--X--
"""


def test_old_postfix_text_bounce_one_result_per_recipient() -> None:
    report = classify_message(OLD_POSTFIX)
    assert report.decoded_by == "text/postfix"
    codes = {r.recipient: r.code for r in report.recipients}
    assert codes == {"a@example.jp": "131", "b@example.jp": "552", "c@example.jp": "133"}
    first = report.recipients[0]
    assert first.classification is not None and first.classification.stage == "rcpt"


def test_courier_transcript_is_read_and_intro_is_not_a_marker() -> None:
    report = classify_message(COURIER)
    assert report.decoded_by == "text/courier"
    (r,) = report.recipients
    assert (r.recipient, r.code) == ("kijitora@example.jp", "131")
    assert r.diagnostic.startswith("<<< 550 5.1.1")


def test_exim_delay_warning_is_a_delay() -> None:
    report = classify_message(EXIM_DELAY)
    assert (report.kind, report.is_bounce) == ("delay", True)
    (r,) = report.recipients
    assert (r.recipient, r.action, r.kind, r.code) == ("k@example.jp", "delayed", "delay", "202")


def test_read_receipt_is_not_a_bounce() -> None:
    report = classify_message(READ_RECEIPT)
    assert report.kind == "unknown"
    assert report.recipients == ()


def _sns_mail(payload: str) -> str:
    return (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\nTo: ops@sender.example\n"
        f"Subject: AWS Notification Message\n\n{payload}\n--\nIf you wish to stop receiving "
        "notifications from this topic, please click or visit the link below.\n"
    )


def test_amazon_ses_complaint_and_delivery_notifications() -> None:
    # Field names as documented in "Amazon SNS notification contents for Amazon SES".
    complaint = _sns_mail(
        '{"notificationType":"Complaint","complaint":{"complainedRecipients":'
        '[{"emailAddress":"reader@example.com"}],"complaintFeedbackType":"abuse"},'
        '"mail":{"source":"news@sender.example"}}'
    )
    report = classify_message(complaint)
    (r,) = report.recipients
    assert (report.kind, r.recipient, r.code) == ("feedback", "reader@example.com", "162")
    delivery = _sns_mail(
        '{"notificationType":"Delivery","delivery":{"recipients":["reader@example.com"],'
        '"smtpResponse":"250 2.6.0 Message received","reportingMTA":"a8-70.smtp-out.example"},'
        '"mail":{"source":"news@sender.example"}}'
    )
    (r,) = classify_message(delivery).recipients
    assert (r.kind, r.code) == ("delivery", "250")
    # The reporting MTA is read as a typed field ("dsn; host") for every notification type.
    typed = delivery.replace('"a8-70.smtp-out.example"', '"dsn; a8-70.smtp-out.example"')
    (r,) = classify_message(typed).recipients
    assert r.reporting_mta == "a8-70.smtp-out.example"


def test_a_bounce_like_subject_does_not_hide_an_auto_reply() -> None:
    reply = (
        "From: Andrea <andrea@example.it>\nTo: news@sender.example\n"
        "Subject: Risposta automatica: Re: offer rejected\nAuto-Submitted: auto-replied\n\n"
        "Sono in ferie fino a lunedì.\n"
    )
    report = classify_message(reply)
    assert report.kind == "auto_reply"
    assert [r.code for r in report.recipients] == [""]


def test_a_bounce_naming_no_recipient_is_unknown_not_guessed() -> None:
    text = (
        "From: MAILER-DAEMON@mx.example.org\nTo: sender@example.org\n"
        "Subject: Undelivered Mail Returned to Sender\n\n"
        "Your message could not be delivered. Contact your administrator.\n\n"
        "--- Below this line is a copy of the message.\n\n"
        "Return-Path: <sender@example.org>\nFrom: sender@example.org\n"
        "To: one@example.jp, two@example.jp\nSubject: hello\n\nhi\n"
    )
    report = classify_message(text)
    assert (report.kind, report.recipients) == ("unknown", ())
    assert "no recipient" in report.note
    single = text.replace("To: one@example.jp, two@example.jp", "To: one@example.jp")
    (r,) = classify_message(single).recipients
    assert (r.recipient, r.kind, r.code) == ("one@example.jp", "bounce", "133")


def test_sendmail_list_and_transcript_both_count() -> None:
    text = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\nTo: sender@example.org\n"
        "Subject: Returned mail: see transcript for details\n\n"
        "The original message was received at Thu, 29 Apr 2021 23:34:45 +0900\n"
        "from localhost [127.0.0.1]\n\n"
        "   ----- The following addresses had permanent fatal errors -----\n"
        "<a@example.jp>\n    (reason: 550 5.1.1 <a@example.jp>... User unknown)\n"
        "<b@nowhere.example>\n    (reason: 550 Host unknown)\n\n"
        "   ----- Transcript of session follows -----\n"
        "... while talking to mx.example.jp.:\n>>> RCPT To:<a@example.jp>\n"
        "<<< 550 5.1.1 <a@example.jp>... User unknown\n"
        "550 5.1.1 <a@example.jp>... User unknown\n"
    )
    found = by_address(classify_message(text))
    assert set(found) == {"a@example.jp", "b@nowhere.example"}
    assert found["a@example.jp"].code == "131"
    assert found["a@example.jp"].classification is not None
    assert found["a@example.jp"].classification.stage == "rcpt"
    assert "Host unknown" in found["b@nowhere.example"].diagnostic


def test_cutting_the_returned_original_twice_cuts_nothing_more() -> None:
    """The reader cuts a bounce's text once and hands the result on (decode_text_bounce
    with cut=False): cutting it again would give the same text, for every bounce here."""
    from classifier.mail.parts import parse_message, text_parts
    from classifier.mail.text_bounces import cut_original, decode_text_bounce

    root = Path(__file__).resolve().parent.parent / "fixtures"
    texts = 0
    for folder in ("mail", "heldout-mail", "sisimai/emails"):
        for path in sorted((root / folder).glob("*.eml")):
            for part in text_parts(parse_message(path.read_bytes())):
                if not part.text:
                    continue
                report = cut_original(part.text)
                assert cut_original(report) == report, path.name
                assert decode_text_bounce(report, cut=False) == decode_text_bounce(part.text)
                texts += 1
    assert texts > 500


def test_qmail_retrying_a_refused_helo_name_is_the_remotes_refusal_not_an_expiry() -> None:
    # qmail-remote retries any refusal of its HELO name, then qmail-send gives up; the remote
    # said 501 at HELO (Sisimai set-of-emails lhost-qmail-04.eml).
    text = (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: s@example.org\r\n"
        "Subject: failure notice\r\n\r\n"
        "Hi. This is the qmail-send program at mx.example.org.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        "<kijitora@example.net>:\r\n"
        "Connected to 192.0.2.112 but my name was rejected.\r\n"
        "Remote host said: {reply}\r\n"
        "I'm not going to try again; this message has been in the queue too long.\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        "From: s@example.org\r\nTo: kijitora@example.net\r\nSubject: x\r\n\r\nx\r\n"
    )
    refused = classify_message(text.format(reply="501 5.0.0 Invalid domain name"))
    (only,) = refused.recipients
    assert (only.recipient, only.code) == ("kijitora@example.net", "554")
    assert only.classification is not None and only.classification.stage == "helo"
    deferred = classify_message(text.format(reply="451 4.3.0 Try again later"))
    assert [r.code for r in deferred.recipients] == ["133"]


def _aol_bounce(body: str, sender: str = "MAILER-DAEMON@aol.com") -> str:
    return (
        f"From: Mail Delivery Subsystem <{sender}>\r\nTo: <list-bounces@lists.example.org>\r\n"
        "Subject: Mail Delivery Problem\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain\r\n\r\n" + body
    )


def test_recipients_named_without_domain_are_at_the_reporting_daemons_domain() -> None:
    # AOL lists its members by screen name only (as in the AOL bounce of mySociety
    # commonlib's HandleMail.t): the mailbox is the name at the daemon's domain.
    body = (
        "\r\nYour mail to the following recipients could not be delivered because they are "
        "not accepting mail from news@lists.example.org:\r\n\tscreenname\r\n\tOther.Name\r\n\r\n"
    )
    report = classify_message(_aol_bounce(body))
    assert [(r.recipient, r.code) for r in report.recipients] == [
        ("screenname@aol.com", "554"),
        ("other.name@aol.com", "554"),
    ]
    # Not from a mail system's own address: nothing to tie the names to.
    assert not classify_message(_aol_bounce(body, sender="someone@example.com")).recipients
    # A display name followed by its explanation is not a list of mailbox names.
    exchange = (
        "Delivery has failed to these recipients or groups:\r\n\r\nKijitora\r\n"
        "The e-mail address you entered couldn't be found.\r\n"
    )
    assert not classify_message(_aol_bounce(exchange)).recipients


def _text_bounce(body: str) -> str:
    return (
        "From: Mail Delivery System <postmaster@mx.example.org>\r\nTo: news@example.com\r\n"
        "Subject: Undeliverable mail\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
        + body
    )


def test_a_reason_in_parentheses_after_the_address_is_its_diagnostic() -> None:
    # GroupWise/Novell: "a@b (user not found)" (Mail-DeliveryStatus-BounceParser's samples).
    body = (
        "The message that you sent was undeliverable to the following:\r\n\r\n"
        "\tkijitora@example.net (user not found)\r\n"
    )
    (only,) = classify_message(_text_bounce(body)).recipients
    assert (only.recipient, only.code) == ("kijitora@example.net", "131")
    # An alias note in parentheses is not a reason.
    body = "Delivery failed for:\r\n\r\nkijitora@example.net (generated from neko@example.org)\r\n"
    (only,) = classify_message(_text_bounce(body)).recipients
    assert "generated from" not in only.diagnostic


def test_an_original_quoted_with_angle_brackets_is_not_read_as_the_report() -> None:
    # The returned original quoted like a reply (">Received: ... for <a@b>"): its headers are
    # cut, and the report's own sentence names the recipient.
    body = (
        "The address to which your message was addressed, kijitora@example.gov, did not "
        "exactly match an email address here.\r\n\r\n"
        "Original message as received is as follows:\r\n"
        "====================\r\n"
        ">Return-Path: <list-admin@example.org>\r\n"
        ">Received: from mx.example.org by mail.example.gov for <other@example.gov>; "
        "Sun, 27 May 2001 14:21:25 -0700\r\n"
        ">Received: from localhost by mx.example.org for <other@example.gov>\r\n"
        ">Subject: news\r\n>\r\n>text\r\n"
    )
    (only,) = classify_message(_text_bounce(body)).recipients
    assert only.recipient == "kijitora@example.gov"
    assert "Received" not in only.diagnostic


def test_a_version_number_in_the_quoted_subject_is_no_status_code() -> None:
    # Exchange 5.5 quotes the subject ("RELEASED Mailman 2.0.12") above the recipient list;
    # the recipient's own lines are its diagnostic.
    body = (
        "Your message\r\n\r\n  Subject: RELEASED Mailman 2.0.12\r\n\r\n"
        "did not reach the following recipient(s):\r\n\r\n"
        "kijitora@example.com on Thu, 11 Jul 2002 16:54:54 -0300\r\n"
        "    The recipient name is not recognized\r\n"
    )
    (only,) = classify_message(_text_bounce(body)).recipients
    assert "2.0.12" not in only.diagnostic
    assert only.code == "131"


def test_sendmail_reason_the_remote_gave_wins_over_sendmails_own_summary_line() -> None:
    # Sendmail restates a 553 to DATA as "550 5.1.1 a@b... User unknown"; the "(reason: ...)"
    # is the remote's reply, which the transcript shows (Mail-DeliveryStatus-BounceParser's
    # warning-9 sample, through cluster5.eu.messagelabs.com).
    body = (
        "   ----- The following addresses had permanent fatal errors -----\r\n"
        "kijitora@example.com\r\n"
        "    (reason: 553 Sender Policy Framework (SPF) fail)\r\n\r\n"
        "   ----- Transcript of session follows -----\r\n"
        "... while talking to mx.example.com.:\r\n>>> DATA\r\n"
        "<<< 553 Sender Policy Framework (SPF) fail\r\n"
        "550 5.1.1 kijitora@example.com... User unknown\r\n"
        "<<< 503 RCPT first (#5.5.1)\r\n"
    )
    (only,) = classify_message(_text_bounce(body)).recipients
    assert only.code == "554"
    assert only.diagnostic.startswith("553 Sender Policy Framework")
    # Without the remote saying it, the note is Sendmail's short form: its own line says more.
    dns = (
        "   ----- The following addresses had permanent fatal errors -----\r\n"
        "<kijitora@example.org>\r\n    (reason: 550 Host unknown)\r\n\r\n"
        "   ----- Transcript of session follows -----\r\n"
        "550 5.1.2 <kijitora@example.org>... Host unknown (Name server: mx.example.org: "
        "no data known)\r\n"
    )
    (only,) = classify_message(_text_bounce(dns)).recipients
    assert "no data known" in only.diagnostic


def _jmrp(inner_headers: str, outer_type: str = "multipart/mixed") -> str:
    return (
        "From: staff@jmrp.example.com\r\nTo: fbl@example.org\r\n"
        "Subject: complaint about message from 192.0.2.1\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: {outer_type}; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
        + inner_headers
        + "From: news@example.org\r\nSubject: Offers\r\n\r\nhello\r\n--B--\r\n"
    )


def test_microsoft_jmrp_complaint_without_feedback_report_part_is_162() -> None:
    # JMRP returns the complained-of message with X-HmXmrOriginalRecipient and no
    # message/feedback-report part (PHP-Bounce-Handler's fbl-hotmail sample has this shape).
    report = classify_message(
        _jmrp("X-HmXmrOriginalRecipient: kijitora@example.com\r\nTo: kijitora@example.com\r\n")
    )
    assert report.kind == "feedback"
    assert [(r.recipient, r.code) for r in report.recipients] == [("kijitora@example.com", "162")]
    # The address the sender used (its own X-RCPT-TO) comes first, Microsoft's beside it.
    (only,) = classify_message(
        _jmrp(
            "X-HmXmrOriginalRecipient: alias@example.com\r\n"
            "X-RCPT-TO: <kijitora@example.com>\r\nTo: kijitora@example.com\r\n"
        )
    ).recipients
    assert (only.recipient, only.final_recipient) == ("kijitora@example.com", "alias@example.com")
