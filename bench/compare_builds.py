"""Pure Python against the compiled build (mypyc), side by side in CPU time.

Each measure runs in fresh processes, alternating between the two interpreters, so load from
other work falls on both alike: this checkout's Python (pure, the source tree) and the Python
of a virtual environment holding the compiled wheel (``--compiled``, or ``--build DIR`` to
build the wheel with ``SMTP_CLASSIFIER_MYPYC=1`` and install it into a new venv at DIR, the
build timed). Measures: ``classify()`` over the distinct replies of bench_classify.py (default
cache and none), ``replay`` of a generated Postfix log (1 worker, JSON rows to /dev/null,
rule loading included), the ledger feed alone (the log's rows turned into events), and
``classify_message`` over the vendored Sisimai bounces. ``--docs`` writes the report into
README.md between its ``bench:compiled`` markers.

    python bench/compare_builds.py --build /tmp/compiled-venv
    python bench/compare_builds.py --compiled /tmp/compiled-venv/bin/python --rounds 5
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gen_postfix_log import generate

ROOT = Path(__file__).resolve().parent.parent

#: Common head of every child: the bench folder on the path, never the checkout, so that the
#: compiled venv imports its own package; the modules' files are reported.
_HEAD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1] + "/bench")
import classifier.engine
compiled = classifier.engine.__file__.endswith((".so", ".pyd"))
"""

#: Replies per CPU-second of classify() over the distinct input, with and without the table.
_CLASSIFY = r"""
from bench_classify import make_distinct
from classifier import Classifier, load_rules
rules = load_rules()
n = int(sys.argv[2])
replies = make_distinct(rules, n)
out = {}
for name, size in (("classify distinct, default cache", 65536), ("classify distinct, no cache", 0)):
    classify = Classifier(rules, cache_size=size).classify
    t0 = time.process_time()
    for reply, stage in replies:
        classify(reply, stage=stage)
    out[name] = n / (time.process_time() - t0)
print(json.dumps({"compiled": compiled, "rates": out}))
"""

#: Lines per CPU-second of replay, 1 worker, rule loading included (as bench_replay.py).
_REPLAY = r"""
from classifier.logreplay import ReplayOptions, replay
with open(os.devnull, "w", encoding="utf-8") as sink:
    before = os.times()
    summary = replay([sys.argv[2]], sink, ReplayOptions(workers=1))
    after = os.times()
rate = summary.lines / (sum(after[:4]) - sum(before[:4]))
print(json.dumps({"compiled": compiled, "rates": {"replay, 1 worker": rate}}))
"""

#: Events per CPU-second of the ledger feed alone, over the log's rows (as bench_ledger.py).
_FEED = r"""
from classifier.ledger import ReplayFeed
from classifier.logreplay import ReplayOptions, replay
chunks = []
with open(os.devnull, "w", encoding="utf-8") as sink:
    replay([sys.argv[2]], sink, ReplayOptions(ledger=True, records=False), ledger=chunks.append)
feed, rows = ReplayFeed(), []
t0 = time.process_time()
for chunk in chunks:
    feed.extend(chunk, rows)
rate = len(rows) / (time.process_time() - t0)
print(json.dumps({"compiled": compiled, "rates": {"ledger feed": rate}}))
"""

#: Messages per CPU-second of classify_message over the vendored Sisimai bounces.
_MESSAGE = r"""
from pathlib import Path
from classifier.mail.message import classify_message
mails = [p.read_bytes() for p in sorted(Path(sys.argv[1], "fixtures/sisimai/emails").iterdir())]
t0 = time.process_time()
for data in mails:
    classify_message(data)
rate = len(mails) / (time.process_time() - t0)
print(json.dumps({"compiled": compiled, "rates": {"classify_message, Sisimai mails": rate}}))
"""

_UNITS = {"classify": "replies", "replay": "lines", "ledger": "events", "classify_message": "mails"}


def _run(python: str, code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [python, "-c", _HEAD + code, str(ROOT), *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _side_by_side(
    pythons: dict[str, str], rounds: int, code: str, *args: str
) -> dict[str, dict[str, float]]:
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in pythons}
    for _ in range(rounds):
        for name, python in pythons.items():
            result = _run(python, code, *args)
            if result["compiled"] != (name == "compiled"):
                raise SystemExit(f"{python} is not the {name} build")
            runs[name].append(result["rates"])
    return {
        name: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
        for name, rs in runs.items()
    }


def build(venv: Path) -> tuple[str, str]:
    """Build the compiled wheel, install it into a new venv at ``venv``: (its Python, a line
    saying how long the build took)."""
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "SMTP_CLASSIFIER_MYPYC": "1"}
        before, start = os.times(), time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", out, str(ROOT)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        after, wall = os.times(), time.monotonic() - start
        if done.returncode:
            raise SystemExit(f"the compiled build failed:\n{done.stdout}\n{done.stderr}")
        cpu = sum(after[:4]) - sum(before[:4])
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        wheels = [str(p) for p in Path(out).glob("*.whl")]
        install = [python, "-m", "pip", "install", "-q", *wheels]
        subprocess.run(install, check=True, capture_output=True)
    return python, f"compiled wheel built in {cpu:.0f} s CPU, {wall:.0f} s wall"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{cpu}, {os.cpu_count()} CPUs, CPython {platform.python_version()}, {now}, "
        f"load average {os.getloadavg()[0]:.2f} before the runs"
    )


def write_docs(report: str, path: Path = ROOT / "README.md") -> None:
    """Put ``report`` between the ``bench:compiled`` markers of ``path`` as a code block."""
    text = path.read_text(encoding="utf-8")
    block = f"<!-- bench:compiled -->\n```\n{report}\n```\n<!-- /bench -->"
    new, count = re.subn(
        r"<!-- bench:compiled -->.*?<!-- /bench -->", lambda _: block, text, flags=re.DOTALL
    )
    if count != 1:
        raise SystemExit(f"{path}: expected one bench:compiled block, found {count}")
    path.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--compiled", help="the Python of a venv holding the compiled wheel")
    which.add_argument("--build", type=Path, help="build the compiled wheel into a venv here")
    parser.add_argument("--replies", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=200_000, help="generated Postfix log lines")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--docs", action="store_true", help="write the report into README.md")
    args = parser.parse_args()
    lines = [f"machine: {_machine()}"]
    if args.build:
        compiled, built = build(args.build)
        lines.append(built)
    else:
        compiled = args.compiled
    pythons = {"pure": sys.executable, "compiled": compiled}
    results = _side_by_side(pythons, args.rounds, _CLASSIFY, str(args.replies))
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "postfix.log"
        generate(log, args.lines)
        for code in (_REPLAY, _FEED, _MESSAGE):
            for name, rates in _side_by_side(pythons, args.rounds, code, str(log)).items():
                results[name].update(rates)
    lines.append(
        f"medians of {args.rounds} alternating rounds, per CPU-second; {args.replies} distinct "
        f"replies, a generated Postfix log of {args.lines} lines"
    )
    for key in results["pure"]:
        pure, fast = results["pure"][key], results["compiled"][key]
        unit = _UNITS[key.split(" ", 1)[0].rstrip(",")]
        lines.append(
            f"  {key}: pure {pure:,.0f} {unit}/s, compiled {fast:,.0f} {unit}/s "
            f"({fast / pure:.2f}x)"
        )
    report = "\n".join(lines)
    print(report)
    if args.docs:
        command = " ".join(a for a in sys.argv[1:] if a != "--docs")
        write_docs(f"$ python bench/compare_builds.py {command}\n{report}")


if __name__ == "__main__":
    main()
