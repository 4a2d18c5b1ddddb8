"""Bounce-ledger throughput on the generated Postfix log of a million lines, into SQLite.

Two figures, each from a fresh Python process:

* ``replay --ledger``: the command as a user runs it (1 worker: one core), records to
  /dev/null, every delivery row recorded in a new ledger; then the same replay again into the
  same ledger (every event already there). Lines and events per CPU-second and per second.
* the ledger alone: the log's rows are classified first (not timed), then turned into events
  and recorded (``ReplaySink``, as ``replay --ledger`` does); events per CPU-second is the
  ledger's own speed on one core. The goal is 100 000 events/s.

CPU time (user and system of the process and its children) is the figure to trust on a
shared machine; wall-clock rates move with the neighbours' load, which is printed.

    python bench/bench_ledger.py                  # 1 000 000 lines
    python bench/bench_ledger.py --lines 200000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gen_postfix_log import generate

from classifier.ledger import Ledger, ReplaySink
from classifier.logreplay import ReplayOptions, replay

OUT = Path(__file__).resolve().parent / "out"
GOAL = 100_000


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(log: Path, db: Path) -> dict[str, Any]:
    """One ``replay --ledger`` in a fresh process; its wall and CPU time and what it said."""
    command = [sys.executable, "-m", "classifier", "replay", str(log), "--ledger", str(db)]
    command += ["--workers", "1", "-o", os.devnull, "--no-progress"]
    before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - before
    if done.returncode not in (0, 1):
        raise SystemExit(f"replay --ledger failed ({done.returncode}): {done.stderr}")
    said = [line for line in done.stderr.splitlines() if "ledger:" in line]
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "said": said}


class _Collect:
    """Keeps what replay hands the ledger, to time the ledger alone afterwards."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []

    def __call__(self, rows: list[Any]) -> None:
        self.chunks.append(rows)


def _child_ledger_alone(log: Path, db: Path) -> None:
    collect = _Collect()
    with open(os.devnull, "w", encoding="utf-8") as sink:
        replay([str(log)], sink, ReplayOptions(ledger=True, records=False), ledger=collect)
    with Ledger.open(db) as ledger:
        writer = ReplaySink(ledger)
        before = os.times()
        start = time.perf_counter()
        for chunk in collect.chunks:
            writer(chunk)
        writer.flush()
        seconds = time.perf_counter() - start
        after = os.times()
        addresses, events = ledger.totals()
    cpu = (after.user - before.user) + (after.system - before.system)
    result = {
        "events": writer.recorded.new,
        "addresses": addresses,
        "events_in_ledger": events,
        "seconds": seconds,
        "cpu_seconds": cpu,
    }
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_ledger_alone(*args.child)
        return

    log = OUT / f"postfix-{args.lines}.log"
    if not log.exists():
        print(f"generating {log} ...", flush=True)
        generate(log, args.lines)
    lines = sum(1 for _ in log.open("rb"))
    load = os.getloadavg()[0]
    machine = f"{_cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine}")
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    print(f"load average before the runs: {load:.2f}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.db"
        first = _command(log, db)
        again = _command(log, db)
        with Ledger.open(db) as ledger:
            addresses, events = ledger.totals()
        alone_db = Path(tmp) / "alone.db"
        command = [sys.executable, __file__, "--child", str(log), str(alone_db)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        alone = json.loads(done.stdout)

    def rates(run: dict[str, Any]) -> dict[str, Any]:
        return {
            **run,
            "lines_per_cpu_s": round(lines / run["cpu_seconds"]),
            "events_per_cpu_s": round(events / run["cpu_seconds"]),
            "lines_per_s": round(lines / run["seconds"]),
            "events_per_s": round(events / run["seconds"]),
        }

    report: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%dT%H:%MZ}",
        "machine": machine,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_before": round(load, 2),
        "file": str(log),
        "lines": lines,
        "events": events,
        "addresses": addresses,
        "goal_events_per_s_per_core": GOAL,
        "replay_ledger_new": rates(first),
        "replay_ledger_again": rates(again),
        "ledger_alone": {
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in alone.items()},
            "events_per_cpu_s": round(alone["events"] / alone["cpu_seconds"]),
            "events_per_s": round(alone["events"] / alone["seconds"]),
        },
    }
    for name in ("replay_ledger_new", "replay_ledger_again"):
        r = report[name]
        print(
            f"{name:<20} {lines:,} lines, {events:,} events: {r['seconds']} s wall, "
            f"{r['cpu_seconds']} s CPU; {r['lines_per_cpu_s']:,} lines and "
            f"{r['events_per_cpu_s']:,} events per CPU-second"
        )
    a = report["ledger_alone"]
    print(
        f"{'ledger alone':<20} {a['events']:,} events into SQLite: {a['seconds']} s wall, "
        f"{a['cpu_seconds']} s CPU; {a['events_per_cpu_s']:,} events per CPU-second "
        f"(goal {GOAL:,})"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ledger.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written {OUT / 'ledger.json'}")


if __name__ == "__main__":
    main()
