"""Every answer of the classifier, recorded to a JSON file and compared against a later run.

A change meant to keep behaviour (a reorganisation, a speed-up) proves it here: record the
answers before the change, compare after it. The answers cover every fixture reply (fixtures/replies
and fixtures/firstsight), every rule example, every recipient of the Sisimai bounce corpus
through ``classify_message``, the rows of ``replay`` (plain and ``--final``) on the bundled
Postfix log and on a generated one, the ledger events the feed makes of the generated log's
rows, and every reply of the ``bench_classify.py`` inputs (mix and distinct). The compiled
build is proven against the pure-Python one the same way (tests/test_compiled.py).

    python bench/answers.py record /tmp/answers-before.json
    python bench/answers.py compare /tmp/answers-before.json     # exit 1 on any difference
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_classify import make_distinct, make_mix
from gen_postfix_log import generate

from classifier import classify, classify_message, load_rules
from classifier.ledger import ReplayFeed
from classifier.logreplay import ReplayOptions, replay, replay_lines
from classifier.rules import iter_examples

ROOT = Path(__file__).resolve().parent.parent
POSTFIX_LOG = "postfix-3.7.11-fakemx.log"
GENERATED_LINES = 20_000
MIX_LINES = 200_000
DISTINCT_LINES = 100_000

Answers = dict[str, dict[str, Any]]


def _fixture_replies(folder: str = "replies") -> Iterator[tuple[str, Any]]:
    for path in sorted((ROOT / "fixtures" / folder).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                case = json.loads(line)
                result = classify(case["reply"], stage=case.get("stage"))
                yield f"{path.name}:{number}", result.to_dict()


def _rule_examples() -> Iterator[tuple[str, Any]]:
    for rule, index, example in iter_examples(load_rules()):
        yield f"{rule.id}#{index}", classify(example.reply, stage=example.stage).to_dict()


def _sisimai() -> Iterator[tuple[str, Any]]:
    emails = ROOT / "fixtures" / "sisimai" / "emails"
    for path in sorted(emails.iterdir()):
        report = classify_message(path.read_bytes())
        yield path.name, {"kind": str(report.kind), "count": len(report.recipients)}
        for index, r in enumerate(report.recipients):
            c = r.classification
            yield (
                f"{path.name}#{index}",
                {
                    "recipient": r.recipient,
                    "kind": str(r.kind),
                    "code": r.code,
                    "rule_id": c.rule_id if c else None,
                    "reason": c.reason if c else None,
                    "tier": c.tier.value if c else None,
                    "note": c.note if c else None,
                },
            )


def _replay_rows(path: Path, label: str) -> Iterator[tuple[str, Any]]:
    for final in (False, True):
        out = io.StringIO()
        replay([str(path)], out, ReplayOptions(final=final))
        for number, line in enumerate(out.getvalue().splitlines(), 1):
            row = json.loads(line)
            row.pop("source", None)
            yield f"{label}:{'final' if final else 'all'}:{number}", row


def _replays() -> Iterator[tuple[str, Any]]:
    yield from _replay_rows(ROOT / "fixtures" / "postfix" / POSTFIX_LOG, "fakemx")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "generated.log"
        generate(log, GENERATED_LINES)
        yield from _replay_rows(log, "generated")


def _ledger_events() -> Iterator[tuple[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "generated.log"
        generate(log, GENERATED_LINES)
        with log.open(encoding="utf-8") as lines:
            events = ReplayFeed(year=2025).events(replay_lines(lines, source="generated"))
            for number, event in enumerate(events, 1):
                yield f"generated:{number}", dataclasses.asdict(event)


def _mix() -> Iterator[tuple[str, Any]]:
    yield from _answers(make_mix(load_rules(), MIX_LINES))


def _distinct() -> Iterator[tuple[str, Any]]:
    yield from _answers(make_distinct(load_rules(), DISTINCT_LINES))


def _answers(replies: list[tuple[str, str | None]]) -> Iterator[tuple[str, Any]]:
    seen: set[tuple[str, str | None]] = set()
    for reply, stage in replies:
        if (reply, stage) in seen:
            continue
        seen.add((reply, stage))
        d = classify(reply, stage=stage).to_dict()
        yield json.dumps([reply, stage]), d


SECTIONS = {
    "fixture_replies": _fixture_replies,
    "firstsight_replies": lambda: _fixture_replies("firstsight"),
    "rule_examples": _rule_examples,
    "sisimai_recipients": _sisimai,
    "replay_rows": _replays,
    "ledger_events": _ledger_events,
    "bench_mix": _mix,
    "bench_distinct": _distinct,
}


def record() -> Answers:
    """All answers of the current code, per section."""
    return {name: dict(make()) for name, make in SECTIONS.items()}


def compare(before: Answers, after: Answers) -> list[str]:
    """One line per answer that differs (added, missing or changed); a count per section."""
    out: list[str] = []
    for name in SECTIONS:
        old, new = before.get(name, {}), after.get(name, {})
        diffs = [key for key in old.keys() | new.keys() if old.get(key) != new.get(key)]
        print(f"{name}: {len(old)} before, {len(new)} after, {len(diffs)} different")
        for key in sorted(diffs):
            out.append(f"{name} {key}:\n  before {old.get(key)}\n  after  {new.get(key)}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("record", "compare"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--show", type=int, default=20, help="differences to print")
    args = parser.parse_args(argv)
    answers = record()
    if args.action == "record":
        args.file.write_text(json.dumps(answers, sort_keys=True), encoding="utf-8")
        counts = ", ".join(f"{k} {len(v)}" for k, v in answers.items())
        print(f"recorded {sum(len(v) for v in answers.values())} answers ({counts})")
        return 0
    diffs = compare(json.loads(args.file.read_text(encoding="utf-8")), answers)
    for line in diffs[: args.show]:
        print(line)
    total = sum(len(v) for v in answers.values())
    print(f"{total} answers compared, {len(diffs)} different")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
