"""First-sight accuracy: classify a labelled batch of real replies the rules were not written from.

Each batch (``fixtures/firstsight/batch-NN.jsonl``) holds one JSON object per line: ``reply``,
optional ``stage``, ``code`` (the label the policy gives), ``accept`` (codes an expert could
defend, including ``code``), ``source``, ``lang``, ``category``. A batch is committed before
this script ever runs on it; the first run's figures go to docs/accuracy.md with the commit
they were measured at.

    python bench/first_sight.py fixtures/firstsight/batch-01.jsonl [--markdown] [--misses]

strict: the code equals the label; lenient: the code is in ``accept``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier import classify

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Outcome:
    """One labelled reply and what the classifier said of it."""

    reply: str
    stage: str | None
    expected: str
    accept: frozenset[str]
    got: str
    rule_id: str | None
    tier: str
    category: str
    lang: str

    @property
    def strict(self) -> bool:
        """The code equals the label."""
        return self.got == self.expected

    @property
    def lenient(self) -> bool:
        """The code is one an expert could defend."""
        return self.got in self.accept


def load(path: Path) -> list[dict[str, Any]]:
    """The labelled items of a batch file."""
    items: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        item = json.loads(line)
        if not isinstance(item, dict) or not isinstance(item.get("reply"), str):
            raise SystemExit(f"{path}:{number}: not a labelled reply")
        items.append(item)
    return items


def evaluate(items: list[dict[str, Any]]) -> list[Outcome]:
    """Classify every item of a batch."""
    out: list[Outcome] = []
    for item in items:
        stage = item.get("stage") or None
        result = classify(item["reply"], stage=stage)
        expected = str(item["code"])
        accept = frozenset(str(c) for c in item.get("accept") or [expected]) | {expected}
        out.append(
            Outcome(
                reply=item["reply"],
                stage=stage,
                expected=expected,
                accept=accept,
                got=result.code or "none",
                rule_id=result.rule_id,
                tier=result.tier.value,
                category=str(item.get("category", "")),
                lang=str(item.get("lang", "")),
            )
        )
    return out


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f} %" if d else "-"


def commit() -> str:
    """The commit the figures are measured at (and whether the tree had changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' (with uncommitted changes)' if dirty else ''}"


def report(name: str, outcomes: list[Outcome], *, misses: bool) -> str:
    """The figures as a markdown section: totals, per code, per category, per tier, misses."""
    n = len(outcomes)
    strict = sum(o.strict for o in outcomes)
    lenient = sum(o.lenient for o in outcomes)
    lines = [
        f"### {name}",
        "",
        f"Measured at commit {commit()}: {n} replies, strict {_pct(strict, n)} ({strict}), "
        f"lenient {_pct(lenient, n)} ({lenient}).",
        "",
        "| label | n | strict | lenient |",
        "| --- | --- | --- | --- |",
    ]
    by_code: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_code.setdefault(o.expected, []).append(o)
    for code in sorted(by_code):
        group = by_code[code]
        s = sum(o.strict for o in group)
        x = sum(o.lenient for o in group)
        lines.append(f"| {code} | {len(group)} | {_pct(s, len(group))} | {_pct(x, len(group))} |")
    tiers = Counter(o.tier for o in outcomes)
    lines += ["", "Decided by: " + ", ".join(f"{t} {c}" for t, c in tiers.most_common()) + "."]
    if misses:
        wrong = [o for o in outcomes if not o.lenient]
        lines += ["", f"Misses (outside accept): {len(wrong)}", ""]
        for o in wrong:
            text = o.reply.replace("\n", " ")[:160]
            who = o.rule_id or o.tier
            lines.append(f"- {o.expected} → {o.got} ({who}) [{o.category}, {o.lang}] `{text}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Evaluate batches and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("batches", nargs="+", type=Path)
    parser.add_argument("--misses", action="store_true", help="list the replies outside accept")
    parser.add_argument("--json", action="store_true", help="one JSON summary per batch")
    args = parser.parse_args(argv)
    for path in args.batches:
        outcomes = evaluate(load(path))
        if args.json:
            n = len(outcomes)
            summary = {
                "batch": path.name,
                "n": n,
                "strict": sum(o.strict for o in outcomes) / n if n else 0.0,
                "lenient": sum(o.lenient for o in outcomes) / n if n else 0.0,
            }
            print(json.dumps(summary))
        else:
            sys.stdout.write(report(path.stem, outcomes, misses=args.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
