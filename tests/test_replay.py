"""Replay: the fixture log against its table, --final, workers, bad input and the CLI."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from classifier.cli import main
from classifier.errors import InputError
from classifier.logreplay import (
    FIELDS,
    ReplayOptions,
    ReplaySummary,
    replay,
    replay_lines,
    template_of,
)
from classifier.logreplay.rows import render

from .conftest import FIXTURES

FIXTURE = FIXTURES / "postfix"
LOG = FIXTURE / "postfix-3.7.11-fakemx.log"
LOG_LINES = LOG.read_text(encoding="utf-8").splitlines()


def _table(readme: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Rows of the README table: recipient domain -> (line codes, DSN or final codes)."""
    rows: dict[str, tuple[list[str], list[str]]] = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 6 or not cells[1].endswith(".test"):
            continue
        line_codes = re.findall(r"\b\d{3}\b", cells[3])
        dsn_codes = re.findall(r"\b\d{3}\b|–", cells[4])
        rows[cells[1]] = (line_codes, dsn_codes)
    return rows


# partial.test delivered three recipients; the table lists their codes in this order.
PARTIAL_ORDER = ("ok", "nouser", "full")


def _expected(table: dict[str, tuple[list[str], list[str]]], recipient: str, final: bool) -> str:
    local, _, domain = recipient.partition("@")
    if domain == "localhost":
        return "250"  # local delivery of Postfix's own bounce notifications
    line_codes, dsn_codes = table[domain]
    index = PARTIAL_ORDER.index(local) if domain == "partial.test" else 0
    if not final:
        return line_codes[index]
    dsn = dsn_codes[index]
    return "250" if dsn == "–" else dsn


def _run(names: list[str], **options: Any) -> tuple[list[dict[str, Any]], ReplaySummary]:
    out = io.StringIO()
    summary = replay(names, out, ReplayOptions(**options))
    return [json.loads(line) for line in out.getvalue().splitlines()], summary


def _check_against_table(table: dict[str, tuple[list[str], list[str]]]) -> None:
    rows, summary = _run([str(LOG)])
    deliveries = [r for r in rows if r["recipient"]]
    assert len(deliveries) == 39  # 20 to the fake servers + 19 local bounce notifications
    for row in deliveries:
        expected = _expected(table, row["recipient"], final=False)
        assert row["code"] == expected, (row["line"], row["recipient"], row["text"])
    expired = [r for r in rows if r["mta_status"] == "expired"]
    assert len(expired) == 11 and {r["code"] for r in expired} == {"133"}
    assert summary.lines == len(LOG_LINES) and summary.reconciled
    final_rows, _ = _run([str(LOG)], final=True)
    assert len(final_rows) == 39
    for row in final_rows:
        expected = _expected(table, row["recipient"], final=True)
        assert row["code"] == expected, (row["line"], row["recipient"], row["text"])


def test_fixture_log_matches_its_readme_table() -> None:
    _check_against_table(_table(FIXTURE / "README.md"))


def test_fixture_log_matches_the_corpus_table() -> None:
    """Every delivery line against the corpus's own table (CORPUS.md: line and DSN codes)."""
    table = _table(FIXTURE / "CORPUS.md")
    assert len(table) == 19
    _check_against_table(table)


def test_records_carry_the_evidence() -> None:
    rows, _ = _run([str(LOG)])
    row = next(r for r in rows if r["recipient"] == "user@banner554.test")
    assert list(row) == list(FIELDS)
    assert row["mta"] == "postfix" and row["mta_status"] == "deferred"
    assert row["id"] == "D3ECB162083" and row["log_time"] == "Nov 26 11:31:27"
    assert row["time"].endswith("-11-26T11:31:27")  # ISO 8601, the year inferred
    assert row["from"] == "root@localhost" and row["relay"] == "127.0.0.1[127.0.0.1]:2601"
    assert row["dsn"] == "4.7.1"  # Postfix's own reading, kept as evidence only
    assert row["code"] == "554" and row["estado"] == "Error"
    assert row["rule_id"] and row["matched"] and "zen.spamhaus.org" in row["text"]
    assert row["stage"] == "connect"


# --- --final ---------------------------------------------------------------------------------


