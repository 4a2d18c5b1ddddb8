"""A mail operator's workflow through the real command line (subprocesses): own rules in every
command and from a configuration file, live replay of a pipe and of a followed file across
rotation, bounces linked to what was sent, and one vocabulary of options and fields."""

from __future__ import annotations

import gzip
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from .conftest import ROOT

EXE = [sys.executable, "-m", "classifier"]
#: Bound on waiting for a live row; the rows come at once, this only stops a broken build.
DEADLINE = 30.0

RULE = """\
[meta]
description = "ACME's gateway"

[[rule]]
id = "acme.zorglub-block"
reason = "ip_blocklisted"
pattern = '''zorglub-\\d+ refused'''

[[rule.example]]
reply = "550 5.1.1 ZORGLUB-42 refused"
code = "554"
source = "ACME gateway support ticket 42"
"""
REPLY = "550 5.1.1 ZORGLUB-42 refused"

QMGR = "Mar  4 10:00:00 mx postfix/qmgr[12]: {qid}: from=<news@shop.example>, size=900, nrcpt=1 (queue active)\n"
SMTP = (
    "Mar  4 10:00:01 mx postfix/smtp[13]: {qid}: to=<{to}>, relay=mx.dest.example[192.0.2.7]:25,"
    " delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.dest.example[192.0.2.7] said:"
    " {reply} (in reply to RCPT TO command))\n"
)
REMOVED = "Mar  4 10:00:02 mx postfix/qmgr[12]: {qid}: removed\n"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTP_CLASSIFIER_")}
    env["SMTP_CLASSIFIER_CONFIG"] = ""  # no configuration file unless a test names one
    env.update(extra)
    return env


def cli(
    *args: str, stdin: str = "", cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *args],
        input=stdin,
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env or _env(),
        timeout=120,
    )


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "acme.toml").write_text(RULE, encoding="utf-8")
    return directory


def _bounce(reply: str, *, campaign: str = "spring-42") -> str:
    """A DSN that returns the whole original message, as Postfix sends it."""
    return (
        "From: MAILER-DAEMON@mx.shop.example\r\n"
        "To: news@shop.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 04 Mar 2025 10:00:05 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.shop.example\r\n\r\n"
        "Final-Recipient: rfc822; ann@dest.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; {reply}\r\n"
        "--B\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: Shop News <news@shop.example>\r\nTo: ann@dest.example\r\n"
        "Subject: Spring sale\r\nDate: Tue, 04 Mar 2025 09:59:00 +0000\r\n"
        "Message-ID: <spring.1@shop.example>\r\n"
        f"X-Campaign-Id: {campaign}\r\n\r\nHello\r\n"
        "--B--\r\n"
    )


# --- 1. own rules everywhere -----------------------------------------------------------------


def test_own_rules_in_classify_replay_and_classify_mail(rules: Path, tmp_path: Path) -> None:
    default = json.loads(cli("classify", "--json", REPLY).stdout)
    assert default["code"] == "131" and default["rule_id"] is None  # the bundled reading
    own = json.loads(cli("classify", "--json", "--rules", str(rules), REPLY).stdout)
    assert (own["code"], own["rule_id"]) == ("554", "acme.zorglub-block")

    log = tmp_path / "mail.log"
    log.write_text(
        QMGR.format(qid="AB12") + SMTP.format(qid="AB12", to="ann@dest.example", reply=REPLY)
    )
    row = json.loads(cli("replay", "--rules", str(rules), str(log)).stdout)
    assert (row["code"], row["rule_id"]) == ("554", "acme.zorglub-block")

    mail = tmp_path / "bounce.eml"
    mail.write_text(_bounce(REPLY), encoding="utf-8")
    done = cli("classify-mail", "--json", "--no-summary", "--rules", str(rules), str(mail))
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert (row["code"], row["rule_id"]) == ("554", "acme.zorglub-block")


