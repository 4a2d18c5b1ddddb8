"""The HTTP service as a plain ASGI application: classify() for MTAs in any language.

It keeps no state between requests (the rules are read once, at start), so any number of
processes or hosts can serve behind a load balancer. Every request body is read up to a limit
and every failure a client can cause (bad JSON, wrong types, too large, not a message) is a
4xx reply with a JSON body ``{"error": {"status", "type", "message"}}``; a 500 means a bug.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import regex

from .._version import __version__
from ..codes import all_codes
from ..engine import Classifier, default_classifier
from ..mail.message import classify_message
from ..result import Classification
from .openapi import openapi

__all__ = ["ENV_LIMITS", "ENV_RULES", "ServeApp", "ServeLimits", "app_from_env"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Environment variables through which ``smtp-classifier serve --workers N`` configures the
#: worker processes: rule directories (joined with os.pathsep) and the limits (JSON).
ENV_RULES: Final = "SMTP_CLASSIFIER_SERVE_RULES"
ENV_LIMITS: Final = "SMTP_CLASSIFIER_SERVE_LIMITS"

_log = logging.getLogger("smtp_classifier.serve")
#: A message's first line: a header field ("Name: value") or an mbox "From " line.
_HEADER_LINE: Final = regex.compile(rb"(?:From |[!-9;-~]{1,200}:)")
_JSON_TYPE: Final = (b"content-type", b"application/json")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeLimits:
    """What one request may carry."""

    #: Bytes of a /v1/classify request body.
    max_body: int = 1 << 20
    #: Bytes of a /v1/classify-mail request body (the raw message).
    max_mail: int = 10 << 20
    #: Replies in one /v1/classify batch.
    max_batch: int = 1000
    #: Characters of a stage name.
    max_stage: int = 32


class _ClientError(Exception):
    """A request the client must fix: answered with ``status`` and a JSON error body."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def _dumps(data: object) -> bytes:
    # ASCII escapes keep lone surrogates (legal in JSON input) encodable in any reply.
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _error_body(status: int, kind: str, message: str) -> bytes:
    return _dumps({"error": {"status": status, "type": kind, "message": message}})


