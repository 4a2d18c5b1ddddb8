"""Probe: deliver one message over SMTP, keep every reply by stage, classify per recipient.

The probe speaks SMTP through aiosmtplib's command layer (never its all-in-one ``send``,
which hides which stage failed). Every step has a timeout. Failures without a reply are
described in Postfix's words ("connect to ...: Connection refused", "lost connection with
... while sending RCPT TO", "conversation with ... timed out while ...") and classified like
Postfix log text, so the same rules explain probe and log results.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosmtplib
import dns.asyncresolver

from ..engine import Classifier, default_classifier
from ..errors import ClassifierError
from ..result import Classification
from .mx import (
    DnsOutcome,
    check_domain_async,
    host_addresses,
    name_service_error,
)

__all__ = [
    "ProbeError",
    "ProbeResult",
    "RecipientResult",
    "StageReply",
    "probe",
    "probe_async",
]

_DEFAULT_TIMEOUT = 10.0
_COMMAND_NAMES = {
    "ehlo": "EHLO",
    "helo": "HELO",
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
    "end_of_data": "end of DATA",
}


class ProbeError(ClassifierError):
    """The probe was asked something it cannot do (no recipients, bad target)."""


@dataclass(frozen=True, slots=True)
class StageReply:
    """One step of the conversation: the command and the reply, or what happened instead.

    ``event`` is None for a reply; otherwise ``refused``, ``timeout``, ``closed``,
    ``malformed`` or ``error`` (``text`` then describes it in Postfix's words).
    """

    stage: str
    command: str
    code: int | None
    text: str
    recipient: str | None = None
    event: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """The outcome for one recipient: the deciding stage and its classification."""

    address: str
    stage: str
    classification: Classification

    @property
    def code(self) -> str:
        return self.classification.code


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Everything one probe saw, and one classification per recipient."""

    host: str
    port: int
    replies: tuple[StageReply, ...]
    recipients: tuple[RecipientResult, ...]
    dns: DnsOutcome | None = None

    @property
    def codes(self) -> dict[str, str]:
        """Recipient address → MasterBase code."""
        return {r.address: r.code for r in self.recipients}

    def for_recipient(self, address: str) -> RecipientResult:
        """The result for one recipient (case-insensitive)."""
        wanted = address.lower()
        for result in self.recipients:
            if result.address.lower() == wanted:
                return result
        raise KeyError(address)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "host": self.host,
            "port": self.port,
            "dns": None if self.dns is None else self.dns.to_dict(),
            "replies": [
                {
                    "stage": r.stage,
                    "command": r.command,
                    "code": r.code,
                    "text": r.text,
                    "recipient": r.recipient,
                    "event": r.event,
                }
                for r in self.replies
            ],
            "recipients": [
                # The deciding stage, not the classification's ("dns" has no SMTP stage).
                {"recipient": r.address, **r.classification.to_dict(), "stage": r.stage}
                for r in self.recipients
            ],
        }


def _wire(code: int, message: str) -> str:
    """Rebuild the reply's wire form from aiosmtplib's (prefixes stripped, lines joined by LF)."""
    lines = message.split("\n") if message else [""]
    out = []
    for index, line in enumerate(lines):
        sep = " " if index == len(lines) - 1 else "-"
        out.append(f"{code}{sep}{line}".rstrip() if line else f"{code}")
    return "\r\n".join(out)


def _message(sender: str, recipients: Sequence[str]) -> bytes:
    domain = sender.rpartition("@")[2] or "localhost"
    head = (
        f"From: <{sender}>\r\n"
        f"To: {', '.join(f'<{r}>' for r in recipients)}\r\n"
        "Subject: smtp-classifier delivery probe\r\n"
        f"Date: {email.utils.formatdate(localtime=False)}\r\n"
        f"Message-ID: {email.utils.make_msgid(domain=domain)}\r\n"
        "Auto-Submitted: auto-generated\r\n"
    )
    return (head + "\r\nThis message tests delivery; it needs no reply.\r\n").encode()


def _dot_stuffed(message: bytes) -> bytes:
    lines = re.split(rb"\r\n|\r|\n", message)
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    return body + b".\r\n"


