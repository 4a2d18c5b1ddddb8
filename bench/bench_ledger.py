"""Bounce-ledger throughput on the generated Postfix log of a million lines, into SQLite.

What is counted, each run in a fresh Python process, as CPU time (user and system) of that
process: the figure to trust on a shared machine, where wall-clock rates move with the
neighbours' load (printed). Lines are the log's lines; events are the delivery events the
ledger records from them (every attempt: sent, deferred, bounced, expired).

* ``replay`` (no ledger): the log replayed with its records written to /dev/null, 1 worker:
  parsing and classifying, the part of the next runs that is not the ledger.
* ``replay --ledger``, the command as a user runs it (1 worker, records to /dev/null) into a
  new ledger, then again into the same ledger (every event already there): the whole run,
  replay included. Lines and events per CPU-second.
* the ledger alone: the log's rows are classified first (timed apart, "replay, rows for the
  ledger"), then turned into events (the feed) and recorded (SQLite), timed apart and
  together. Events per CPU-second of feed and recording is the ledger's own speed on one
  core; the goal is 100 000.

``--profile N`` prints the ledger-alone part's N costliest functions (cProfile; its overhead
inflates every figure, so the profiled run's rates are not reported). ``--docs`` writes the
figures into README.md and docs/ledger.md between their ``ledger-bench`` markers.

    python bench/bench_ledger.py                  # 1 000 000 lines
    python bench/bench_ledger.py --lines 200000 --profile 15
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gen_postfix_log import generate

from classifier.ledger import Ledger, ReplayFeed
from classifier.ledger.ledger import BATCH
from classifier.ledger.policy import EventRow
from classifier.ledger.schema import ADDRESS_COLUMNS, EVENT_COLUMNS
from classifier.ledger.sqlite import (
    _EVENT_ROW,
    _INSERT_EVENT,
    _SAVE_STATE,
    _STATE_ROW,
    SqliteStore,
    _write,
)
from classifier.logreplay import ReplayOptions, replay

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
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


def _command(log: Path, db: Path | None) -> dict[str, Any]:
    """One ``replay`` (``--ledger db`` unless None) in a fresh process: wall and CPU time."""
    command = [sys.executable, "-m", "classifier", "replay", str(log)]
    if db is not None:
        command += ["--ledger", str(db)]
    command += ["--workers", "1", "-o", os.devnull, "--no-progress"]
    before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - before
    if done.returncode not in (0, 1):
        raise SystemExit(f"replay failed ({done.returncode}): {done.stderr}")
    said = [line for line in done.stderr.splitlines() if "ledger:" in line]
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "said": said}


def _timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """What ``work`` returns, its CPU seconds (user and system) and wall seconds."""
    before, start = os.times(), time.perf_counter()
    value = work()
    after, seconds = os.times(), time.perf_counter() - start
    return value, (after.user - before.user) + (after.system - before.system), seconds


def _child_ledger_alone(log: Path, db: Path, profile: int) -> None:
    chunks: list[Any] = []

    def classify() -> None:
        with open(os.devnull, "w", encoding="utf-8") as sink:
            options = ReplayOptions(ledger=True, records=False)
            replay([str(log)], sink, options, ledger=chunks.append)

    _, replay_cpu, _ = _timed(classify)
    with Ledger.open(db) as ledger:
        feed = ReplayFeed()
        rows: list[EventRow] = []

        def feed_all() -> None:
            for chunk in chunks:
                feed.extend(chunk, rows)

        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        _, feed_cpu, feed_s = _timed(feed_all)
        recorded, record_cpu, record_s = _timed(lambda: ledger.record_rows(rows))
        if profiler:
            profiler.disable()
        addresses, events = ledger.totals()
    floor_cpu = _sqlite_floor(db, db.with_name("floor.db"))
    result: dict[str, Any] = {
        "rows": sum(len(c) for c in chunks),
        "events": recorded.new,
        "batches": recorded.batches,
        "addresses": addresses,
        "events_in_ledger": events,
        "database_bytes": sum(p.stat().st_size for p in db.parent.glob(db.name + "*")),
        "replay_cpu_seconds": replay_cpu,
        "feed_cpu_seconds": feed_cpu,
        "record_cpu_seconds": record_cpu,
        "cpu_seconds": feed_cpu + record_cpu,
        "floor_cpu_seconds": floor_cpu,
        "seconds": feed_s + record_s,
        "profiled": bool(profile),
    }
    if profiler:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(profile)
        result["profile"] = _per_event(text.getvalue(), recorded.new)
    print(json.dumps(result))


def _sqlite_floor(source: Path, target: Path) -> float:
    """CPU seconds that SQLite and Python's driver alone take to write what the ledger wrote.

    The recorded events, in input order, go into a new ledger file a batch at a time, as
    recording does: each batch sorted by address, its event rows inserted and the final state
    of each address it touches written, with the stores' own statements and settings. No
    feed, no fold, no read: a floor that no recording through this schema and driver goes
    under, whatever its Python does.
    """
    with closing(SqliteStore(source)) as src:
        events = src.conn.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM ledger_events ORDER BY time, seq, key"
        ).fetchall()
        query = f"SELECT {', '.join(ADDRESS_COLUMNS)} FROM ledger_addresses"
        states = {row[0]: row for row in src.conn.execute(query)}
    with closing(SqliteStore(target)) as store:
        conn = store.conn

        def write() -> None:
            for start in range(0, len(events), BATCH):
                chunk = sorted(events[start : start + BATCH], key=lambda e: e[1])
                touched = [states[a] for a in dict.fromkeys(e[1] for e in chunk)]
                conn.execute("BEGIN IMMEDIATE")
                _write(conn, _INSERT_EVENT, _EVENT_ROW, chunk)
                _write(conn, _SAVE_STATE, _STATE_ROW, touched)
                conn.execute("COMMIT")

        _, cpu, _ = _timed(write)
    return cpu


def _per_event(text: str, events: int) -> str:
    """cProfile's table with each function's own and total time per event, in microseconds."""
    out = [f"{'calls':>10} {'own us/event':>13} {'total us/event':>15}  function"]
    row = re.compile(r"^\s*(\S+)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s+(.*)$")
    for line in text.splitlines():
        match = row.match(line)
        if match and match.group(1)[0].isdigit():
            calls, own, total, where = match.groups()
            where = where.replace(str(Path(__file__).resolve().parent.parent) + "/", "")
            out.append(
                f"{calls:>10} {1e6 * float(own) / events:>13.2f} "
                f"{1e6 * float(total) / events:>15.2f}  {where}"
            )
    return "\n".join(out)


def _n(value: float) -> str:
    """A count as the docs write it: 260 228."""
    return f"{round(value):,}".replace(",", " ")


def _docs_blocks(r: dict[str, Any]) -> dict[str, str]:
    """The figures as the README's table cell and docs/ledger.md's section show them."""
    plain, new, again, a = (
        r["replay"],
        r["replay_ledger_new"],
        r["replay_ledger_again"],
        r["ledger_alone"],
    )
    lines, events = _n(r["lines"]), _n(r["events"])
    when = (
        f"{r['date'][:10]}, {r['machine']}, load average {r['load_average_before']} before the "
        f"runs, Python {r['python']}, SQLite {r['sqlite']}"
    )
    row = (
        f"ledger alone {_n(a['events_per_cpu_s'])} events per CPU-second (goal {_n(GOAL)}; "
        f"SQLite writing the same rows with nothing else: {_n(a['floor_events_per_cpu_s'])}); "
        f"`replay --ledger` end to end {_n(new['lines_per_cpu_s'])} lines and "
        f"{_n(new['events_per_cpu_s'])} events per CPU-second, plain `replay` in the same run "
        f"{_n(plain['lines_per_cpu_s'])} lines per CPU-second ({when})"
    )
    runs = (
        ("`replay` without the ledger: parse, classify, records to /dev/null", plain, False),
        ("`replay --ledger` into a new ledger: the whole run", new, True),
        ("the same replay again (every event already recorded)", again, True),
    )
    rows = [
        f"| {label} | {lines} | {events if counted else ''} | {run['cpu_seconds']:.1f} s | "
        f"{_n(run['lines_per_cpu_s'])} lines"
        + (f", {_n(run['events_per_cpu_s'])} events |" if counted else " |")
        for label, run, counted in runs
    ]
    parts = (
        ("the ledger alone: the feed (each row's address, key and time)", "feed_", ""),
        (f"the ledger alone: recording in SQLite ({_n(a['batches'])} batches)", "record_", ""),
        (
            "**the ledger alone: feed and recording**",
            "",
            f" (goal {_n(GOAL)}, {1e6 / GOAL:.0f} us)",
        ),
        (
            "SQLite alone: the same event and state rows written with nothing else (the floor)",
            "floor_",
            "",
        ),
    )
    rows += [
        f"| {label} | | {events} | {a[part + 'cpu_seconds']:.1f} s | "
        f"{_n(a[part + 'events_per_cpu_s'])} events, "
        f"{1e6 / max(a[part + 'events_per_cpu_s'], 1):.1f} us each{goal} |"
        for label, part, goal in parts
    ]
    table = "\n".join(
        [
            f"The last run ({when}):",
            "",
            "| run | lines | events | CPU | per CPU-second |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
            f"The ledger is {r['ledger_share_percent']} % of the whole run's CPU time (its "
            "difference with the plain replay); the rest is the replay's parsing and "
            f"classifying. The ledger's file holds the {_n(a['events_in_ledger'])} events of "
            f"{_n(a['addresses'])} addresses in {a['database_bytes'] / 1e6:.0f} MB, "
            f"{_n(a['database_bytes'] / a['events_in_ledger'])} bytes per event with its address.",
        ]
    )
    return {"ledger_row": row, "ledger_table": table}


#: A block of figures written by ``--docs``: ``<!-- bench:NAME -->...<!-- /bench -->``.
MARKER = re.compile(r"<!-- bench:([a-z_]+) -->(.*?)<!-- /bench -->", re.DOTALL)
DOCS = (ROOT / "README.md", ROOT / "docs" / "ledger.md")


def write_docs(report: dict[str, Any]) -> int:
    """Put the report's figures between the docs' markers; returns the blocks written."""
    blocks, written = _docs_blocks(report), 0
    for path in DOCS:
        text = path.read_text(encoding="utf-8")

        def fresh(match: re.Match[str]) -> str:
            nonlocal written
            name = match.group(1)
            if name not in blocks:
                return match.group(0)
            written += 1
            body = blocks[name]
            if "\n" in match.group(2):
                body = f"\n{body}\n"
            return f"<!-- bench:{name} -->{body}<!-- /bench -->"

        path.write_text(MARKER.sub(fresh, text), encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="top N functions")
    parser.add_argument("--docs", action="store_true", help="write the figures into the docs")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_ledger_alone(args.child[0], args.child[1], args.profile)
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
    print(
        "counted: CPU seconds (user + system) of each run's process; lines of the log; events "
        "recorded from them (every delivery attempt)",
        flush=True,
    )

    with tempfile.TemporaryDirectory() as tmp:
        plain = _command(log, None)
        db = Path(tmp) / "ledger.db"
        first = _command(log, db)
        again = _command(log, db)
        with Ledger.open(db) as ledger:
            addresses, events = ledger.totals()
        alone_db = Path(tmp) / "alone.db"
        command = [sys.executable, __file__, "--child", str(log), str(alone_db)]
        command += ["--profile", str(args.profile)]
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

    profile = alone.pop("profile", "")
    n = alone["events"]
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
        "replay": rates(plain),
        "replay_ledger_new": rates(first),
        "replay_ledger_again": rates(again),
        "ledger_share_percent": round(
            100 * (first["cpu_seconds"] - plain["cpu_seconds"]) / first["cpu_seconds"]
        ),
        "ledger_alone": {
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in alone.items()},
            "replay_rows_per_cpu_s": round(alone["rows"] / alone["replay_cpu_seconds"]),
            "feed_events_per_cpu_s": round(n / alone["feed_cpu_seconds"]),
            "record_events_per_cpu_s": round(n / alone["record_cpu_seconds"]),
            "events_per_cpu_s": round(n / alone["cpu_seconds"]),
            "floor_events_per_cpu_s": round(n / alone["floor_cpu_seconds"]),
            "events_per_s": round(n / alone["seconds"]),
        },
    }
    p = report["replay"]
    print(
        f"{'replay (no ledger)':<28} {lines:,} lines: {p['seconds']} s wall, "
        f"{p['cpu_seconds']} s CPU; {p['lines_per_cpu_s']:,} lines per CPU-second"
    )
    for name, label in (
        ("replay_ledger_new", "replay --ledger (new)"),
        ("replay_ledger_again", "replay --ledger (again)"),
    ):
        r = report[name]
        print(
            f"{label:<28} {lines:,} lines, {events:,} events: {r['seconds']} s wall, "
            f"{r['cpu_seconds']} s CPU; {r['lines_per_cpu_s']:,} lines and "
            f"{r['events_per_cpu_s']:,} events per CPU-second (the whole run)"
        )
    print(
        f"{'':<28} the ledger: {report['ledger_share_percent']} % of the new run's CPU time "
        "(its difference with the plain replay)"
    )
    a = report["ledger_alone"]
    tag = " (profiled: cProfile inflates these)" if a["profiled"] else ""
    for label, cpu, rate in (
        ("ledger alone: feed", a["feed_cpu_seconds"], a["feed_events_per_cpu_s"]),
        ("ledger alone: record", a["record_cpu_seconds"], a["record_events_per_cpu_s"]),
        ("ledger alone: both", a["cpu_seconds"], a["events_per_cpu_s"]),
        ("SQLite floor: rows alone", a["floor_cpu_seconds"], a["floor_events_per_cpu_s"]),
    ):
        print(
            f"{label:<28} {n:,} events into SQLite: {cpu} s CPU, {1e6 * cpu / n:.1f} us per "
            f"event; {rate:,} events per CPU-second{tag}"
        )
    print(
        f"{'':<28} goal {GOAL:,} events per CPU-second; rows for the ledger classified "
        f"before, apart: {a['replay_cpu_seconds']} s CPU ({a['rows']:,} rows)"
    )
    if profile:
        print(f"\nwhere the ledger's time goes (cProfile, per event):\n{profile}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ledger.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written {OUT / 'ledger.json'}")
    if args.docs:
        if a["profiled"]:
            raise SystemExit("--docs takes the figures of a run without --profile")
        print(f"{write_docs(report)} block(s) of figures written into the docs")


if __name__ == "__main__":
    main()
