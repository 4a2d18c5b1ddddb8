"""classify-mail on a directory: every file is read or reported as skipped, with the reason."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from classifier.cli import main
from classifier.mail.mailbox import iter_mail

MAIL = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
QMAIL = (MAIL / "lhost-qmail-02.eml").read_bytes()


def _variants(directory: Path) -> dict[str, bytes]:
    """The qmail bounce in shapes a mail directory really holds."""
    files = {
        "a-plain.eml": QMAIL,
        "b-bom.eml": b"\xef\xbb\xbf" + QMAIL,
        "c-junk-first-line.eml": b"*** saved by the mail client ***\n" + QMAIL,
        "d-underscore-header.eml": b"X_Mailer_Id: 12ab\n" + QMAIL,
        "e-crlf.eml": QMAIL.replace(b"\n", b"\r\n"),
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return files


def test_every_shape_of_message_in_a_directory_is_read(tmp_path: Path) -> None:
    files = _variants(tmp_path)
    sources = list(iter_mail([str(tmp_path)]))
    assert [Path(s.name).name for s in sources] == sorted(files)
    assert all(not s.skipped and s.data for s in sources)


def test_skipped_files_and_dangling_links_are_reported_and_the_rest_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _variants(tmp_path)
    (tmp_path / "0-notes.txt").write_text("just some notes\nwithout any header\n")
    (tmp_path / "0-empty.eml").write_bytes(b"")
    (tmp_path / "0-binary.eml").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    os.symlink(tmp_path / "missing.eml", tmp_path / "0-dangling.eml")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "0-pipe.eml")  # opening it would block: never opened
    code = main(["classify-mail", "--json", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 3  # an entry could not be read; every other one was
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted({Path(r["message"]).name for r in rows}) == sorted(_variants(tmp_path))
    assert {r["code"] for r in rows} == {"131"}
    skipped = [line.split(": skipped ", 1)[1] for line in err.splitlines() if ": skipped " in line]
    reasons = dict(entry.split(": ", 1) for entry in skipped)
    expected = {
        "0-notes.txt": "not a message: no header field in its first 5 lines",
        "0-empty.eml": "empty file",
        "0-binary.eml": "binary data, not a message",
        "0-dangling.eml": "dangling symbolic link",
    }
    if hasattr(os, "mkfifo"):
        expected["0-pipe.eml"] = "not a regular file"
    assert {Path(k).name: v for k, v in reasons.items()} == expected
    assert f"{len(expected)} files skipped" in err


def test_directory_of_only_good_mail_still_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(MAIL / "lhost-qmail-02.eml", tmp_path / "one.eml")
    (tmp_path / "README").write_text("bounces of last week\n")
    assert main(["classify-mail", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 files skipped" in out and "one.eml" in out


def test_an_eml_holding_more_dated_postmarks_is_read_as_an_mbox(tmp_path: Path) -> None:
    # Two reports saved in one .eml, each behind its "From MAILER-DAEMON <date>" line
    # (Sisimai set-of-emails rfc3464-28.eml): both are read, and classify_message on the raw
    # data says that it read only the first.
    from classifier import classify_message

    one = b"From MAILER-DAEMON  Thu Apr 29 23:34:45 2015\n" + QMAIL
    path = tmp_path / "two.eml"
    path.write_bytes(one + b"\n" + one)
    assert [m.name.rsplit("#", 1)[-1] for m in iter_mail([str(path)])] == ["1", "2"]
    assert "1 more messages" in classify_message(one + b"\n" + one).note
    # A body line that starts with "From " is no postmark: one message, nothing said.
    single = tmp_path / "single.eml"
    single.write_bytes(one + b"\nFrom the desk of the postmaster: sorry.\n")
    assert len(list(iter_mail([str(single)]))) == 1
    assert "mbox" not in classify_message(single.read_bytes()).note
