"""No input raises or hangs: property-based tests over text, bytes and pathological shapes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier import Classification, classify, parse_reply
from classifier.reply import MAX_INPUT, MAX_TEXT

REPLYISH = st.builds(
    lambda code, sep, enh, text: f"{code}{sep}{enh}{text}",
    st.integers(0, 999).map(str),
    st.sampled_from([" ", "-", "", "\r\n", "\n"]),
    st.sampled_from(["", "5.1.1 ", "4.2.2 ", "9.9.9 ", "5.1234.1 "]),
    st.text(max_size=300),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=2000), REPLYISH))
def test_any_text_gives_a_result(text: str) -> None:
    r = classify(text)
    assert isinstance(r, Classification)
    assert len(r.text) <= MAX_TEXT
    r.explain()
    r.to_dict()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_result(data: bytes) -> None:
    assert isinstance(classify(data), Classification)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["rcpt", "MAIL FROM", "", "??", "end of data"]))
def test_any_stage_string_is_tolerated(text: str, stage: str) -> None:
    classify(text, stage=stage)


def test_ten_megabytes_is_capped() -> None:
    big = "550 5.1.1 user unknown " + "x" * (10 * 1024 * 1024)
    p = parse_reply(big)
    assert p.truncated and len(p.text) <= MAX_TEXT
    assert classify(big).code == "131"
    assert classify(big.encode()).code == "131"
    assert len(big) > MAX_INPUT


def test_nul_bytes_binary_and_invalid_utf8() -> None:
    assert classify(b"550 5.1.1 \x00\xff\xfe user \x00unknown").code == "131"
    assert classify(bytes(range(256)) * 100).code in (
        "",
        "201",
        "202",
        "554",
        "500",
        "501",
        "502",
        "504",
        "550",
        "551",
        "552",
        "553",
        "421",
        "250",
    )


def test_pathological_regex_inputs_finish() -> None:
    for text in (
        "a" * 60000,
        "550 " + "user " * 12000,
        "550-" * 15000,
        "(" * 50000,
        "550 " + "\u00e9" * 30000,
        "host " * 10000 + "said:",
    ):
        assert isinstance(classify(text), Classification)
