"""Counts over a replay: kinds of lines, codes, reasons, rules, and the replies no rule knew."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import regex

from ..logs import LineKind
from ..picklable import by_fields
from .rows import ReplayRow

__all__ = ["SAMPLES", "TEMPLATES_MAX", "ReplaySummary", "summary_keys", "template_of"]

#: Samples of line numbers kept per kind of problem.
SAMPLES: Final = 10
#: Distinct reply templates kept for the summary (the rarest are dropped beyond it).
TEMPLATES_MAX: Final = 5000


_NORMALISERS: Final = (
    (regex.compile(r"<?[^\s<>@()\[\]]+@[^\s<>()\[\]]+>?"), "<addr>"),
    (regex.compile(r"\[?(?:IPv6:)?\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}\]?"), "<ip>"),
    (regex.compile(r"\[?\b\d{1,3}(?:\.\d{1,3}){3}\b\]?(?::\d+)?"), "<ip>"),
    (regex.compile(r"\b(?=[A-Za-z_-]*\d)(?=\d*[A-Za-z_-])[A-Za-z0-9_-]{8,}\b"), "<id>"),
    (regex.compile(r"\d+"), "#"),
)


def template_of(text: str) -> str:
    """The shape of a reply: addresses, IPs, ids and numbers replaced, so repeats group."""
    for pattern, token in _NORMALISERS:
        text = pattern.sub(token, text)
    return " ".join(text.split())[:300]


#: What the summary counts of one row: code, reason, rule, MTA status, reply shape, example.
Keys = tuple[str, str, str, str, str, str]


def summary_keys(row: ReplayRow) -> Keys:
    """The summary's view of a row; the shape is "" unless no rule recognised the reply."""
    c, status = row.result, row.record.status
    rule = c.rule_id or (f"(status {status})" if c.note else f"({c.tier.value})")
    shape = example = ""
    if c.rule_id is None and c.note is None:
        words = c.text or row.record.reply
        shape = f"{c.basic or '-'} {c.enhanced or '-'} {template_of(words)}"
        example = words[:300]
    return (c.code or "unclassified", c.reason or "-", rule, status, shape, example)


@dataclass(slots=True)
class ReplaySummary:
    """Counts over a replay; mergeable, so workers can each keep one and the parent adds up."""

    lines: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    rows: int = 0
    undecodable: int = 0
    bytes_read: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    templates: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def note(self, kind: str, where: str) -> None:
        """Keep the place of a problem line (the first few of each kind)."""
        places = self.samples.setdefault(kind, [])
        if len(places) < SAMPLES:
            places.append(where)

    def add_row(self, row: ReplayRow) -> None:
        """Count one written row."""
        self.add(summary_keys(row))

    def add(self, keys: Keys) -> None:
        """Count one written row from its ``summary_keys``."""
        code, reason, rule, status, shape, example = keys
        self.rows += 1
        self.codes[code] += 1
        self.reasons[reason] += 1
        self.rules[rule] += 1
        self.statuses[status] += 1
        if shape:
            self.templates[shape] += 1
            if shape not in self.examples:
                self.examples[shape] = example
            if len(self.templates) > TEMPLATES_MAX:
                self._prune()

    def _prune(self) -> None:
        keep = dict(self.templates.most_common(TEMPLATES_MAX // 2))
        self.templates = Counter(keep)
        self.examples = {k: v for k, v in self.examples.items() if k in keep}

    def merge(self, other: ReplaySummary) -> None:
        """Add another summary's counts to this one."""
        self.lines += other.lines
        self.kinds.update(other.kinds)
        self.rows += other.rows
        self.undecodable += other.undecodable
        self.bytes_read += other.bytes_read
        self.codes.update(other.codes)
        self.reasons.update(other.reasons)
        self.rules.update(other.rules)
        self.statuses.update(other.statuses)
        self.templates.update(other.templates)
        for shape, example in other.examples.items():
            self.examples.setdefault(shape, example)
        if len(self.templates) > TEMPLATES_MAX:
            self._prune()
        for kind, places in other.samples.items():
            for where in places:
                self.note(kind, where)
        self.problems.extend(other.problems)

    @property
    def reconciled(self) -> bool:
        """Every line read was counted as exactly one kind."""
        return sum(self.kinds.values()) == self.lines

    @property
    def clean(self) -> bool:
        """No bad input and every written row carries a code."""
        bad = self.kinds[LineKind.MALFORMED] + self.kinds[LineKind.OVERLONG] + self.undecodable
        return not bad and not self.problems and not self.codes["unclassified"]

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "lines": self.lines,
            "kinds": dict(self.kinds),
            "reconciled": self.reconciled,
            "rows": self.rows,
            "undecodable": self.undecodable,
            "bytes": self.bytes_read,
            "mta_status": dict(self.statuses.most_common()),
            "codes": dict(self.codes.most_common()),
            "reasons": dict(self.reasons.most_common()),
            "rules": dict(self.rules.most_common()),
            "top_unmatched": [
                {"count": n, "template": t, "example": self.examples.get(t, "")}
                for t, n in self.templates.most_common(top)
            ],
            "samples": self.samples,
            "problems": self.problems,
        }

    def render(self, top: int = 20) -> str:
        """The summary as plain text for a terminal."""
        out = [
            f"lines read      {self.lines}",
            "  " + ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items())),
            f"rows written    {self.rows}",
        ]
        if self.undecodable:
            out.append(f"undecodable     {self.undecodable} (decoded with replacement characters)")
        for title, counter in (
            ("MTA status", self.statuses),
            ("code", self.codes),
            ("reason", self.reasons),
            ("rule", self.rules),
        ):
            out.append("")
            out.append(f"by {title}:")
            out.extend(f"  {n:>9}  {k}" for k, n in counter.most_common())
        if self.templates:
            out.append("")
            out.append(f"top {top} replies that no rule recognised (code from numbers, or none):")
            for shape, n in self.templates.most_common(top):
                out.append(f"  {n:>9}  {shape}")
        if self.samples or self.problems:
            out.append("")
            out.append("input problems:")
            out.extend(f"  {kind}: {', '.join(places)}" for kind, places in self.samples.items())
            out.extend(f"  {p}" for p in self.problems)
        return "\n".join(out) + "\n"


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(ReplaySummary)
