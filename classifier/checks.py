"""Checks a rule set must pass: every example is decided by its own rule, no regex runs away.

Shared by ``smtp-classifier check-rules`` and the test suite, so users checking their own rule
directory get exactly the guarantees the bundled rules have.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from .engine import REGEX_TIMEOUT, Classifier
from .rules import iter_examples

__all__ = ["PATHOLOGICAL_INPUTS", "ExampleFailure", "check_examples", "check_pathological"]

#: Inputs that make careless patterns backtrack: long runs, repeated words, no match at the end.
PATHOLOGICAL_INPUTS: tuple[str, ...] = (
    "a" * 5000 + "!",
    "user " * 2000 + "!",
    "550 " + "x." * 3000,
    " " * 5000 + "x",
    "@" * 3000 + ".",
    ("mailbox unavailable " * 200) + "\u00e9" * 100,
)


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    """An example that is not decided by its own rule with its expected code."""

    rule_id: str
    index: int
    reply: str
    expected_code: str
    got_code: str
    got_rule: str | None
    file: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.rule_id}[{self.index}]: expected {self.expected_code} by "
            f"{self.rule_id}, got {self.got_code or 'unrecognised'} by "
            f"{self.got_rule or 'no rule'}: {self.reply[:100]!r}"
        )


def check_examples(
    classifier: Classifier, *, only_files: set[str] | None = None
) -> list[ExampleFailure]:
    """Classify every example of every rule; return those not decided as the rule says."""
    failures: list[ExampleFailure] = []
    for rule, index, example in iter_examples(classifier.rules):
        if only_files is not None and rule.file not in only_files:
            continue
        got = classifier.classify_plain(example.reply, stage=example.stage)
        if got.rule_id != rule.id or got.code != example.code:
            failures.append(
                ExampleFailure(
                    rule.id, index, example.reply, example.code, got.code, got.rule_id, rule.file
                )
            )
    return failures


def check_pathological(classifier: Classifier, timeout: float = REGEX_TIMEOUT) -> list[str]:
    """Ids of rules whose regex times out on a pathological input (a ReDoS risk)."""
    slow: list[str] = []
    for rule in classifier.rules:
        for text in PATHOLOGICAL_INPUTS:
            try:
                rule.compiled.search(text, timeout=timeout)
            except TimeoutError:
                slow.append(rule.id)
                break
            except regex.error:  # pragma: no cover - compiled patterns do not raise here
                slow.append(rule.id)
                break
    return slow
