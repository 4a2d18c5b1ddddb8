"""Amazon SES notifications, sent by SNS as JSON: bounces, complaints and deliveries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..smtp import split_typed
from .dsn import RecipientEvidence, clean_address, normalise_action

__all__ = ["decode_ses_json"]

_SES = "amazon-ses-notification"


def _ses_payload(text: str) -> dict[str, Any] | None:
    """The notification object: the JSON in the text, or the one its SNS envelope carries."""
    start = text.find("{")
    if start < 0 or ('"notificationType"' not in text and '"eventType"' not in text):
        return None
    decoder = json.JSONDecoder(strict=False)  # SNS mail wraps long lines inside strings
    try:
        data, _ = decoder.raw_decode(text[start:])
        if isinstance(data, dict) and isinstance(data.get("Message"), str):
            data = json.loads(data["Message"], strict=False)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _ses_bounces(bounce: dict[str, Any]) -> list[RecipientEvidence]:
    reporting = split_typed(str(bounce.get("reportingMTA", "") or ""))[1]
    out: list[RecipientEvidence] = []
    for item in bounce.get("bouncedRecipients") or []:
        if not isinstance(item, dict):
            continue
        address = clean_address(str(item.get("emailAddress", "")))
        if not address:
            continue
        diagnostic = str(item.get("diagnosticCode", "") or "")
        if not diagnostic:
            diagnostic = f"{bounce.get('bounceType', '')} {bounce.get('bounceSubType', '')}"
        out.append(
            RecipientEvidence(
                recipient=address,
                action=normalise_action(str(item.get("action", "failed"))) or "failed",
                status=str(item.get("status", "") or ""),
                diagnostic=" ".join(diagnostic.split()),
                remote_mta=str(bounce.get("remoteMtaIp", "") or ""),
                reporting_mta=reporting,
                decoded_by=_SES,
            )
        )
    return out


def _ses_complaints(complaint: dict[str, Any]) -> list[RecipientEvidence]:
    feedback = str(complaint.get("complaintFeedbackType", "") or "abuse")
    items = complaint.get("complainedRecipients") or []
    addresses = (
        clean_address(str(i.get("emailAddress", ""))) for i in items if isinstance(i, dict)
    )
    return [
        RecipientEvidence(recipient=a, diagnostic=feedback, decoded_by=_SES) for a in addresses if a
    ]


def _ses_deliveries(delivery: dict[str, Any]) -> list[RecipientEvidence]:
    response = str(delivery.get("smtpResponse", "") or "")
    remote = str(delivery.get("remoteMtaIp", "") or "")
    reporting = split_typed(str(delivery.get("reportingMTA", "") or ""))[1]
    addresses = (clean_address(str(raw)) for raw in delivery.get("recipients") or [])
    return [
        RecipientEvidence(
            recipient=a,
            action="delivered",
            diagnostic=response,
            remote_mta=remote,
            reporting_mta=reporting,
            decoded_by=_SES,
        )
        for a in addresses
        if a
    ]


#: Notification type → (the key of its details, their reader).
_SES_READERS: dict[str, tuple[str, Callable[[dict[str, Any]], list[RecipientEvidence]]]] = {
    "Bounce": ("bounce", _ses_bounces),
    "Complaint": ("complaint", _ses_complaints),
    "Delivery": ("delivery", _ses_deliveries),
}


def decode_ses_json(text: str) -> tuple[str, list[RecipientEvidence]] | None:
    """Amazon SES notifications (sent by SNS as JSON): (notification type, recipients)."""
    data = _ses_payload(text)
    if data is None:
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "")
    key, read = _SES_READERS.get(kind, ("", None))
    details = data.get(key)
    if read is None or not isinstance(details, dict):
        return None
    return kind, read(details)
