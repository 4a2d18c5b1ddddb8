"""A real Postfix relays mail to the fake server; its own log lines and DSNs are classified.

The test runs a private Postfix instance (its own config, queue and data directories in a
temporary directory, no inet listeners, loopback only) and never touches /etc/postfix.
Every scenario with a ``postfix`` block (all shipped ones) gets its own port through
``transport_maps``; the bounce notices Postfix sends back go, over SMTP, to a capture
scenario of the same fake server. For the scenarios of fixtures/postfix/CORPUS.md
the ``postfix`` blocks encode that table (checked below against the table itself).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest

from classifier.harness.scenario import Scenario, load_scenarios, parse_scenario
from classifier.harness.server import BackgroundServer, FakeServer
from classifier.logreplay import classify_record
from classifier.logs import parse_postfix
from classifier.mail.message import classify_message
from tests.conftest import FIXTURES

pytestmark = pytest.mark.postfix

SCENARIOS = [
    s
    for s in load_scenarios(Path(__file__).resolve().parent.parent / "fixtures" / "scenarios")
    if s.postfix
]
SINK = parse_scenario(
    {
        "id": "bounce-sink",
        "description": "accepts the DSNs Postfix sends back",
        "source": "test",
        "domain": "bounces.test",
        "expect": {"sender": "250"},
    }
)
SENDER = "sender@bounces.test"
DEADLINE = 40.0  # seconds for Postfix to settle every recipient (normally about 3)
STEP = 20.0  # seconds for one Postfix command


def _unavailable() -> str | None:
    """Why Postfix cannot run here, or None."""
    daemon = Path("/usr/lib/postfix/sbin/master")
    if not (shutil.which("postfix") and shutil.which("sendmail") and daemon.exists()):
        return "Postfix is not installed (CI installs it: apt-get install -y postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (it drops to the postfix user)"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return "the postfix user or the postdrop group is missing"
    return None


MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mta.test
mydomain = mta.test
myorigin = mta.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
transport_maps = texthash:{d}/conf/transport
smtp_dns_support_level = disabled
smtp_connection_cache_on_demand = no
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
maillog_file = {d}/postfix.log
maillog_file_prefixes = {d}
smtp_connect_timeout = 2s
smtp_helo_timeout = 2s
smtp_mail_timeout = 2s
smtp_rcpt_timeout = 2s
smtp_data_init_timeout = 2s
smtp_data_xfer_timeout = 2s
smtp_data_done_timeout = 2s
"""

MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
smtp      unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
showq     unix  n       -       n       -       -       showq
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@dataclass
class PostfixRun:
    """What one Postfix run produced: status log lines and DSNs, per recipient."""

    log: str = ""
    lines: dict[str, list[str]] = field(default_factory=dict)
    dsns: dict[str, list[bytes]] = field(default_factory=dict)


def _postfix(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["postfix", "-c", str(conf), *args],
        capture_output=True,
        text=True,
        timeout=STEP,
        check=False,
    )


def _status_lines(log: str) -> dict[str, list[str]]:
    """The smtp and error clients' status lines, by recipient."""
    out: dict[str, list[str]] = {}
    for line in log.splitlines():
        if not re.search(r"postfix/(?:smtp|error)\[", line):
            continue
        record = parse_postfix(line)
        for address in record.recipients if record is not None else ():
            out.setdefault(address.lower(), []).append(line)
    return out


def _dsn_fields(raw: bytes) -> dict[str, dict[str, str]]:
    """Per Final-Recipient: Action, Status and the unfolded Diagnostic-Code (stdlib email)."""
    out: dict[str, dict[str, str]] = {}
    msg = message_from_bytes(raw, policy=policy.compat32)
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        groups = part.get_payload()
        assert isinstance(groups, list)
        for group in groups:
            if not isinstance(group, Message):
                continue
            final = group.get("Final-Recipient", "")
            if not final:
                continue
            address = final.partition(";")[2].strip().lower()
            out[address] = {
                key: " ".join(str(group.get(key, "")).split())
                for key in ("Action", "Status", "Diagnostic-Code")
            }
    return out


def _dsns(server: FakeServer) -> dict[str, list[bytes]]:
    """The DSNs the sink received, by Final-Recipient."""
    out: dict[str, list[bytes]] = {}
    for transcript in server.sessions(SINK.id):
        for raw in transcript.messages:
            for address in _dsn_fields(raw):
                out.setdefault(address, []).append(raw)
    return out


def _settled(run: PostfixRun) -> bool:
    for scenario in SCENARIOS:
        for address, expected in scenario.postfix.items():
            if address not in run.lines:
                return False
            if expected.dsn is not None and address not in run.dsns:
                return False
    return True


