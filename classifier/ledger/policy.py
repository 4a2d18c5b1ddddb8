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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Any, Final

from ..codes import CATALOGUE, lookup_code
from ..picklable import by_fields
from .model import AddressState, Decision, LedgerError, LedgerEvent, Outcome
from .schema import ADDRESS_COLUMNS

__all__ = [
    "DEFAULT_POLICY",
    "EventRow",
    "Folder",
    "Policy",
    "StateRow",
    "empty_state",
    "fold",
    "fold_rows",
    "folder",
    "load_policy",
    "outcome_of",
    "row_of",
    "state_of",
]

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


#: An event as the stores and the fold handle it: EVENT_COLUMNS (key, address, time, code,
#: transient, reason, origin, seq), ``transient`` 1 or 0 (SQLite binds an int at once and a
#: bool only after looking for an adapter). Plain tuples: no object per event.
EventRow = tuple[int, str, float, str, int, str, str, int]
#: A state as a row of ADDRESS_COLUMNS.
StateRow = tuple[Any, ...]


def empty_state(address: str) -> AddressState:
    """The state of an address with no events."""
    return state_of(_empty_row(address))


#: The state of an address with no events, without its address.
_EMPTY_TAIL: Final[StateRow] = (
    (Decision.DELIVERABLE.value, "", "", "", 0.0, 0.0, 0, 0)
    + (0,) * 8
    + (0.0, 0.0, "", 0.0, "", 0.0)
)


def _empty_row(address: str) -> StateRow:
    return (address, *_EMPTY_TAIL)


def state_of(row: StateRow) -> AddressState:
    """An AddressState from a row of ADDRESS_COLUMNS."""
    values = dict(zip(ADDRESS_COLUMNS, row, strict=True))
    values["decision"] = Decision(values["decision"])
    return AddressState(**values)


def row_of(state: AddressState) -> StateRow:
    """A row of ADDRESS_COLUMNS from an AddressState."""
    return tuple(
        state.decision.value if c == "decision" else getattr(state, c) for c in ADDRESS_COLUMNS
    )


@lru_cache(maxsize=8)
def _outcomes(policy: Policy) -> dict[tuple[str, int], Outcome]:
    """Every code's outcome under ``policy``, deferred (1) or not (0): the fold's table."""
    table: dict[tuple[str, int], Outcome] = {}
    for code in CATALOGUE:
        for transient in (False, True):
            table[code, transient] = outcome_of(code, transient, policy)
    return table


def fold(state: AddressState, events: Iterable[LedgerEvent], policy: Policy) -> AddressState:
    """``state`` with ``events`` applied, which must all come after it in (time, seq, key) order."""
    rows = [
        (e.key, e.address, e.time, e.code, int(e.transient), e.reason, e.origin, e.seq)
        for e in events
    ]
    start = None if not state.events else row_of(state)
    if not rows:
        return state
    return state_of(fold_rows(start, rows, policy))


def fold_rows(state: StateRow | None, events: Sequence[EventRow], policy: Policy) -> StateRow:
    """``fold`` on rows: the state (None: none yet) with ``events``, of its address, applied."""
    if not events:
        if state is None:
            raise ValueError("fold_rows needs a state or events")
        return state
    start = {} if state is None else {events[0][1]: state}
    return folder(policy)(start, events)[0]


#: The step after a batch's last event in the fold's loop (no address: every address is done).
_END: Final = ((0, None, 0.0, "", 0, "", "", 0),)
#: The fold under one policy: ``folder(policy)(states, events)``.
Folder = Callable[[Mapping[str, StateRow], Sequence[EventRow]], list[StateRow]]


@lru_cache(maxsize=8)
def folder(policy: Policy) -> Folder:
    """The fold under ``policy``: ``fold(states, events)`` gives the new state of every address.

    ``events`` come grouped by address, each address's in (time, seq, key) order and all after
    its state in ``states`` (absent: no events yet); the result has a state per address, in
    the order of the groups. A batch of the ledger is one call: the loop runs once per event
    and the policy is read once, here.
    """
    table = _outcomes(policy)
    lifts, count_errors = policy.delivery_lifts, policy.count_errors
    failures, span_needed = policy.failures, policy.days * _DAY
    delivered_, hard_, unsub_, ignored_, soft_ = _KINDS
    unsubscribed, suppressed = Decision.UNSUBSCRIBED.value, Decision.SUPPRESSED.value
    retry_fail, retrying = Decision.RETRY_FAIL.value, Decision.RETRYING.value
    deliverable = Decision.DELIVERABLE.value
    empty = (None, *_EMPTY_TAIL)

    def fold(states: Mapping[str, StateRow], events: Sequence[EventRow]) -> list[StateRow]:
        out: list[StateRow] = []
        if not events:
            return out
        (
            current, _, _, last_code, last_reason, first, last_time, last_seq, last_key, count,
            delivered, hard, soft, errors, unsubscribes, ignored, streak, streak_start,
            streak_end, hard_code, hard_time, unsub_code, unsub_time,
        ) = empty  # fmt: skip
        # One loop over every event (the batch's addresses in turn), and one more step at the
        # end (``_END``, no address) to decide the last address.
        for key, address, time, code, transient, reason, _, seq in chain(events, _END):
            if address != current:
                if current is not None:  # the previous address is done: decide, keep it
                    if unsub_code:
                        decision, cause = unsubscribed, unsub_code
                    elif hard_code:
                        decision, cause = suppressed, hard_code
                    elif streak >= failures and streak_end - streak_start >= span_needed:
                        decision, cause = retry_fail, RETRY_FAIL
                    elif streak:
                        decision, cause = retrying, ""
                    else:
                        decision, cause = deliverable, ""
                    out.append((
                        current, decision, cause, last_code, last_reason, first, last_time,
                        last_seq, last_key, count, delivered, hard, soft, errors, unsubscribes,
                        ignored, streak, streak_start, streak_end, hard_code, hard_time,
                        unsub_code, unsub_time,
                    ))  # fmt: skip
                if address is None:
                    break
                (
                    current, _, _, last_code, last_reason, first, last_time, last_seq,
                    last_key, count, delivered, hard, soft, errors, unsubscribes, ignored,
                    streak, streak_start, streak_end, hard_code, hard_time, unsub_code,
                    unsub_time,
                ) = states.get(address, empty)  # fmt: skip
                current = address
                if not count:
                    first = time
            count += 1
            last_time, last_seq, last_key, last_code, last_reason = time, seq, key, code, reason
            outcome = table.get((code, transient))
            if outcome is None:
                outcome = outcome_of(code, bool(transient), policy)
            if outcome is delivered_:
                delivered += 1
                streak, streak_start, streak_end = 0, 0.0, 0.0
                if lifts:
                    hard_code, hard_time = "", 0.0
            elif outcome is hard_:
                hard += 1
                if not hard_code:
                    hard_code, hard_time = code, time
            elif outcome is unsub_:
                unsubscribes += 1
                if not unsub_code:
                    unsub_code, unsub_time = code, time
            elif outcome is ignored_:
                ignored += 1
            else:
                if outcome is soft_:
                    soft += 1
                else:
                    errors += 1
                if outcome is soft_ or count_errors:
                    if not streak:
                        streak_start = time
                    streak += 1
                    streak_end = time
        return out

    return fold


_KINDS: Final = (
    Outcome.DELIVERED,
    Outcome.HARD,
    Outcome.UNSUBSCRIBE,
    Outcome.IGNORED,
    Outcome.SOFT,
)


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(Policy)
