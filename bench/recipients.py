"""Recipient extraction from bounce mail: found, missed and extra addresses, per format.

A bounce reader that reports an address that never bounced (a mailing list's own address, an
unsubscribe address, an address quoted from the original message) makes a user suppress the
wrong person; one that misses the failed address loses the bounce. This script compares the
recipients ``classify_message`` reports with a labelled corpus (``expected.jsonl`` beside the
emails: ``file`` and ``recipient`` per reported recipient; ``""`` for a message that names none,
``null`` for a recipient the label does not name).

    python bench/recipients.py [CORPUS_DIR ...] [--list]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from classifier import classify_message

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPORA = (ROOT / "fixtures" / "sisimai", ROOT.parent / "shared" / "corpus" / "sisimai")


@dataclass(frozen=True, slots=True)
class Extraction:
    """One message: the recipients it should report, and those it does."""

    file: str
    fmt: str
    expected: frozenset[str]
    reported: frozenset[str]
    #: Expected recipients whose address the label does not name (any reported one may be it).
    unnamed: int = 0

    @property
    def _others(self) -> int:
        return len(self.reported - self.expected)

    @property
    def found(self) -> int:
        """Expected recipients that were reported."""
        return len(self.expected & self.reported) + min(self.unnamed, self._others)

    @property
    def missed(self) -> int:
        """Expected recipients that were not reported."""
        return len(self.expected - self.reported) + max(0, self.unnamed - self._others)

    @property
    def extra(self) -> int:
        """Reported addresses that are not a recipient of the message's report."""
        return max(0, self._others - self.unnamed)


def evaluate(corpus: Path) -> list[Extraction]:
    """Every labelled message of a corpus, with what was expected and what was reported."""
    expected: dict[str, set[str]] = defaultdict(set)
    unnamed: dict[str, int] = defaultdict(int)
    formats: dict[str, str] = {}
    for line in (corpus / "expected.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        name = str(row["file"])
        expected.setdefault(name, set())
        address = str(row.get("recipient") or "").lower()
        if address:
            expected[name].add(address)
        elif row.get("recipient") is None and row.get("expected"):
            unnamed[name] += 1
        formats.setdefault(name, str(row.get("format") or ""))
    out: list[Extraction] = []
    for name in sorted(expected):
        report = classify_message((corpus / name).read_bytes())
        # An entry has two names when a DSN gives both (Original- and Final-Recipient): the
        # label may use either, and the entry counts once.
        wanted = expected[name]
        reported = frozenset(
            final
            if (final := r.final_recipient.lower()) in wanted and r.recipient.lower() not in wanted
            else r.recipient.lower()
            for r in report.recipients
            if r.recipient
        )
        fmt = formats[name] or report.decoded_by or report.kind
        out.append(Extraction(name, fmt, frozenset(expected[name]), reported, unnamed[name]))
    return out


def render(corpus: Path, rows: list[Extraction], *, listing: bool) -> str:
    """Per format and overall: messages, expected, found, missed, extra."""
    by_format: dict[str, list[Extraction]] = defaultdict(list)
    for row in rows:
        by_format[row.fmt.split("/")[0] if "/" in row.fmt else row.fmt].append(row)
    lines = [
        f"{corpus}",
        f"{'format':<24} {'msgs':>5} {'expect':>6} {'found':>6} {'missed':>6} {'extra':>6}",
    ]
    for fmt in sorted(by_format):
        group = by_format[fmt]
        lines.append(
            f"{fmt[:24]:<24} {len(group):>5} {sum(len(r.expected) + r.unnamed for r in group):>6} "
            f"{sum(r.found for r in group):>6} {sum(r.missed for r in group):>6} "
            f"{sum(r.extra for r in group):>6}"
        )
    lines.append(
        f"{'all':<24} {len(rows):>5} {sum(len(r.expected) + r.unnamed for r in rows):>6} "
        f"{sum(r.found for r in rows):>6} {sum(r.missed for r in rows):>6} "
        f"{sum(r.extra for r in rows):>6}"
    )
    if listing:
        for row in rows:
            if row.missed or row.extra:
                missed = sorted(row.expected - row.reported)
                extra = sorted(row.reported - row.expected) if row.extra else []
                lines.append(f"  {row.file}: missed {missed} extra {extra}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the extraction figures of each corpus found."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="*", type=Path)
    parser.add_argument("--list", action="store_true", help="list messages with misses or extras")
    args = parser.parse_args(argv)
    corpora = args.corpora or [c for c in DEFAULT_CORPORA if (c / "expected.jsonl").is_file()][:1]
    for corpus in corpora:
        print(render(corpus, evaluate(corpus), listing=args.list), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