class _Session:
    """One SMTP conversation; collects replies and per-recipient results."""

    def __init__(
        self,
        host: str,
        port: int,
        label: str,
        timeout: float,
        classifier: Classifier | None = None,
    ) -> None:
        self.classifier = classifier or default_classifier()
        self.host = host
        self.port = port
        self.label = label  # "mx.example[1.2.3.4]" in Postfix's style
        self.timeout = timeout
        self.replies: list[StageReply] = []
        self.results: dict[str, RecipientResult] = {}

    def decide(self, recipients: Sequence[str], stage: str, result: Classification) -> None:
        for address in recipients:
            self.results.setdefault(
                address, RecipientResult(address=address, stage=stage, classification=result)
            )

    def reply(
        self, stage: str, command: str, code: int, message: str, recipient: str | None = None
    ) -> Classification:
        text = _wire(code, message)
        self.replies.append(
            StageReply(stage=stage, command=command, code=code, text=text, recipient=recipient)
        )
        return self.classifier.classify(text, stage=stage)

    def failure(
        self, stage: str, command: str, event: str, text: str, recipient: str | None = None
    ) -> Classification:
        """A step ended without a usable reply: the destination is not responding (113)."""
        self.replies.append(
            StageReply(
                stage=stage, command=command, code=None, text=text, recipient=recipient, event=event
            )
        )
        result = self.classifier.classify(text, stage=stage)
        if result.code != "113":
            result = result.with_code("113", reason="connection_failed", why=f"probe: {event}")
        return result

    def lost(
        self, stage: str, command: str, exc: BaseException, recipient: str | None
    ) -> Classification:
        what = _COMMAND_NAMES.get(stage, stage.upper())
        if isinstance(exc, aiosmtplib.SMTPTimeoutError):
            text = f"conversation with {self.label} timed out while sending {what}"
            return self.failure(stage, command, "timeout", text, recipient)
        if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code == -1:
            text = f"malformed reply from {self.label} while sending {what}: {exc.message}"
            return self.failure(stage, command, "malformed", text, recipient)
        text = f"lost connection with {self.label} while sending {what}"
        return self.failure(stage, command, "closed", text, recipient)

    async def connect(self, client: aiosmtplib.SMTP, recipients: Sequence[str]) -> bool:
        """Connect and read the greeting; on failure decide every recipient."""
        try:
            response = await client.connect(timeout=self.timeout)
        except aiosmtplib.SMTPConnectResponseError as exc:
            if exc.code < 400:  # a greeting that is neither 220 nor a refusal
                text = f"malformed greeting from {self.label}: {_wire(exc.code, exc.message)}"
                self.decide(recipients, "connect", self.failure("connect", "", "malformed", text))
            else:
                result = self.reply("connect", "", exc.code, exc.message)
                self.decide(recipients, "connect", result)
            return False
        except aiosmtplib.SMTPConnectTimeoutError as exc:
            if "ready message" in str(exc):
                text = (
                    f"conversation with {self.label} timed out"
                    " while receiving the initial server greeting"
                )
            else:
                text = f"connect to {self.label}:{self.port}: Connection timed out"
            self.decide(recipients, "connect", self.failure("connect", "", "timeout", text))
            return False
        except aiosmtplib.SMTPConnectError as exc:
            cause = exc.__cause__
            if isinstance(cause, aiosmtplib.SMTPServerDisconnected):
                text = (
                    f"lost connection with {self.label} while receiving the initial server greeting"
                )
                event = "closed"
            else:
                reason = (
                    os.strerror(cause.errno)
                    if isinstance(cause, OSError) and cause.errno
                    else str(exc)
                )
                text = f"connect to {self.label}:{self.port}: {reason}"
                event = "refused"
            self.decide(recipients, "connect", self.failure("connect", "", event, text))
            return False
        except aiosmtplib.SMTPResponseException as exc:  # malformed greeting
            text = f"malformed greeting from {self.label}: {exc.message}"
            self.decide(recipients, "connect", self.failure("connect", "", "malformed", text))
            return False
        self.replies.append(
            StageReply(
                stage="connect",
                command="",
                code=response.code,
                text=_wire(response.code, response.message),
            )
        )
        return True

    async def command(
        self,
        client: aiosmtplib.SMTP,
        stage: str,
        args: Sequence[bytes],
        recipient: str | None = None,
    ) -> tuple[int, Classification] | Classification:
        """Send one command: (code, classification) for a reply, a classification for a failure."""
        command = b" ".join(args).decode("utf-8", "replace")
        try:
            response = await client.execute_command(*args, timeout=self.timeout)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return self.lost(stage, command, exc, recipient)
        return response.code, self.reply(stage, command, response.code, response.message, recipient)

    async def message(
        self, client: aiosmtplib.SMTP, body: bytes
    ) -> tuple[int, Classification] | Classification:
        """Send the message after 354 and read the end-of-data reply."""
        protocol = client.protocol
        command = f"<message of {len(body)} bytes>"
        try:
            if protocol is None:
                raise aiosmtplib.SMTPServerDisconnected("connection lost")
            protocol.write(_dot_stuffed(body))
            response = await protocol.read_response(timeout=self.timeout)
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            return self.lost("end_of_data", command, exc, None)
        return response.code, self.reply("end_of_data", command, response.code, response.message)


