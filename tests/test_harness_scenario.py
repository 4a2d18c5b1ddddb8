"""Scenario files: the format is validated on load, and the shipped set covers every SMTP code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from classifier import CATALOGUE
from classifier.harness.scenario import (
    ScenarioError,
    decode_bytes_escape,
    load_scenarios,
    parse_scenario,
    validate_reply,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"

#: Every code an SMTP conversation (probe or relay) can end in; 133 only comes from a DSN.
CONVERSATION_CODES = {
    "111", "112", "113", "131", "132", "134", "201", "202", "250",
    "421", "500", "501", "502", "504", "550", "551", "552", "553", "554",
}  # fmt: skip


def _base(**extra: Any) -> dict[str, Any]:
    return {"id": "x", "description": "d", "source": "s", "expect": {"user": "250"}, **extra}


def test_shipped_scenarios_load_and_cover_every_conversation_code() -> None:
    scenarios = load_scenarios(SCENARIOS)
    assert len(scenarios) >= 60
    codes = {code for s in scenarios for code in s.expect.values()}
    assert codes >= CONVERSATION_CODES, sorted(CONVERSATION_CODES - codes)
    postfix_dsn = {p.dsn for s in scenarios for p in s.postfix.values()}
    assert "133" in postfix_dsn
    catalogue = set(CATALOGUE)
    assert codes | (postfix_dsn - {None}) <= catalogue


def test_every_shipped_scenario_names_its_source_and_is_listed_in_the_readme() -> None:
    readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    for scenario in load_scenarios(SCENARIOS):
        assert len(scenario.source) > 10, scenario.id
        assert f"`{scenario.id}`" in readme, f"{scenario.id} missing from README.md"


def test_multiline_reply_is_kept_exactly() -> None:
    lines = ["550-5.1.1 first", "550 5.1.1 last"]
    scenario = parse_scenario(_base(rcpt={"user": lines}, expect={"user": "131"}))
    step = scenario.rcpt_step("USER@x.test")
    assert step is not None
    assert step.reply == b"550-5.1.1 first\r\n550 5.1.1 last"
    bare_lf = parse_scenario(_base(rcpt={"*": "550-5.7.1 a\n550 5.7.1 b"}))
    assert bare_lf.rcpt_step("anyone@x.test") == bare_lf.rcpt_steps["*"]
    assert bare_lf.rcpt_steps["*"].reply == b"550-5.7.1 a\n550 5.7.1 b"


def test_bytes_escape_gives_raw_bytes() -> None:
    assert decode_bytes_escape(r"550 caf\xe9 \\ \r\n") == b"550 caf\xe9 \\ \r\n"
    for bad in (r"\q", r"\x4", "é"):
        with pytest.raises(ScenarioError):
            decode_bytes_escape(bad)


@pytest.mark.parametrize(
    "reply",
    [
        b"",
        b"Mailbox unavailable",
        b"550 5.1.1 a\r\n451 4.3.0 b",  # two final lines desynchronise the client
        b"550-5.1.1 a\r\n551 5.1.1 b",
        b"550-5.1.1 only a continuation",
        b"550 ok\r\n",
        b"650 not a reply class",
    ],
)
def test_invalid_replies_are_rejected(reply: bytes) -> None:
    with pytest.raises(ScenarioError):
        validate_reply(reply)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"id": "Bad Id"}, "'id'"),
        ({"rcpt": {"user": {"reply": "250 ok", "close": True}}}, "exactly one"),
        ({"rcpt": {"user": {"reply": "250 ok", "delay": 99}}}, "delay"),
        ({"rcpt": {"user": {"reply": "250 ok", "then": "hang"}}}, "then"),
        ({"rcpt": {"other": "550 5.1.1 x"}}, "no expected code"),
        ({"greeting": "220 hello"}, "220 greeting"),
        ({"data": "354 go ahead"}, "3xx"),
        ({"connect": "refuse", "rcpt": {"user": "550 x"}}, "refused"),
        ({"expect": {"user": "25"}}, "3-digit"),
        ({"postfix": {"user": {"log": "250", "dsn": 1}}}, "dsn"),
        ({"unknown": 1}, "unknown keys"),
        ({"mail": "Mailbox unavailable"}, "malformed"),
    ],
)
def test_invalid_scenarios_say_what_is_wrong(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(_base(**extra))


def test_malformed_flag_allows_an_invalid_reply_on_purpose() -> None:
    scenario = parse_scenario(
        _base(rcpt={"user": {"bytes": "Mailbox unavailable", "malformed": True}})
    )
    step = scenario.rcpt_step("user@x.test")
    assert step is not None and step.malformed and step.code is None


def test_loader_rejects_duplicates_and_unreadable_files(tmp_path: Path) -> None:
    one = {"scenarios": [_base(), _base()]}
    (tmp_path / "dup.json").write_text(json.dumps(one), encoding="utf-8")
    with pytest.raises(ScenarioError, match="duplicate"):
        load_scenarios(tmp_path)
    (tmp_path / "dup.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenarios(tmp_path)
    (tmp_path / "dup.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ScenarioError, match="'scenarios'"):
        load_scenarios(tmp_path)
    with pytest.raises(ScenarioError, match="no such"):
        load_scenarios(tmp_path / "missing.json")


def test_scenarios_know_whether_they_need_their_own_port() -> None:
    assert not parse_scenario(_base(rcpt={"*": "550 5.1.1 x"})).needs_own_port
    assert parse_scenario(_base(mail="553 5.7.1 no")).needs_own_port
    assert parse_scenario(_base(connect="refuse")).needs_own_port
