"""What the ledger stores: events about an address, the address's state, and its decision.

An event is one classified outcome for one recipient (a log line's delivery attempt, a
bounce message's report). Events are keyed by where they come from, so recording the same
input twice changes nothing, and ordered by (time, position, key), a total order, so the
state of an address is the same whatever order its events arrive in.
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import blake2b
from typing import Any, Final

from ..enums import _TolerantStrEnum
from ..errors import ClassifierError
from ..picklable import by_fields

__all__ = [
    "MAX_ADDRESS",
    "AddressState",
    "Decision",
    "LedgerError",
    "LedgerEvent",
    "Outcome",
    "event_key",
    "joined_key",
    "normalise_address",
    "parse_time",
]

#: Longest address kept: RFC 5321 §4.5.3.1.3 limits a path to 256 octets with its brackets.
MAX_ADDRESS: Final = 254


class LedgerError(ClassifierError):
    """The ledger cannot be used: not a ledger, damaged, newer than this version, bad policy."""


class Outcome(_TolerantStrEnum):
    """What one event says about the address, as the policy reads its code."""

    #: The message was delivered (250, estado Enviado).
    DELIVERED = "delivered"
    #: A final bounce about the address (estado Rebote, not retried).
    HARD = "hard"
    #: A failure the platform retries (estado "Reintento", or the MTA will try again).
    SOFT = "soft"
    #: A final error that is not about the mailbox (estado Error: 421, 553, 554, ...).
    ERROR = "error"
    #: The address owner asked to stop (feedback-loop complaint, List-Unsubscribe).
    UNSUBSCRIBE = "unsubscribe"
    #: Nothing the decision uses (no code, a pending state).
    IGNORED = "ignored"


class Decision(_TolerantStrEnum):
    """What the sending platform should do with an address."""

    #: Keep sending: nothing against it, or delivered since the last failure.
    DELIVERABLE = "deliverable"
    #: Retryable failures since the last delivery, not yet Retry Fail.
    RETRYING = "retrying"
    #: A hard bounce: stop (``cause`` is its code).
    SUPPRESSED = "suppressed"
    #: Retryable failures for too long without a delivery: stop (MasterBase "Retry Fail").
    RETRY_FAIL = "retry_fail"
    #: The owner unsubscribed or complained: stop (kept apart from bounces).
    UNSUBSCRIBED = "unsubscribed"

    @property
    def stops(self) -> bool:
        """Sending to the address should stop."""
        return self in _STOPS


_STOPS: Final = frozenset({Decision.SUPPRESSED, Decision.RETRY_FAIL, Decision.UNSUBSCRIBED})


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One classified outcome for one address, as the ledger records it."""

    #: 64 bits naming the event by its origin (``event_key``): the same input, the same key.
    #: An event is recorded once per (address, key).
    key: int
    #: The normalised address (``normalise_address``).
    address: str
    #: Seconds since the epoch (UTC); 0.0 when the input gave no readable time.
    time: float
    #: MasterBase code ("" when the input was not recognised).
    code: str
    #: True when the sender will try again (a deferral, a delay notice).
    transient: bool = False
    #: Portable reason of the classification ("user_unknown"), "" when none.
    reason: str = ""
    #: Where the event was read: "file:line", "message-id", for people.
    origin: str = ""
    #: Position in its input (a log's line number; 0 for mail): orders events of one second.
    seq: int = 0

    @property
    def order(self) -> tuple[float, int, int]:
        """The event's place in the total order the ledger folds events in."""
        return (self.time, self.seq, self.key)