async def _converse(
    session: _Session,
    recipients: Sequence[str],
    sender: str,
    helo: str,
    body: bytes,
) -> None:
    client = aiosmtplib.SMTP(
        hostname=session.host,
        port=session.port,
        timeout=session.timeout,
        start_tls=False,
        local_hostname=helo,
    )
    if not await session.connect(client, recipients):
        client.close()
        return
    try:
        await _transaction(session, client, recipients, sender, helo, body)
    finally:
        if client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.execute_command(b"QUIT", timeout=min(session.timeout, 2.0))
        client.close()


def _ok(outcome: tuple[int, Classification] | Classification, *good: int) -> bool:
    return isinstance(outcome, tuple) and outcome[0] in good


def _result(outcome: tuple[int, Classification] | Classification) -> Classification:
    return outcome[1] if isinstance(outcome, tuple) else outcome


async def _transaction(
    session: _Session,
    client: aiosmtplib.SMTP,
    recipients: Sequence[str],
    sender: str,
    helo: str,
    body: bytes,
) -> None:
    hello = await session.command(client, "ehlo", [b"EHLO", helo.encode()])
    if not _ok(hello, 250):
        if isinstance(hello, tuple) and client.is_connected:
            hello = await session.command(client, "helo", [b"HELO", helo.encode()])
        if not _ok(hello, 250):
            session.decide(recipients, session.replies[-1].stage, _result(hello))
            return
    mail = await session.command(client, "mail", [b"MAIL", f"FROM:<{sender}>".encode()])
    if not _ok(mail, 250, 251):
        session.decide(recipients, "mail", _result(mail))
        return
    accepted: list[str] = []
    for index, address in enumerate(recipients):
        rcpt = await session.command(client, "rcpt", [b"RCPT", f"TO:<{address}>".encode()], address)
        if _ok(rcpt, 250, 251):
            accepted.append(address)
            continue
        session.decide([address], "rcpt", _result(rcpt))
        if not isinstance(rcpt, tuple) or rcpt[0] == 421 or not client.is_connected:
            # The server is gone (or closing): what ended it applies to whoever is left.
            session.decide([*recipients[index + 1 :], *accepted], "rcpt", _result(rcpt))
            return
    if not accepted:
        return
    data = await session.command(client, "data", [b"DATA"])
    if not _ok(data, 354):
        session.decide(accepted, "data", _result(data))
        return
    end = await session.message(client, body)
    session.decide(accepted, "end_of_data", _result(end))


def _normalise(recipients: Sequence[str] | str) -> list[str]:
    items = [recipients] if isinstance(recipients, str) else list(recipients)
    out: list[str] = []
    for item in items:
        address = item.strip().strip("<>")
        if "@" not in address or any(c in address for c in "\r\n <>"):
            raise ProbeError(f"not an e-mail address: {item!r}")
        if address not in out:
            out.append(address)
    if not out:
        raise ProbeError("no recipients given")
    return out


