"""Accuracy of classify_message() on the labelled Sisimai bounce corpus.

Usage: python bench/sisimai_accuracy.py [CORPUS_DIR] [--misses] [--json]

CORPUS_DIR defaults to ../shared/corpus/sisimai (beside the repository). Each line of
expected.jsonl names an e-mail, a recipient (or its position), the expected MasterBase code
and the codes an expert could defend (``accept``). A recipient is matched by address, else by
position; "none" (or "") means no code is expected (an auto-reply, a message that names no
recipient), which no recipient reported or one without a code both satisfy. Prints overall
strict and accept agreement and, per expected code, how many were right, plus precision per
predicted code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.mail.message import BounceRecipient, classify_message

__all__ = ["Outcome", "evaluate", "main"]

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "sisimai"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One labelled recipient and what was predicted for it."""

    file: str
    recipient: str
    expected: str
    accept: tuple[str, ...]
    predicted: str
    rule_id: str
    decoded_by: str
    diagnostic: str

    @property
    def strict(self) -> bool:
        if self.expected == _NO_CODE:
            return self.predicted in (_NO_CODE, "missing")
        return self.predicted == self.expected

    @property
    def accepted(self) -> bool:
        return self.predicted in self.accept or self.strict


#: A label of no code: "none", or "" where a label names no recipient.
_NO_CODE = "none"


def _label(code: object) -> str:
    return str(code) or _NO_CODE


def _code(found: BounceRecipient | None) -> str:
    if found is None:
        return "missing"
    return found.code or "none"


def evaluate(corpus: Path) -> list[Outcome]:
    """Classify every labelled e-mail and pair each expected recipient with a prediction."""
    rows = [json.loads(line) for line in (corpus / "expected.jsonl").read_text().splitlines()]
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_file[str(row["file"])].append(row)
    out: list[Outcome] = []
    for name, labelled in sorted(by_file.items()):
        report = classify_message((corpus / name).read_bytes())
        found = list(report.recipients)
        by_address = {r.recipient.lower(): r for r in found}
        for r in found:  # a label may name the DSN's Final-Recipient instead of the original
            if r.final_recipient:
                by_address.setdefault(r.final_recipient.lower(), r)
        for row in labelled:
            address = str(row.get("recipient") or "").lower()
            index = int(str(row.get("recipient_index") or 1)) - 1
            match = by_address.get(address) if address else None
            if match is None and not address and 0 <= index < len(found):
                match = found[index]
            classification = match.classification if match is not None else None
            out.append(
                Outcome(
                    file=name,
                    recipient=address,
                    expected=_label(row["expected"]),
                    accept=tuple(_label(a) for a in row.get("accept") or ()),
                    predicted=_code(match),
                    rule_id=(classification.rule_id or classification.tier.value)
                    if classification is not None
                    else "",
                    decoded_by=match.decoded_by if match is not None else report.kind,
                    diagnostic=match.diagnostic[:160] if match is not None else "",
                )
            )
    return out


def summary(outcomes: list[Outcome]) -> dict[str, object]:
    """Overall and per-code figures as a JSON-ready dict."""
    total = len(outcomes)
    per_code: dict[str, dict[str, int]] = {}
    expected = Counter(o.expected for o in outcomes)
    predicted = Counter(o.predicted for o in outcomes)
    for code in sorted(set(expected) | set(predicted)):
        hits = sum(1 for o in outcomes if o.expected == code and o.strict)
        accepted = sum(1 for o in outcomes if o.expected == code and o.accepted)
        per_code[code] = {
            "expected": expected[code],
            "predicted": predicted[code],
            "strict": hits,
            "accepted": accepted,
            "correct_predictions": sum(1 for o in outcomes if o.predicted == code and o.strict),
        }
    return {
        "recipients": total,
        "strict": sum(o.strict for o in outcomes) / total if total else 0.0,
        "accept": sum(o.accepted for o in outcomes) / total if total else 0.0,
        "per_code": per_code,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--misses", action="store_true", help="list every disagreement")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if not (args.corpus / "expected.jsonl").is_file():
        print(f"no expected.jsonl in {args.corpus}", file=sys.stderr)
        return 3
    outcomes = evaluate(args.corpus)
    figures = summary(outcomes)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"recipients {figures['recipients']}  strict {figures['strict']:.1%}  "
        f"accept {figures['accept']:.1%}"
    )
    print(
        f"{'code':>8} {'expected':>8} {'strict':>7} {'recall':>7} {'accept':>7} "
        f"{'predicted':>9} {'precision':>9}"
    )
    per_code = figures["per_code"]
    assert isinstance(per_code, dict)
    for code, row in per_code.items():
        exp, pred = row["expected"], row["predicted"]
        recall = f"{row['strict'] / exp:.0%}" if exp else "-"
        accept = f"{row['accepted'] / exp:.0%}" if exp else "-"
        precision = f"{row['correct_predictions'] / pred:.0%}" if pred else "-"
        print(
            f"{code:>8} {exp:>8} {row['strict']:>7} {recall:>7} {accept:>7} {pred:>9} "
            f"{precision:>9}"
        )
    if args.misses:
        for o in outcomes:
            if not o.strict:
                mark = "~" if o.accepted else "X"
                print(
                    f"{mark} {o.file} {o.recipient or '-'} expected {o.expected} got "
                    f"{o.predicted} [{o.rule_id}] ({o.decoded_by}) {o.diagnostic!r}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