def test_final_turns_a_deferral_followed_by_expiry_into_133() -> None:
    lines = [
        line
        for line in LOG_LINES
        if "EC4A116207D" in line  # rcpt452.test: deferred, then expired
    ]
    plain = list(replay_lines(lines))
    assert [(r.record.status, r.result.code) for r in plain] == [
        ("deferred", "202"),
        ("expired", "133"),
    ]
    final = list(replay_lines(lines, final=True))
    assert len(final) == 1
    row = final[0]
    assert (row.recipient, row.record.status, row.result.code) == (
        "user@rcpt452.test",
        "expired",
        "133",
    )
    assert row.result.reason == "expired"
    assert row.result.note and "gave up" in row.result.note
    assert "over quota" in row.result.text  # the evidence of the last deferral stays


def test_final_keeps_the_latest_attempt_per_recipient() -> None:
    deferred = next(line for line in LOG_LINES if "to=<full@partial.test>" in line)
    sent = next(line for line in LOG_LINES if "to=<ok@partial.test>" in line)
    retried = sent.replace("ok@partial.test", "full@partial.test")  # a later successful retry
    rows = list(replay_lines([deferred, retried], final=True))
    assert [(r.recipient, r.result.code) for r in rows] == [("full@partial.test", "250")]
    rows = list(replay_lines([deferred, retried, deferred], final=True))
    assert [r.result.code for r in rows] == ["202"]


def test_final_window_bounds_pending_recipients_without_losing_any() -> None:
    full, summary = _run([str(LOG)], final=True)
    tight, tight_summary = _run([str(LOG)], final=True, final_window=1)
    assert len(full) == summary.rows and len(tight) == tight_summary.rows
    # With a window of one, a deferral is written before its message expires; the expiry is
    # then written as its own message-level 133 row: nothing is lost, the answer is coarser.
    recipients = sorted(r["recipient"] for r in tight if r["recipient"])
    assert recipients == sorted(r["recipient"] for r in full)
    assert [r["code"] for r in tight if not r["recipient"]] == ["133"] * (len(tight) - len(full))


# --- workers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("final", [False, True])
def test_two_workers_write_exactly_what_one_writes(tmp_path: Path, final: bool) -> None:
    big = tmp_path / "big.log"
    big.write_text("\n".join(LOG_LINES * 40) + "\n", encoding="utf-8")
    outputs = []
    summaries = []
    for workers in (1, 2):
        out = io.StringIO()
        options = ReplayOptions(workers=workers, chunk_bytes=9000, final=final)
        summaries.append(replay([str(big)], out, options))
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == summaries[0].rows > 0
    assert summaries[0].to_dict() == summaries[1].to_dict()
    assert summaries[0].lines == len(LOG_LINES) * 40


def _arrival_line(line: str) -> bool:
    return any(p in line for p in ("/pickup[", "/cleanup[")) or (
        "/qmgr[" in line and ": from=<" in line
    )


@pytest.mark.parametrize("final", [False, True])
def test_arrival_facts_reach_deliveries_in_other_blocks_and_files(
    tmp_path: Path, final: bool
) -> None:
    """Any block size and any number of workers give the rows of one parser reading every line
    in order (replay_lines): sender and Message-ID included, though the arrival lines of half
    the messages are in an earlier file and the blocks are a few lines long."""
    lines = [line for line in LOG_LINES if "postfix/" in line]
    lines = [re.sub(r"(\w+): from=<", r"\1: from=<s-\1-", line) for line in lines * 3]
    half = len(lines) // 2
    later = lines[half:]
    files = {
        "early.log": lines[:half] + [line for line in later if _arrival_line(line)],
        "late.log": [line for line in later if not _arrival_line(line)],
    }
    names = []
    for name, content in files.items():
        (tmp_path / name).write_text("\n".join(content) + "\n", encoding="utf-8")
        names.append(str(tmp_path / name))
    numbered = [(n, i) for n in names for i in range(1, len(files[Path(n).name]) + 1)]
    every = [line for content in files.values() for line in content]
    rows = [
        dataclasses.replace(row, source=numbered[row.line - 1][0], line=numbered[row.line - 1][1])
        for row in replay_lines(every, final=final)
    ]
    want = render(rows, "json")
    late = [json.loads(w) for w in want.splitlines() if "late.log" in w]
    assert late and all(r["from"].startswith("s-") and r["message_id"] for r in late)
    for workers, block in ((1, 1 << 18), (1, 600), (2, 600)):
        out = io.StringIO()
        options = ReplayOptions(workers=workers, chunk_bytes=block, final=final)
        summary = replay(names, out, options)
        assert out.getvalue() == want, (workers, block)
        assert not summary.problems
    out = io.StringIO()
    replay(names, out, ReplayOptions(workers=2, chunk_bytes=600, final=final, output="csv"))
    assert out.getvalue() == ",".join(FIELDS) + "\n" + render(rows, "csv")


