"""Replay throughput on a generated Postfix log of a million lines, for 1 and 2 workers.

The log is written once by gen_postfix_log.py into bench/out/ (git-ignored) and reused. Each
run is a fresh Python process (so no run inherits another's warm caches) that replays the
whole file as the CLI does (records rendered as JSON lines, written to /dev/null), rule
loading included; lines/s and MB/s are medians over rounds. Lines per CPU-second (user and
system time of the process and its workers) is the per-core figure, and the one to trust on
a shared machine, where wall-clock rates move with the neighbours' load. The goal is
100 000 lines/s per core.

    python bench/bench_replay.py                       # 1 000 000 lines, workers 1 and 2
    python bench/bench_replay.py --lines 200000 --workers 1 2 4 --rounds 3 --final
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from gen_postfix_log import generate

from classifier.logreplay import ReplayOptions, ReplaySummary, replay

OUT = Path(__file__).resolve().parent / "out"
GOAL = 100_000


def _child(path: Path, workers: int, final: bool) -> None:
    """One timed replay in this (fresh) process; prints its figures as JSON."""
    with open(os.devnull, "w", encoding="utf-8") as sink:
        before = os.times()
        start = time.perf_counter()
        summary: ReplaySummary = replay(
            [str(path)], sink, ReplayOptions(workers=workers, final=final)
        )
        seconds = time.perf_counter() - start
        after = os.times()
    assert summary.reconciled
    cpu = sum(after[:4]) - sum(before[:4])  # user and system, this process and its workers
    print(
        json.dumps({"seconds": seconds, "cpu": cpu, "lines": summary.lines, "rows": summary.rows})
    )


def _run(path: Path, workers: int, final: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(path), "--workers", str(workers)]
    if final:
        command.append("--final")
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--final", action="store_true", help="also time --final")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.workers[0], args.final)
        return

    path = OUT / f"postfix-{args.lines}.log"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        generate(path, args.lines)
    size = path.stat().st_size
    load = os.getloadavg()[0]
    print(f"load average before the runs: {load:.2f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    modes = [False, True] if args.final else [False]
    for final in modes:
        for workers in args.workers:
            runs = [_run(path, workers, final) for _ in range(args.rounds)]
            seconds = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            lines, rows = runs[0]["lines"], runs[0]["rows"]
            row = {
                "workers": workers,
                "final": final,
                "lines": lines,
                "rows": rows,
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "lines_per_cpu_s": round(lines / cpu),
                "lines_per_s": round(lines / seconds),
                "lines_per_s_per_worker": round(lines / seconds / workers),
                "mb_per_s": round(size / seconds / 1e6, 1),
            }
            results.append(row)
            print(
                f"workers={workers} final={final!s:5}  {lines:,} lines "
                f"({rows:,} rows) in {seconds:.2f} s: {row['lines_per_s']:,} lines/s, "
                f"{row['mb_per_s']} MB/s; {row['lines_per_cpu_s']:,} lines per CPU-second",
                flush=True,
            )
    report = {
        "file": str(path),
        "bytes": size,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": round(load, 2),
        "goal_lines_per_s_per_core": GOAL,
        "results": results,
    }
    (OUT / "replay.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written {OUT / 'replay.json'}")


if __name__ == "__main__":
    main()
