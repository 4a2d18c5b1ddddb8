"""classify-mail: files, directories, mbox, Maildir and stdin; JSON lines, table, summary."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from classifier.cli import main
from classifier.errors import InputError
from classifier.mail.mailbox import iter_mail

MAIL = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
QMAIL = MAIL / "lhost-qmail-02.eml"
ARF = MAIL / "arf-01.eml"


def test_mbox_is_split_into_messages(tmp_path: Path) -> None:
    mbox = tmp_path / "bounces.mbox"
    mbox.write_bytes(
        b"From MAILER-DAEMON Thu Apr 29 23:34:45 2015\n"
        + QMAIL.read_bytes()
        + b"\nFrom MAILER-DAEMON Thu Apr 29 23:34:46 2015\n"
        + ARF.read_bytes()
    )
    sources = list(iter_mail([str(mbox)]))
    assert [s.name for s in sources] == [f"{mbox}#1", f"{mbox}#2"]
    assert sources[0].data.startswith(QMAIL.read_bytes()[:20])


def test_eml_starting_with_from_line_is_one_message(tmp_path: Path) -> None:
    eml = tmp_path / "one.eml"
    eml.write_bytes(
        b"From MAILER-DAEMON Thu Apr 29 23:34:45 2015\n"
        + QMAIL.read_bytes()
        + b"\nFrom the desk of someone\n"
    )
    (source,) = iter_mail([str(eml)])
    assert source.data.startswith(QMAIL.read_bytes())


def test_maildir_reads_cur_and_new_not_tmp(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    shutil.copy(QMAIL, tmp_path / "cur" / "1.host:2,S")
    shutil.copy(ARF, tmp_path / "new" / "2.host")
    shutil.copy(ARF, tmp_path / "tmp" / "3.host")
    names = [Path(s.name).parent.name for s in iter_mail([str(tmp_path)])]
    assert names == ["cur", "new"]


def test_missing_path_is_an_input_error() -> None:
    with pytest.raises(InputError):
        list(iter_mail(["/nonexistent/bounces"]))


def test_cli_json_lines_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["classify-mail", "--json", str(QMAIL), str(ARF)])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(r["recipient"], r["code"]) for r in rows] == [
        ("userunknown@example.jp", "131"),
        ("filtered@example.jp", "131"),
        ("redacted@example.net", "162"),
    ]
    assert rows[0]["message"] == str(QMAIL)
    assert rows[0]["rule_id"] and rows[0]["original_message_id"] is not None
    assert "2 messages, 3 recipients" in err
    assert "131   2" in err


def test_cli_table_directory_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify-mail", str(MAIL)]) == 0
    out, _ = capsys.readouterr()
    assert "lhost-qmail-02.eml" in out
    assert "163" in out and "auto_reply" in out
    assert main(["classify-mail", "/nonexistent/x.eml"]) == 3


def test_cli_unrecognised_message_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letter = tmp_path / "letter.eml"
    letter.write_text("From: a@example.org\nTo: b@example.org\nSubject: lunch\n\nnoon?\n")
    assert main(["classify-mail", str(letter)]) == 1
    out, _ = capsys.readouterr()
    assert "unknown" in out


def test_cli_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = io.TextIOWrapper(io.BytesIO(QMAIL.read_bytes()))
    monkeypatch.setattr(sys, "stdin", fake)
    assert main(["classify-mail", "--json", "--no-summary", "-"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2
    assert err == ""
