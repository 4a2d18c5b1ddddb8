"""Regenerate the figures quoted in README.md and docs/ from the project's real outputs.

A figure in the docs is written between markers, ``<!-- figure:NAME -->713<!-- /figure -->``,
and this script recomputes every NAME: counts of codes, rules, rule examples, meaning frames
and their examples, fixture replies, scenarios and bounce samples, and how many of them the
classifier gets right; and the speed figures a benchmark saved in ``bench/results/`` (cold
start: ``bench/bench_cold.py --save bench/results/cold.json``), quoted as they were measured.
``--check``
(what the test suite runs) fails when a figure in the docs differs from what the code gives
today; ``--write`` puts the fresh values in place.

    .venv/bin/python bench/figures.py --write
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from classifier import CATALOGUE, Classifier, default_classifier
from classifier.checks import check_examples, check_generalisation
from classifier.harness.scenario import load_scenarios

ROOT = Path(__file__).resolve().parent.parent
#: The files whose figures are kept true.
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
MARKER = re.compile(r"<!-- figure:([a-z_]+) -->(.*?)<!-- /figure -->")
#: Figures saved by the benchmarks (measured once, on a stated machine; never retyped).
RESULTS = ROOT / "bench" / "results"


def _replies(clf: Classifier) -> tuple[int, int]:
    total = right = 0
    for path in sorted((ROOT / "fixtures" / "replies").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            stage = case.get("stage")
            got = clf.classify(case["reply"], stage=stage if isinstance(stage, str) else None)
            total += 1
            right += got.code == case["code"]
    return total, right


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _accuracy() -> dict[str, str]:
    """Bounce-mail accuracy on the vendored corpora and the generalisation share."""
    bench = _bench("sisimai_accuracy")
    out: dict[str, str] = {}
    for name, folder in (("sisimai", "sisimai"), ("heldout", "heldout-mail")):
        figures = bench.summary(bench.evaluate(ROOT / "fixtures" / folder))
        out[f"{name}_strict"] = _percent(float(figures["strict"]))
        out[f"{name}_accept"] = _percent(float(figures["accept"]))
    results = check_generalisation(Classifier(default_classifier().rules, cache_size=0))
    total = sum(r.examples for r in results)
    out["generalisation"] = _percent(sum(r.right for r in results) / total if total else 1.0)
    return out


def _cold_start() -> dict[str, str]:
    """The figures of the last ``bench_cold.py --save`` run: ``cold_library_cached_wall_min``
    and so on, ``cold_machine`` (machine, date, load average)."""
    path = RESULTS / "cold.json"
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text(encoding="utf-8"))
    out = {"cold_machine": f"{saved['machine'].removeprefix('machine: ')}, load {saved['load']}"}
    for name, entry in saved["results"].items():
        for variant in ("cached", "uncached", "baseline"):
            for measure in ("wall", "cpu"):
                for stat in ("min", "median"):
                    # A run without --baseline has no "before" figures: shown as such.
                    value = entry.get(variant, {}).get(measure, {}).get(f"{stat}_ms")
                    shown = f"{value:.0f} ms" if value is not None else "not measured"
                    out[f"cold_{name}_{variant}_{measure}_{stat}"] = shown
    return out


def compute() -> dict[str, str]:
    """Every figure, from the code and fixtures as they are."""
    clf = default_classifier()
    rules = clf.rules.rules
    examples = sum(len(rule.examples) for rule in rules)
    meaning = clf.rules.meaning
    frames = meaning.frames if meaning is not None else ()
    failed = len(check_examples(clf))
    total, right = _replies(clf)
    scenarios = load_scenarios(ROOT / "fixtures" / "scenarios")
    mail = [p for p in (ROOT / "fixtures" / "mail").iterdir() if p.suffix == ".eml"]
    return {
        "codes": str(len(CATALOGUE)),
        "rules": str(len(rules)),
        "rule_examples": str(examples),
        "rule_examples_right": str(examples - failed),
        "frames": str(len(frames)),
        "frame_examples": str(sum(len(frame.examples) for frame in frames)),
        "fixture_replies": str(total),
        "fixture_replies_right": str(right),
        "scenarios": str(len(scenarios)),
        "mail_samples": str(len(mail)),
        **_accuracy(),
        **_cold_start(),
    }


def run(write: bool, out: Callable[[str], None] = print) -> int:
    """Compare (or rewrite) every marked figure; returns the number of stale ones."""
    figures = compute()
    stale = 0
    for path in DOCS:
        text = path.read_text(encoding="utf-8")

        def fresh(match: re.Match[str], path: Path = path) -> str:
            nonlocal stale
            name, shown = match.group(1), match.group(2)
            value = figures.get(name)
            if value is None:
                out(f"{path.name}: unknown figure {name!r}")
                stale += 1
                return match.group(0)
            if value != shown:
                out(f"{path.name}: figure {name} says {shown}, the code gives {value}")
                stale += 1
            return f"<!-- figure:{name} -->{value}<!-- /figure -->"

        updated = MARKER.sub(fresh, text)
        if write and updated != text:
            path.write_text(updated, encoding="utf-8")
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="put the fresh figures in the docs")
    mode.add_argument("--check", action="store_true", help="fail when a figure is stale")
    args = parser.parse_args()
    stale = run(write=args.write)
    if args.write:
        print(f"figures written ({stale} changed)")
        return 0
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
