"""Replay never lets bad input through in silence: CR-only line ends, damaged delivery lines."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from classifier.cli import main
from classifier.logreplay import ReplayOptions, replay
from classifier.logs import LineKind, LineParser

from .conftest import FIXTURES

LOG = FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log"
DELIVERIES = [line for line in LOG.read_text(encoding="utf-8").splitlines() if " status=" in line]
BOUNCED = next(line for line in DELIVERIES if "status=bounced" in line)


@pytest.mark.parametrize("ending", [b"\r", b"\r\n", b"\n"])
def test_any_line_ending_is_read_as_lines(ending: bytes, tmp_path: Path) -> None:
    lines = [DELIVERIES[i % len(DELIVERIES)] for i in range(1000)]
    log = tmp_path / "mail.log"
    log.write_bytes(ending.join(line.encode() for line in lines) + ending)
    out = io.StringIO()
    summary = replay([str(log)], out, ReplayOptions(chunk_bytes=16 * 1024))
    assert summary.lines == 1000
    assert summary.kinds[LineKind.DELIVERY] == 1000
    assert summary.reconciled and summary.clean
    assert len(out.getvalue().splitlines()) == 1000


_DAMAGED = {
    "misspelt field": BOUNCED.replace("status=bounced", "statis=bounced"),
    "unknown status word": BOUNCED.replace("status=bounced", "status=bounce"),
    "cut before status=": BOUNCED[: BOUNCED.index(" status=")],
    "cut inside the fields": BOUNCED[: BOUNCED.index(" delay=")],
}


@pytest.mark.parametrize("what", sorted(_DAMAGED))
def test_damaged_delivery_line_is_malformed(what: str) -> None:
    kind, record = LineParser().parse(_DAMAGED[what])
    assert (kind, record) == (LineKind.MALFORMED, None)


def test_address_verification_and_other_postfix_lines_are_still_skipped() -> None:
    parser = LineParser()
    probe = BOUNCED.replace("status=bounced", "status=deliverable")
    qmgr = "Nov 26 11:31:27 mta postfix/qmgr[31873]: D3ECB162083: from=<a@b.test>, size=1, nrcpt=1"
    reject = (
        "Nov 26 11:31:27 mta postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554 5.7.1 "
        "<a@b.test>: Relay access denied; from=<c@d.test> to=<a@b.test> proto=ESMTP helo=<x>"
    )
    for line in (probe, qmgr, reject):
        assert parser.parse(line) == (LineKind.SKIPPED, None), line


def test_damaged_lines_are_reported_with_numbers_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [DELIVERIES[0], *_DAMAGED.values(), DELIVERIES[1]]
    log = tmp_path / "mail.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["replay", str(log)]) == 1
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2  # the good lines are written
    places = ", ".join(f"{log}:{n}" for n in range(2, 2 + len(_DAMAGED)))
    assert f"{len(_DAMAGED)} malformed line(s): {places}" in captured.err
