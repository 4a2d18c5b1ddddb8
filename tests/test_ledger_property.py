"""The ledger's state is a function of the set of events: order, batching and repeats do not
change it (SQLite; the PostgreSQL tests check the same against a server)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier.ledger import DEFAULT_POLICY, Ledger, LedgerEvent, event_key
from classifier.ledger.policy import empty_state, fold

ADDRESSES = ("a@x.test", "b@x.test", "c@y.test")
CODES = ("250", "131", "133", "202", "421", "554", "162", "201", "113", "")


@st.composite
def events(draw: st.DrawFn) -> list[LedgerEvent]:
    count = draw(st.integers(1, 25))
    out = []
    for n in range(count):
        out.append(
            LedgerEvent(
                key=event_key("p", str(n)),
                address=draw(st.sampled_from(ADDRESSES)),
                # few distinct times, so ties (broken by seq, then key) happen often
                time=1_700_000_000 + draw(st.integers(0, 12)) * 86400.0,
                code=draw(st.sampled_from(CODES)),
                transient=draw(st.booleans()),
                seq=draw(st.integers(0, 3)),
            )
        )
    return out


def expected(evs: list[LedgerEvent]) -> dict[str, object]:
    out: dict[str, object] = {}
    for address in sorted({e.address for e in evs}):
        mine = sorted((e for e in evs if e.address == address), key=lambda e: e.order)
        out[address] = fold(empty_state(address), mine, DEFAULT_POLICY)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evs=events(), data=st.data())
def test_any_order_any_batching_same_state(evs: list[LedgerEvent], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(evs))
    batch = data.draw(st.integers(1, 8))
    repeats = data.draw(st.lists(st.sampled_from(evs), max_size=5))
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "l.db") as ledger:
        counts = ledger.record_many(shuffled, batch=batch)
        counts.add(ledger.record_many(repeats, batch=batch))
        got = {s.address: s for s in ledger.states()}
        assert got == expected(evs)
        assert counts.new == len(evs)
        assert counts.duplicate == len(repeats)
        assert ledger.verify() == []