def _split_target(target: str | tuple[str, int], default_port: int) -> tuple[str, int]:
    if isinstance(target, tuple):
        return target
    host, sep, port = target.rpartition(":")
    if not sep or "]" in port:
        return target.strip("[]"), default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ProbeError(f"bad port in {target!r}")
    return host.strip("[]"), int(port)


async def probe_async(
    target: str | tuple[str, int] | None,
    recipients: Sequence[str] | str,
    *,
    sender: str = "probe@localhost",
    port: int = 25,
    timeout: float = _DEFAULT_TIMEOUT,
    helo: str = "probe.localhost",
    message: bytes | None = None,
    resolver: dns.asyncresolver.Resolver | None = None,
    classifier: Classifier | None = None,
) -> ProbeResult:
    """Deliver one message to ``recipients`` and classify what happened to each.

    ``classifier``: the rules to classify the replies with (default: the bundled ones).

    ``target`` is ``"host:port"``, ``(host, port)`` or None to look up the recipients'
    domain (MX, then address fallback) with ``resolver`` and deliver to ``port`` there; then
    DNS failures are results too (111, 112, 113). ``timeout`` bounds every step.
    """
    addresses = _normalise(recipients)
    if timeout <= 0:
        raise ProbeError("timeout must be positive")
    if sender and _normalise([sender]) != [sender]:
        raise ProbeError(f"not an e-mail address: {sender!r}")
    if not re.fullmatch(r"[A-Za-z0-9.\[\]:-]{1,255}", helo):
        raise ProbeError(f"not a host name for EHLO: {helo!r}")
    outcome: DnsOutcome | None = None
    if target is None:
        domains = {a.rpartition("@")[2].lower() for a in addresses}
        if len(domains) != 1:
            raise ProbeError("resolving MX needs recipients of a single domain")
        outcome = await check_domain_async(domains.pop(), resolver=resolver, timeout=timeout * 3)
        if outcome.classification is not None:
            results = tuple(
                RecipientResult(address=a, stage="dns", classification=outcome.classification)
                for a in addresses
            )
            return ProbeResult(outcome.domain, port, (), results, outcome)
        host, label = await _pick_host(outcome, resolver, timeout)
        if host is None:
            session = _Session(outcome.domain, port, outcome.domain, timeout, classifier)
            text = name_service_error(label, "A", "Host not found, try again")
            failed = session.failure("dns", "", "error", text)
            results = tuple(
                RecipientResult(address=a, stage="dns", classification=failed) for a in addresses
            )
            return ProbeResult(outcome.domain, port, tuple(session.replies), results, outcome)
        session = _Session(host, port, f"{label}[{host}]", timeout, classifier)
    else:
        host, port = _split_target(target, port)
        session = _Session(host, port, f"{host}[{host}]", timeout, classifier)
    body = message if message is not None else _message(sender, addresses)
    # Steps are bounded one by one; this outer bound only guards against a bug.
    budget = timeout * (len(addresses) + 8)
    try:
        await asyncio.wait_for(_converse(session, addresses, sender, helo, body), budget)
    except TimeoutError:
        failed = session.failure(
            "unknown", "", "timeout", f"conversation with {session.label} timed out"
        )
        session.decide(addresses, "unknown", failed)
    ordered = tuple(session.results[a] for a in addresses if a in session.results)
    return ProbeResult(session.host, session.port, tuple(session.replies), ordered, outcome)


async def _pick_host(
    outcome: DnsOutcome, resolver: dns.asyncresolver.Resolver | None, timeout: float
) -> tuple[str | None, str]:
    for name in outcome.hosts:
        try:
            socket.inet_pton(socket.AF_INET, name)
            return name, name
        except OSError:
            pass
        addresses = await host_addresses(name, resolver=resolver, timeout=timeout * 2)
        if addresses:
            return addresses[0], name
    return None, outcome.hosts[0] if outcome.hosts else outcome.domain


def probe(
    target: str | tuple[str, int] | None,
    recipients: Sequence[str] | str,
    **kwargs: Any,
) -> ProbeResult:
    """Blocking :func:`probe_async` (runs its own event loop; not for use inside one)."""
    return asyncio.run(probe_async(target, recipients, **kwargs))