def test_arrival_memory_is_bounded_and_what_it_forgets_is_said(tmp_path: Path) -> None:
    from classifier.logreplay.run import Arrivals, run_chunk
    from classifier.logreplay.sources import Chunk

    text = "".join(
        f"Nov 26 00:00:0{n} mta postfix/qmgr[1]: Q{n}: from=<s{n}@x>, size=1, nrcpt=1\n"
        for n in range(3)
    )
    text += (
        "Nov 26 00:00:09 mta postfix/smtp[2]: Q0: to=<r@y>, relay=none, delay=1, "
        "delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to y[192.0.2.1]:25: refused)\n"
    )
    blocks = [text.encode()]
    options = ReplayOptions()
    carried = Arrivals(limit=2)
    results = []
    for lines in (blocks[0].splitlines(keepends=True)[:3], blocks[0].splitlines(keepends=True)[3:]):
        chunk = Chunk("-", 1, True, None, "", b"".join(lines))
        results.append(carried.settle(run_chunk(chunk, options), options))
    summary = ReplaySummary()
    carried.close(summary)
    (row,) = [json.loads(line) for line in results[1].text.splitlines()]
    assert row["from"] == "" and "1 message(s) forgotten" in summary.problems[0]


# --- bad input -------------------------------------------------------------------------------


