"""Scenario files: what a fake server says at each SMTP stage, and what it must classify as.

A scenario file is JSON (``fixtures/scenarios/*.json``): an object with ``"scenarios"``, a list
of scenario objects. The format is documented in ``fixtures/scenarios/README.md``; the loader
checks everything up front so that a broken fixture fails loudly instead of desynchronising
an SMTP client in the middle of a test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ClassifierError

__all__ = [
    "DEFAULT_END_OF_DATA",
    "STAGES",
    "PostfixExpectation",
    "Scenario",
    "ScenarioError",
    "Step",
    "decode_bytes_escape",
    "load_scenarios",
    "parse_scenario",
    "validate_reply",
]

#: Stages a scenario can script, in conversation order.
STAGES = ("greeting", "ehlo", "helo", "mail", "rcpt", "data", "end_of_data")

#: What the fake server answers after the final dot when a scenario does not say.
DEFAULT_END_OF_DATA = b"250 2.0.0 Ok: queued as FAKE1"

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CODE = re.compile(r"^\d{3}$")
_LINE = re.compile(rb"^(\d{3})(?:([ -]).*)?$", re.DOTALL)
_MAX_DELAY = 60.0
_STEP_KEYS = frozenset({"reply", "bytes", "close", "then", "delay", "malformed", "note"})
_SCENARIO_KEYS = frozenset(
    {"id", "description", "source", "domain", "connect", "expect", "postfix", "tags", *STAGES}
)


class ScenarioError(ClassifierError):
    """A scenario file or object does not follow the documented format."""


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted server action: optional delay, then a reply (exact bytes) or a close.

    ``reply`` is sent exactly, followed by one CRLF; ``None`` means close without a reply.
    """

    reply: bytes | None
    close_after: bool = False
    delay: float = 0.0
    malformed: bool = False

    @property
    def code(self) -> int | None:
        """Basic code of the reply (first three digits), if it has one."""
        if self.reply is None or not self.reply[:3].isdigit():
            return None
        return int(self.reply[:3])

    def text(self) -> str:
        """The reply as text (undecodable bytes replaced), for classification and logs."""
        return "" if self.reply is None else self.reply.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class PostfixExpectation:
    """What a real Postfix's log line and DSN for one recipient must classify as."""

    log: str
    dsn: str | None  # None: Postfix sends no DSN (delivered)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted SMTP server and the codes a client must end up with, per recipient."""

    id: str
    description: str
    source: str
    domain: str
    steps: Mapping[str, Step]
    rcpt_steps: Mapping[str, Step]
    expect: Mapping[str, str]
    postfix: Mapping[str, PostfixExpectation] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    origin: str = ""
    refuse: bool = False  # nothing listens: connections are refused

    @property
    def recipients(self) -> tuple[str, ...]:
        """Full addresses the scenario expects a client to send to, in file order."""
        return tuple(self.expect)

    def step(self, stage: str) -> Step | None:
        """The scripted step for a non-RCPT stage, or None for the server's default."""
        return self.steps.get(stage)

    def rcpt_step(self, address: str) -> Step | None:
        """The scripted RCPT reply for ``address`` (exact address, local part, then ``*``)."""
        addr = address.strip().strip("<>").lower()
        local = addr.rpartition("@")[0] or addr
        for key in (addr, local, "*"):
            if key in self.rcpt_steps:
                return self.rcpt_steps[key]
        return None

    @property
    def needs_own_port(self) -> bool:
        """True when the server must know the scenario before the client names a recipient."""
        return self.refuse or any(s in self.steps for s in ("greeting", "ehlo", "helo", "mail"))


def decode_bytes_escape(text: str) -> bytes:
    r"""Decode ``bytes``: printable ASCII plus the escapes ``\\ \r \n \t \xNN``."""
    out = bytearray()
    i = 0
    simple = {"\\": 0x5C, "r": 0x0D, "n": 0x0A, "t": 0x09}
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            if not (" " <= ch <= "~"):
                raise ScenarioError(f"bytes escape: only printable ASCII allowed, got {ch!r}")
            out.append(ord(ch))
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            raise ScenarioError(f"bytes escape: bad escape at offset {i} in {text!r}")
    return bytes(out)