class ServeApp:
    """The ASGI application: routes, limits, JSON in and out."""

    def __init__(self, classifier: Classifier | None = None, limits: ServeLimits | None = None):
        self.classifier = classifier if classifier is not None else default_classifier()
        self.limits = limits if limits is not None else ServeLimits()
        self._codes = _dumps([{**asdict(info), "final": info.final} for info in all_codes()])
        self._health = _dumps(
            {"status": "ok", "version": __version__, "rules": len(self.classifier.rules.rules)}
        )
        self._openapi = _dumps(openapi(self.limits))
        self._routes: dict[str, dict[str, Callable[[Receive, Scope], Awaitable[bytes]]]] = {
            "/v1/classify": {"POST": self._classify},
            "/v1/classify-mail": {"POST": self._classify_mail},
            "/v1/codes": {"GET": self._fixed(self._codes)},
            "/healthz": {"GET": self._fixed(self._health)},
            "/openapi.json": {"GET": self._fixed(self._openapi)},
        }

    @staticmethod
    def _fixed(body: bytes) -> Callable[[Receive, Scope], Awaitable[bytes]]:
        async def handler(receive: Receive, scope: Scope) -> bytes:
            return body

        return handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        status, body, extra = 200, b"", []
        try:
            methods = self._routes.get(scope["path"])
            if methods is None:
                raise _ClientError(404, "not_found", f"no such path: {scope['path']}")
            handler = methods.get(scope["method"])
            if handler is None:
                extra.append((b"allow", ", ".join(methods).encode()))
                raise _ClientError(405, "method_not_allowed", f"use {', '.join(methods)}")
            body = await handler(receive, scope)
        except _ClientError as exc:
            status, body = exc.status, _error_body(exc.status, exc.kind, exc.message)
        except Exception:
            _log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            status, body = 500, _error_body(500, "internal", "internal error")
        headers = [_JSON_TYPE, (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    async def _body(receive: Receive, scope: Scope, limit: int) -> bytes:
        """The request body, refused (413) as soon as it is known to exceed ``limit``."""
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise _ClientError(400, "bad_request", "invalid Content-Length") from None
                if declared > limit:
                    raise _ClientError(
                        413, "too_large", f"body of {declared} bytes; the limit is {limit}"
                    )
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientError(400, "bad_request", "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _ClientError(413, "too_large", f"body over {limit} bytes")
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    # -- /v1/classify ----------------------------------------------------------------------

    async def _classify(self, receive: Receive, scope: Scope) -> bytes:
        raw = await self._body(receive, scope, self.limits.max_body)
        try:
            data = json.loads(raw)
        except RecursionError:
            raise _ClientError(400, "bad_json", "JSON nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, invalid UTF-8, absurd numbers
            raise _ClientError(400, "bad_json", f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise _ClientError(422, "wrong_type", 'expected an object with "reply" or "replies"')
        explain = data.get("explain", False)
        if not isinstance(explain, bool):
            raise _ClientError(422, "wrong_type", '"explain" must be true or false')
        default_stage = self._stage(data.get("stage"), "stage")
        if "replies" in data:
            items = data["replies"]
            if not isinstance(items, list):
                raise _ClientError(422, "wrong_type", '"replies" must be an array')
            if len(items) > self.limits.max_batch:
                raise _ClientError(
                    413,
                    "batch_too_large",
                    f"{len(items)} replies; the limit is {self.limits.max_batch} per request",
                )
            results = [
                self._one(item, default_stage, explain, f"replies[{i}]")
                for i, item in enumerate(items)
            ]
            return _dumps({"count": len(results), "results": results})
        if "reply" not in data:
            raise _ClientError(422, "wrong_type", 'expected "reply" (one) or "replies" (a batch)')
        return _dumps({"result": self._one(data, default_stage, explain, "")})

    def _stage(self, value: object, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise _ClientError(422, "wrong_type", f'"{where}" must be a string')
        if len(value) > self.limits.max_stage:
            raise _ClientError(422, "wrong_type", f'"{where}" is longer than a stage name')
        return value or None

    def _one(self, item: object, stage: str | None, explain: bool, where: str) -> dict[str, Any]:
        at = f"{where}." if where else ""
        if isinstance(item, str):
            reply = item
        elif isinstance(item, dict):
            value = item.get("reply")
            if not isinstance(value, str):
                raise _ClientError(422, "wrong_type", f'"{at}reply" must be a string')
            reply = value
            stage = self._stage(item.get("stage"), f"{at}stage") or stage
        else:
            raise _ClientError(422, "wrong_type", f'"{where}" must be a string or an object')
        result: Classification = self.classifier.classify(reply, stage=stage)
        out = result.to_dict()
        if explain:
            out["explanation"] = result.explain()
        return out

    # -- /v1/classify-mail -----------------------------------------------------------------

    async def _classify_mail(self, receive: Receive, scope: Scope) -> bytes:
        raw = await self._body(receive, scope, self.limits.max_mail)
        if not raw.strip():
            raise _ClientError(400, "empty", "the body is empty: send the raw message")
        head = raw[:65536]
        end = min((i for i in (head.find(b"\n\n"), head.find(b"\r\n\r\n")) if i >= 0), default=-1)
        header = head if end < 0 else head[:end]
        if b"\x00" in header or _HEADER_LINE.match(header.lstrip(b"\r\n")) is None:
            raise _ClientError(
                422,
                "not_a_message",
                "the body is not a mail message (binary data, or no header fields)",
            )
        return _dumps(classify_message(raw).to_dict())


def app_from_env() -> ServeApp:
    """The application as configured by ``smtp-classifier serve`` for its worker processes."""
    dirs = [Path(p) for p in os.environ.get(ENV_RULES, "").split(os.pathsep) if p]
    limits = ServeLimits(**json.loads(os.environ.get(ENV_LIMITS, "{}")))
    return ServeApp(Classifier.from_dirs(dirs) if dirs else None, limits)