def test_truncated_gzip_keeps_what_was_read_and_reports_where(tmp_path: Path) -> None:
    data = gzip.compress(("\n".join(LOG_LINES * 20) + "\n").encode())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(data[: len(data) // 2])
    rows, summary = _run([str(cut)])
    assert 0 < summary.lines < len(LOG_LINES) * 20
    assert summary.reconciled and rows
    assert len(summary.problems) == 1
    assert f"after line {summary.lines}" in summary.problems[0]
    assert not summary.clean


def test_whole_gzip_file_reads_like_the_plain_file(tmp_path: Path) -> None:
    packed = tmp_path / "mail.log.gz"
    packed.write_bytes(gzip.compress(LOG.read_bytes()))
    plain_rows, _ = _run([str(LOG)])
    gz_rows, summary = _run([str(packed)])
    assert [r["code"] for r in gz_rows] == [r["code"] for r in plain_rows]
    assert summary.lines == len(LOG_LINES) and not summary.problems


def test_invalid_utf8_huge_line_and_garbage_are_counted_with_line_numbers(tmp_path: Path) -> None:
    bounced = next(line for line in LOG_LINES if "to=<user@utf8.test>" in line).encode()
    latin1 = bounced.replace("Адрес не найден / ünknown".encode(), b"caf\xe9 inconnu")
    log = tmp_path / "bad.log"
    log.write_bytes(
        b"\n".join(
            [
                LOG_LINES[0].encode(),
                latin1,  # line 2: not UTF-8, still a delivery
                b"x" * (2 * 1024 * 1024),  # line 3: 2 MB, not read
                b"\x00\x01\xff garbage",  # line 4
                bounced,  # line 5: still read after the huge line
                b"Nov 26 11:31:28 mta postfix/smtp[1]: 0C64F162099: dsn=5.1.1, status=bounced (",
            ]
        )
    )
    rows, summary = _run([str(log)])
    assert summary.lines == 6 and summary.reconciled
    assert summary.kinds["overlong"] == 1 and summary.samples["overlong"] == [f"{log}:3"]
    assert summary.undecodable == 2 and summary.samples["undecodable"] == [f"{log}:2", f"{log}:4"]
    assert summary.kinds["unrecognised"] == 1 and summary.samples["unrecognised"] == [f"{log}:4"]
    assert summary.kinds["malformed"] == 1 and summary.samples["malformed"] == [f"{log}:6"]
    assert [r["line"] for r in rows] == [2, 5]
    assert rows[0]["code"] == "131" and "\ufffd" in rows[0]["text"]


def test_unreadable_file_raises_with_the_lines_done(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read .*missing\.log.*\(203 lines done\)"):
        replay([str(LOG), str(tmp_path / "missing.log")], io.StringIO())


def test_summary_counts_and_templates() -> None:
    _, summary = _run([str(LOG)], records=False)
    data = summary.to_dict()
    assert data["lines"] == 203 and data["reconciled"]
    assert data["kinds"] == {"delivery": 50, "skipped": 153}
    assert data["codes"]["250"] == 21 and data["codes"]["133"] == 11
    assert data["mta_status"] == {"sent": 21, "deferred": 11, "expired": 11, "bounced": 7}
    assert sum(data["rules"].values()) == data["rows"] == 50
    for item in data["top_unmatched"]:
        assert "127.0.0.1" not in item["template"] and item["example"]
    text = summary.render()
    assert "by code:" in text and "lines read      203" in text


# --- the command -----------------------------------------------------------------------------


def test_cli_writes_json_lines_and_exits_0_on_a_clean_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["replay", str(LOG)]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert len(rows) == 50
    assert captured.err == ""  # no progress bar when stderr is not a terminal


def test_cli_csv_output_and_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    assert main(["replay", "--csv", "--final", "-o", str(out), "--summary", str(LOG)]) == 0
    table = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert tuple(table[0]) == FIELDS and len(table) == 40
    assert "by code:" in capsys.readouterr().out


def test_cli_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.TextIOWrapper(io.BufferedReader(io.BytesIO(gzip.compress(LOG.read_bytes()))))
    monkeypatch.setattr(sys, "stdin", stream)
    assert main(["replay", "--summary-json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"] == 203


def test_cli_progress_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--progress", "--summary", str(LOG)]) == 0
    err = capsys.readouterr().err
    assert "203 lines" in err and "lines/s" in err


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.log"
    bad.write_bytes(LOG.read_bytes() + b"\xff\xfe\n")
    assert main(["replay", str(bad)]) == 1
    assert f"1 undecodable line(s): {bad}:204" in capsys.readouterr().err
    other = tmp_path / "syslog"
    other.write_bytes(LOG.read_bytes() + b"Nov 26 11:31:31 mta kernel: [ 1.0] eth0: link up\n")
    assert main(["replay", "--summary-json", str(other)]) == 0
    captured = capsys.readouterr()
    assert "unrecognised" not in captured.err  # another program's line, not an unknown one
    assert json.loads(captured.out)["kinds"]["other"] == 1
    junk = tmp_path / "junk"
    junk.write_bytes(LOG.read_bytes() + b"no syslog shape at all\n")
    assert main(["replay", str(junk)]) == 0
    assert f"1 unrecognised line(s): {junk}:204" in capsys.readouterr().err
    assert main(["replay", "--format", "csv", str(LOG)]) == 2
    assert main(["replay", "--workers", "-1", str(LOG)]) == 2
    assert main(["replay", "--format", "qmail", str(LOG)]) == 2
    assert main(["replay", str(tmp_path / "missing.log")]) == 3
    assert "0 lines done" in capsys.readouterr().err


def test_cli_generic_json_export(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    export = tmp_path / "events.jsonl"
    events = [
        {"email": "a@example.org", "event": "bounce", "diag": "550 5.1.1 user unknown"},
        {"email": "b@example.org", "event": "delivered", "diag": "250 2.0.0 OK"},
    ]
    export.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    assert main(["replay", "--format", "json", "--field", "diag", str(export)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["recipient"], r["code"]) for r in rows] == [
        ("a@example.org", "131"),
        ("b@example.org", "250"),
    ]


def test_small_blocks_carry_long_lines_and_skip_overlong_ones(tmp_path: Path) -> None:
    """Lines longer than a block are carried whole; longer than the limit, counted and dropped."""
    sent = next(line for line in LOG_LINES if "to=<user@ok.test>" in line)
    padded = sent.replace("relay=", "relay=" + "x" * 3000 + ",")  # 3 kB: spans blocks
    log = tmp_path / "long.log"
    log.write_text("\n".join([sent, padded, "y" * 20000, sent, "z" * 9000]), encoding="utf-8")
    rows, summary = _run([str(log)], chunk_bytes=1000, max_line_bytes=5000)
    assert [r["line"] for r in rows] == [1, 2, 4]
    assert {r["code"] for r in rows} == {"250"}
    assert summary.lines == 5 and summary.reconciled
    assert summary.samples["overlong"] == [f"{log}:3", f"{log}:5"]


def test_templates_group_replies_that_differ_only_in_addresses_ips_ids_and_numbers() -> None:
    one = "550 5.1.1 <joe123@example.com>: unknown, id=a640c23a62f3a-7a9a4c8e from [192.0.2.7]:25"
    two = "550 5.1.1 <ann@example.org>: unknown, id=b1d2e3f4a5b6c7d8 from [2001:db8::1]"
    assert template_of(one) == template_of(two) == "# #.#.# <addr>: unknown, id=<id> from <ip>"


def test_exim_deferral_then_retry_timeout_ends_as_133() -> None:
    # Lines as in the Exim specification ("Deferred deliveries") and a public Exim log.
    lines = [
        "2012-02-13 14:39:22 1RookS-000Pg8-VO == rcpt@london.com R=dnslookup T=remote_smtp "
        "defer (-44): SMTP error from remote mail server after RCPT TO:<rcpt@london.com>: "
        "host mx0.gmx.com [74.208.5.90]: 450 4.3.2 Too many mails (mail bomb), try again in 1 "
        "hour(s) 25 minute(s)",
        "2012-02-13 20:39:22 1RookS-000Pg8-VO ** rcpt@london.com: retry timeout exceeded",
        "2012-02-13 20:39:22 1RookS-000Pg8-VO Completed",
    ]
    plain = [(r.record.status, r.result.code) for r in replay_lines(lines)]
    assert plain[1] == ("expired", "133")
    assert plain[0][0] == "deferred" and plain[0][1] != "133"
    final = list(replay_lines(lines, final=True))
    assert [(r.recipient, r.result.code) for r in final] == [("rcpt@london.com", "133")]


def test_a_bounce_on_a_temporary_reply_is_the_mta_giving_up() -> None:
    header = "type,timeLogged,orig,rcpt,dsnAction,dsnStatus,dsnDiag,bounceCat"
    row = "b,1178807915,o@port25.com,u@example.org,failed,4.2.2,smtp;452 4.2.2 Mailbox full,"
    row += "quota-issues"
    (result,) = replay_lines([header, row])
    assert result.record.status == "bounced"
    assert result.result.code == "133"
    assert result.result.note and "gave up" in result.result.note


def test_reader_never_holds_more_than_a_block_and_a_line(tmp_path: Path) -> None:
    """Memory bound of the reader: blocks stay below size + limit whatever the lines are."""
    from classifier.logreplay.sources import Source as _Source

    log = tmp_path / "huge-line.log"
    log.write_bytes(b"a\n" + b"x" * (3 * 1024 * 1024) + b"\nb\n" + b"y" * 6000 + b"\nc")
    source = _Source(str(log))
    problems: list[str] = []
    blocks = list(source.blocks(4096, 8192, problems))
    source.close()
    assert max(len(data) for data, _ in blocks) <= 4096 + 8192
    assert [n for _, overlong in blocks for n in overlong] == [2]
    assert b"".join(data for data, _ in blocks).split(b"\n") == [b"a", b"", b"b", b"y" * 6000, b"c"]
    assert source.line == 5 and not problems


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([line.encode() for line in LOG_LINES[10:40]]),
            st.binary(max_size=300),
        ),
        max_size=12,
    ),
    st.integers(16, 600),
    st.integers(8, 400),
)
def test_any_bytes_are_counted_line_for_line(pieces: list[bytes], block: int, limit: int) -> None:
    """Whatever the bytes and block sizes, every line is counted once and nothing raises."""
    data = b"\n".join(pieces)
    assume(not data.startswith(b"\x1f\x8b"))  # that would be read as gzip
    # A first block with CR but no LF is an old-Mac file, read with CR as the line end: its
    # own tests are in test_replay_damaged.py; here lines end with LF.
    assume(not (b"\r" in data[:block] and b"\n" not in data[:block]))
    expected = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    rows, summary = _replay_bytes(data, chunk_bytes=block, max_line_bytes=limit)
    assert summary.lines == expected and summary.reconciled
    assert not summary.problems
    assert len(rows) == summary.rows


def _replay_bytes(data: bytes, **options: Any) -> tuple[list[dict[str, Any]], ReplaySummary]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.log"
        path.write_bytes(data)
        return _run([str(path)], **options)


def test_powermta_headers_change_mid_file_and_blocks_follow_them(tmp_path: Path) -> None:
    """A new "type," header (files concatenated) applies from its line on, across blocks."""
    first = "type,timeLogged,orig,rcpt,dsnAction,dsnStatus,dsnDiag,bounceCat"
    second = "type,rcpt,dsnDiag,timeLogged"
    rows_first = [
        f"b,1178807915,o@port25.com,u{i}@example.org,failed,5.1.1,"
        f'"smtp;550 5.1.1 <u{i}@example.org>: Recipient address rejected: User unknown",'
        "bad-mailbox"
        for i in range(40)
    ]
    rows_second = [f"d,v{i}@example.net,smtp;250 2.0.0 ok,1178807999" for i in range(40)]
    log = tmp_path / "acct.csv"
    log.write_text("\n".join([first, *rows_first, second, *rows_second]) + "\n", encoding="utf-8")
    for block in (64, 1000, 1 << 18):
        rows, summary = _run([str(log)], chunk_bytes=block)
        assert summary.kinds == {"delivery": 80, "skipped": 2}, block
        assert [r["recipient"] for r in rows] == [f"u{i}@example.org" for i in range(40)] + [
            f"v{i}@example.net" for i in range(40)
        ]
        assert {r["code"] for r in rows[:40]} == {"131"}
        assert {(r["code"], r["log_time"], r["time"]) for r in rows[40:]} == {
            ("250", "1178807999", "2007-05-10T14:39:59Z")
        }


def test_kumomta_transient_failure_then_delivery_ends_as_250() -> None:
    # Record shape of docs.kumomta.com, reference "Log Record".
    def record(kind: str, code: int, content: str) -> str:
        response = {"code": code, "content": content, "command": "RCPT TO"}
        return json.dumps(
            {
                "type": kind,
                "id": "1d98076abbbc11ed940250ebf67f93bd",
                "recipient": "a@example.org",
                "response": response,
                "timestamp": 1678069691,
            }
        )

    lines = [
        record("TransientFailure", 451, "4.7.1 Greylisted, please try again in 300 seconds"),
        record("Delivery", 250, "OK ids=8a5475ccbbc611eda12250ebf67f93bd"),
    ]
    assert [r.result.code for r in replay_lines(lines)] == ["202", "250"]
    final = list(replay_lines(lines, final=True))
    assert [(r.recipient, r.result.code) for r in final] == [("a@example.org", "250")]


@pytest.mark.parametrize(
    ("sender", "message_id"),
    [("s@example.org", "<id@x>"), ('qu"ote\\d@x', None), (None, "<ü@ñ>"), ("", "")],
)
def test_refill_writes_what_a_whole_json_round_trip_writes(
    sender: str | None, message_id: str | None
) -> None:
    from classifier.logreplay.rows import refill

    encoder = json.JSONEncoder(ensure_ascii=False)
    # Other fields hold the very words of the two fields, escaped as JSON escapes them.
    for before in (None, ""):
        row = {
            "source": 'a "from": null, b',
            "id": "Q1",
            "from": before,
            "message_id": before,
            "text": '"message_id": "", x',
        }
        text = encoder.encode(row) + "\n"
        want = dict(row)
        if sender and not want["from"]:
            want["from"] = sender
        if message_id and not want["message_id"]:
            want["message_id"] = message_id
        assert refill(text, sender, message_id) == encoder.encode(want) + "\n"
