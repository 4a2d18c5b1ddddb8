"""RFC 3464 delivery-status fields: tolerant parsing into per-recipient evidence.

Real DSNs fold fields, forget the blank line between recipient blocks, repeat or omit fields,
and some MTAs paste the same fields into a text/plain part. The parser reads field lines,
unfolds them, and starts a new recipient whenever a recipient field repeats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..enums import Stage
from ..picklable import by_fields
from ..smtp import split_typed

__all__ = [
    "ADDRESS_PATTERN",
    "RecipientEvidence",
    "clean_address",
    "looks_like_dsn_fields",
    "normalise_action",
    "parse_delivery_status",
    "report_fields",
]

#: Actions of RFC 3464 §2.3.3 plus the spellings seen in the wild.
_ACTIONS = {
    "failed": "failed",
    "failure": "failed",
    "fail": "failed",
    "delayed": "delayed",
    "delay": "delayed",
    "delivered": "delivered",
    "relayed": "relayed",
    "expanded": "expanded",
    "deliverable": "delivered",
    "expired": "failed",
}

#: An e-mail address in running text: bounded parts (a local part of at most 64 characters,
#: RFC 5321) keep every search linear, and the domain may be internationalised.
ADDRESS_PATTERN = (
    r"[^\s<>()\[\]\"',;:@]{1,64}@[^\W_][\w.\-]{0,252}\."
    r"(?:[A-Za-z0-9][A-Za-z0-9\-]{0,62}|[^\x00-\x7f\W]{1,63})"
)
_ADDRESS = re.compile(ADDRESS_PATTERN)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})\s*:\s?(.*)$")
_COMMENT = re.compile(r"\(([^()]{3,300})\)")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")

_RECIPIENT_FIELDS = frozenset({"final-recipient", "original-recipient", "x-actual-recipient"})
_PER_RECIPIENT = frozenset(
    {
        "final-recipient",
        "original-recipient",
        "x-actual-recipient",
        "action",
        "status",
        "remote-mta",
        "diagnostic-code",
        "last-attempt-date",
        "final-log-id",
        "will-retry-until",
        "x-display-name",
    }
)


@dataclass(frozen=True, slots=True)
class RecipientEvidence:
    """What a bounce says about one recipient, before any classification."""

    recipient: str
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    diagnostic_type: str = ""
    remote_mta: str = ""
    reporting_mta: str = ""
    stage: Stage | None = None
    decoded_by: str = ""
    #: The address the report delivered to when it differs from ``recipient`` (the DSN's
    #: Final-Recipient beside its Original-Recipient; the address an alias expanded to).
    final_recipient: str = ""

    def merged(self, other: RecipientEvidence) -> RecipientEvidence:
        """Fill this record's empty fields from ``other`` (same recipient, second source)."""
        return replace(
            self,
            action=self.action or other.action,
            status=self.status or other.status,
            diagnostic=self.diagnostic or other.diagnostic,
            diagnostic_type=self.diagnostic_type or other.diagnostic_type,
            remote_mta=self.remote_mta or other.remote_mta,
            reporting_mta=self.reporting_mta or other.reporting_mta,
            stage=self.stage or other.stage,
            final_recipient=self.final_recipient or other.final_recipient,
        )


def clean_address(value: str) -> str:
    """The bare address in a DSN address field ("rfc822; <a@b>" → "a@b"); "" when none."""
    if ";" in value:
        value = value.split(";", 1)[1]
    match = _ADDRESS.search(value)
    if not match:
        return ""
    return match.group(0).strip(".").lower() if _is_plausible(match.group(0)) else ""


#: A DSN recipient field's value taken as written when it is no valid address: one token with
#: an "@" inside ("rfc822; recipient@#example.net", a mistyped domain), so that a report about
#: a malformed address still names it.
_AS_WRITTEN = re.compile(r"<?([^\s<>@]{1,64}@[^\s<>@]{1,253})>?")


def _written_address(value: str) -> str:
    """The address of a DSN recipient field: a valid one, else the token as written, else ""."""
    found = clean_address(value)
    if found:
        return found
    typed = value.split(";", 1)[1] if ";" in value else value
    match = _AS_WRITTEN.fullmatch(typed.strip())
    if not match or not match.group(1).isprintable():
        return ""
    return match.group(1).strip(".").lower()


def _is_plausible(address: str) -> bool:
    if len(address) > 254:  # RFC 5321 path limit: longer "addresses" are noise
        return False
    local, _, domain = address.rpartition("@")
    return bool(local) and len(local) <= 64 and ("." in domain or domain.lower() == "localhost")


