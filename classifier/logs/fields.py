"""Field readers shared by the log formats: syslog time, queue id, dsn=, CSV rows, JSON objects."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any

from ..safetext import clean_json
from .record import MalformedLineError

__all__ = [
    "columns",
    "csv_fields",
    "csv_header",
    "dsn_field",
    "load_object",
    "queue_id_end",
    "recipients_of",
    "relay_field",
    "syslog_time",
]


def syslog_time(line: str) -> str:
    """The timestamp of a syslog line: RFC 3339 first token or the classic 15 characters."""
    if line[:1].isdigit():
        end = line.find(" ")
        return line[:end] if end > 0 else ""
    return line[:15]


def dsn_field(line: str, start: int, status_at: int) -> str:
    """The ``dsn=`` value between ``start`` and the `` status=``/`` stat=`` field, or ""."""
    d = line.find(" dsn=", start, status_at)
    if d < 0:
        return ""
    end = line.find(",", d)
    return line[d + 5 : end if 0 <= end < status_at else status_at]


def relay_field(line: str, start: int, status_at: int) -> str:
    """The ``relay=`` value between ``start`` and the status field (Postfix), or ""."""
    r = line.find(" relay=", start, status_at)
    if r < 0:
        return ""
    end = line.find(",", r)
    value = line[r + 7 : end if 0 <= end < status_at else status_at]
    return "" if value == "none" else value


def queue_id_end(line: str, start: int, status_at: int, what: str) -> int:
    """Where the queue id starting at ``start`` ends: at the ": " before the status field."""
    end = line.find(": ", start)
    if end < 0 or end > status_at or " " in line[start:end]:
        raise MalformedLineError(f"{what} without a queue id")
    return end


def csv_header(line: str, required: str) -> tuple[str, ...] | None:
    """The columns of a CSV header line, when it has a column named ``required``."""
    if required not in line:
        return None
    try:
        columns = tuple(c.strip() for c in csv_fields(line))
    except MalformedLineError:
        return None
    return columns if required in columns else None


def csv_fields(line: str) -> list[str]:
    if '"' not in line:
        return line.split(",")
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:  # a stray carriage return or NUL inside quotes
        raise MalformedLineError(f"CSV line cannot be read: {exc}") from exc


def columns(header: Sequence[str], fields: Sequence[str]) -> dict[str, str]:
    return {name: fields[i] for i, name in enumerate(header) if i < len(fields)}


def recipients_of(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(str(v) for v in value if v)
    return ()


def load_object(line: str) -> dict[str, Any] | None:
    """The JSON object on a line, or None (not JSON, or JSON but not an object)."""
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    # Only a \u escape can put a lone surrogate into decoded JSON (the line itself is
    # valid UTF-8): clean such records so every writer can encode them.
    if "\\u" in line:
        cleaned: dict[str, Any] = clean_json(obj)
        return cleaned
    return obj
