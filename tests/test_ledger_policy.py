"""The ledger's policy: addresses, times, outcomes per estado, and the fold's decisions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from classifier import lookup_code
from classifier.ledger import (
    DEFAULT_POLICY,
    Decision,
    LedgerError,
    LedgerEvent,
    Outcome,
    event_key,
    load_policy,
    normalise_address,
    outcome_of,
    parse_time,
)
from classifier.ledger.policy import empty_state, fold

DAY = 86400.0


def ev(
    n: int, code: str, day: float, *, transient: bool = False, addr: str = "a@x.test"
) -> LedgerEvent:
    return LedgerEvent(
        key=event_key("t", str(n)),
        address=addr,
        time=1_700_000_000 + day * DAY,
        code=code,
        transient=transient,
        seq=n,
    )


def decide(*events: LedgerEvent, policy=DEFAULT_POLICY):  # type: ignore[no-untyped-def]
    return fold(empty_state("a@x.test"), sorted(events, key=lambda e: e.order), policy)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("User@Example.COM", "user@example.com"),
        (" <John.Doe+tag@EXAMPLE.org.> ", "john.doe+tag@example.org"),
        ('"quoted@local"@example.com', '"quoted@local"@example.com'),
        ("Ünïcode@Bücher.example", "ünïcode@bücher.example"),
        ("no-at-sign", None),
        ("@example.com", None),
        ("user@", None),
        ("", None),
        ("a b@example.com", None),
        ("user@exa\x00mple.com", None),
        ("x\udcffy@example.com", None),
        ("u" * 250 + "@example.com", None),
    ],
)
def test_normalise_address(raw: str, expected: str | None) -> None:
    assert normalise_address(raw) == expected


def test_normalise_nfc_gives_one_spelling() -> None:
    assert normalise_address("Jose\u0301@x.test") == normalise_address("jos\u00e9@x.test")


def test_parse_time_formats() -> None:
    assert parse_time("Nov 26 11:31:27", 2025) == 1764156687.0
    assert parse_time("2025-11-26T11:31:27Z", 2025) == 1764156687.0
    assert parse_time("2025-11-26T08:31:27-03:00", 1999) == 1764156687.0
    assert parse_time("2025-11-26 11:31:27", 2025) == 1764156687.0  # Exim, no zone: UTC
    assert parse_time("1764156687", 2025) == 1764156687.0  # epoch (KumoMTA)
    for bad in ("", "yesterday", "Nov 99 11:31:27", "Foo 26 11:31:27", "9" * 80, "2025-13-45"):
        assert parse_time(bad, 2025) == 0.0


def test_outcome_follows_the_catalogue_estado() -> None:
    p = DEFAULT_POLICY
    assert outcome_of("250", False, p) is Outcome.DELIVERED
    assert outcome_of("131", False, p) is Outcome.HARD
    assert outcome_of("133", False, p) is Outcome.HARD
    assert lookup_code("202").retry and outcome_of("202", False, p) is Outcome.SOFT
    assert lookup_code("113").estado == "Rebote" and outcome_of("113", True, p) is Outcome.SOFT
    assert outcome_of("554", False, p) is Outcome.ERROR
    assert outcome_of("162", False, p) is Outcome.UNSUBSCRIBE
    assert outcome_of("163", False, p) is Outcome.UNSUBSCRIBE
    assert outcome_of("201", False, p) is Outcome.SOFT  # the policy's soft codes
    assert outcome_of("MO", False, p) is Outcome.IGNORED
    assert outcome_of("", False, p) is Outcome.IGNORED
    assert outcome_of("999", False, p) is Outcome.IGNORED


def test_hard_bounce_suppresses_at_once_with_its_code() -> None:
    s = decide(ev(1, "250", 0), ev(2, "131", 1))
    assert (s.decision, s.cause, s.hard, s.delivered) == (Decision.SUPPRESSED, "131", 1, 1)


def test_first_hard_code_is_the_cause_and_a_delivery_lifts_it() -> None:
    s = decide(ev(1, "131", 0), ev(2, "111", 1))
    assert s.cause == "131"
    assert decide(ev(1, "131", 0), ev(2, "250", 2)).decision is Decision.DELIVERABLE
    strict = replace(DEFAULT_POLICY, delivery_lifts=False)
    assert decide(ev(1, "131", 0), ev(2, "250", 2), policy=strict).decision is Decision.SUPPRESSED


def test_retry_fail_needs_both_failures_and_days() -> None:
    n, d = DEFAULT_POLICY.failures, DEFAULT_POLICY.days
    many_fast = [ev(i, "202", i * 0.01) for i in range(n + 5)]
    assert decide(*many_fast).decision is Decision.RETRYING
    few_slow = [ev(i, "202", i * (d + 1)) for i in range(n - 1)]
    assert decide(*few_slow).decision is Decision.RETRYING
    enough = [ev(i, "202", i * d / (n - 1)) for i in range(n)]
    s = decide(*enough)
    assert (s.decision, s.cause, s.streak) == (Decision.RETRY_FAIL, "Retry Fail", n)
    assert s.streak_end - s.streak_start == pytest.approx(d * DAY)


def test_delivery_resets_the_streak() -> None:
    n, d = DEFAULT_POLICY.failures, DEFAULT_POLICY.days
    failing = [ev(i, "202", i * d) for i in range(n)]
    assert decide(*failing).decision is Decision.RETRY_FAIL
    s = decide(*failing, ev(99, "250", n * d))
    assert (s.decision, s.streak, s.soft) == (Decision.DELIVERABLE, 0, n)
    s = decide(*failing, ev(99, "250", n * d), ev(100, "421", n * d + 1))
    assert (s.decision, s.streak) == (Decision.RETRYING, 1)


def test_errors_count_in_the_streak_unless_the_policy_says_not() -> None:
    d = DEFAULT_POLICY.days
    errs = [ev(i, "554", i * d) for i in range(DEFAULT_POLICY.failures)]
    assert decide(*errs).decision is Decision.RETRY_FAIL
    off = replace(DEFAULT_POLICY, count_errors=False)
    s = decide(*errs, policy=off)
    assert (s.decision, s.errors, s.streak) == (Decision.DELIVERABLE, len(errs), 0)


def test_unsubscribes_are_kept_apart_and_never_lifted() -> None:
    s = decide(ev(1, "131", 0), ev(2, "162", 1), ev(3, "250", 2))
    assert (s.decision, s.cause, s.unsubscribes) == (Decision.UNSUBSCRIBED, "162", 1)
    assert Decision.UNSUBSCRIBED.stops and not Decision.RETRYING.stops


def test_policy_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[retry_fail]\nfailures = 2\ndays = 0.5\n[codes]\nunsubscribe = ['162']\n")
    p = load_policy(path)
    assert (p.failures, p.days, p.unsubscribe) == (2, 0.5, frozenset({"162"}))
    assert p.count_errors is DEFAULT_POLICY.count_errors
    assert p.fingerprint != DEFAULT_POLICY.fingerprint
    assert outcome_of("163", False, p) is Outcome.HARD


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[retry_fail]\nfailures = 0\n", "failures"),
        ("[retry_fail]\ndays = 'x'\n", "days"),
        ("[codes]\nsoft = ['777']\n", "not a MasterBase code"),
        ("[codes]\nsoft = '201'\n", "list of codes"),
        ("[hard]\ndelivery_lifts = 1\n", "true or false"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_policy_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(LedgerError, match=message):
        load_policy(path)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="cannot read policy"):
        load_policy(tmp_path / "absent.toml")
