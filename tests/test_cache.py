"""The table of results: bounded in bytes, asleep while the input does not repeat."""

from __future__ import annotations

import gc
import tracemalloc

from classifier import Classifier, load_rules
from classifier.engine import _RARE, _WINDOW

RULES = load_rules()


def test_memory_of_the_results_table_stays_within_its_byte_budget() -> None:
    """Long replies of 4-byte characters, each distinct: the table holds at most its budget
    (measured by tracemalloc, not only by the table's own count)."""
    budget = 1024 * 1024
    clf = Classifier(RULES, cache_bytes=budget)
    replies = [f"550 5.1.1 {index} " + "\U0001d518" * 8300 for index in range(120)]
    clf.classify("550 5.1.1 warm-up")
    gc.collect()
    tracemalloc.start()
    try:
        for reply in replies:
            clf.classify(reply)
            assert clf._memo.used <= budget
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        clf._memo.results.clear()
        gc.collect()
        freed = held - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # 120 entries of ~33 KB text each would be ~4 MB without the bound.
    assert 0 < freed <= budget * 1.25, freed


def test_an_entry_larger_than_the_budget_is_not_kept() -> None:
    clf = Classifier(RULES, cache_bytes=4096)
    result = clf.classify("550 5.1.1 " + "x" * 8000)
    assert result.code
    assert clf._memo.used == 0
    assert not clf._memo.results


def test_the_table_sleeps_on_distinct_input_and_wakes_for_repeats() -> None:
    clf = Classifier(RULES)
    memo = clf._memo
    for index in range(_WINDOW):
        clf.classify(f"550 5.1.1 <u{index}@example.com>: user unknown {index}")
    assert memo.sleep > 0  # no repeats in a whole window: the table is not consulted
    entries = len(memo.results)
    for index in range(100):
        clf.classify(f"550 5.1.1 <v{index}@example.com>: user unknown {index}")
    assert len(memo.results) == entries  # asleep: nothing stored
    memo.sleep = 0
    for _ in range(2):
        for index in range(_WINDOW):
            clf.classify(f"452 4.2.2 mailbox full {index % 50}")
    assert memo.sleep == 0  # repeats: the table stays in use
    assert memo.hits * _RARE >= memo.calls


def test_answers_are_the_same_awake_asleep_and_without_a_table() -> None:
    awake = Classifier(RULES)
    asleep = Classifier(RULES)
    asleep._memo.sleep = 10**9
    plain = Classifier(RULES, cache_bytes=0)
    replies = [
        "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown",
        "host mx.example.com[192.0.2.1] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command)",
        "smtp; 421 4.7.0 Try again later",
        "lost connection with mx.example.com[192.0.2.1] while sending RCPT TO",
    ]
    for reply in replies * 3:
        for stage in (None, "rcpt", "mail"):
            want = plain.classify(reply, stage=stage)
            assert awake.classify(reply, stage=stage) == want
            assert asleep.classify(reply, stage=stage) == want


def test_a_remembered_decision_keeps_the_status_class_apart() -> None:
    """The same rule on words without a code decides by the status beside them (a log line's
    dsn=): a deferral's decision is not reused for a bounce (first-sight batches 17 and 19)."""
    deferred = (
        "to=<a@example.com>, relay=x[192.0.2.1]:25, dsn=4.7.0, status=deferred (SPF check failed)"
    )
    bounced = (
        "to=<b@example.com>, relay=x[192.0.2.1]:25, dsn=5.7.1, status=bounced (SPF check failed)"
    )
    clf = Classifier(RULES)
    first, second = clf.classify(deferred), clf.classify(bounced)
    assert first.rule_id == second.rule_id
    assert (first.code, second.code) == ("202", "554")
    plain = Classifier(RULES, cache_size=0)
    assert plain.classify(bounced).code == "554"
