"""SMTP knowledge read once for every wrapper: stage words, enhanced statuses, typed fields."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import Stage, classify, parse_reply
from classifier.smtp import (
    ENHANCED,
    enhanced_status,
    find_enhanced,
    find_stage,
    split_typed,
    stage_from_words,
)


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.01.1 mailbox zz",
        "Diagnostic-Code: smtp; 550 5.01.1 mailbox zz",
        "smtp; 550 5.01.1 mailbox zz",
        "550-5.01.1 mailbox\n550 5.01.1 zz",
        "host mx.example[192.0.2.1] said: 550 5.01.1 mailbox zz (in reply to RCPT TO command)",
    ],
)
def test_leading_zeros_in_an_enhanced_status_do_not_change_the_answer(reply: str) -> None:
    # RFC 3463 numbers have no leading zeros; every wrapper reads "5.01.1" as 5.1.1.
    plain = classify(reply.replace("5.01.1", "5.1.1"))
    result = classify(reply)
    assert result.enhanced == "5.1.1"
    assert (result.code, result.reason) == (plain.code, plain.reason) == ("131", "user_unknown")


def test_enhanced_status_found_alone_in_normal_form() -> None:
    assert find_enhanced("blocked (#5.007.001)") == "5.7.1"
    assert find_enhanced("from 192.168.1.1 at 5.1.1.1") is None
    assert parse_reply("dsn=4.04.07 expired").enhanced == "4.4.7"


@pytest.mark.parametrize(
    ("words", "stage"),
    [
        ("RCPT TO", Stage.RCPT),
        ("pipelined rcpt to", Stage.RCPT),
        ("end of DATA", Stage.END_OF_DATA),
        ("sending message body", Stage.END_OF_DATA),
        ("MAIL FROM", Stage.MAIL),
        ("initial connection", Stage.CONNECT),
        ("receiving the initial server greeting", Stage.CONNECT),
        ("LHLO", Stage.HELO),
        ("BDAT", Stage.END_OF_DATA),
        (".", Stage.END_OF_DATA),
        ("xyzzy", Stage.UNKNOWN),
    ],
)
def test_stage_from_wrapper_words(words: str, stage: Stage) -> None:
    assert stage_from_words(words) is stage


def test_stage_names_and_command_words_are_the_stage_enum_s() -> None:
    assert Stage.named("RCPT TO") is Stage.RCPT
    assert Stage.named("greeting") is Stage.CONNECT
    assert Stage.named("no such stage") is None


def test_stage_from_bounce_prose() -> None:
    assert (
        find_stage("SMTP error from remote mail server after RCPT TO:<a@b.example>") is Stage.RCPT
    )
    assert find_stage("host x said ... in reply\n    to end of data") is Stage.END_OF_DATA
    assert find_stage("no stage named here") is None


@pytest.mark.parametrize(
    ("value", "split"),
    [
        ("dns; mx.example.com", ("dns", "mx.example.com")),
        ("smtp;550 5.1.1 user unknown", ("smtp", "550 5.1.1 user unknown")),
        (" X-Postfix ; host not found ", ("x-postfix", "host not found")),
        ("mx.example.com", ("", "mx.example.com")),
        ("550 5.1.1 a; b", ("", "550 5.1.1 a; b")),
    ],
)
def test_typed_field(value: str, split: tuple[str, str]) -> None:
    assert split_typed(value) == split


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="0123456789.245 x#(", max_size=40))
def test_find_enhanced_finds_what_the_pattern_finds(text: str) -> None:
    """find_enhanced (no look-behind, checked by hand) answers as the ENHANCED pattern."""
    m = ENHANCED.search(text)
    expected = None if m is None else enhanced_status(m.group(1), m.group(2), m.group(3))
    assert find_enhanced(text) == expected


def _find_stage_by_every_search(text: str) -> Stage | None:
    """find_stage without skipping any phrase: the reference it must agree with."""
    import re

    from classifier.smtp import _STAGE_PHRASES

    flat = " ".join(text.split())
    for pattern, flags, stage in _STAGE_PHRASES:
        if re.search(pattern, text, flags) or re.search(pattern, flat, flags):
            return stage
    return None


_STAGE_PIECES = [
    "after",
    "AFTER",
    "in reply to",
    "In\n  reply   to",
    "while sending",
    "in response to",
    "the",
    "RCPT TO",
    "rcpt\tto",
    "MAIL FROM",
    "DATA",
    "end of data",
    "EHLO",
    "greeting",
    "banner",
    "initial connection",
    "refused to talk to me",
    "SMTP greeting",
    "didn't like our final DATA",
    "did not\nlike our final DATA",
    ">>> RCPT",
    ">>>.",
    "<<< .",
    "[RCPT_TO]",
    "[MAIL_FROM]",
    "[DATA]",
    "does not like recipient",
    "sender was rejected",
    "550 5.1.1 user unknown",
    "host mx.example.com[192.0.2.1] said:",
    "ſ",
    "K",
    "İ",
    "\u00a0",
    "\n",
    " ",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_STAGE_PIECES), max_size=8), st.text(max_size=20))
def test_find_stage_agrees_with_searching_every_phrase(pieces: list[str], noise: str) -> None:
    """The phrases it skips (none of their words in the text) could not have matched."""
    for text in (" ".join(pieces), "".join(pieces), noise.join(pieces), " ".join(pieces) + noise):
        assert find_stage(text) == _find_stage_by_every_search(text), repr(text)
