"""Two source trees side by side: classification of distinct replies and log replay, in CPU time.

A speed change is judged against the code before it on the same machine in the same hour:
each measure runs in fresh processes, alternating between the trees, so load from other work
falls on both alike. The other tree is any checkout of the project (for a commit:
``git archive REV | tar -x -C DIR``).

    python bench/compare_trees.py --base /tmp/before                    # this tree vs /tmp/before
    python bench/compare_trees.py --base /tmp/before --replies 50000 --lines 200000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_classify import make_distinct
from gen_postfix_log import generate

from classifier import load_rules

ROOT = Path(__file__).resolve().parent.parent

#: Replies per CPU-second of classify() over the distinct input, with and without the table.
#: The replies are made once, by this tree, and read by both: each tree's own generator draws
#: on its own rule examples, so two trees would otherwise classify different inputs.
_CLASSIFY = r"""
import json, sys, time
root, path = sys.argv[1], sys.argv[2]
sys.path[:0] = [root, root + "/bench"]
from classifier import Classifier, load_rules
rules = load_rules()
with open(path, encoding="utf-8") as handle:
    replies = json.load(handle)
n = len(replies)
out = {}
for name, size in (("default", 65536), ("no cache", 0)):
    classify = Classifier(rules, cache_size=size).classify
    t0 = time.process_time()
    for reply, stage in replies:
        classify(reply, stage=stage)
    out[name] = n / (time.process_time() - t0)
print(json.dumps(out))
"""

#: Lines per CPU-second of replay (JSON rows to /dev/null), this process and its workers,
#: rule loading included as in bench_replay.py.
_REPLAY = r"""
import json, os, sys
root, log, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, root)
from classifier.logreplay import ReplayOptions, replay
with open(os.devnull, "w", encoding="utf-8") as sink:
    before = os.times()
    summary = replay([log], sink, ReplayOptions(workers=workers))
    after = os.times()
print(json.dumps({"replay": summary.lines / (sum(after[:4]) - sum(before[:4]))}))
"""


def _run(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd="/"
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _side_by_side(trees: dict[str, Path], rounds: int, code: str, *args: str) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(rounds):
        for name, tree in trees.items():
            runs[name].append(_run(code, str(tree), *args))
    return {
        name: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
        for name, rs in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the tree to compare against")
    parser.add_argument("--replies", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=200_000, help="generated Postfix log lines")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "this": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "replies.json"
        inputs.write_text(json.dumps(make_distinct(load_rules(), args.replies)), encoding="utf-8")
        results = _side_by_side(trees, args.rounds, _CLASSIFY, str(inputs))
        log = Path(tmp) / "postfix.log"
        generate(log, args.lines)
        for workers in ("1", "2"):
            replay = _side_by_side(trees, args.rounds, _REPLAY, str(log), workers)
            for name in trees:
                results[name][f"replay, {workers} worker(s)"] = replay[name]["replay"]
    print(f"medians of {args.rounds} alternating rounds, CPU time; base = {trees['base']}")
    print(f"classify: {args.replies} distinct replies; replay: {args.lines} generated lines")
    for key in results["this"]:
        base, this = results["base"][key], results["this"][key]
        unit = "lines" if key.startswith("replay") else "replies"
        print(f"  {key}: base {base:,.0f} {unit}/s, this {this:,.0f} {unit}/s ({this / base:.2f}x)")


if __name__ == "__main__":
    main()
