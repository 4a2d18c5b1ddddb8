"""``smtp-classifier check-rules [DIR…]``: validate rule directories and run every example."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..checks import check_examples, check_generalisation, check_pathological
from ..engine import Classifier
from ..rules import builtin_rules_dir, load_rules
from ._common import config_for

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the check-rules subcommand."""
    p = sub.add_parser(
        "check-rules",
        help="validate rule directories and run every rule's examples",
        description="Load DIRs (checked before the bundled rules; without DIRs, those of the "
        "configuration file) and verify that every rule is "
        "valid, that each example is decided by its own rule with its code, and that no "
        "pattern runs away on pathological input. Exit 0 when all holds, 1 otherwise, "
        "4 when a file is invalid.",
    )
    p.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="rule directories")
    p.add_argument("--no-builtin", action="store_true", help="do not load the bundled rules")
    p.add_argument(
        "--no-config", action="store_true", help="without DIRs, check only the bundled rules"
    )
    p.add_argument(
        "--generalisation",
        action="store_true",
        help="also switch off each provider- or MTA-specific rule file (1xx-3xx) in turn and "
        "report how many of its examples the other rules, frames and fallbacks still get right",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load, check, report."""
    given = args.dirs or list(config_for(args).rules)
    dirs = [d for d in given if d.resolve() != _bundled()]
    # Every file is read and checked: a check does not rest on the compiled rule cache.
    rules = load_rules(dirs, builtin=not args.no_builtin, disk_cache=False)
    clf = Classifier(rules, cache_size=0)
    frames = clf.rules.meaning.frames if clf.rules.meaning is not None else ()
    only = None
    if dirs:
        files = [r.file for r in clf.rules] + [f.file for f in frames]
        # A directory's own rule files, and the frames file of its meaning/ sub-directory.
        only = {f for f in files if any(d in Path(f).parents for d in dirs)}
    failures = check_examples(clf, only_files=only)
    slow = check_pathological(clf)
    n_rules = len(clf.rules)
    n_examples = sum(len(r.examples) for r in clf.rules)
    n_frame_examples = sum(len(f.examples) for f in frames)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    for rule_id in slow:
        print(f"SLOW {rule_id}: pattern timed out on a pathological input", file=sys.stderr)
    print(
        f"{n_rules} rules, {n_examples} examples, {len(frames)} meaning frames, "
        f"{n_frame_examples} frame examples: {len(failures)} example failures, "
        f"{len(slow)} slow patterns"
    )
    if args.generalisation:
        _print_generalisation(clf)
    return 1 if failures or slow else 0


def _print_generalisation(clf: Classifier) -> None:
    """Per file and overall: examples still right with the file switched off."""
    results = check_generalisation(clf)
    width = max((len(Path(r.file).name) for r in results), default=4)
    print("\ngeneralisation: each specific file switched off, its examples re-classified")
    for r in results:
        print(
            f"  {Path(r.file).name:<{width}}  {r.right:>4}/{r.examples:<4} {100 * r.share:5.1f} %"
        )
    total = sum(r.examples for r in results)
    right = sum(r.right for r in results)
    share = 100 * right / total if total else 100.0
    print(f"  {'overall':<{width}}  {right:>4}/{total:<4} {share:5.1f} %")


def _bundled() -> Path:
    return Path(str(builtin_rules_dir())).resolve()
