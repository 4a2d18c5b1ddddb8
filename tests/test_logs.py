"""Log-line parsers: real lines of each MTA, read into LogRecords (or rightly ignored)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.logreplay import classify_record
from classifier.logs import (
    BOUNCED,
    DEFERRED,
    DONE,
    EXPIRED,
    SENT,
    LineKind,
    LineParser,
    LogRecord,
    MalformedLineError,
    parse_csv_row,
    parse_exim,
    parse_json,
    parse_kumomta,
    parse_postfix,
    parse_powermta,
    parse_sendmail,
    powermta_header,
)

from .conftest import FIXTURES

POSTFIX_LOG = FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log"
POSTFIX_LINES = POSTFIX_LOG.read_text(encoding="utf-8").splitlines()


def _line(fragment: str) -> str:
    """The line of the Postfix 3.7.11 fixture log that contains ``fragment``."""
    for line in POSTFIX_LINES:
        if fragment in line:
            return line
    raise AssertionError(f"{fragment!r} not in {POSTFIX_LOG}")


# --- Postfix (lines from fixtures/postfix/postfix-3.7.11-fakemx.log, real Postfix 3.7.11) ----


def test_postfix_bounced_line_keeps_the_text_in_parentheses() -> None:
    record = parse_postfix(_line("to=<user@rcpt550ml.test>"))
    assert record is not None
    assert record.mta == "postfix"
    assert record.status == BOUNCED
    assert record.time == "Nov 26 11:31:27"
    assert record.queue_id == "E63BF162094"
    assert record.recipients == ("user@rcpt550ml.test",)
    assert record.dsn == "5.1.1"
    assert record.reply.startswith("host 127.0.0.1[127.0.0.1] said: 550-5.1.1 The email account")
    assert record.reply.endswith("(in reply to RCPT TO command)")


def test_postfix_deferred_greeting_keeps_postfix_dsn_apart_from_the_remote_words() -> None:
    # Postfix logs a refused 554 banner as dsn=4.7.1, deferred: its own reading.
    record = parse_postfix(_line("to=<user@banner554.test>"))
    assert record is not None
    assert record.status == DEFERRED
    assert record.dsn == "4.7.1"
    assert "refused to talk to me: 554 5.7.1 Service unavailable" in record.reply


def test_postfix_sent_connection_refused_and_lost_connection_lines() -> None:
    sent = parse_postfix(_line("to=<user@ok.test>"))
    refused = parse_postfix(_line("to=<user@refused.test>"))
    lost = parse_postfix(_line("to=<user@rcptdrop.test>"))
    assert sent is not None and sent.status == SENT
    assert sent.reply == "250 2.0.0 Ok: queued as FAKE1"
    assert refused is not None and refused.status == DEFERRED
    assert refused.reply == "connect to 127.0.0.1[127.0.0.1]:2619: Connection refused"
    assert lost is not None
    assert lost.reply == "lost connection with 127.0.0.1[127.0.0.1] while sending RCPT TO"


def test_postfix_qmgr_expired_has_no_recipient_and_removed_is_done() -> None:
    expired = parse_postfix(
        "Nov 26 11:31:27 mta postfix/qmgr[31872]: EC4A116207D: from=<root@localhost>, "
        "status=expired, returned to sender"
    )
    assert expired == LogRecord(
        "postfix", EXPIRED, "Nov 26 11:31:27", "EC4A116207D", (), "returned to sender"
    )
    done = parse_postfix("Nov 26 11:31:27 mta postfix/qmgr[31872]: EC4A116207D: removed")
    assert done is not None and done.status == DONE and done.queue_id == "EC4A116207D"


def test_postfix_error_agent_delivery_temporarily_suspended() -> None:
    # postfix/error form of a deferral, as in the Sekoia.io Postfix integration samples.
    line = (
        "Sep 11 10:47:30 mx postfix/error[2211]: 2298F5F619: to=<admin@corp.com>, relay=none, "
        "delay=89758, delays=89758/0.02/0/0, dsn=4.4.1, status=deferred (delivery temporarily "
        "suspended: connect to mail.corp.com[1.1.1.1]:25: Connection timed out)"
    )
    record = parse_postfix(line)
    assert record is not None
    assert record.status == DEFERRED
    assert record.reply.startswith("delivery temporarily suspended: connect to")


def test_postfix_rfc3339_timestamps_and_multi_instance_names() -> None:
    line = (
        "2026-11-26T11:31:27.123456+00:00 mta postfix-out/smtp[31892]: D5BD116207D: "
        "to=<user@example.com>, relay=mx[192.0.2.1]:25, delay=0.02, dsn=2.0.0, status=sent (250 ok)"
    )
    record = parse_postfix(line)
    assert record is not None
    assert record.time == "2026-11-26T11:31:27.123456+00:00"
    assert record.status == SENT


def test_postfix_lines_that_are_not_deliveries() -> None:
    for fragment in (
        "postfix/pickup",
        "postfix/cleanup",
        "nrcpt=1 (queue active)",
        "sender non-delivery notification",
        "daemon started",
    ):
        assert parse_postfix(_line(fragment)) is None
    assert (
        parse_postfix(
            "Nov 26 11:31:28 mta postfix/smtp[31896]: connect to "
            "127.0.0.1[127.0.0.1]:2619: Connection refused"
        )
        is None
    )


def test_postfix_status_line_without_queue_id_or_recipient_is_malformed() -> None:
    with pytest.raises(MalformedLineError):
        parse_postfix(
            "Nov 26 11:31:28 mta postfix/smtp[1]: to=<a@b>, dsn=5.1.1, status=bounced (x)"
        )
    with pytest.raises(MalformedLineError):
        parse_postfix("Nov 26 11:31:28 mta postfix/smtp[1]: 0C64F162099: dsn=5.1.1, status=bounced")


# --- Exim (examples of the Exim specification, chapter "Log files", joined onto one line) ----


def test_exim_remote_failure_drops_the_host_between_command_and_reply() -> None:
    line = (
        "2002-07-11 07:14:17 17SXDU-000189-00 ** ace400@pb.example R=dnslookup T=remote_smtp: "
        "SMTP error from remote mailer after pipelined RCPT TO:<ace400@pb.example>: host "
        "pbmail3.py.example [192.168.63.111]: 553 5.3.0 <ace400@pb.example>...Addressee unknown"
    )
    record = parse_exim(line)
    assert record is not None
    assert record.mta == "exim"
    assert record.status == BOUNCED
    assert record.time == "2002-07-11 07:14:17"
    assert record.queue_id == "17SXDU-000189-00"
    assert record.recipients == ("ace400@pb.example",)
    assert record.reply == (
        "SMTP error from remote mailer after pipelined RCPT TO:<ace400@pb.example>: "
        "553 5.3.0 <ace400@pb.example>...Addressee unknown"
    )


def test_exim_routing_failure_deferral_delivery_and_completion() -> None:
    routing = parse_exim(
        "1995-12-19 16:20:23 0tRiQz-0002Q5-00 ** jim@trek99.example <jim@trek99.example>: "
        "unknown mail domain"
    )
    assert routing is not None and routing.reply == "unknown mail domain"
    deferred = parse_exim(
        "2002-12-19 16:20:23 16aiQz-0002Q5-00 == marvin@endrest.example R=dnslookup T=smtp "
        "defer (146): Connection refused"
    )
    assert deferred is not None
    assert (deferred.status, deferred.reply) == (DEFERRED, "Connection refused")
    sent = parse_exim(
        "2002-10-31 09:00:10 16ZCW1-0005MB-00 => monk@holistic.fict.example R=dnslookup "
        "T=remote_smtp H=holistic.fict.example [192.168.234.234]"
    )
    assert sent is not None and sent.status == SENT
    assert sent.recipients == ("monk@holistic.fict.example",)
    done = parse_exim("2002-10-31 09:00:11 16ZCW1-0005MB-00 Completed")
    assert done is not None and done.status == DONE
    arrival = parse_exim(
        "2002-10-31 08:57:53 16ZCW1-0005MB-00 <= kryten@dwarf.fict.example "
        "H=mailer.fict.example [192.168.123.123] U=exim P=smtp S=5678 id=<incoming message id>"
    )
    assert arrival is None


def test_exim_newer_host_field_confirmation_and_retry_lines() -> None:
    # Newer Exims put the host in H= before the message (as seen in public Exim logs).
    failed = parse_exim(
        "2026-09-16 12:03:40 1x6mUB-00000006Pya-498Q ** bad@gmail.com R=lookuphost "
        "T=remote_smtp H=gmail-smtp-in.l.google.com [1.2.3.4]: SMTP error from remote mail "
        "server after RCPT TO:<bad@gmail.com>: 550-5.1.1 The email account that you tried to "
        "reach does not exist. - gsmtp"
    )
    assert failed is not None
    assert failed.reply.startswith("SMTP error from remote mail server after RCPT TO:<bad@")
    confirmed = parse_exim(
        "2012-02-13 14:39:57 1RwtJY-0009RI-E4 => eqkhojhkgag@rambler.ru R=dnslookup "
        'T=remote_smtp H=imx1.rambler.ru [81.19.66.235] C="250 2.0.0 Ok: queued as 8512E1767A67"'
    )
    assert confirmed is not None
    assert confirmed.reply == "250 2.0.0 Ok: queued as 8512E1767A67"
    timeout = parse_exim(
        "2012-02-13 14:39:22 1RookS-000Pg8-VO ** fwxvparobkymnbyemevz@london.com: "
        "retry timeout exceeded"
    )
    assert timeout is not None and timeout.status == EXPIRED
    assert timeout.recipients == ("fwxvparobkymnbyemevz@london.com",)
    not_tried = parse_exim(
        "2014-08-05 07:44:14 1XEPof-0001p2-Oi == www-data@108 R=local_user T=mail_spool "
        "defer (-52): retry time not reached"
    )
    assert not_tried is None


def test_exim_pid_and_timezone_selectors_before_the_message_id() -> None:
    # log_selector = +pid adds "[pid]"; log_timezone adds the zone after the time.
    line = (
        "2002-12-19 16:20:23 +0100 [4711] 16aiQz-0002Q5-00 == marvin@endrest.example "
        "R=dnslookup T=smtp defer (146): Connection refused"
    )
    record = parse_exim(line)
    assert record is not None
    assert (record.queue_id, record.status, record.reply) == (
        "16aiQz-0002Q5-00",
        DEFERRED,
        "Connection refused",
    )


# --- Sendmail (lines quoted in public mailing-list threads; IBM AIX docs "Mail logging") -----


def test_sendmail_bounce_keeps_dsn_beside_sendmail_words() -> None:
    line = (
        "Sep 14 11:59:34 ubuntu-server sm-mta[7425]: l8E3xVpO007423: to=<myemail@whatever.com>, "
        "ctladdr=<nobody@ubuntu-server> (65534/65534), delay=00:00:03, xdelay=00:00:03, "
        "mailer=esmtp, pri=120344, relay=whatever.com. [74.200.79.210], dsn=5.1.1, "
        "stat=User unknown"
    )
    record = parse_sendmail(line)
    assert record is not None
    assert record.mta == "sendmail"
    assert record.status == BOUNCED
    assert record.queue_id == "l8E3xVpO007423"
    assert record.recipients == ("myemail@whatever.com",)
    assert record.dsn == "5.1.1"
    # Sendmail's own words and its status, side by side: nothing rebuilt into text.
    assert (record.reply, record.reply_status) == ("User unknown", "5.1.1")
    result = classify_record(record)
    assert (result.code, result.enhanced) == ("131", None)  # the words decided
    unknown_words = parse_sendmail(line.replace("stat=User unknown", "stat=zz qq"))
    assert unknown_words is not None
    assert classify_record(unknown_words).code == "131"  # dsn=5.1.1 filled in


def test_sendmail_deferral_with_remote_reply_and_sent_with_text() -> None:
    deferred = parse_sendmail(
        "Apr 20 16:35:51 mkalimu sm-mta[6555]: n3KFZnc6006553: to=<xxx@yyy.com>, "
        "ctladdr=<www-data@mkalimu> (33/33), delay=00:00:02, xdelay=00:00:01, mailer=esmtp, "
        "pri=120314, relay=mx00.1and1.co.uk. [212.227.15.169], dsn=4.0.0, "
        "stat=Deferred: 421 unable to verify sender domain"
    )
    assert deferred is not None and deferred.status == DEFERRED
    assert deferred.reply == "Deferred: 421 unable to verify sender domain"
    assert deferred.reply_status == "4.0.0"
    sent = parse_sendmail(
        "Sep 14 11:59:35 ubuntu-server sm-mta[7425]: l8E3xZpO007425: to=<nobody@ubuntu-server>,"
        " delay=00:00:00, xdelay=00:00:00, mailer=local, pri=30000, dsn=2.0.0, "
        "stat=Sent (HAA03001 Message accepted for delivery)"
    )
    assert sent is not None and sent.status == SENT
    assert sent.reply == "HAA03001 Message accepted for delivery"


def test_sendmail_several_recipients_and_lines_that_are_not_recipient_records() -> None:
    # "to: a comma-separated list of the recipients passed to this mailer" (IBM AIX docs).
    record = parse_sendmail(
        "Apr  2 00:15:26 mta001 sendmail[32302]: u31FFPtp032300: "
        "to=<sent3@example2.com>,<sent4@example2.com>, delay=00:00:00, xdelay=00:00:00, "
        "mailer=esmtp, pri=245938, relay=[93.184.216.34] [93.184.216.34], dsn=2.0.0, "
        "stat=Sent (ok:  Message 40279895 accepted)"
    )
    assert record is not None
    assert record.recipients == ("sent3@example2.com", "sent4@example2.com")
    dsn_notice = (
        "Sep 14 11:59:35 ubuntu-server sm-mta[7425]: l8E3xVpO007423: l8E3xZpO007425: "
        "DSN: User unknown"
    )
    assert parse_sendmail(dsn_notice) is None
    queued = (
        "Sep 14 11:59:35 host sendmail[1]: l8E3xVpO007423: to=<a@b.example>, delay=00:00:00, "
        "mailer=esmtp, pri=1, stat=queued"
    )
    assert parse_sendmail(queued) is None


# --- PowerMTA accounting CSV (PowerMTA User's Guide, "Accounting records") -------------------

PMTA_HEADER = (
    "type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,"
    "srcType,srcMta,dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,jobId,"
    "envId,queue,vmtaPool"
)


def test_powermta_guide_example_with_its_own_header() -> None:
    # The guide's example file: records d and b in one file, unused columns left empty.
    header = powermta_header("type,timeLogged,orig,rcpt,dlvSourceIp,bounceCat")
    assert header == ("type", "timeLogged", "orig", "rcpt", "dlvSourceIp", "bounceCat")
    delivered = parse_powermta("d,1178807903,orig@port25.com,user1@domain.com,10.0.0.1,", header)
    bounced = parse_powermta(
        "b,1178807915,orig@port25.com,user3@domain.com,,policy-related", header
    )
    assert delivered is not None and delivered.status == SENT
    assert delivered.recipients == ("user1@domain.com",)
    assert delivered.time == "1178807903"
    assert bounced is not None and bounced.status == BOUNCED
    assert bounced.category == "policy-related"


def test_powermta_full_record_with_quoted_diagnostic() -> None:
    header = powermta_header(PMTA_HEADER)
    assert header is not None
    row = (
        "b,2026-09-21 12:00:01+0000,2026-09-21 11:59:00+0000,b@em.example.com,u1@example.org,,"
        'failed,5.1.1 (bad destination mailbox address),"smtp;550 5.1.1 <u1@example.org>: '
        'Recipient address rejected: User unknown, sorry",mx.example.org,bad-mailbox,smtp,,smtp,'
        "192.0.2.10,198.51.100.1,1,1234,pool-a,job42,env-7,example.org/pool-a,pool-a"
    )
    record = parse_powermta(row, header)
    assert record is not None
    assert record.mta == "powermta"
    assert record.status == BOUNCED
    assert record.dsn == "5.1.1"
    assert record.reply.startswith("smtp;550 5.1.1 <u1@example.org>: Recipient address rejected")
    assert record.reply.endswith("User unknown, sorry")
    assert record.queue_id == "env-7"
    assert record.category == "bad-mailbox"
    transient = parse_powermta("t," + row[2:], header)
    assert transient is not None and transient.status == DEFERRED
    expired = parse_powermta(row.replace("bad-mailbox", "message-expired"), header)
    assert expired is not None and expired.status == EXPIRED
    received = parse_powermta("r,2026-09-21 12:00:01+0000,,b@em.example.com,u1@example.org", header)
    assert received is None


# --- KumoMTA (docs.kumomta.com, reference "Log Record") --------------------------------------

KUMO_DELIVERY = {
    "type": "Delivery",
    "id": "1d98076abbbc11ed940250ebf67f93bd",
    "sender": "user@sender.example.com",
    "recipient": "user@recipient.example.com",
    "queue": "campaign:tenant@domain",
    "site": "source2->(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com.",
    "size": 1047,
    "response": {
        "code": 250,
        "enhanced_code": {"class": 2, "subject": 0, "detail": 0},
        "content": "OK ids=8a5475ccbbc611eda12250ebf67f93bd",
        "command": ".",
    },
    "peer_address": {"name": "gmail-smtp-in.l.google.com.", "addr": "142.251.2.27"},
    "timestamp": 1678069691,
    "created": 1678069691,
    "num_attempts": 0,
    "bounce_classification": "Uncategorized",
    "egress_pool": "pool0",
    "egress_source": "source2",
}


def _kumo(**changes: object) -> str:
    return json.dumps({**KUMO_DELIVERY, **changes})


def test_kumomta_delivery_record() -> None:
    record = parse_kumomta(_kumo())
    assert record is not None
    assert record.mta == "kumomta"
    assert record.status == SENT
    assert record.queue_id == "1d98076abbbc11ed940250ebf67f93bd"
    assert record.recipients == ("user@recipient.example.com",)
    assert record.reply == "250 2.0.0 OK ids=8a5475ccbbc611eda12250ebf67f93bd"
    assert record.stage == "end_of_data"
    assert record.time == "1678069691"
    assert record.sender == "user@sender.example.com"  # on the record itself
    assert parse_kumomta(_kumo(sender=None)).sender == ""  # type: ignore[union-attr]


def test_kumomta_bounce_transient_expiration_and_non_delivery_records() -> None:
    gmail = (
        "The email account that you tried to reach does not exist. Please try double-checking "
        "the recipient's email address for typos or unnecessary spaces."
    )
    response = {
        "code": 550,
        "enhanced_code": {"class": 5, "subject": 1, "detail": 1},
        "content": gmail,
        "command": "RCPT TO",
    }
    bounce = parse_kumomta(_kumo(type="Bounce", response=response))
    assert bounce is not None
    assert (bounce.status, bounce.stage, bounce.dsn) == (BOUNCED, "rcpt", "5.1.1")
    assert bounce.reply == f"550 5.1.1 {gmail}"
    transient = parse_kumomta(_kumo(type="TransientFailure", response={**response, "code": 451}))
    assert transient is not None and transient.status == DEFERRED
    expiration = parse_kumomta(_kumo(type="Expiration"))
    assert expiration is not None and expiration.status == EXPIRED
    for kind in ("Reception", "Feedback", "Rejection", "Delay"):
        assert parse_kumomta(_kumo(type=kind)) is None


def test_kumomta_record_without_recipient_is_malformed() -> None:
    with pytest.raises(MalformedLineError):
        parse_kumomta(_kumo(type="Bounce", recipient=""))


# --- generic exports -------------------------------------------------------------------------


def test_generic_json_with_nested_field_and_usual_names() -> None:
    line = json.dumps(
        {
            "email": "a@example.org",
            "event": "bounce",
            "queue_id": "Q1",
            "ts": "2026-11-26",
            "smtp": {"reply": "550 5.1.1 user unknown"},
        }
    )
    record = parse_json(line, "smtp.reply")
    assert record == LogRecord(
        "json", BOUNCED, "2026-11-26", "Q1", ("a@example.org",), "550 5.1.1 user unknown"
    )
    with pytest.raises(MalformedLineError):
        parse_json(line, "diagnostic")
    assert parse_json("not json", "smtp.reply") is None


def test_generic_csv_row_with_status_field() -> None:
    header = ("when", "to", "result", "diag")
    record = parse_csv_row(
        't1,a@example.org,soft,"452 4.2.2 mailbox full, try later"',
        header,
        "diag",
        status_field="result",
    )
    assert record is not None
    assert (record.status, record.reply) == (DEFERRED, "452 4.2.2 mailbox full, try later")
    assert record.recipients == ("a@example.org",)


# --- LineParser: one parser for mixed input ---------------------------------------------------


def test_line_parser_kinds_over_the_fixture_reconcile() -> None:
    parser = LineParser()
    kinds: dict[str, int] = {}
    for line in POSTFIX_LINES:
        kind, _ = parser.parse(line)
        kinds[kind] = kinds.get(kind, 0) + 1
    assert sum(kinds.values()) == len(POSTFIX_LINES) == 203
    # 31 smtp/local delivery lines + 11 qmgr expired lines; the rest is not a delivery.
    assert kinds == {LineKind.DELIVERY: 50, LineKind.SKIPPED: 153}


def test_line_parser_mixed_formats_garbage_and_malformed() -> None:
    parser = LineParser()
    assert parser.parse(_line("to=<user@ok.test>"))[0] == LineKind.DELIVERY
    assert parser.parse("2002-10-31 09:00:11 16ZCW1-0005MB-00 Completed")[0] == LineKind.SKIPPED
    assert parser.parse(_kumo())[0] == LineKind.DELIVERY
    assert parser.parse("\x00\x01 garbage ###")[0] == LineKind.UNRECOGNISED
    assert parser.parse('{"no": "kumo"}')[0] == LineKind.UNRECOGNISED
    assert parser.parse("")[0] == LineKind.SKIPPED
    broken = "Nov 26 11:31:28 mta postfix/smtp[1]: 0C64F162099: dsn=5.1.1, status=bounced (x"
    assert parser.parse(broken) == (LineKind.MALFORMED, None)


def test_line_parser_reads_csv_through_the_header_and_forgets_it_on_reset() -> None:
    parser = LineParser()
    assert parser.parse(PMTA_HEADER, first=True) == (LineKind.SKIPPED, None)
    kind, record = parser.parse(
        "d,t,t,o@x.example,r@y.example,,delivered,2.0.0 (success),smtp;250 ok"
    )
    assert kind == LineKind.DELIVERY and record is not None and record.mta == "powermta"
    parser.reset()
    assert parser.parse("d,t,t,o@x.example,r@y.example")[0] == LineKind.UNRECOGNISED
    generic = LineParser("csv", field="diag")
    assert generic.parse("to,diag", first=True)[0] == LineKind.SKIPPED
    assert generic.parse("a@example.org,550 5.1.1 no such user")[0] == LineKind.DELIVERY


def test_line_parser_rejects_unknown_format_and_missing_field() -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        LineParser("qmail")
    with pytest.raises(ValueError, match="reply field"):
        LineParser("json")


def test_line_parser_generic_json_with_a_type_key_is_not_taken_for_kumomta() -> None:
    parser = LineParser(field="reason")
    line = json.dumps({"type": "bounce", "recipient": "a@example.org", "reason": "550 5.1.1 x"})
    kind, record = parser.parse(line)
    assert kind == LineKind.DELIVERY and record is not None and record.mta == "json"
    kind, record = parser.parse(_kumo(type="Bounce"))
    assert kind == LineKind.DELIVERY and record is not None and record.mta == "kumomta"


def test_postfix_lmtp_lines_read_like_smtp_lines() -> None:
    # lmtp(8) is the same Postfix delivery agent as smtp(8) and logs the same fields.
    line = _line("to=<user@rcpt550ml.test>").replace("postfix/smtp[", "postfix/lmtp[")
    record = parse_postfix(line)
    assert record is not None
    assert (record.status, record.recipients) == (BOUNCED, ("user@rcpt550ml.test",))


def test_exim_additional_address_in_the_same_delivery() -> None:
    # "->" flags the second and later addresses of one SMTP transaction (Exim spec, "Log files").
    line = (
        "2012-02-13 14:39:57 1RwtJY-0009RI-E4 -> ldtyzggfqejxo@mail.ru R=dnslookup "
        'T=remote_smtp H=mxs.mail.ru [94.100.176.20] C="250 OK id=1RwtK9-0004SS-Fm"'
    )
    record = parse_exim(line)
    assert record is not None
    assert (record.status, record.recipients, record.reply) == (
        SENT,
        ("ldtyzggfqejxo@mail.ru",),
        "250 OK id=1RwtK9-0004SS-Fm",
    )


# --- no line raises --------------------------------------------------------------------------

# Lines that look like each format, with their fields scrambled by hypothesis.
LOGGISH = st.builds(
    lambda head, body: head + body,
    st.sampled_from(
        [
            "Nov 26 11:31:27 mta postfix/smtp[1]: D5BD116207D: to=<",
            "Nov 26 11:31:27 mta postfix/qmgr[1]: D5BD116207D: ",
            "2002-10-31 09:00:10 16ZCW1-0005MB-00 ** ",
            "2002-10-31 09:00:10 16ZCW1-0005MB-00 == ",
            "2002-10-31 09:00:10 16ZCW1-0005MB-00 => ",
            "Sep 14 11:59:34 h sm-mta[7425]: l8E3xVpO007423: to=",
            "type,rcpt,dsnDiag\nb,",
            '{"type": "Bounce", "recipient": "a@b", "response": ',
            "",
        ]
    ),
    st.text(
        alphabet=st.sampled_from(list(' ,:;<>()[]{}"=@.-_/0123456789abcdeqxstatusdn\r\t')),
        max_size=200,
    ),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(LOGGISH, st.text(max_size=300)), max_size=6))
def test_any_lines_get_a_kind_and_never_raise(lines: list[str]) -> None:
    for fmt in ("auto", "postfix", "exim", "sendmail", "powermta", "kumomta"):
        parser = LineParser(fmt)
        for number, text in enumerate("\n".join(lines).split("\n")):
            kind, record = parser.parse(text, first=number == 0)
            assert kind in {"delivery", "skipped", "unrecognised", "malformed"}
            assert (kind == LineKind.DELIVERY) == (record is not None and record.status != DONE)
