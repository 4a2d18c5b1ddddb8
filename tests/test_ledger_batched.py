"""Batched recording decides as recording one event at a time, and as a plain model of the
policy: the speed of a batch (one read, one fold and one write per address) changes no state.

The stream has what makes batching hard: repeats of a key with another position (the same
line in a rotated file: the first one recorded counts), ties in time, events older than an
address's state, addresses touched many times in one batch and in many batches.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier import replay_lines
from classifier.ledger import (
    DEFAULT_POLICY,
    AddressState,
    Decision,
    Ledger,
    LedgerEvent,
    Outcome,
    Policy,
    ReplayFeed,
    ReplaySink,
    event_key,
    outcome_of,
)
from classifier.logreplay.run import LedgerRow

from .conftest import FIXTURES

ADDRESSES = ("a@x.test", "b@x.test", "c@y.test", "d@y.test")
CODES = ("250", "131", "133", "202", "421", "554", "162", "163", "201", "113", "MO", "")
DAY = 86400.0
#: Another policy: every setting away from the default.
STRICT = Policy(
    failures=2,
    days=1.0,
    count_errors=False,
    unsubscribe=frozenset({"162"}),
    soft=frozenset(),
    delivery_lifts=False,
)


def model(events: Iterable[LedgerEvent], policy: Policy) -> dict[str, AddressState]:
    """The ledger's rules (docs/ledger.md) written plainly: no rows, no batches, no store."""
    first: dict[tuple[str, int], LedgerEvent] = {}
    for e in events:
        first.setdefault((e.address, e.key), e)
    out = {}
    for address in sorted({a for a, _ in first}):
        mine = sorted((e for e in first.values() if e.address == address), key=lambda e: e.order)
        kinds = {kind: 0 for kind in Outcome}
        streak, streak_start, streak_end = 0, 0.0, 0.0
        hard_code, hard_time, unsub_code, unsub_time = "", 0.0, "", 0.0
        for e in mine:
            kind = outcome_of(e.code, e.transient, policy)
            kinds[kind] += 1
            if kind is Outcome.DELIVERED:
                streak, streak_start, streak_end = 0, 0.0, 0.0
                if policy.delivery_lifts:
                    hard_code, hard_time = "", 0.0
            elif kind is Outcome.HARD and not hard_code:
                hard_code, hard_time = e.code, e.time
            elif kind is Outcome.UNSUBSCRIBE and not unsub_code:
                unsub_code, unsub_time = e.code, e.time
            elif kind is Outcome.SOFT or (kind is Outcome.ERROR and policy.count_errors):
                streak_start = streak_start if streak else e.time
                streak, streak_end = streak + 1, e.time
        if unsub_code:
            decision, cause = Decision.UNSUBSCRIBED, unsub_code
        elif hard_code:
            decision, cause = Decision.SUPPRESSED, hard_code
        elif streak >= policy.failures and streak_end - streak_start >= policy.days * DAY:
            decision, cause = Decision.RETRY_FAIL, "Retry Fail"
        else:
            decision, cause = (Decision.RETRYING if streak else Decision.DELIVERABLE), ""
        last = mine[-1]
        out[address] = AddressState(
            address=address,
            decision=decision,
            cause=cause,
            last_code=last.code,
            last_reason=last.reason,
            first_time=mine[0].time,
            last_time=last.time,
            last_seq=last.seq,
            last_key=last.key,
            events=len(mine),
            delivered=kinds[Outcome.DELIVERED],
            hard=kinds[Outcome.HARD],
            soft=kinds[Outcome.SOFT],
            errors=kinds[Outcome.ERROR],
            unsubscribes=kinds[Outcome.UNSUBSCRIBE],
            ignored=kinds[Outcome.IGNORED],
            streak=streak,
            streak_start=streak_start,
            streak_end=streak_end,
            hard_code=hard_code,
            hard_time=hard_time,
            unsub_code=unsub_code,
            unsub_time=unsub_time,
        )
    return out