def normalise_action(value: str) -> str:
    """Canonical RFC 3464 action ("failed", "delayed", ...); "" when unknown."""
    word = value.strip().lower().split(" ", 1)[0].strip(";.()")
    return _ACTIONS.get(word, "")


def report_fields(text: str) -> list[tuple[str, str] | None]:
    """Unfolded (lower-case name, value) pairs of a report part, in order.

    None marks a blank line (a block separator). Shared by DSN and ARF parsing.
    """
    out: list[tuple[str, str] | None] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            out.append(None)
            continue
        last = out[-1] if out else None
        if line[0] in " \t" and last is not None:
            out[-1] = (last[0], f"{last[1]} {line.strip()}")
            continue
        match = _FIELD.match(line)
        if match:
            out.append((match.group(1).lower(), match.group(2).strip()))
        elif last is not None and last[0] == "diagnostic-code":
            # A folded line that lost its indentation (seen in Diagnostic-Code).
            out[-1] = (last[0], f"{last[1]} {line.strip()}")
    return out


def looks_like_dsn_fields(text: str) -> bool:
    """Does free text carry RFC 3464 recipient fields (pasted into a text part)?"""
    low = text.lower()
    return "final-recipient:" in low or (
        "original-recipient:" in low and ("action:" in low or "status:" in low)
    )


def parse_delivery_status(text: str, *, decoded_by: str = "rfc3464") -> list[RecipientEvidence]:
    """Per-recipient evidence from the fields of a delivery-status part (or pasted fields)."""
    reporting_mta = ""
    groups: list[dict[str, str]] = []
    current: dict[str, str] = {}

    def flush() -> None:
        nonlocal current
        if any(k in current for k in _RECIPIENT_FIELDS):
            groups.append(current)
        current = {}

    for item in report_fields(text):
        if item is None:
            flush()
            continue
        name, value = item
        if name == "reporting-mta" and not reporting_mta:
            reporting_mta = split_typed(value)[1]
            continue
        if name not in _PER_RECIPIENT:
            continue
        has_recipient = any(k in current for k in _RECIPIENT_FIELDS)
        repeated = name in current and (
            (name in _RECIPIENT_FIELDS and has_recipient)
            or (name in ("action", "status") and "final-recipient" in current)
        )
        if repeated:
            # A repeated per-recipient field without a blank line: a new recipient block.
            flush()
        if name == "diagnostic-code" and name in current:
            current[name] = f"{current[name]} {value}"
            continue
        current.setdefault(name, value)
    flush()

    out: list[RecipientEvidence] = []
    seen: dict[str, int] = {}
    for group in groups:
        # The Original-Recipient is the address the sender used (RFC 3464 §2.3.1), the one a
        # sender can act on; the Final-Recipient (an alias's target) is kept beside it.
        final = clean_address(group.get("final-recipient", "")) or clean_address(
            group.get("x-actual-recipient", "")
        )
        recipient = clean_address(group.get("original-recipient", "")) or final
        if not recipient:
            # No valid address in the fields: the report is still about the one it names.
            recipient = _written_address(group.get("original-recipient", "")) or _written_address(
                group.get("final-recipient", "")
            )
        if not recipient:
            continue
        final = final if final != recipient else ""
        dtype, diagnostic = split_typed(group.get("diagnostic-code", ""))
        status_field = group.get("status", "")
        status_match = _STATUS.search(status_field)
        if not diagnostic:
            # Sendmail explains a status in a comment: "4.0.0 (host name lookup failure)".
            comment = _COMMENT.search(status_field)
            if comment and not re.fullmatch(
                r"(?:permanent|temporary|transient) failure",
                comment.group(1).strip(),
                re.IGNORECASE,
            ):
                diagnostic = comment.group(1).strip()
        record = RecipientEvidence(
            recipient=recipient,
            action=normalise_action(group.get("action", "")),
            status=status_match.group(0) if status_match else "",
            diagnostic=diagnostic,
            diagnostic_type=dtype,
            remote_mta=split_typed(group.get("remote-mta", ""))[1],
            reporting_mta=reporting_mta,
            decoded_by=decoded_by,
            final_recipient=final,
        )
        if recipient in seen:
            index = seen[recipient]
            out[index] = out[index].merged(record)
        else:
            seen[recipient] = len(out)
            out.append(record)
    return out


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(RecipientEvidence)
