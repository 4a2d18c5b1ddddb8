"""Cold start: the time a fresh process takes to give its first answer.

Usage: python bench/bench_cold.py [--runs N] [--save FILE] [--baseline DIR] [--show FILE]

Two first answers, each from a new process: the library
(``python -c "import classifier; classifier.classify('550 5.1.1 user unknown')"``) and the
command line (``smtp-classifier classify "550 5.1.1 user unknown"``). Each is run with the
compiled rule cache (classifier/rulecache.py; a fresh cache directory, filled by one first run
that is reported apart) and without it (``SMTP_CLASSIFIER_CACHE=""``: every file read, every
regex compiled), alternately, so that both see the same load of the machine. The figures are
the wall time and the CPU time (user and system) of the child process: minimum and median of
N runs. Python's bytecode is written and reused as an installed package does
(``PYTHONDONTWRITEBYTECODE`` is removed for the children), and they run in an empty
directory, as a user's would be (no configuration file to look for in the repository).

``--baseline DIR`` also runs both in the same rounds with another version of the package
(``DIR`` holds its ``classifier/`` and ``rules/``, e.g. ``git archive main classifier rules |
tar -x -C DIR``), for a before-and-after ratio under the same load.

``--save FILE`` writes the figures as JSON: bench/figures.py quotes them in the README from
``bench/results/cold.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_classify import machine

__all__ = ["main", "run_once"]

REPLY = "550 5.1.1 user unknown"
LIBRARY = f"import classifier; classifier.classify({REPLY!r})"


def _commands() -> dict[str, list[str]]:
    script = Path(sys.executable).with_name("smtp-classifier")
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "classifier"]
    return {
        "library": [sys.executable, "-c", LIBRARY],
        "cli": [*cli, "classify", REPLY],
    }


def _baseline_commands() -> dict[str, list[str]]:
    """The same first answers, by ``python`` alone (the console script would import the
    installed package whatever PYTHONPATH says)."""
    cli = "import sys; from classifier.cli import main; sys.exit(main(sys.argv[1:]))"
    return {
        "library": [sys.executable, "-c", LIBRARY],
        "cli": [sys.executable, "-c", cli, "classify", REPLY],
    }


def run_once(
    command: list[str], env: dict[str, str], cwd: str | None = None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process running ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or (command[-1] == REPLY and b"131" not in done.stdout):
        raise SystemExit(f"{command} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "min_ms": round(min(values) * 1000, 1),
        "median_ms": round(statistics.median(values) * 1000, 1),
    }


def measure(runs: int, baseline: Path | None = None) -> dict[str, Any]:
    """Every figure of one run of the benchmark."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cache = tempfile.mkdtemp(prefix="smtp-classifier-cold-")
    home = tempfile.mkdtemp(prefix="smtp-classifier-cold-cwd-")
    try:
        cached = {**base, "SMTP_CLASSIFIER_CACHE": cache}
        uncached = {**base, "SMTP_CLASSIFIER_CACHE": ""}
        other = {**uncached, "PYTHONPATH": str(baseline)} if baseline is not None else None
        results: dict[str, Any] = {}
        for name, command in _commands().items():
            old = _baseline_commands()[name]
            run_once(command, uncached, home)  # bytecode written, files in the page cache
            if other is not None:
                run_once(old, other, home)
            first = run_once(command, cached, home) if name == "library" else None
            times: dict[str, list[tuple[float, float]]] = {"cached": [], "uncached": []}
            if other is not None:
                times["baseline"] = []
            for _ in range(runs):
                times["cached"].append(run_once(command, cached, home))
                times["uncached"].append(run_once(command, uncached, home))
                if other is not None:
                    times["baseline"].append(run_once(old, other, home))
            entry: dict[str, Any] = {}
            for variant, pairs in times.items():
                entry[variant] = {
                    "wall": _summary([w for w, _c in pairs]),
                    "cpu": _summary([c for _w, c in pairs]),
                }
            if first is not None:
                entry["first_run"] = {"wall_ms": round(first[0] * 1000, 1)}
            results[name] = entry
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return {"machine": machine(), "load": round(load, 2), "runs": runs, "results": results}


#: The variants measured, as the report names them.
VARIANTS = {"cached": "compiled rule cache", "uncached": "no cache", "baseline": "baseline"}


def report(figures: dict[str, Any]) -> list[str]:
    """The figures as lines of text."""
    lines = [
        figures["machine"],
        f"load average before the runs: {figures['load']:.2f}; {figures['runs']} runs each",
    ]
    for name, entry in figures["results"].items():
        label = (
            "import classifier; classify(...)" if name == "library" else "smtp-classifier classify"
        )
        for variant, said in VARIANTS.items():
            if variant not in entry:
                continue
            wall, cpu = entry[variant]["wall"], entry[variant]["cpu"]
            lines.append(
                f"{label}, {said:>19}: "
                f"wall min {wall['min_ms']:.0f} ms, median {wall['median_ms']:.0f} ms; "
                f"CPU min {cpu['min_ms']:.0f} ms, median {cpu['median_ms']:.0f} ms"
            )
        if "first_run" in entry:
            lines.append(
                f"{label}, first run (writes the cache): "
                f"{entry['first_run']['wall_ms']:.0f} ms wall"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cold start of the library and the CLI")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--show", type=Path, help="print the figures saved in this file instead of measuring"
    )
    parser.add_argument("--save", type=Path, help="write the figures as JSON to this file")
    parser.add_argument(
        "--baseline", type=Path, help="a directory with another version's classifier/ and rules/"
    )
    args = parser.parse_args(argv)
    if args.show is not None:
        print("\n".join(report(json.loads(args.show.read_text(encoding="utf-8")))))
        return 0
    figures = measure(max(1, args.runs), args.baseline)
    if args.baseline is not None:
        figures["baseline"] = str(args.baseline)
    for line in report(figures):
        print(line)
    if args.save is not None:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