@st.composite
def streams(draw: st.DrawFn) -> list[LedgerEvent]:
    """Events with few times and positions (ties), and repeats of keys at other positions."""
    out: list[LedgerEvent] = []
    for n in range(draw(st.integers(1, 40))):
        if out and draw(st.integers(0, 5)) == 0:  # a repeat: same key, maybe another place
            twin = draw(st.sampled_from(out))
            seq = draw(st.sampled_from((twin.seq, twin.seq + 7)))
            out.append(
                LedgerEvent(
                    key=twin.key,
                    address=twin.address,
                    time=twin.time,
                    code=twin.code,
                    transient=twin.transient,
                    reason=twin.reason,
                    origin=f"rotated.log:{seq}",
                    seq=seq,
                )
            )
            continue
        out.append(
            LedgerEvent(
                key=event_key("b", str(n)),
                address=draw(st.sampled_from(ADDRESSES)),
                time=1_700_000_000 + draw(st.integers(0, 9)) * DAY / 2,
                code=draw(st.sampled_from(CODES)),
                transient=draw(st.booleans()),
                reason=draw(st.sampled_from(("", "user_unknown", "mailbox_full"))),
                origin=f"mail.log:{n}",
                seq=draw(st.integers(0, 3)),
            )
        )
    return out


def _states(ledger: Ledger) -> dict[str, AddressState]:
    return {s.address: s for s in ledger.states()}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), batch=st.integers(1, 50), strict=st.booleans())
def test_batches_decide_as_one_event_at_a_time_and_as_the_model(
    stream: list[LedgerEvent], batch: int, strict: bool
) -> None:
    policy = STRICT if strict else DEFAULT_POLICY
    with (
        tempfile.TemporaryDirectory() as tmp,
        Ledger.open(Path(tmp) / "one.db", policy) as one,
        Ledger.open(Path(tmp) / "batched.db", policy) as batched,
    ):
        singles = [one.record(e) for e in stream]
        counts = batched.record_many(stream, batch=batch)
        expected = model(stream, policy)
        assert _states(one) == expected
        assert _states(batched) == expected
        assert counts.new == sum(c.new for c in singles) == len({e.key for e in stream})
        assert counts.duplicate == len(stream) - counts.new
        # the first of two copies of a key is the one kept, in both
        for address in expected:
            assert one.history(address, 100) == batched.history(address, 100)
        assert batched.verify() == []


def test_a_batch_that_repeats_a_key_keeps_the_first_copy(tmp_path: Path) -> None:
    early = LedgerEvent(key=1, address="a@x.test", time=10.0, code="131", seq=5, origin="a:5")
    late = LedgerEvent(key=1, address="a@x.test", time=10.0, code="131", seq=9, origin="b:9")
    after = LedgerEvent(key=2, address="a@x.test", time=10.0, code="250", seq=7, origin="a:7")
    with Ledger.open(tmp_path / "l.db") as ledger:
        counts = ledger.record_many([early, after, late])
        assert (counts.new, counts.duplicate) == (2, 1)
        state = ledger.get("a@x.test")
        assert state is not None
        # seq 5 (the first copy) then the delivery at seq 7: delivered last, not bounced
        assert state.decision is Decision.DELIVERABLE and state.last_seq == 7
        assert [e.origin for e in ledger.history("a@x.test")] == ["a:5", "a:7"]


def test_replay_into_the_ledger_in_any_batch_size_gives_the_same_ledger(tmp_path: Path) -> None:
    """The log path (ReplaySink and the feed's loop) against the per-event one (feed.of)."""
    lines = (FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log").read_text().splitlines()
    lines = lines + lines  # the second copy: every event a repeat
    rows = list(replay_lines(lines, source="fakemx.log"))
    values: list[LedgerRow] = [
        (
            r.source,
            r.line,
            r.record.mta,
            r.record.time,
            r.record.queue_id,
            r.recipient,
            r.record.status,
            r.record.reply,
            r.result.code,
            r.result.reason or "",
        )
        for r in rows
    ]
    states = []
    for batch in (1, 3, 1000):
        with Ledger.open(tmp_path / f"l{batch}.db") as ledger:
            sink = ReplaySink(ledger, year=2025, batch=batch)
            for start in range(0, len(values), 7):
                sink(values[start : start + 7])
            sink.flush()
            states.append(_states(ledger))
            assert sink.recorded.new == sink.recorded.duplicate > 0
    feed = ReplayFeed(year=2025)
    with Ledger.open(tmp_path / "single.db") as ledger:
        for v in values:
            for row in feed.of(*v):
                ledger.record_rows([row])
        states.append(_states(ledger))
    assert states[0] == states[1] == states[2] == states[3]
    assert any(s.decision is Decision.SUPPRESSED for s in states[0].values())