def _stop(conf: Path, workdir: Path) -> None:
    """Stop our Postfix; if it does not go, end its master by the pid it wrote."""
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        _postfix(conf, "stop")
    pid_file = workdir / "queue" / "pid" / "master.pid"
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises once the master has exited
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def postfix_run() -> Iterator[PostfixRun]:
    reason = _unavailable()
    if reason is not None:
        pytest.skip(reason)
    # /tmp, not $TMPDIR: the postfix user must be able to walk down to the queue.
    workdir = Path(tempfile.mkdtemp(prefix="smtp-classifier-postfix-", dir="/tmp"))
    workdir.chmod(0o755)  # the postfix user must reach its queue and data directories
    conf, data = workdir / "conf", workdir / "data"
    for path in (conf, workdir / "queue", data):
        path.mkdir()
    shutil.chown(data, user="postfix")
    background = BackgroundServer([*SCENARIOS, SINK], port=None)
    started = False
    try:
        server = background.start()
        (conf / "main.cf").write_text(MAIN_CF.format(d=workdir), encoding="utf-8")
        (conf / "master.cf").write_text(MASTER_CF, encoding="utf-8")
        (conf / "transport").write_text(server.postfix_transport(), encoding="utf-8")
        result = _postfix(conf, "start")
        started = True
        if result.returncode != 0:
            log = workdir / "postfix.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"postfix start failed: {result.stderr}{result.stdout}\n{detail}")
        for scenario in SCENARIOS:
            message = (
                f"From: <{SENDER}>\r\nTo: <{scenario.recipients[0]}>\r\n"
                f"Subject: {scenario.id}\r\n\r\nscenario {scenario.id}\r\n"
            )
            subprocess.run(
                ["sendmail", "-C", str(conf), "-f", SENDER, "--", *scenario.recipients],
                input=message.encode(),
                capture_output=True,
                timeout=STEP,
                check=True,
            )
        run = PostfixRun()
        deadline = time.monotonic() + DEADLINE
        log_file = workdir / "postfix.log"
        while True:  # poll the log and the captured DSNs, bounded by the deadline
            run.log = log_file.read_text(encoding="utf-8", errors="replace")
            run.lines = _status_lines(run.log)
            run.dsns = _dsns(server)
            if _settled(run) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        yield run
    finally:
        if started:
            _stop(conf, workdir)
        background.stop()
        shutil.rmtree(workdir, ignore_errors=True)


CASES = [(s, address) for s in SCENARIOS for address in s.postfix]
IDS = [f"{s.id}/{address.partition('@')[0]}" for s, address in CASES]


@pytest.mark.parametrize(("scenario", "address"), CASES, ids=IDS)
def test_postfix_log_line_classifies_as_the_table_says(
    postfix_run: PostfixRun, scenario: Scenario, address: str
) -> None:
    lines = postfix_run.lines.get(address)
    assert lines, f"no status line for {address}; log tail:\n{postfix_run.log[-3000:]}"
    record = parse_postfix(lines[0])
    assert record is not None, lines[0]
    result = classify_record(record)
    assert result.code == scenario.postfix[address].log, (lines[0], result.explain())


@pytest.mark.parametrize(("scenario", "address"), CASES, ids=IDS)
def test_postfix_dsn_classifies_as_the_table_says(
    postfix_run: PostfixRun, scenario: Scenario, address: str
) -> None:
    expected = scenario.postfix[address].dsn
    dsns = postfix_run.dsns.get(address, [])
    if expected is None:
        assert not dsns, f"{address} was delivered, yet Postfix sent a DSN"
        return
    assert dsns, f"no DSN for {address}"
    fields = _dsn_fields(dsns[0])[address]
    assert fields["Action"] == "failed"
    report = classify_message(dsns[0])
    got = {(r.recipient or "").lower(): r for r in report.recipients}[address]
    assert got.code == expected, (fields, got.classification and got.classification.explain())


def _table_codes(cell: str, count: int) -> list[str | None]:
    parts = [p.strip() for p in cell.split(" / ")] if count > 1 else [cell]
    out: list[str | None] = []
    for part in parts:
        match = re.match(r"\s*(\d{3})", part)
        out.append(match.group(1) if match else None)
    return out


def test_scenarios_encode_the_shared_corpus_table() -> None:
    readme = (FIXTURES / "postfix" / "CORPUS.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([a-z0-9]+)\.test \| .*? \| (.*?) \| (.*?) \|$", readme, re.M)
    assert len(rows) == 19
    by_id = {s.id: s for s in SCENARIOS}
    for sid, log_cell, dsn_cell in rows:
        scenario = by_id[sid]
        addresses = list(scenario.postfix)
        logs = _table_codes(log_cell, len(addresses))
        dsns = _table_codes(dsn_cell, len(addresses))
        # The table lists partial.test as ok / nouser / full.
        if sid == "partial":
            addresses = [f"{n}@partial.test" for n in ("ok", "nouser", "full")]
        for address, log, dsn in zip(addresses, logs, dsns, strict=True):
            assert scenario.postfix[address].log == log, (sid, address)
            assert scenario.postfix[address].dsn == dsn, (sid, address)