def test_configuration_file_and_environment(rules: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[tool.smtp-classifier]\nrules = ["{rules.as_posix()}"]\noutput = "json"\n'
    )
    env = {k: v for k, v in _env().items() if k != "SMTP_CLASSIFIER_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "nothing")
    found = cli("classify", REPLY, cwd=project / "sub", env=env)  # found in a parent directory
    assert json.loads(found.stdout)["rule_id"] == "acme.zorglub-block"
    ignored = cli("classify", "--no-config", "--json", REPLY, cwd=project / "sub", env=env)
    assert json.loads(ignored.stdout)["code"] == "131"

    named = tmp_path / "elsewhere.toml"
    named.write_text('output = "csv"\n')
    by_env = cli(
        "classify",
        REPLY,
        env=_env(SMTP_CLASSIFIER_CONFIG=str(named), SMTP_CLASSIFIER_RULES=str(rules)),
    )
    header, line = by_env.stdout.splitlines()
    assert header.startswith("line,code") and ",554," in line and "acme.zorglub-block" in line

    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "acme.toml").write_text(RULE.replace('code = "554"', 'code = "131"'))
    (project / "sub" / "smtp-classifier.toml").write_text(f'rules = ["{wrong.as_posix()}"]\n')
    checked = cli("check-rules", cwd=project / "sub", env=env)  # the configured directories
    assert checked.returncode == 1 and "FAIL" in checked.stderr and "acme" in checked.stderr
    assert cli("check-rules", "--no-config", cwd=project / "sub", env=env).returncode == 0
    (project / "sub" / "smtp-classifier.toml").unlink()

    broken = tmp_path / "broken.toml"
    broken.write_text('rulez = ["x"]\n')
    bad = cli("classify", REPLY, env=_env(SMTP_CLASSIFIER_CONFIG=str(broken)))
    assert bad.returncode == 2
    assert bad.stderr.startswith("smtp-classifier classify: invalid configuration:")
    assert "rulez" in bad.stderr


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """Lines of a child's output as they come, read by a thread."""
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        try:
            for line in stream:
                found.put(line)
        except (ValueError, OSError):
            pass  # the test closed the pipe while collecting the rest (communicate)
        found.put("")  # end of output

    threading.Thread(target=pump, daemon=True).start()
    return found


def _next(lines: queue.Queue[str], deadline: float, *, skip: str = "") -> str:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no output before the deadline")
        line = lines.get(timeout=remaining)
        if not line:
            raise AssertionError("the output ended")
        if not skip or skip not in line:
            return line