@dataclass(frozen=True, slots=True)
class AddressState:
    """Everything the ledger knows about one address, folded from its events in order."""

    address: str
    decision: Decision
    #: The code behind a stopping decision ("131", "162", "Retry Fail"), "" otherwise.
    cause: str
    last_code: str
    last_reason: str
    first_time: float
    last_time: float
    #: The last event's position and key: with ``last_time`` the state's place in the order.
    last_seq: int
    last_key: int
    events: int
    delivered: int
    hard: int
    soft: int
    errors: int
    unsubscribes: int
    ignored: int
    #: Retryable failures since the last delivery (or since the start).
    streak: int
    streak_start: float
    streak_end: float
    #: First hard bounce since the last delivery: its code and time ("" / 0.0 when none).
    hard_code: str
    hard_time: float
    #: First unsubscribe ever: unsubscribes are never lifted by a delivery.
    unsub_code: str
    unsub_time: float

    @property
    def order(self) -> tuple[float, int, int]:
        """The place of the last event folded in."""
        return (self.last_time, self.last_seq, self.last_key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; times in RFC 3339 UTC."""
        return {
            "address": self.address,
            "decision": self.decision.value,
            "cause": self.cause,
            "last_code": self.last_code,
            "last_reason": self.last_reason,
            "first_time": format_time(self.first_time),
            "last_time": format_time(self.last_time),
            "events": self.events,
            "delivered": self.delivered,
            "hard": self.hard,
            "soft": self.soft,
            "errors": self.errors,
            "unsubscribes": self.unsubscribes,
            "ignored": self.ignored,
            "streak": self.streak,
            "streak_start": format_time(self.streak_start),
            "streak_end": format_time(self.streak_end),
        }


def format_time(value: float) -> str:
    """RFC 3339 UTC, or "" for the unknown time (0.0)."""
    if not value:
        return ""
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")


def normalise_address(raw: str) -> str | None:
    """The address as the ledger keys it, or None when it is not a usable address.

    Angle brackets and spaces around it go, the domain loses a trailing dot, and the whole
    address is lower-cased (docs/ledger.md says why the local part is folded too). Unicode is
    put in NFC so one address has one spelling. Longer than 254 characters, without an "@",
    with an empty side, with controls, spaces or unpaired surrogates: None.
    """
    if (  # the usual case, already in normal form: kept as it is, without a copy
        raw.isascii()
        and raw.islower()
        and raw.isprintable()
        and len(raw) <= MAX_ADDRESS
        and raw[0] != "<"
        and raw[-1] not in ".>"
        and " " not in raw
        and 0 < raw.rfind("@") < len(raw) - 1
    ):
        return raw
    return _normalise(raw)


def _normalise(raw: str) -> str | None:
    """``normalise_address`` in full, for any text."""
    text = raw.strip().removeprefix("<").removesuffix(">").strip()
    if not text or len(text) > MAX_ADDRESS:
        return None
    local, at, domain = text.rpartition("@")
    domain = domain.rstrip(".")
    if not at or not local or not domain:
        return None
    if text.isascii():  # the usual case: NFC changes nothing and nothing fails to encode
        address = (text if text[-1] != "." else f"{local}@{domain}").lower()
        return address if address.isprintable() and " " not in address else None
    address = unicodedata.normalize("NFC", f"{local}@{domain}").lower()
    if not address.isprintable() or " " in address:
        return None
    try:
        address.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return None
    return address


def event_key(*parts: str) -> int:
    """A signed 64-bit number naming an event by the parts of its origin (BLAKE2b).

    64 bits make the key the table's own row id (one B-tree fewer per event); two different
    events share a key with a chance of about n² / 2^65 for n events (1 in 3 700 for 100
    million events), and the later one would then be taken for a repeat.
    """
    return joined_key("\0".join(parts))


def joined_key(data: str) -> int:
    """``event_key`` of parts already joined with NUL characters (the feed's loop joins them)."""
    digest = _KEY_HASH.copy()  # a copy of a fresh BLAKE2b costs less than making one
    digest.update(data.encode("utf-8", "surrogatepass"))
    key: int = _KEY_NUMBER(digest.digest())[0]
    return key


#: BLAKE2b of 8 bytes, never updated: ``joined_key`` copies it.
_KEY_HASH: Final = blake2b(digest_size=8)
#: The digest as a big-endian signed 64-bit number.
_KEY_NUMBER: Final = struct.Struct(">q").unpack


_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def parse_time(text: str, year: int) -> float:
    """Seconds since the epoch of a log's time, or 0.0 when it cannot be read.

    Reads the classic syslog "Nov 26 11:31:27", which has no year (``year`` gives it),
    RFC 3339 / ISO 8601 (Exim, PowerMTA, RFC 5424 syslog) and epoch seconds (KumoMTA).
    Times without a zone are taken as UTC.
    """
    if len(text) == 15 and text[9] == ":" and text[12] == ":":
        second = text[13:]
        if second.isdecimal() and (start := _syslog_minute(text[:12], year)):
            seconds = int(second)
            return start + seconds if seconds < 61 else 0.0
        return 0.0
    return _other_time(text)


@lru_cache(maxsize=4096)
def _syslog_minute(head: str, year: int) -> float:
    """The start of the minute "Nov 26 11:31" in ``year``, 0.0 when it is no time.

    A log's lines come in time order, so the minutes in use (1 440 a day) stay in the
    bounded cache.
    """
    midnight = _syslog_day(head[:6], year)
    hour, minute = head[7:9], head[10:12]
    if not (midnight and hour.isdecimal() and minute.isdecimal()):
        return 0.0
    if int(hour) >= 24 or int(minute) >= 60:
        return 0.0
    return midnight + int(hour) * 3600 + int(minute) * 60


@lru_cache(maxsize=512)
def _syslog_day(month_day: str, year: int) -> float:
    """Midnight UTC of "Nov 26" in ``year``, 0.0 when it is no date (a bounded cache)."""
    month = _MONTHS.get(month_day[:3].lower())
    day = month_day[4:].strip()
    if month is None or month_day[3] != " " or not day.isdigit():
        return 0.0
    try:
        return datetime(year, month, int(day), tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


@lru_cache(maxsize=4096)
def _other_time(text: str) -> float:
    text = text.strip()
    if not text or len(text) > 64 or not text[0].isdigit():
        return 0.0
    try:
        return float(text) if text.replace(".", "", 1).isdigit() else _iso(text)
    except (ValueError, OverflowError):
        return 0.0


def _iso(text: str) -> float:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(LedgerEvent, AddressState)
