"""What the ledger gives back: the suppression export, the statistics, one address's story."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final, TextIO

from ..codes import CATALOGUE
from .ledger import Ledger
from .model import AddressState, LedgerEvent, format_time
from .policy import outcome_of

__all__ = ["EXPORT_FIELDS", "export", "render_show", "render_stats", "stats"]

#: Columns of the export, for the sending platform.
EXPORT_FIELDS: Final = (
    "address",
    "decision",
    "cause",
    "estado",
    "last_code",
    "last_reason",
    "first_time",
    "last_time",
    "events",
    "hard",
    "soft",
    "unsubscribes",
)
_BAR: Final = 40


def _estado(code: str) -> str:
    info = CATALOGUE.get(code)
    return "" if info is None else info.estado


def export_row(s: AddressState) -> dict[str, Any]:
    """One address as an export record."""
    return {
        "address": s.address,
        "decision": s.decision.value,
        "cause": s.cause,
        "estado": _estado(s.cause),
        "last_code": s.last_code,
        "last_reason": s.last_reason,
        "first_time": format_time(s.first_time),
        "last_time": format_time(s.last_time),
        "events": s.events,
        "hard": s.hard,
        "soft": s.soft,
        "unsubscribes": s.unsubscribes,
    }


def export(states: Iterable[AddressState], out: TextIO, fmt: str = "csv") -> int:
    """Write ``states`` as CSV (with a header) or JSON lines; returns the rows written."""
    written = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_FIELDS)
        for s in states:
            writer.writerow(export_row(s).values())
            written += 1
    else:
        for s in states:
            out.write(json.dumps(export_row(s), ensure_ascii=False) + "\n")
            written += 1
    return written


def stats(ledger: Ledger) -> dict[str, Any]:
    """Addresses per decision and per cause, with the totals."""
    addresses, events = ledger.totals()
    decisions: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    for decision, cause, n in ledger.counts():
        decisions[decision] += n
        if cause:
            causes[cause] += n
    return {
        "addresses": addresses,
        "events": events,
        "decisions": dict(decisions.most_common()),
        "causes": dict(causes.most_common()),
    }


def _chart(title: str, counter: dict[str, int], total: int, label: Any) -> list[str]:
    lines = ["", title]
    top = max(counter.values(), default=0)
    for key, n in counter.items():
        bar = "#" * max(1, round(_BAR * n / top)) if n else ""
        share = 100 * n / total if total else 0.0
        lines.append(f"  {label(key):<34} {n:>9} {share:5.1f} %  {bar}")
    return lines


def render_stats(data: dict[str, Any]) -> str:
    """The statistics as text with bar charts."""
    total = data["addresses"]
    lines = [f"addresses {total}", f"events    {data['events']}"]
    lines += _chart("by decision:", data["decisions"], total, str)

    def cause_label(code: str) -> str:
        info = CATALOGUE.get(code)
        return f"{code} {info.label_en}"[:34] if info is not None else code

    if data["causes"]:
        lines += _chart("stopped addresses by cause:", data["causes"], total, cause_label)
    return "\n".join(lines) + "\n"


def render_show(state: AddressState, events: list[LedgerEvent], ledger: Ledger) -> str:
    """One address: its decision, counts and its last events."""
    d = state.to_dict()
    lines = [
        f"address    {state.address}",
        f"decision   {state.decision.value}" + (f" ({state.cause})" if state.cause else ""),
        f"last code  {state.last_code or '-'} {_estado(state.last_code)} {state.last_reason}",
        f"first/last {d['first_time'] or '-'} .. {d['last_time'] or '-'}",
        f"events     {state.events}: delivered {state.delivered}, hard {state.hard}, "
        f"soft {state.soft}, errors {state.errors}, unsubscribes {state.unsubscribes}, "
        f"ignored {state.ignored}",
        f"streak     {state.streak}"
        + (f" ({d['streak_start']} .. {d['streak_end']})" if state.streak else ""),
        "",
        f"last {len(events)} event(s):",
    ]
    for e in events:
        outcome = outcome_of(e.code, e.transient, ledger.policy).value
        lines.append(
            f"  {format_time(e.time) or '-':<20} {e.code or '-':<5} {outcome:<11} "
            f"{e.reason or '-':<22} {e.origin}"
        )
    return "\n".join(lines) + "\n"