def validate_reply(reply: bytes) -> None:
    """Reject what would desynchronise a client: no code, mixed codes, two final lines."""
    if not reply:
        raise ScenarioError("empty reply")
    if reply.endswith(b"\n"):
        raise ScenarioError("reply must not end with a line break (the server adds CRLF)")
    lines = reply.split(b"\n")
    first: bytes | None = None
    for index, raw in enumerate(lines):
        line = raw.removesuffix(b"\r")
        match = _LINE.match(line)
        if match is None:
            raise ScenarioError(f"reply line {index + 1} has no 3-digit code: {line[:60]!r}")
        code, sep = match.group(1), match.group(2)
        if first is None:
            first = code
        elif code != first:
            raise ScenarioError(f"reply mixes codes {first!r} and {code!r}")
        last = index == len(lines) - 1
        if not last and sep != b"-":
            raise ScenarioError(
                f"reply line {index + 1} is final ('{code.decode()} ') but not last"
            )
        if last and sep == b"-":
            raise ScenarioError("last reply line is a continuation ('NNN-')")
    assert first is not None
    if first[:1] not in b"2345":
        raise ScenarioError(f"reply code {first!r} is not 2xx-5xx")


def _reply_bytes(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\r\n".join(value).encode("utf-8")
    raise ScenarioError(f"{where}: 'reply' must be a string or a non-empty list of strings")


def _parse_step(value: Any, where: str) -> Step:
    if isinstance(value, str | list):
        value = {"reply": value}
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: a step is a string, a list of lines or an object")
    unknown = set(value) - _STEP_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    given = [k for k in ("reply", "bytes", "close") if k in value]
    if len(given) != 1:
        raise ScenarioError(f"{where}: give exactly one of 'reply', 'bytes', 'close'")
    delay = value.get("delay", 0.0)
    if not isinstance(delay, int | float) or isinstance(delay, bool):
        raise ScenarioError(f"{where}: 'delay' must be a number of seconds")
    if not 0.0 <= float(delay) <= _MAX_DELAY:
        raise ScenarioError(f"{where}: 'delay' must be within 0..{_MAX_DELAY:g} s")
    malformed = value.get("malformed", False)
    if not isinstance(malformed, bool):
        raise ScenarioError(f"{where}: 'malformed' must be true or false")
    then = value.get("then")
    if then not in (None, "close"):
        raise ScenarioError(f"{where}: 'then' can only be \"close\"")
    if given[0] == "close":
        if value["close"] is not True or then is not None:
            raise ScenarioError(f"{where}: 'close' must be true and cannot have 'then'")
        return Step(reply=None, delay=float(delay))
    if given[0] == "reply":
        reply = _reply_bytes(value["reply"], where)
    else:
        if not isinstance(value["bytes"], str):
            raise ScenarioError(f"{where}: 'bytes' must be a string with escapes")
        reply = decode_bytes_escape(value["bytes"])
    if not malformed:
        try:
            validate_reply(reply)
        except ScenarioError as exc:
            raise ScenarioError(f'{where}: {exc} (set "malformed": true if meant)') from None
    return Step(reply=reply, close_after=then == "close", delay=float(delay), malformed=malformed)


def _address(key: str, domain: str) -> str:
    return key.lower() if "@" in key else f"{key.lower()}@{domain}"


def _str_field(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: '{key}' must be a non-empty string")
    return value


def parse_scenario(obj: Any, *, origin: str = "") -> Scenario:
    """Build a :class:`Scenario` from one decoded JSON object, checking every field."""
    if not isinstance(obj, dict):
        raise ScenarioError(f"{origin}: a scenario must be a JSON object")
    sid = obj.get("id")
    if not isinstance(sid, str) or not _ID.match(sid):
        raise ScenarioError(f"{origin}: 'id' must match {_ID.pattern}")
    where = f"{origin}#{sid}" if origin else sid
    unknown = set(obj) - _SCENARIO_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    description = _str_field(obj, "description", where)
    source = _str_field(obj, "source", where)
    domain = obj.get("domain", f"{sid}.test")
    if not isinstance(domain, str) or not re.fullmatch(r"[a-z0-9.-]+", domain):
        raise ScenarioError(f"{where}: 'domain' must be a lower-case domain name")

    steps: dict[str, Step] = {}
    rcpt_steps: dict[str, Step] = {}
    for stage in STAGES:
        if stage not in obj:
            continue
        if stage == "rcpt":
            if not isinstance(obj["rcpt"], dict) or not obj["rcpt"]:
                raise ScenarioError(f"{where}: 'rcpt' maps recipients (or '*') to steps")
            for key, value in obj["rcpt"].items():
                name = "*" if key == "*" else _address(key, domain)
                rcpt_steps[name] = _parse_step(value, f"{where}.rcpt[{key}]")
        else:
            steps[stage] = _parse_step(obj[stage], f"{where}.{stage}")
    connect = obj.get("connect", "accept")
    if connect not in ("accept", "refuse"):
        raise ScenarioError(f'{where}: \'connect\' is "accept" (default) or "refuse"')
    if connect == "refuse" and (steps or rcpt_steps):
        raise ScenarioError(f"{where}: a refused connection cannot script SMTP stages")
    for name, step in [*steps.items(), *(("rcpt", v) for v in rcpt_steps.values())]:
        if step.code is not None and 300 <= step.code < 400:
            raise ScenarioError(f"{where}.{name}: 3xx replies are the server's own (354 to DATA)")
    greeting = steps.get("greeting")
    if greeting is not None and greeting.code == 220:
        raise ScenarioError(f"{where}: a 220 greeting is the server default; script refusals")

    expect_raw = obj.get("expect")
    if not isinstance(expect_raw, dict) or not expect_raw:
        raise ScenarioError(f"{where}: 'expect' maps each recipient to its code")
    expect: dict[str, str] = {}
    for key, code in expect_raw.items():
        if not isinstance(key, str) or not isinstance(code, str) or not _CODE.match(code):
            raise ScenarioError(f"{where}: expect[{key!r}] must be a 3-digit code string")
        expect[_address(key, domain)] = code
    for name in rcpt_steps:
        if name != "*" and name not in expect:
            raise ScenarioError(f"{where}: rcpt step for {name} has no expected code")

    postfix: dict[str, PostfixExpectation] = {}
    postfix_raw = obj.get("postfix", {})
    if not isinstance(postfix_raw, dict):
        raise ScenarioError(f"{where}: 'postfix' maps recipients to {{'log': .., 'dsn': ..}}")
    for key, value in postfix_raw.items():
        addr = _address(key, domain)
        if addr not in expect or not isinstance(value, dict):
            raise ScenarioError(f"{where}: postfix[{key!r}] must name an expected recipient")
        log, dsn = value.get("log"), value.get("dsn")
        if not isinstance(log, str) or not _CODE.match(log):
            raise ScenarioError(f"{where}: postfix[{key!r}].log must be a 3-digit code")
        if dsn is not None and (not isinstance(dsn, str) or not _CODE.match(dsn)):
            raise ScenarioError(f"{where}: postfix[{key!r}].dsn must be a code or null")
        postfix[addr] = PostfixExpectation(log=log, dsn=dsn)

    tags = obj.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ScenarioError(f"{where}: 'tags' must be a list of strings")
    return Scenario(
        id=sid,
        description=description,
        source=source,
        domain=domain,
        steps=steps,
        rcpt_steps=rcpt_steps,
        expect=expect,
        postfix=postfix,
        tags=tuple(tags),
        origin=origin,
        refuse=connect == "refuse",
    )


def _files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for item in paths:
        path = Path(item)
        if path.is_dir():
            yield from sorted(path.glob("*.json"))
        elif path.is_file():
            yield path
        else:
            raise ScenarioError(f"{path}: no such scenario file or directory")


def load_scenarios(*paths: str | Path) -> list[Scenario]:
    """Load and validate scenario files (or directories of ``*.json``); ids must be unique."""
    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    domains: dict[str, str] = {}
    for path in _files(paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ScenarioError(f"{path}: cannot read scenario file: {exc}") from exc
        items = data.get("scenarios") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ScenarioError(f"{path}: expected an object with a 'scenarios' list")
        for obj in items:
            scenario = parse_scenario(obj, origin=path.name)
            if scenario.id in seen:
                raise ScenarioError(
                    f"{path.name}: duplicate id {scenario.id!r} ({seen[scenario.id]})"
                )
            if scenario.domain in domains:
                raise ScenarioError(f"{path.name}: domain {scenario.domain} used twice")
            seen[scenario.id] = path.name
            domains[scenario.domain] = scenario.id
            scenarios.append(scenario)
    return scenarios
