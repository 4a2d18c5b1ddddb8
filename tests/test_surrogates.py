"""Lone surrogates never reach a writer: ``text`` is clean, and every output survives any string."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from classifier import classify, classify_message, replay_lines
from classifier.cli import main
from classifier.safetext import clean_json, clean_text, has_surrogates

LONE = "\ud800"


def _run(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(argv)


def _strict_utf8(text: str) -> None:
    text.encode("utf-8")  # raises on any surrogate


def test_clean_text_joins_pairs_and_replaces_lone_surrogates() -> None:
    assert clean_text("a\ud800b") == "a\ufffdb"
    assert clean_text("\ud83d\ude00") == "\U0001f600"
    assert clean_text("\ude00\ud83d") == "\ufffd\ufffd"
    assert clean_text("plain ascii") == "plain ascii"
    assert not has_surrogates(clean_text("x\udcff"))
    assert clean_json({"k\ud800": ["v\udfff", 1, None]}) == {"k\ufffd": ["v\ufffd", 1, None]}


@pytest.mark.parametrize("reply", ["550 5.1.1 x \ud800", "\udcff" * 10, "550 " + "\udc80 " * 500])
def test_classification_text_never_carries_a_surrogate(reply: str) -> None:
    result = classify(reply)
    assert not has_surrogates(result.text)
    _strict_utf8(json.dumps(result.to_dict(), ensure_ascii=False))
    _strict_utf8(result.explain())


def test_classify_json_survives_a_lone_surrogate(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = '{"reply": "550 5.1.1 x \\ud800"}\n{"reply": "452 4.2.2 mailbox full"}\n'
    assert _run(["classify", "--json"], stdin, monkeypatch) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["code"] for r in rows] == ["131", "202"]  # the line after it is not lost


_KUMO_OK = (
    '{"type":"Bounce","id":"a1","recipient":"a@example.com","timestamp":1,'
    '"response":{"code":550,"content":"5.1.1 user unknown","command":"RCPT TO"}}'
)
_KUMO_BAD = (
    '{"type":"Bounce","id":"a2\\ud800","recipient":"b\\udfff@example.com","timestamp":2,'
    '"response":{"code":550,"content":"qwzx frobnicated \\ud800","command":"RCPT TO"}}'
)
_EXPORT_BAD = '{"id":"3","to":"c@example.com","status":"bounced","resp":"550 nope \\udc00 here"}'


@pytest.mark.parametrize("output", [[], ["--csv"], ["--summary"], ["--summary-json"]])
def test_replay_kumomta_record_with_lone_surrogate(
    output: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = tmp_path / "kumo.jsonl"
    log.write_text(f"{_KUMO_OK}\n{_KUMO_BAD}\n{_KUMO_OK}\n", encoding="utf-8")
    code = _run(["replay", *output, str(log)], "", monkeypatch)
    out = capsys.readouterr().out
    _strict_utf8(out)
    assert code == 0
    if not output:
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == 3
        assert rows[1]["recipient"] == "b\ufffd@example.com"
        assert "\ufffd" in rows[1]["text"]
    elif output == ["--csv"]:
        assert len(out.splitlines()) == 4
    else:
        assert "3" in out


def test_replay_json_export_field_with_lone_surrogate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "export.jsonl"
    good = '{"id":"1","to":"a@example.com","status":"bounced","resp":"550 5.1.1 user unknown"}'
    log.write_text(f"{good}\n{_EXPORT_BAD}\n{good}\n", encoding="utf-8")
    out_file = tmp_path / "rows.csv"
    argv = ["replay", "--format", "json", "--field", "resp", "--csv", "-o", str(out_file)]
    assert _run([*argv, str(log)], "", monkeypatch) in (0, 1)
    lines = out_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and "\ufffd" in lines[2]


def test_replay_lines_library_with_lone_surrogate() -> None:
    rows = list(replay_lines([_KUMO_BAD, "{" + '"type":"Bounce"' + LONE + "}"]))
    assert len(rows) == 1
    _strict_utf8(json.dumps(rows[0].to_dict(), ensure_ascii=False))


_UTF7_BOUNCE = b"""From: MAILER-DAEMON@example.org (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-7

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nouser@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1
    <nouser@example.com>: Recipient address rejected: User unknown +2D0- (in reply
    to RCPT TO command)
"""


@pytest.mark.parametrize("as_text", [False, True])
def test_utf7_part_with_a_lone_surrogate_still_gives_131(as_text: bool) -> None:
    raw: bytes | str = _UTF7_BOUNCE
    if as_text:  # the same mail handed over as text holding the decoded surrogate
        raw = _UTF7_BOUNCE.decode("ascii").replace("+2D0-", LONE)
    report = classify_message(raw)
    assert [(r.recipient, r.code) for r in report.recipients] == [("nouser@example.com", "131")]
    _strict_utf8(json.dumps(report.to_dict(), ensure_ascii=False))


def test_classify_mail_writes_any_file_name_and_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = tmp_path / "bounce-\udcff.eml"  # a file name that is not valid UTF-8
    try:
        name.write_bytes(_UTF7_BOUNCE)
    except (UnicodeEncodeError, OSError):  # pragma: no cover - file systems refusing the name
        pytest.skip("the file system refuses a non-UTF-8 name")
    for json_mode in ([], ["--json"]):
        assert _run(["classify-mail", *json_mode, str(tmp_path)], "", monkeypatch) == 0
        out = capsys.readouterr().out
        _strict_utf8(out)
        assert "131" in out
