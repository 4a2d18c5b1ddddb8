"""Checks a rule set must pass: every example is decided by its own rule, no regex runs away.

Shared by ``smtp-classifier check-rules`` and the test suite, so users checking their own rule
directory get exactly the guarantees the bundled rules have.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import regex

from .conditions import Example
from .engine import REGEX_TIMEOUT, Classifier
from .prefilter import literal_runs
from .rules import Rule, iter_examples

__all__ = [
    "PATHOLOGICAL_INPUTS",
    "ExampleFailure",
    "FileGeneralisation",
    "check_examples",
    "check_generalisation",
    "check_pathological",
    "probes",
]

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
    """Classify every example of every rule and frame; return those not decided as it says."""
    owners: list[tuple[str, str, int, Example]] = [
        (rule.id, rule.file, index, example)
        for rule, index, example in iter_examples(classifier.rules)
    ]
    meaning = classifier.rules.meaning
    if meaning is not None:
        owners.extend(
            (frame.id, frame.file, index, example)
            for frame in meaning.frames
            for index, example in enumerate(frame.examples)
        )
    failures: list[ExampleFailure] = []
    for owner, file, index, example in owners:
        if only_files is not None and file not in only_files:
            continue
        got = classifier.classify_plain(example.reply, stage=example.stage)
        if got.rule_id != owner or got.code != example.code:
            failures.append(
                ExampleFailure(
                    owner, index, example.reply, example.code, got.code, got.rule_id, file
                )
            )
    return failures


#: Length of a probe built from a pattern's own literals.
PROBE_CHARS = 2000
_PROBE_PIECES = 8
_ENDINGS = "!#~\x00"


def _pieces(pattern: str) -> list[str]:
    """The literal runs of ``pattern`` and their characters, distinct, in order.

    Read from the syntax tree where the standard parser reads the pattern, else the
    pattern's own letters, digits and spaces.
    """
    runs = [run for run in literal_runs(pattern) if run]
    if not runs:
        runs = [c for c in pattern if c.isalnum() or c == " "]
    pieces: list[str] = []
    for piece in [*runs, *(c for run in runs for c in run)]:
        if piece not in pieces:
            pieces.append(piece)
    return pieces[:_PROBE_PIECES]


def probes(pattern: str) -> list[str]:
    """Inputs that make this pattern backtrack if it can: long runs of its own literals (alone,
    spaced, all together), ending in a character the pattern does not hold so no match ends
    the search early. A fixed list misses ``(x+x+)+y``; its own "xxxx…!" does not."""
    end = next((c for c in _ENDINGS if c not in pattern), "\x00")
    pieces = _pieces(pattern)
    units = [
        *pieces,
        *(f"{piece} " for piece in pieces[:2]),
        "".join(pieces),
        " ".join(pieces) + " ",
    ]
    out: list[str] = []
    for unit in units:
        if unit.strip():
            text = unit * (PROBE_CHARS // len(unit) + 1)
            out.append(text[:PROBE_CHARS] + end)
    return out


def check_pathological(classifier: Classifier, timeout: float = REGEX_TIMEOUT) -> list[str]:
    """Ids of rules whose regex times out on a pathological input (a ReDoS risk): the fixed
    inputs and the probes built from the rule's own literals."""
    slow: list[str] = []
    for rule in classifier.rules:
        for text in (*PATHOLOGICAL_INPUTS, *probes(rule.pattern)):
            try:
                rule.compiled.search(text, timeout=timeout)
            except TimeoutError:
                slow.append(rule.id)
                break
            except regex.error:  # pragma: no cover - compiled patterns do not raise here
                slow.append(rule.id)
                break
    return slow


#: Rule files named 1xx (mailbox providers), 2xx (filtering services) and 3xx (MTAs) hold
#: wordings of one product; 4xx (languages), 5xx (generic) and 8xx (connection, DNS) do not.
_SPECIFIC = regex.compile(r"^[123][0-9][0-9]-")


@dataclass(frozen=True, slots=True)
class FileGeneralisation:
    """How many of a specific file's examples the rest still decides right without it."""

    file: str
    examples: int
    right: int

    @property
    def share(self) -> float:
        """The fraction still right (1.0 for a file without examples)."""
        return self.right / self.examples if self.examples else 1.0


def check_generalisation(classifier: Classifier) -> list[FileGeneralisation]:
    """Switch off each provider- or MTA-specific rule file in turn and re-classify its examples.

    What the rest (generic rules, language rules, meaning frames, code fallbacks) still gets
    right shows how much the product knows beyond its phrase list.
    """
    by_file: dict[str, list[Rule]] = {}
    for rule in classifier.rules:
        if _SPECIFIC.match(Path(rule.file).name):
            by_file.setdefault(rule.file, []).append(rule)
    out: list[FileGeneralisation] = []
    for file, own in sorted(by_file.items(), key=lambda item: Path(item[0]).name):
        rest = replace(classifier.rules, rules=tuple(r for r in classifier.rules if r.file != file))
        without = Classifier(rest, cache_size=0)
        examples = [e for r in own for e in r.examples]
        right = sum(without.classify(e.reply, stage=e.stage).code == e.code for e in examples)
        out.append(FileGeneralisation(file=file, examples=len(examples), right=right))
    return out