def test_fake_server_and_probe_with_own_rules(rules: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "acme.json"
    scenario.write_text(
        json.dumps(
            {
                "scenarios": [
                    {
                        "id": "acme",
                        "description": "ACME refuses with its own words",
                        "source": "ACME gateway support ticket 42",
                        "rcpt": {"blocked": REPLY},
                        "expect": {"blocked": "554"},
                    }
                ]
            }
        )
    )
    server = subprocess.Popen(
        [*EXE, "fake-server", "--fixtures", str(scenario), "--port", "-1", "--rules", str(rules)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert server.stdout is not None
        lines = _lines(server.stdout)
        deadline = time.monotonic() + DEADLINE
        first = _next(lines, deadline)
        assert first.startswith("acme ") and "listening" in first, first
        address = first.split()[2]
        probed = cli("probe", address, "--to", "blocked@acme.test", "--json", "--rules", str(rules))
        (row,) = json.loads(probed.stdout)["recipients"]
        assert (row["recipient"], row["code"], row["rule_id"]) == (
            "blocked@acme.test",
            "554",
            "acme.zorglub-block",
        )
        bundled = cli("probe", address, "--to", "blocked@acme.test", "--json")
        assert json.loads(bundled.stdout)["recipients"][0]["code"] == "131"
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=DEADLINE)
    assert "disagree" not in err and "expects" not in err  # own rules agree with the scenario
    plain = cli("fake-server", "--fixtures", str(scenario), "--rules", str(rules), "--bogus")
    assert plain.returncode == 2 and "usage: smtp-classifier fake-server" in plain.stderr


# --- 2. live logs --------------------------------------------------------------------------


def _popen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*EXE, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """End the child (SIGTERM) and collect what it wrote; closes its pipes."""
    if proc.poll() is None:
        proc.terminate()
    if proc.stdin is not None and proc.stdin.closed:
        proc.stdin = None
    out, err = proc.communicate(timeout=DEADLINE)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return out, err


def test_replay_stdin_writes_each_row_as_its_line_is_read() -> None:
    proc = _popen("replay", "-")
    try:
        assert proc.stdin is not None and proc.stdout is not None
        rows = _lines(proc.stdout)
        deadline = time.monotonic() + DEADLINE
        for n, to in enumerate(("ann@dest.example", "bob@dest.example")):
            proc.stdin.write(QMGR.format(qid=f"Q{n}"))
            proc.stdin.write(SMTP.format(qid=f"Q{n}", to=to, reply="550 5.1.1 User unknown"))
            proc.stdin.flush()  # the pipe stays open: the row must come before input ends
            row = json.loads(_next(rows, deadline))
            assert (row["recipient"], row["code"], row["from"]) == (to, "131", "news@shop.example")
            assert row["relay"] == "mx.dest.example[192.0.2.7]:25"
            assert row["time"].endswith("-03-04T10:00:01") and row["final"] is True
            assert row["label_en"] and row["rule_id"]
        proc.stdin.close()
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        _stop(proc)


def test_replay_stdin_pipe_may_be_gzip() -> None:
    data = gzip.compress(
        SMTP.format(qid="G1", to="ann@dest.example", reply="550 5.1.1 User unknown").encode()
    )
    done = subprocess.run(
        [*EXE, "replay", "-"], input=data, capture_output=True, check=False, env=_env(), timeout=120
    )
    assert json.loads(done.stdout)["code"] == "131" and done.returncode == 0
    cut = subprocess.run(
        [*EXE, "replay", "-"], input=data[:-12], capture_output=True, check=False, env=_env()
    )
    assert cut.returncode == 1 and b"compressed data ends or is damaged" in cut.stderr


def test_replay_final_rows_come_when_the_message_is_done() -> None:
    proc = _popen("replay", "--final", "-")
    try:
        assert proc.stdin is not None and proc.stdout is not None
        rows = _lines(proc.stdout)
        deferred = SMTP.replace("dsn=5.1.1, status=bounced", "dsn=4.2.2, status=deferred")
        proc.stdin.write(deferred.format(qid="F1", to="ann@dest.example", reply="452 4.2.2 full"))
        proc.stdin.flush()
        assert rows.empty()  # not yet known: the message is still in the queue
        proc.stdin.write(REMOVED.format(qid="F1"))
        proc.stdin.flush()
        row = json.loads(_next(rows, time.monotonic() + DEADLINE))
        assert (row["recipient"], row["code"]) == ("ann@dest.example", "202")
    finally:
        _stop(proc)


def test_replay_follow_reads_a_growing_file_across_rotation(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(SMTP.format(qid="R1", to="one@dest.example", reply="550 5.1.1 User unknown"))
    proc = _popen("replay", "--follow", str(log), "--summary", "-o", str(tmp_path / "rows.jsonl"))
    live = _popen("replay", "--follow", str(log))
    try:
        assert live.stdout is not None
        rows = _lines(live.stdout)
        deadline = time.monotonic() + DEADLINE
        assert json.loads(_next(rows, deadline))["recipient"] == "one@dest.example"
        with log.open("a") as handle:  # the file grows
            handle.write(SMTP.format(qid="R2", to="two@dest.example", reply="452 4.2.2 full"))
        assert json.loads(_next(rows, deadline))["recipient"] == "two@dest.example"
        log.rename(tmp_path / "mail.log.1")  # rotation: a new file takes the name
        log.write_text("Mar  4 10:00:03 mx CRON[7]: (root) CMD (true)\n")
        with log.open("a") as handle:
            handle.write(SMTP.format(qid="R3", to="three@dest.example", reply="550 5.1.1 x"))
        row = json.loads(_next(rows, deadline))
        assert (row["recipient"], row["line"]) == ("three@dest.example", 2)
        # The other follower writes its rows to a file: stop it once it has written one (a
        # SIGTERM before it has started would find no handler yet).
        written = tmp_path / "rows.jsonl"
        while not (written.exists() and written.read_text().endswith("\n")):
            assert time.monotonic() < deadline, "the --summary follower wrote no row"
            time.sleep(0.05)  # polling a file, bounded by the deadline
    finally:
        _stop(live)
        out, err = _stop(proc)
    assert "lines read" in out  # SIGTERM ends a follow cleanly, with its summary
    assert err == ""


# --- 3. bounces linked to what was sent ----------------------------------------------------


def test_classify_mail_links_the_bounce_to_the_original(tmp_path: Path) -> None:
    mail = tmp_path / "bounce.eml"
    mail.write_text(_bounce("550 5.1.1 <ann@dest.example>: User unknown"), encoding="utf-8")
    done = cli("classify-mail", "--json", "--header", "X-Campaign-Id", "--no-summary", str(mail))
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["original_message_id"] == "<spring.1@shop.example>"
    assert row["original_from"] == "Shop News <news@shop.example>"
    assert row["original_to"] == "ann@dest.example"
    assert row["original_subject"] == "Spring sale"
    assert row["original_date"] == "2025-03-04T09:59:00+00:00"
    assert row["date"] == "2025-03-04T10:00:05+00:00"
    assert row["headers"] == {"X-Campaign-Id": "spring-42"}
    assert row["code"] == "131" and "rule_id" in row and "classification" not in row

    table = cli("classify-mail", "--csv", "--header", "X-Campaign-Id", str(mail))
    header, line = table.stdout.splitlines()[:2]
    assert header.endswith("X-Campaign-Id") and line.endswith("spring-42")


def test_a_replay_row_and_its_bounce_share_the_message_id(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(
        "Mar  4 09:59:00 mx postfix/cleanup[11]: AB12: message-id=<spring.1@shop.example>\n"
        + QMGR.format(qid="AB12")
        + SMTP.format(qid="AB12", to="ann@dest.example", reply="550 5.1.1 User unknown")
    )
    row = json.loads(cli("replay", str(log)).stdout)
    mail = tmp_path / "bounce.eml"
    mail.write_text(_bounce("550 5.1.1 User unknown"), encoding="utf-8")
    (bounce,) = [
        json.loads(line)
        for line in cli("classify-mail", "--json", "--no-summary", str(mail)).stdout.splitlines()
    ]
    assert row["message_id"] == bounce["original_message_id"] == "<spring.1@shop.example>"
    assert (row["recipient"], row["code"]) == (bounce["recipient"], bounce["code"])


# --- 4. one tool, one vocabulary -----------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "needed"),
    [
        ("classify", ()),
        ("replay", ()),
        ("classify-mail", ()),
        ("probe", ("--to", "a@b.test")),
        ("fake-server", ("--fixtures", "x.json")),
        ("check-rules", ()),
    ],
)
def test_unknown_options_print_the_subcommands_usage(command: str, needed: tuple[str, ...]) -> None:
    done = cli(command, *needed, "--no-such-option", "x")
    assert done.returncode == 2
    assert f"usage: smtp-classifier {command}" in done.stderr
    assert f"smtp-classifier {command}: error: unrecognized arguments" in done.stderr


def test_classify_reads_dash_as_stdin_and_keeps_the_input_fields() -> None:
    stdin = (
        json.dumps({"id": "m-1", "recipient": "ann@dest.example", "reply": "550 5.1.1 unknown"})
        + "\n\n"
        + '{"reply": "452 4.2.2 full", oops\n'
        + "hello there\n"
    )
    done = cli("classify", "--json", "--line-numbers", "-", stdin=stdin)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["line"], r["code"]) for r in rows] == [(1, "131"), (3, "202"), (4, None)]
    assert rows[0]["id"] == "m-1" and rows[0]["recipient"] == "ann@dest.example"
    assert rows[0]["basic"] == "550" and rows[0]["enhanced"] == "5.1.1"
    assert rows[2]["rule_id"] is None
    assert done.returncode == 1
    assert "smtp-classifier classify: 1 line(s) look like JSON but are not" in done.stderr
    assert "line 3" in done.stderr and "1 blank line(s) skipped" in done.stderr
    assert json.loads(cli("classify", "--json", "-", stdin="-\n").stdout)["text"] == "-"


@pytest.mark.parametrize("form", ["--json", "--csv", "--summary", "--explain"])
def test_writers_survive_lone_surrogates(form: str) -> None:
    stdin = '{"reply": "550 5.1.1 \\ud800 user unknown", "id": "\\udcff"}\n'
    done = cli("classify", form, stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stdout
    if form == "--json":
        assert json.loads(done.stdout)["id"] == "\ufffd"  # cleaned where it entered


def test_table_cells_are_cut_with_a_mark() -> None:
    long_rule = "550 5.7.1 " + "blocked " * 40
    done = cli("classify", long_rule)
    header, row = done.stdout.splitlines()
    assert header.split() == ["code", "estado", "reason", "rule", "/", "tier", "text"]
    assert "…" not in row  # not a terminal: the last column keeps all its text
    assert row.rstrip().endswith("blocked")
    from classifier.commands._common import truncate

    assert truncate("abcdef", 4) == "abc…" and truncate("abc", 4) == "abc"


def test_replay_counts_other_programs_lines_as_not_delivery(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(
        "Mar  4 10:00:00 mx CRON[7]: (root) CMD (run-parts /etc/cron.hourly)\n"
        "Mar  4 10:00:00 mx dovecot: imap-login: Login: user=<ann>\n"
        "Mar  4 10:00:00 mx opendkim[9]: AB12: DKIM-Signature field added\n"
        "Mar  4 10:00:00 mx amavis[3]: (03-1) Passed CLEAN\n"
        + SMTP.format(qid="AB12", to="ann@dest.example", reply="550 5.1.1 unknown")
    )
    done = cli("replay", "--summary-json", str(log))
    summary = json.loads(done.stdout)
    assert summary["kinds"] == {"other": 4, "delivery": 1}
    assert done.returncode == 0 and "unrecognised" not in done.stderr
    text = cli("replay", "--summary", str(log)).stdout
    assert "other 4" in text and "input problems" not in text  # not a problem either


def test_csv_and_json_rows_of_replay_share_field_names(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(SMTP.format(qid="AB12", to="ann@dest.example", reply="hello"))
    row = json.loads(cli("replay", str(log)).stdout)
    header = cli("replay", "--csv", str(log)).stdout.splitlines()[0].split(",")
    assert header == list(row)
    for name in ("rule_id", "code", "label_en", "retry", "final", "from", "relay", "time"):
        assert name in row
    assert "rule" not in row
    explained = json.loads(cli("replay", "--explain", str(log)).stdout)
    assert explained["explanation"].startswith("Unrecognised")
    head = cli("replay", "--csv", "--explain", str(log)).stdout.splitlines()[0]
    assert head.split(",")[-1] == "explanation"


def test_explain_names_a_near_miss(tmp_path: Path) -> None:
    strict = tmp_path / "strict"
    strict.mkdir()
    (strict / "strict.toml").write_text(
        RULE.replace(
            'reason = "ip_blocklisted"', 'reason = "ip_blocklisted"\nstage = ["rcpt"]'
        ).replace('code = "554"', 'code = "554"\nstage = "rcpt"'),
        encoding="utf-8",
    )
    done = cli("classify", "--json", "--explain", "--stage", "data", "--rules", str(strict), REPLY)
    row = json.loads(done.stdout)
    assert row["code"] == "131"
    assert "Near miss: rule acme.zorglub-block matched 'ZORGLUB-42 refused'" in row["explanation"]
    assert "the stage data is not one of rcpt" in row["explanation"]
    assert "Then the enhanced-status fallback decided." in row["explanation"]


def _rows(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        yield json.loads(line)
