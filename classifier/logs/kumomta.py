"""KumoMTA JSON log records (docs.kumomta.com, reference "Log Record")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ..enums import Stage
from .fields import load_object, recipients_of
from .record import BOUNCED, DEFERRED, EXPIRED, SENT, LogRecord, MalformedLineError

__all__ = ["parse_kumomta"]

#: Longest sender kept (as for the senders of arrival lines).
_MAX_SENDER: Final = 320

_KUMO_TYPES: Final = {
    "Delivery": SENT,
    "Bounce": BOUNCED,
    "TransientFailure": DEFERRED,
    "Expiration": EXPIRED,
    "AdminBounce": BOUNCED,
    "OOB": BOUNCED,
}


def parse_kumomta(line: str, obj: Mapping[str, Any] | None = None) -> LogRecord | None:
    """A KumoMTA log record (one JSON object per line).

    ``Delivery``, ``Bounce``, ``TransientFailure``, ``Expiration``, ``AdminBounce`` and ``OOB``
    records are deliveries; ``Reception``, ``Rejection``, ``Feedback`` and ``Delay`` are not.
    The reply is rebuilt as "code x.y.z content" from ``response``; ``response.command`` gives
    the stage. Every record names the envelope ``sender`` itself (no arrival line to join).
    """
    obj = obj if obj is not None else load_object(line)
    if obj is None:
        return None
    kind = obj.get("type")
    if not isinstance(kind, str) or "response" not in obj:
        return None
    status = _KUMO_TYPES.get(kind)
    if status is None:
        return None
    response = obj.get("response")
    if not isinstance(response, dict):
        raise MalformedLineError("KumoMTA record whose response is not an object")
    code = response.get("code")
    content = str(response.get("content") or "")
    enhanced = response.get("enhanced_code")
    dsn = ""
    if isinstance(enhanced, dict):
        dsn = f"{enhanced.get('class')}.{enhanced.get('subject')}.{enhanced.get('detail')}"
    parts = [str(code) if isinstance(code, int) else "", dsn, content]
    reply = " ".join(p for p in parts if p)
    command = response.get("command")
    stage = Stage.named(command) if isinstance(command, str) else None
    recipients = recipients_of(obj.get("recipient"))
    if not recipients:
        raise MalformedLineError(f"KumoMTA {kind} record without a recipient")
    category = obj.get("bounce_classification")
    sender = obj.get("sender")
    return LogRecord(
        mta="kumomta",
        status=status,
        time=str(obj.get("timestamp", "")),
        queue_id=str(obj.get("id", "")),
        recipients=recipients,
        reply=reply,
        dsn=dsn,
        stage=stage,
        category=category if isinstance(category, str) else "",
        sender=sender[:_MAX_SENDER] if isinstance(sender, str) else "",
    )
