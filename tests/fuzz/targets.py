"""Fuzz targets: each takes raw bytes, runs one entry point on them and checks its invariants.

The same targets run briefly under hypothesis in the test suite (``test_fuzz.py``) and for
hours under atheris (``run_atheris.py``, see README.md). A target raises ``InvariantError``
when an invariant breaks; any other exception escaping it is a bug of the entry point. The
seed corpus is read from ``fixtures/`` and the bundled rules.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

from classifier import classify, classify_message, load_rules
from classifier.codes import CATALOGUE
from classifier.errors import RuleError
from classifier.logs import LineKind, LineParser
from classifier.mail.reader import MAX_RECIPIENTS
from classifier.safetext import has_surrogates

__all__ = ["TARGETS", "InvariantError", "seeds"]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
RULES = ROOT / "rules"

#: Lines of the formats that have no log file in fixtures/ (shapes of each MTA's documented
#: log lines, as in tests/test_logs.py).
_LOG_SEEDS = (
    "2002-07-11 07:14:17 17SXDU-000189-00 ** ace400@pb.example R=dnslookup T=remote_smtp: "
    "SMTP error from remote mailer after pipelined RCPT TO:<ace400@pb.example>: host "
    "pbmail3.py.example [192.168.63.111]: 553 5.3.0 <ace400@pb.example>...Addressee unknown",
    "2002-12-19 16:20:23 16aiQz-0002Q5-00 == marvin@endrest.example R=dnslookup T=smtp "
    "defer (146): Connection refused",
    "2002-10-31 09:00:11 16ZCW1-0005MB-00 Completed",
    "Sep 14 11:59:34 ubuntu-server sm-mta[7425]: l8E3xVpO007423: to=<myemail@whatever.com>, "
    "ctladdr=<nobody@ubuntu-server> (65534/65534), delay=00:00:03, xdelay=00:00:03, "
    "mailer=esmtp, pri=120344, relay=whatever.com. [74.200.79.210], dsn=5.1.1, "
    "stat=User unknown",
    "type,timeLogged,orig,rcpt,dlvSourceIp,bounceCat",
    "b,1178807915,orig@port25.com,user3@domain.com,,policy-related",
    '{"type": "Bounce", "id": "1d98", "recipient": "user@recipient.example.com", '
    '"response": {"code": 550, "enhanced_code": {"class": 5, "subject": 1, "detail": 1}, '
    '"content": "no such user", "command": "RCPT TO"}, "timestamp": 1678069691}',
    '{"id": "7", "to": "a@example.org", "status": "bounced", "resp": "550 5.1.1 user unknown"}',
)


class InvariantError(AssertionError):
    """An entry point returned, but what it returned breaks a documented invariant."""


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise InvariantError(what)


def _encodable(value: object, what: str) -> None:
    """Every writer must be able to write it: JSON, UTF-8, no lone surrogate."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InvariantError(f"{what} cannot be written: {exc}") from exc


def _text(data: bytes) -> str:
    """The bytes as text the way a caller with a str may hand them: encoded surrogates become
    lone surrogates, invalid bytes escaped ones."""
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def fuzz_classify(data: bytes) -> None:
    """classify() on the bytes and on their text: never raises, result complete and writable."""
    for reply in (data, _text(data)):
        result = classify(reply)
        _check(result.code == "" or result.code in CATALOGUE, f"code {result.code!r}")
        _check(result.recognised == bool(result.code), "recognised without a code")
        _check(not has_surrogates(result.text), "text carries a surrogate")
        _encodable(result.to_dict(), "classification")
        _encodable(result.explain(), "explanation")


def fuzz_message(data: bytes) -> None:
    """classify_message() on the bytes: never raises, bounded, every recipient writable."""
    report = classify_message(data)
    _check(len(report.recipients) <= MAX_RECIPIENTS, "more recipients than the limit")
    _check(report.unreported >= 0 and report.over_budget >= 0, "negative counts")
    for recipient in report.recipients:
        code = recipient.code
        _check(code == "" or code in CATALOGUE, f"recipient code {code!r}")
    _encodable(report.to_dict(), "message report")


_PARSERS = (
    LineParser("auto"),
    LineParser("postfix"),
    LineParser("exim"),
    LineParser("sendmail"),
    LineParser("kumomta"),
    LineParser("json", field="resp"),
    LineParser("csv", field="resp"),
)


def fuzz_log_line(data: bytes) -> None:
    """Every line parser on each line: a kind always, a record only for deliveries."""
    text = data.decode("utf-8", "replace")
    lines = text.splitlines() or [text]
    for parser in _PARSERS:
        parser.reset()
        for number, line in enumerate(lines[:50]):
            kind, record = parser.parse(line, first=number == 0)
            _check(kind in LineKind.__members__.values(), f"kind {kind!r}")
            if record is not None:
                _check(isinstance(record.reply, str), "reply is not text")
                _check(all(isinstance(r, str) for r in record.recipients), "recipient type")
                fields = [record.reply, record.queue_id, record.time, *record.recipients]
                _check(not any(has_surrogates(f) for f in fields), "record carries a surrogate")


@cache
def _rule_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-rules-"))


def fuzz_rule_file(data: bytes) -> None:
    """A user rule file: a RuleSet or a RuleError, nothing else."""
    directory = _rule_dir()
    (directory / "fuzzed.toml").write_bytes(data)
    try:
        rules = load_rules([directory], builtin=False)
    except RuleError:
        return
    for rule in rules:
        _check(bool(rule.examples) and bool(rule.id), "rule without id or example")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "classify": fuzz_classify,
    "message": fuzz_message,
    "log_line": fuzz_log_line,
    "rule_file": fuzz_rule_file,
}


def _replies() -> Iterator[str]:
    for path in sorted((FIXTURES / "replies").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield str(json.loads(line)["reply"])
    yield from (FIXTURES / "sample-replies.txt").read_text(encoding="utf-8").splitlines()


def _rule_blocks() -> Iterator[str]:
    """Each bundled rule on its own, as a user rule file holding only it."""
    for path in sorted(RULES.glob("*.toml")):
        if path.name in ("reasons.toml", "fallbacks.toml"):
            continue
        for block in path.read_text(encoding="utf-8").split("[[rule]]")[1:]:
            yield "[[rule]]" + block


@cache
def seeds(target: str) -> tuple[bytes, ...]:
    """The seed corpus of one target, from fixtures/ and the bundled rules."""
    if target == "classify":
        items = [r.encode() for r in _replies()]
    elif target == "message":
        items = [p.read_bytes() for p in sorted((FIXTURES / "mail").glob("*.eml"))]
    elif target == "log_line":
        log = (FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log").read_text(encoding="utf-8")
        items = [line.encode() for line in (*log.splitlines(), *_LOG_SEEDS)]
    elif target == "rule_file":
        items = [block.encode() for block in _rule_blocks()]
    else:
        raise KeyError(target)
    return tuple(dict.fromkeys(item for item in items if item))
