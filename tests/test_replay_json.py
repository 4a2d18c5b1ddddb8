"""The replay's JSON rows, built from pre-rendered pieces, are what ``json`` writes of
``to_dict()``; records and results built the cheap way equal the ones their classes build."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import classify
from classifier.enums import Stage, Tier, Verdict
from classifier.logreplay.rows import ReplayRow, render, rows_of
from classifier.logs import LineParser
from classifier.logs.record import DEFERRED, LogRecord, delivery_record
from classifier.reply import ParsedReply, parse_reply
from classifier.result import Classification, build

from .conftest import FIXTURES

LOG = FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log"
_JSON = json.JSONEncoder(ensure_ascii=False)


def _plain(rows: list[ReplayRow]) -> str:
    return "".join(_JSON.encode(row.to_dict()) + "\n" for row in rows)


def test_rows_of_the_fixture_log_render_as_json_renders_their_dicts() -> None:
    parser = LineParser()
    rows: list[ReplayRow] = []
    for number, line in enumerate(LOG.read_text(encoding="utf-8").splitlines(), 1):
        _kind, record = parser.parse(line)
        if record is not None:
            rows.extend(rows_of(record, "fixture.log", number, final=True))
    assert len(rows) > 20
    assert {row.result.tier for row in rows} >= {Tier.RULE}
    assert render(rows, "json") == _plain(rows)


text = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    reply=text,
    source=text,
    recipient=text,
    sender=text,
    relay=text,
    note=st.none() | text,
    line=st.integers(min_value=1, max_value=10**12),
)
def test_any_strings_render_as_json_renders_them(
    reply: str,
    source: str,
    recipient: str,
    sender: str,
    relay: str,
    note: str | None,
    line: int,
) -> None:
    record = replace(
        delivery_record(
            "postfix", DEFERRED, "Nov 26 10:00:00", "Q1", (recipient,), reply, "", relay
        ),
        sender=sender,
    )
    result = classify(reply)
    if note is not None:
        result = replace(result, note=note)
    rows = [ReplayRow(source=source, line=line, record=record, recipient=recipient, result=result)]
    assert render(rows, "json") == _plain(rows)
    assert json.loads(render(rows, "json")) == rows[0].to_dict()


def test_cheap_builders_equal_the_class_constructors() -> None:
    made = delivery_record("postfix", DEFERRED, "t", "Q", ("a@b",), "text", "4.0.0", "mx")
    assert made == LogRecord(
        mta="postfix",
        status=DEFERRED,
        time="t",
        queue_id="Q",
        recipients=("a@b",),
        reply="text",
        dsn="4.0.0",
        relay="mx",
    )
    args = ("131", Verdict.PERMANENT, "user_unknown", 550, "5.1.1", Stage.RCPT)
    tail = ("r.id", "no such user", Tier.RULE, "no such user here")
    assert build(*args, *tail) == Classification(*args, *tail)
    assert hash(build(*args, *tail)) == hash(Classification(*args, *tail))
    parsed = parse_reply(
        "host mx[10.0.0.1] said: 550 5.1.1 no such user (in reply to RCPT TO command)"
    )
    assert parsed == ParsedReply(
        basic=550,
        enhanced="5.1.1",
        consistent=True,
        text="no such user",
        stage=Stage.RCPT,
        wrapper="postfix-said",
        remote_host="mx",
    )
