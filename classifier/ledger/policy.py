"""The ledger's policy, read from TOML, and the fold that turns an address's events into a state.

The fold is the only place where the ledger decides anything. It reads events in their total
order (time, position, key), so the state depends on the set of events and not on their
arrival order; the ledger keeps that by folding newer events onto a state and folding an
address again from all its events when an older one arrives.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from ..codes import lookup_code
from .model import AddressState, Decision, LedgerError, LedgerEvent, Outcome

__all__ = ["DEFAULT_POLICY", "Policy", "empty_state", "fold", "load_policy", "outcome_of"]

#: The estados of the vendor's table that the policy reads (codes.py spells them).
_SENT: Final = "Enviado"
_BOUNCE: Final = "Rebote"
_ERROR: Final = "Error"
_DAY: Final = 86400.0
RETRY_FAIL: Final = "Retry Fail"


@dataclass(frozen=True, slots=True)
class Policy:
    """How events become decisions (defaults in classifier/ledger/policy.toml)."""

    #: Retryable failures in a row, without a delivery, needed for Retry Fail.
    failures: int
    #: Days the streak must span (first to last failure) for Retry Fail.
    days: float
    #: Final errors (estado Error) count in the streak.
    count_errors: bool
    #: Codes that unsubscribe (kept apart from bounces, never lifted).
    unsubscribe: frozenset[str]
    #: Codes of estado Rebote read as retryable failures.
    soft: frozenset[str]
    #: A delivery after the last hard bounce lifts the suppression.
    delivery_lifts: bool

    @property
    def fingerprint(self) -> str:
        """A short digest of the settings: a ledger refolds when its policy changes."""
        data = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(self).items()}
        text = json.dumps(data, sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _codes(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise LedgerError(f"policy: {where} must be a list of codes as strings")
    try:
        return frozenset(lookup_code(c).code for c in value)
    except KeyError as exc:
        raise LedgerError(f"policy: {where}: {exc.args[0]}") from None


def _policy_of(data: dict[str, Any], source: str) -> Policy:
    try:
        retry, codes, hard = data["retry_fail"], data["codes"], data["hard"]
        failures, days = retry["failures"], retry["days"]
        count_errors, lifts = retry["count_errors"], hard["delivery_lifts"]
        unsubscribe, soft = codes["unsubscribe"], codes["soft"]
    except (KeyError, TypeError) as exc:
        raise LedgerError(f"{source}: missing policy setting {exc}") from None
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 1:
        raise LedgerError(f"{source}: retry_fail.failures must be a whole number >= 1")
    if isinstance(days, bool) or not isinstance(days, int | float) or not 0 <= days <= 3650:
        raise LedgerError(f"{source}: retry_fail.days must be a number of days from 0 to 3650")
    if not isinstance(count_errors, bool) or not isinstance(lifts, bool):
        raise LedgerError(f"{source}: count_errors and delivery_lifts must be true or false")
    return Policy(
        failures=failures,
        days=float(days),
        count_errors=count_errors,
        unsubscribe=_codes(unsubscribe, "codes.unsubscribe"),
        soft=_codes(soft, "codes.soft"),
        delivery_lifts=lifts,
    )


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LedgerError(f"{source}: not valid TOML: {exc}") from None


@lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("policy.toml").read_text(encoding="utf-8")
    return _read_toml(text, "policy.toml")


def load_policy(path: str | Path | None = None) -> Policy:
    """The bundled policy, with the keys of the TOML file at ``path`` (if any) over it."""
    data = _defaults()
    source = "policy.toml"
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(f"cannot read policy {path}: {exc}") from None
        data = _merge(data, _read_toml(text, source))
    return _policy_of(data, source)


DEFAULT_POLICY: Final = load_policy()


@lru_cache(maxsize=1024)
def outcome_of(code: str, transient: bool, policy: Policy) -> Outcome:
    """What an event with ``code`` says about its address under ``policy``.

    The code's estado in the vendor's table decides (``lookup_code``): Enviado is a delivery;
    "Reintento" estados, a deferral (``transient``) and the policy's soft codes are retryable
    failures; Rebote is a hard bounce; Error is an error; anything else (pending, no code)
    is ignored. Unsubscribe codes come first.
    """
    if not code:
        return Outcome.IGNORED
    try:
        info = lookup_code(code)
    except KeyError:
        return Outcome.IGNORED
    if info.code in policy.unsubscribe:
        return Outcome.UNSUBSCRIBE
    if info.estado == _SENT:
        return Outcome.DELIVERED
    if transient or info.retry or info.code in policy.soft:
        return Outcome.SOFT
    if info.estado == _BOUNCE:
        return Outcome.HARD
    if info.estado.startswith(_ERROR):
        return Outcome.ERROR
    return Outcome.IGNORED


def empty_state(address: str) -> AddressState:
    """The state of an address with no events."""
    return AddressState(
        address=address,
        decision=Decision.DELIVERABLE,
        cause="",
        last_code="",
        last_reason="",
        first_time=0.0,
        last_time=0.0,
        last_seq=0,
        last_key=b"",
        events=0,
        delivered=0,
        hard=0,
        soft=0,
        errors=0,
        unsubscribes=0,
        ignored=0,
        streak=0,
        streak_start=0.0,
        streak_end=0.0,
        hard_code="",
        hard_time=0.0,
        unsub_code="",
        unsub_time=0.0,
    )


def fold(state: AddressState, events: Iterable[LedgerEvent], policy: Policy) -> AddressState:
    """``state`` with ``events`` applied, which must all come after it in (time, seq, key) order."""
    s = {f: getattr(state, f) for f in AddressState.__slots__}
    first = s["first_time"] if s["events"] else None
    for e in events:
        s["events"] += 1
        if first is None:
            first = e.time
        s["last_time"], s["last_seq"], s["last_key"] = e.time, e.seq, e.key
        s["last_code"], s["last_reason"] = e.code, e.reason
        outcome = outcome_of(e.code, e.transient, policy)
        if outcome is Outcome.DELIVERED:
            s["delivered"] += 1
            s["streak"], s["streak_start"], s["streak_end"] = 0, 0.0, 0.0
            if policy.delivery_lifts:
                s["hard_code"], s["hard_time"] = "", 0.0
        elif outcome is Outcome.HARD:
            s["hard"] += 1
            if not s["hard_code"]:
                s["hard_code"], s["hard_time"] = e.code, e.time
        elif outcome is Outcome.UNSUBSCRIBE:
            s["unsubscribes"] += 1
            if not s["unsub_code"]:
                s["unsub_code"], s["unsub_time"] = e.code, e.time
        elif outcome is Outcome.IGNORED:
            s["ignored"] += 1
        else:
            if outcome is Outcome.SOFT:
                s["soft"] += 1
            else:
                s["errors"] += 1
            if outcome is Outcome.SOFT or policy.count_errors:
                if not s["streak"]:
                    s["streak_start"] = e.time
                s["streak"] += 1
                s["streak_end"] = e.time
    s["first_time"] = first or 0.0
    decision, cause = decide(
        s["unsub_code"], s["hard_code"], s["streak"], s["streak_end"] - s["streak_start"], policy
    )
    return replace(state, **{**s, "decision": decision, "cause": cause})


def decide(
    unsub_code: str, hard_code: str, streak: int, span: float, policy: Policy
) -> tuple[Decision, str]:
    """The decision and its cause: unsubscribe, then hard bounce, then the retry streak."""
    if unsub_code:
        return Decision.UNSUBSCRIBED, unsub_code
    if hard_code:
        return Decision.SUPPRESSED, hard_code
    if streak >= policy.failures and span >= policy.days * _DAY:
        return Decision.RETRY_FAIL, RETRY_FAIL
    if streak:
        return Decision.RETRYING, ""
    return Decision.DELIVERABLE, ""
