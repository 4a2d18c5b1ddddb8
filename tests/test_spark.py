"""Spark in local[2]: classify_column and the log job give what classify and replay give.

One SparkSession serves the whole module (starting the JVM is the slow part). The tests skip,
saying why, where PySpark is not installed or no Java can be found.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classifier import Classifier
from classifier.frames import COLUMNS, classification_columns
from classifier.logreplay import ReplayOptions, replay
from classifier.spark import executor_classifier, plan_ranges, rule_payload

from .conftest import FIXTURES, ROOT

RULE = """\
[meta]
description = "a gateway of our own"

[[rule]]
id = "acme.quarantine"
reason = "policy_rejected"
pattern = '''message quarantined by acme'''

[[rule.example]]
reply = "550 5.7.1 Message quarantined by ACME (ref 12ab)"
code = "554"
source = "made up for the test"
"""

EXIM = [
    "2012-02-13 14:39:22 1RookS-000Pg8-VO == rcpt@london.com R=dnslookup T=remote_smtp "
    "defer (-44): SMTP error from remote mail server after RCPT TO:<rcpt@london.com>: "
    "host mx0.gmx.com [74.208.5.90]: 450 4.3.2 Too many mails (mail bomb), try again later",
    "2012-02-13 14:40:01 1RookT-000Pg9-AB ** nobody@example.org R=dnslookup T=remote_smtp: "
    "SMTP error from remote mail server after RCPT TO:<nobody@example.org>: "
    "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
]
#: The same Exim message gives up in a later file: --final must join them across files.
EXIM_LATER = [
    "2012-02-13 20:39:22 1RookS-000Pg8-VO ** rcpt@london.com: retry timeout exceeded",
    "2012-02-13 20:39:22 1RookS-000Pg8-VO Completed",
]
SENDMAIL = [
    "Nov 26 10:00:00 mx sendmail[123]: 5AQA0001: to=<u@example.org>, delay=00:00:01, "
    "xdelay=00:00:01, mailer=esmtp, pri=120000, relay=mx.example.org. [192.0.2.1], "
    "dsn=5.1.1, stat=User unknown",
    "Nov 26 10:00:02 mx sendmail[124]: 5AQA0002: to=<a@example.net>,<b@example.net>, "
    "delay=00:00:02, mailer=esmtp, pri=120000, relay=mx.example.net. [192.0.2.2], "
    "dsn=4.2.2, stat=Deferred: 452 4.2.2 Mailbox full",
]


def _kumo(kind: str, code: int, content: str, rcpt: str) -> str:
    response = {"code": code, "content": content, "command": "RCPT TO"}
    record = {"type": kind, "id": "1d98076a", "recipient": rcpt, "response": response}
    return json.dumps(record | {"timestamp": 1678069691})


KUMO = [
    _kumo("TransientFailure", 451, "4.7.1 Greylisted, please try again in 300 seconds", "k@x.org"),
    _kumo("Delivery", 250, "OK ids=8a5475cc", "k@x.org"),
    _kumo("Bounce", 550, "5.1.1 mailbox unavailable", "gone@x.org"),
]


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _need_spark() -> None:
    pytest.importorskip("pyspark", reason="the spark extra (PySpark) is not installed")
    if _java() is None:
        pytest.skip("no Java found (java on PATH or JAVA_HOME): PySpark cannot start")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local[2] session for every Spark test."""
    _need_spark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only
    session = (
        SparkSession.builder.master("local[2]")
        .appName("smtp-classifier tests")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


#: A queue id used twice: the second message's delivery (in c.log) must take the second
#: message's arrival facts, an empty sender (``from=<>``, a bounce) included, not the first's.
REUSED_FIRST = [
    "Nov 26 23:00:00 mta postfix/cleanup[1]: 9F3C2A1B7E0: message-id=<first@shop.example>",
    "Nov 26 23:00:00 mta postfix/qmgr[1]: 9F3C2A1B7E0: from=<first@shop.example>, size=1, "
    "nrcpt=1 (queue active)",
    "Nov 26 23:00:01 mta postfix/smtp[1]: 9F3C2A1B7E0: to=<x@dest.example>, relay=none, "
    "delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to dest.example[192.0.2.1]:25: "
    "Connection refused)",
    "Nov 26 23:00:02 mta postfix/qmgr[1]: 9F3C2A1B7E0: removed",
]
REUSED_SECOND = [
    "Nov 27 01:00:00 mta postfix/cleanup[1]: 9F3C2A1B7E0: message-id=<second@shop.example>",
    "Nov 27 01:00:00 mta postfix/qmgr[1]: 9F3C2A1B7E0: from=<>, size=1, nrcpt=1 (queue active)",
    "Nov 27 01:00:01 mta postfix/smtp[1]: 9F3C2A1B7E0: to=<y@dest.example>, "
    "relay=mx.dest.example[192.0.2.2]:25, delay=1, delays=0/0/1/0, dsn=5.1.1, status=bounced "
    "(host mx.dest.example[192.0.2.2] said: 550 5.1.1 <y@dest.example>: Recipient address "
    "rejected: User unknown (in reply to RCPT TO command))",
]


def _arrival(line: bytes) -> bool:
    """A Postfix line that tells a message's sender or Message-ID (not a delivery)."""
    return any(p in line for p in (b"/pickup[", b"/cleanup[")) or (
        b"/qmgr[" in line and b": from=<" in line
    )


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A generated Postfix log cut into three files (one gzip), then Exim, Sendmail, KumoMTA.

    Messages deferred in one file are retried, expired or removed in later ones. The arrival
    lines (cleanup ``message-id=``, qmgr ``from=``) of every message of b and c are moved to the
    end of a.log, so their deliveries take sender and Message-ID from another file (and, with a
    small split, another range); a.log itself is cut into several ranges. Each message has its
    own sender, and one queue id is used twice (a.log, then c.log).
    """
    spec = importlib.util.spec_from_file_location("gen", ROOT / "bench" / "gen_postfix_log.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    folder = tmp_path_factory.mktemp("logs")
    whole = folder / "generated.log"
    gen.generate(whole, 12_000, seed=7)
    lines = [
        re.sub(rb"(\w+): from=<news@", rb"\1: from=<news-\1@", line)
        for line in whole.read_bytes().splitlines(keepends=True)
    ]
    first, second, third = lines[:5000], lines[5000:8000], lines[8000:]
    moved = [line for line in second + third if _arrival(line)]
    second = [line for line in second if not _arrival(line)]
    third = [line for line in third if not _arrival(line)]
    reused = "\n".join(REUSED_FIRST).encode() + b"\n"
    (folder / "a.log").write_bytes(
        b"".join(first) + "\n".join(EXIM).encode() + b"\n" + b"".join(moved) + reused
    )
    with gzip.open(folder / "b.log.gz", "wb") as packed:
        packed.write(b"".join(second) + "\n".join(SENDMAIL).encode() + b"\n")
    tail = "\n".join([*REUSED_SECOND, *EXIM_LATER, *KUMO]).encode()
    (folder / "c.log").write_bytes(b"".join(third) + tail + b"\nnot a log line at all\n")
    (folder / "d.log").write_bytes(
        (FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log").read_bytes()
    )
    return [str(folder / n) for n in ("a.log", "b.log.gz", "c.log", "d.log")]


def _comparable(row: dict[str, Any]) -> str:
    return json.dumps({k: (None if v == "" else v) for k, v in row.items()}, sort_keys=True)


def _replay_rows(names: list[str], final: bool) -> tuple[list[str], Any]:
    out = io.StringIO()
    summary = replay(names, out, ReplayOptions(final=final))
    rows = [_comparable(json.loads(line)) for line in out.getvalue().splitlines()]
    return sorted(rows), summary


def _parquet_rows(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return sorted(_comparable(row) for row in table.to_pylist())


# --- no JVM needed -----------------------------------------------------------------------------


def test_ranges_start_at_line_starts_and_gzip_stays_whole(logs: list[str]) -> None:
    ranges = plan_ranges(logs, ReplayOptions(), split_bytes=100_000)
    plain = Path(logs[0]).read_bytes()
    cut = [r for r in ranges if r.index == 0]
    assert len(cut) > 3 and cut[0].start == 0 and cut[-1].end == len(plain)
    assert all(plain[r.start - 1 : r.start] == b"\n" for r in cut[1:])
    assert all(a.end == b.start for a, b in itertools.pairwise(cut))
    assert [r.whole for r in ranges if r.index == 1] == [True]


def test_rules_are_built_once_per_process_from_their_contents(tmp_path: Path) -> None:
    (tmp_path / "acme.toml").write_text(RULE, encoding="utf-8")
    payload = rule_payload([tmp_path])
    built = executor_classifier(payload)
    assert executor_classifier(payload) is built
    assert built.classify("550 5.7.1 Message quarantined by ACME").rule_id == "acme.quarantine"
    assert rule_payload([tmp_path])[0] == payload[0]
    (tmp_path / "acme.toml").write_text(RULE.replace("12ab", "34cd"), encoding="utf-8")
    assert rule_payload([tmp_path])[0] != payload[0]


def test_cli_refuses_missing_input_and_existing_output_before_starting_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from classifier.cli import main

    assert main(["spark-replay", str(tmp_path / "nope.log"), "--output", str(tmp_path / "o")]) == 3
    assert "cannot read" in capsys.readouterr().err
    log = tmp_path / "mail.log"
    log.write_text("", encoding="utf-8")
    assert main(["spark-replay", str(log), "--output", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err


# --- Spark, local[2] -----------------------------------------------------------------------------


def test_classify_column_is_classify_row_for_row(spark: Any, tmp_path: Path) -> None:
    (tmp_path / "acme.toml").write_text(RULE, encoding="utf-8")
    replies: list[tuple[str | None, str | None]] = [
        ("550 5.7.1 Message quarantined by ACME (ref 9)", "end_of_data"),
        (None, None),
        ("", "rcpt"),
        ("no code and no known words", None),
    ]
    for path in sorted((FIXTURES / "replies").glob("*.jsonl"))[:6]:
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            replies.append((item["reply"], item.get("stage")))
    from classifier.spark import classify_column
    from classifier.spark.columns import quiet_pandas_warning

    with quiet_pandas_warning():
        df = spark.createDataFrame(replies, "reply string, stage string").repartition(3)
        out = classify_column(df, "reply", stage="stage", rules=[tmp_path])
    types = {f.name: f.dataType.simpleString() for f in out.schema.fields}
    assert types == {"reply": "string", "stage": "string"} | {
        name: "boolean" if kind == "bool" else "string" for name, kind in COLUMNS
    }
    got = sorted(json.dumps(row.asDict(), sort_keys=True) for row in out.collect())
    clf = Classifier.from_dirs([tmp_path])
    cols = classification_columns([r for r, _ in replies], [s for _, s in replies], classifier=clf)
    want = sorted(
        json.dumps({"reply": reply} | {k: cols[k][i] for k in cols}, sort_keys=True)
        for i, (reply, _) in enumerate(replies)
    )
    assert got == want and len(got) > 100
    quarantined = out.filter("rule_id = 'acme.quarantine'").count()
    assert quarantined == 1
    assert out.filter("code is null").count() == 3


@pytest.mark.parametrize("final", [False, True])
def test_spark_replay_writes_the_rows_replay_writes(
    spark: Any, logs: list[str], tmp_path: Path, final: bool
) -> None:
    from classifier.spark import spark_replay

    want, summary = _replay_rows(logs, final)
    output = tmp_path / "out.parquet"
    result = spark_replay(spark, logs, str(output), ReplayOptions(final=final), split_bytes=150_000)
    assert _parquet_rows(output) == want
    assert result.rows == len(want)
    assert result.summary.lines == summary.lines and result.summary.kinds == summary.kinds
    if final:  # the Exim message deferred in a.log gave up in c.log
        london = [json.loads(r) for r in want if '"rcpt@london.com"' in r]
        assert [r["code"] for r in london] == ["133"]
    # Every generated delivery has its own message's sender and Message-ID, though for those
    # of b and c they were only in a.log; the reused queue id gives each message its own.
    rows = [json.loads(r) for r in want]
    generated = [r for r in rows if (r["from"] or "").startswith("news-")]
    late = [r for r in generated if not r["source"].endswith("a.log")]
    assert len(late) > 300
    assert all(r["from"] == f"news-{r['id']}@sender.example" for r in generated)
    assert all(r["message_id"] == f"<{r['id']}@sender.example>" for r in generated)
    postfix = [r for r in rows if r["mta"] == "postfix" and r["source"] != logs[3]]
    assert len(generated) == len(postfix) - 2
    reused = {
        r["recipient"]: (r["from"], r["message_id"]) for r in rows if r["id"] == "9F3C2A1B7E0"
    }
    assert reused == {
        "x@dest.example": ("first@shop.example", "<first@shop.example>"),
        "y@dest.example": (None, "<second@shop.example>"),
    }


def test_cli_spark_replay(logs: list[str], tmp_path: Path) -> None:
    """The real command, in its own process and JVM, with --final."""
    _need_spark()
    output = tmp_path / "final.parquet"
    command = [sys.executable, "-m", "classifier", "spark-replay", *logs[:3]]
    command += ["--output", str(output), "--final", "--master", "local[2]", "--split-mb", "1"]
    command += ["--summary-json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 unrecognised line(s)" in done.stderr and "c.log:" in done.stderr  # told, no error
    report = json.loads(done.stdout)
    want, summary = _replay_rows(logs[:3], True)
    assert report["lines"] == summary.lines and report["rows"] == len(want)
    assert _parquet_rows(output) == want
    again = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 2 and "exists" in again.stderr
