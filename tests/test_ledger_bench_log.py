"""The fast path of ``replay --ledger`` decides as a plain, one-event-at-a-time reference, on
the first 100 000 lines of the benchmark's generated Postfix log (bench/gen_postfix_log.py).

The fast path is what the command runs: the replay hands its rows to ``ReplaySink``, whose
feed loop makes the events (address, key and time without a call per part) and records them
in batches. The reference reads the same rows one by one, in plain code (the full address
normal form, ``event_key`` with its parts, the time by ``strptime``), and records each event in
a transaction of its own. Every address's final state must be the same.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from classifier import replay_lines
from classifier.ledger import AddressState, Ledger, LedgerEvent, ReplaySink, event_key
from classifier.ledger.model import _normalise
from classifier.logreplay import ReplayOptions, replay
from classifier.logreplay.rows import ReplayRow
from classifier.logs import BOUNCED, DEFERRED, EXPIRED, SENT

from .conftest import ROOT

LINES = 100_000
YEAR = 2025


def _bench_log(path: Path) -> Path:
    spec = importlib.util.spec_from_file_location(
        "gen_postfix_log", ROOT / "bench" / "gen_postfix_log.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(path, LINES)
    with path.open(encoding="utf-8") as log:
        lines = log.readlines()[:LINES]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _time(text: str) -> float:
    """A syslog time in ``YEAR``, UTC, read by the standard library."""
    return datetime.strptime(f"{YEAR} {text}", "%Y %b %d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def _event(row: ReplayRow, key: int, address: str, *, transient: bool) -> LedgerEvent:
    """The event a replay row gives for ``address``."""
    return LedgerEvent(
        key=key,
        address=address,
        time=_time(row.record.time),
        code=row.result.code,
        transient=transient,
        reason=row.result.reason or "",
        origin=f"{row.source}:{row.line}",
        seq=row.line,
    )


def _reference(rows: Iterable[ReplayRow]) -> list[LedgerEvent]:
    """docs/ledger.md's feeding rules, written plainly: an event object per row."""
    deferred: dict[str, set[str]] = {}
    out: list[LedgerEvent] = []
    for row in rows:
        r = row.record
        if not row.recipient:
            if r.status == EXPIRED and r.queue_id in deferred:
                for waiting in sorted(deferred.pop(r.queue_id)):
                    key = event_key("expired", r.mta, r.time, r.queue_id, waiting)
                    out.append(_event(row, key, waiting, transient=False))
            continue
        address = _normalise(row.recipient)
        assert address is not None, row.recipient
        if r.status == DEFERRED:
            deferred.setdefault(r.queue_id, set()).add(address)
        elif r.status in (SENT, BOUNCED, EXPIRED):
            deferred.get(r.queue_id, set()).discard(address)
        key = event_key("log", r.mta, r.time, r.queue_id, address, r.status, r.reply)
        out.append(_event(row, key, address, transient=r.status == DEFERRED))
    return out


def _states(ledger: Ledger) -> dict[str, AddressState]:
    return {s.address: s for s in ledger.states()}


def test_replay_ledger_decides_as_the_per_event_reference_on_the_bench_log(
    tmp_path: Path,
) -> None:
    log = _bench_log(tmp_path / "postfix.log")
    source = str(log)
    with Ledger.open(tmp_path / "fast.db") as fast:
        sink = ReplaySink(fast, year=YEAR, batch=4999)  # addresses across many batches
        with open(os.devnull, "w", encoding="utf-8") as devnull:
            replay([source], devnull, ReplayOptions(ledger=True, records=False), ledger=sink)
        sink.flush()
        fast_states = _states(fast)
        assert sink.feed.counts.bad_address == sink.feed.counts.no_time == 0
    with log.open(encoding="utf-8") as lines:
        events = _reference(replay_lines(lines, source=source))
    with Ledger.open(tmp_path / "reference.db") as reference:
        for event in events:
            reference.record(event)
        reference_states = _states(reference)
        assert reference.totals() == (len(reference_states), len(events))
    assert sink.recorded.new == len(events) > 20_000
    assert len(fast_states) > 10_000
    assert fast_states == reference_states
    # what the log holds: deliveries, retries, hard bounces and expiries (133)
    decisions = {s.decision.value for s in fast_states.values()}
    assert {"deliverable", "retrying", "suppressed"} <= decisions
    assert any(s.cause == "133" for s in fast_states.values())
