"""The long fuzz run: one target under atheris (coverage-guided libFuzzer), seeded from fixtures.

Usage: python -m tests.fuzz.run_atheris TARGET [--runs N] [--out DIR] [libFuzzer options]

Exceptions and broken invariants are recorded (not fatal), so one run counts them all: at the
end ``DIR/TARGET.json`` holds the inputs run, the exceptions by kind and place (with the first
input of each, saved beside it), the slowest input and its time, and the peak memory. The
corpus grows in ``DIR/TARGET-corpus``. See tests/fuzz/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import atheris

with atheris.instrument_imports():
    from .targets import TARGETS, seeds


class _Run:
    """What one fuzz run saw."""

    def __init__(self, target: str, out: Path, runs: int) -> None:
        self.target = target
        self.out = out
        self.runs = runs
        self.written = time.perf_counter()
        self.inputs = 0
        self.started = time.monotonic()
        self.exceptions: Counter[str] = Counter()
        self.slowest = 0.0
        self.slowest_input = b""

    def one(self, data: bytes) -> None:
        self.inputs += 1
        start = time.perf_counter()
        try:
            TARGETS[self.target](data)
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}: {exc}"[:300]
            if key not in self.exceptions:
                name = hashlib.sha1(data).hexdigest()[:16]
                (self.out / f"{self.target}-crash-{name}").write_bytes(data)
            self.exceptions[key] += 1
        elapsed = time.perf_counter() - start
        if elapsed > self.slowest:
            self.slowest, self.slowest_input = elapsed, data
        if start - self.written > 5.0 or self.inputs == self.runs:
            self.write()  # libFuzzer ends the process without running exit handlers

    def write(self) -> None:
        self.written = time.perf_counter()
        (self.out / f"{self.target}-slowest").write_bytes(self.slowest_input)
        report: dict[str, Any] = {
            "target": self.target,
            "inputs": self.inputs,
            "seconds": round(time.monotonic() - self.started, 1),
            "exceptions": dict(self.exceptions),
            "slowest_seconds": round(self.slowest, 4),
            "slowest_input_bytes": len(self.slowest_input),
            "slowest_input_start": self.slowest_input[:120].decode("utf-8", "replace"),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        (self.out / f"{self.target}.json").write_text(json.dumps(report, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--runs", type=int, default=100_000, help="inputs to run (100000)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-out"), help="results (fuzz-out)")
    args, libfuzzer = parser.parse_known_args()
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = args.out / f"{args.target}-corpus"
    corpus.mkdir(exist_ok=True)
    for item in seeds(args.target):
        (corpus / hashlib.sha1(item).hexdigest()).write_bytes(item)
    TARGETS[args.target](seeds(args.target)[0])  # build the rule engine before timing inputs
    run = _Run(args.target, args.out, args.runs)
    argv = [sys.argv[0], *libfuzzer, f"-runs={args.runs}", "-timeout=30", "-rss_limit_mb=4096"]
    argv.append(str(corpus))
    atheris.Setup(argv, run.one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
