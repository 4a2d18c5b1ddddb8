"""The engine: results, fallbacks, precedence, and the fast path answering like a plain loop."""

from __future__ import annotations

import json
import threading
from dataclasses import FrozenInstanceError

import pytest

from classifier import Classification, Classifier, Stage, Tier, Verdict, classify
from classifier.rules import iter_examples, load_rules

from .conftest import FIXTURES


def _corpus(clf: Classifier) -> list[tuple[str, str | None]]:
    items: list[tuple[str, str | None]] = [
        (e.reply, e.stage) for _, _, e in iter_examples(clf.rules)
    ]
    for path in sorted((FIXTURES / "replies").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                items.append((case["reply"], case.get("stage")))
    # Variants that change which rules are candidates: upper case, wrapped, truncated, noisy.
    extra: list[tuple[str, str | None]] = []
    for reply, stage in items:
        extra.append((reply.upper(), stage))
        extra.append(
            (f"host mx.example.com[192.0.2.1] said: {reply} (in reply to RCPT TO command)", None)
        )
        extra.append((reply[: len(reply) // 2], stage))
        extra.append(("451 4.3.0 " + reply[::-1], stage))
    return items + extra


def test_fast_path_answers_exactly_like_a_plain_loop() -> None:
    clf = Classifier.from_dirs([], cache_size=0)
    corpus = _corpus(clf)
    assert len(corpus) > 500
    for reply, stage in corpus:
        fast = clf.classify(reply, stage=stage)
        plain = clf.classify_plain(reply, stage=stage)
        assert fast == plain, reply


def test_cache_does_not_change_answers() -> None:
    cached = Classifier.from_dirs([], cache_size=64)
    plain = Classifier.from_dirs([], cache_size=0)
    for reply, stage in _corpus(plain)[:400] * 2:
        assert cached.classify(reply, stage=stage) == plain.classify(reply, stage=stage)


def test_result_fields_and_explanation() -> None:
    r = classify(
        "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown", stage="rcpt"
    )
    assert isinstance(r, Classification)
    assert (r.code, r.reason, r.basic, r.enhanced, r.stage) == (
        "131",
        "user_unknown",
        550,
        "5.1.1",
        Stage.RCPT,
    )
    assert (r.label_es, r.estado, r.retry, r.final) == (
        "Casilla no existe o rechazada",
        "Rebote",
        False,
        True,
    )
    assert r.verdict is Verdict.PERMANENT and r.tier is Tier.RULE
    assert r.rule_id and r.matched and r.matched.lower() in r.text.lower()
    assert r.rule_id in r.explain() and "131" in r.explain()
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["stage"] == "rcpt" and d["tier"] == "rule" and d["final"] is True
    with pytest.raises(FrozenInstanceError):
        r.code = "550"  # type: ignore[misc]


def test_mailbox_full_depends_on_the_class() -> None:
    assert classify("452 4.2.2 Mailbox full").code == "202"
    assert classify("452 4.2.2 Mailbox full").retry
    assert classify("552 5.2.2 Mailbox full").code == "552"


@pytest.mark.parametrize(
    ("reply", "code", "tier"),
    [
        ("550 5.1.1 zzqx", "131", Tier.ENHANCED),
        ("550 5.2.2 zzqx", "552", Tier.ENHANCED),
        ("450 4.2.2 zzqx", "202", Tier.ENHANCED),
        ("550 5.7.1 zzqx", "554", Tier.ENHANCED),
        ("554 5.1.2 zzqx", "111", Tier.ENHANCED),
        ("556 5.1.10 zzqx", "112", Tier.ENHANCED),
        ("550 zzqx", "550", Tier.BASIC),
        ("551 zzqx", "551", Tier.BASIC),
        ("553 zzqx", "553", Tier.BASIC),
        ("421 zzqx", "421", Tier.BASIC),
        ("451 zzqx", "202", Tier.BASIC),
        ("451", "201", Tier.BASIC),
        ("432 zzqx", "202", Tier.DEFAULT),
        ("432 MI:CEL", "201", Tier.BASIC),
        ("432", "201", Tier.BASIC),
        ("503 zzqx", "504", Tier.BASIC),
        ("502 5.5.2 zzqx", "502", Tier.BASIC),
        ("535 zzqx", "554", Tier.DEFAULT),
        ("250 2.0.0 zzqx", "250", Tier.BASIC),
        ("5.1.1 zzqx", "131", Tier.ENHANCED),
    ],
)
def test_fallbacks_by_enhanced_then_basic_then_class(reply: str, code: str, tier: Tier) -> None:
    r = classify(reply)
    assert (r.code, r.tier) == (code, tier), r.explain()
    assert r.rule_id is None


def test_recipient_meanings_before_rcpt_are_about_the_sender() -> None:
    assert classify("550 5.1.1 zzqx", stage="mail").code == "554"
    assert classify("550 zzqx", stage="mail").code == "554"
    assert classify("550 zzqx", stage="end_of_data").code == "554"
    assert classify("550 5.1.1 <a@example.com>... User unknown", stage="mail").code == "554"


def test_an_auth_reply_code_says_the_user_is_the_sender() -> None:
    # 530, 534, 535 and 538 answer AUTH only (RFC 4954): an account they call inactive or
    # unknown is the client's, never a recipient's mailbox.
    assert classify("535 User not activated.").code == "554"
    assert classify("535 Authentication failed: account inactive").code == "554"
    assert classify("550 User not activated.", stage="rcpt").code == "132"


def test_a_host_that_accepts_no_mail_says_so_of_itself_at_the_greeting() -> None:
    # RFC 7504's 521 at connect is the destination's own fact (112), not a refused sender;
    # the same words in reply to MAIL FROM are about the sender's domain.
    assert classify("521 Service does not accept mail", stage="connect").code == "112"
    assert classify("550 Domain does not accept mail", stage="mail").code == "554"
    # A host name that does not resolve while connecting stays the lookup on the way (113).
    assert classify("lookup smtp.example.com: no such host", stage="connect").code == "113"


def test_two_xx_is_never_read_as_a_failure() -> None:
    r = classify("250 2.1.5 Ok, but user unknown to the spam filter")
    assert (r.code, r.verdict) == ("250", Verdict.SUCCESS)


@pytest.mark.parametrize("empty", ["", "   ", b"", b"\x00\x00", "\r\n\r\n"])
def test_no_reply_at_all_is_an_explicit_unrecognised_result(empty: str | bytes) -> None:
    r = classify(empty)
    assert not r.recognised and r.code == "" and r.tier is Tier.NONE and not r.final
    assert "Unrecognised" in r.explain()


def test_text_without_code_or_known_words_is_unrecognised() -> None:
    r = classify("the quick brown fox")
    assert (r.code, r.tier, r.verdict) == ("", Tier.NONE, Verdict.NONE)


def test_with_code_relabels_and_records_why() -> None:
    r = classify("451 4.7.1 Greylisted, please try again in 300 seconds").with_code(
        "133", reason="expired", why="the queue gave up"
    )
    assert (r.code, r.reason, r.retry, r.note) == ("133", "expired", False, "the queue gave up")
    assert r.label_es == "Rebote post envío"


def test_thread_safety_same_answers_from_many_threads() -> None:
    clf = Classifier.from_dirs([], cache_size=32)
    corpus = _corpus(clf)[:300]
    expected = [clf.classify_plain(r, stage=s) for r, s in corpus]
    errors: list[str] = []

    def work() -> None:
        for (reply, stage), want in zip(corpus, expected, strict=True):
            if clf.classify(reply, stage=stage) != want:
                errors.append(reply)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_what_decides_an_answer_cannot_be_changed() -> None:
    clf = Classifier.from_dirs([])
    with pytest.raises(AttributeError):
        clf.rules = clf.rules  # type: ignore[misc]
    with pytest.raises(AttributeError):
        clf.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        clf.rules.reasons["user_unknown"] = clf.rules.reasons["mailbox_full"]  # type: ignore[index]
    with pytest.raises(TypeError):
        clf.rules.basic_fallback["550"] = "250"  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        clf.rules.rules[0].code = "250"  # type: ignore[misc]


def test_rule_set_copies_the_tables_it_is_given() -> None:
    from classifier import RuleSet

    rules = Classifier.from_dirs([]).rules
    basic = dict(rules.basic_fallback)
    copy = RuleSet(rules.rules, rules.reasons, rules.enhanced_fallback, basic)
    basic["550"] = "250"
    assert copy.basic_fallback["550"] == "550"


def test_a_421_closes_the_channel_whatever_status_it_carries() -> None:
    # 4.2.1 is about a mailbox; in a 421 before RCPT it is not a refused sender (554).
    result = classify("421 4.2.1 Connection deferred", stage="connect")
    assert (result.code, result.reason) == ("421", None)


def test_the_senders_own_allowance_is_not_a_full_mailbox() -> None:
    assert classify("550 5.4.5 Daily user sending quota exceeded.").code == "554"
    assert (
        classify("552 5.2.2 The email account that you tried to reach is over quota").code == "552"
    )


@pytest.mark.parametrize(
    ("block", "code"),
    [
        # A delay warning pasted whole: the reporting MTA is still retrying.
        ("Final-Recipient: rfc822; a@example.com\nAction: delayed\nStatus: 4.4.1", "202"),
        # Flattened to one line, as forums and tickets show it.
        (
            "** Consegna non completata ** Final-Recipient: rfc822; a@example.com "
            "Action: delayed Status: 4.4.1",
            "202",
        ),
        # A failure after a temporary status: the MTA gave up.
        (
            "Action: failed\nStatus: 4.4.1\nDiagnostic-Code: X-Postfix; connect to "
            "mx.example.com[192.0.2.1]:25: Connection timed out",
            "133",
        ),
        # A fact about the address survives the giving up.
        ("Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown", "131"),
        # Recipients with different actions: the words decide.
        (
            "Action: failed\nStatus: 5.1.1\nAction: delayed\nStatus: 4.4.1\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown",
            "131",
        ),
    ],
)
def test_a_pasted_delivery_report_s_action_decides_as_in_bounce_mail(block: str, code: str) -> None:
    clf = Classifier(load_rules())
    assert clf.classify(block).code == code
    assert clf.classify_plain(block).code == code
    assert clf.classify(block.encode()).code == code
    assert clf.classify(block).code == code  # from the memo tables too


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        # qmail-send's log line: spaces written "_", line ends "/"; the result word is the class.
        (
            "delivery 442: success: 12.107.209.244_accepted_message./Remote_host_said:"
            "_250_2.7.0_nothing_apparently_wrong_in_the_message/",
            "250",
        ),
        (
            "delivery 3: failure: 209.85.223.11_does_not_like_recipient./Remote_host_said:"
            "_550-5.1.1_The_email_account_that_you_tried_to_reach_does_not_exist./",
            "131",
        ),
        # "spam" inside a host name is no verdict on the message.
        (
            "Dec  4 10:24:32 c.spam.sonic.net sendmail[32283]: STARTTLS=client, error: "
            "connect failed=0, SSL_error=5",
            "113",
        ),
        ("550 5.7.1 Message rejected as spam", "554"),
        # Protocol codes are 5xx: a 4xx with a protocol status is passing trouble.
        ("451 4.5.1 Internal confusion", "202"),
        ("500 5.5.1 Internal confusion", "500"),
        # 555 is 504's case for MAIL and RCPT parameters; a 503 is always about the order.
        ("555 5.5.4 Error: Unsupported option", "504"),
        ("503 bad sequence: no sender specified", "504"),
        # A restriction accepts nothing; AUTH's credentials are no unknown user.
        ("*** We only accept plain-text mail, No HTML ***", "554"),
        ("535 Invalid username or password", "554"),
        ("550 Invalid user", "131"),
        # A client's own report of the code it got.
        ("Error: Expected smtp code 250, got 552", "552"),
        ("Server responded with 550 esmtp: protocol deviation", "550"),
        # A code followed by a colon ("451: ...") is a reply's code.
        ("451: Could not complete sender verification", "202"),
        # A text bounce that calls its failure permanent above a temporary reason: the MTA
        # gave up (133); a delay notice's warning banner above a refusal: still trying (202).
        (
            "Hi. This is the qmail-send program at example.com.\nI'm afraid I wasn't able to"
            " deliver your message to the following addresses.\nThis is a permanent error;"
            " I've given up. Sorry it didn't work out.\n\n<test@example.com>:\n\nCNAME lookup"
            " failed temporarily. (#4.4.3)",
            "133",
        ),
        (
            "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n\nhost"
            " mx.example.net[192.0.2.10] said: 421 4.7.0 [TSS04] Messages from 192.0.2.20"
            " temporarily deferred due to unexpected volume or user complaints",
            "202",
        ),
        # Exim's delay warning names its "Delay reason": still retrying.
        (
            "Delay reason: SMTP error from remote mail server after MAIL FROM:<a@example.com>:"
            "\n   host mta7.am0.yahoodns.net [192.0.2.26]: 421 4.7.1 [TS03] All messages from"
            " 192.0.2.20 will be permanently deferred",
            "202",
        ),
        # ... in Spanish and Portuguese ("answered 421 to the greeting", "reply 550").
        ("El servidor de correo respondió 421 a: (saludo)", "421"),
        ("O servidor SMTP respondeu 421 ao comando HELO", "421"),
        ("Error in sending email.\nError code: 550\nError: b'not local sender over smtp'", "554"),
        # A reply written as a Python tuple (smtplib's exceptions, Cisco AsyncOS's log).
        (
            "Info: Bounced: DCID 947091 MID 12217124 to RID 0 - 5.1.0 - Unknown address error"
            " ('501', ['5.5.4 Invalid Address'])",
            "553",
        ),
        ("smtplib.SMTPDataError: (554, b'5.7.1 Message rejected as spam')", "554"),
        # A greeting quoted after a client's words is what it got instead of an answer.
        ("SMTP Protocol Error: Server rejected EHLO command. Response: 220-mx.example.com", "554"),
    ],
)
def test_log_wrappers_host_names_and_protocol_classes(reply: str, code: str) -> None:
    assert classify(reply).code == code, classify(reply).explain()
