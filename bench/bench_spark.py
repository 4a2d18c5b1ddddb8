"""The Spark log job in local[2] against the single-process replay, on the same generated log.

The log is the replay benchmark's (gen_postfix_log.py, a million lines, bench/out/). Each run is
a fresh process. The replay writes JSON lines to /dev/null with one process; spark-replay
writes Parquet to bench/out/ with a local[2] session. The job's time is counted from a running
session (the JVM start, a fixed cost a cluster pays once, is reported apart) and includes
counting the lines of each range and reading the Parquet back for the totals.

CPU-seconds are those of the whole process tree (JVM and Python workers included), read from
/proc (Linux) by the measured process itself just before it ends; for Spark, those of a run
that only starts a session are subtracted. Lines per CPU-second is the per-core figure, and the
one to trust on a shared machine, where wall-clock rates move with the neighbours' load.

    python bench/bench_spark.py                  # 1 000 000 lines, attempts and --final
    python bench/bench_spark.py --lines 200000 --master 'local[2]' --split-mb 16
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyspark
from bench_replay import _run as replay_once
from gen_postfix_log import generate
from pyspark.sql import SparkSession

from classifier.logreplay import ReplayOptions
from classifier.spark import spark_replay
from classifier.spark.columns import quiet_pandas_warning

OUT = Path(__file__).resolve().parent / "out"


def _tree_cpu() -> float:
    """CPU-seconds (user and system) of this process and all its living descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    mine = {os.getpid()}
    grew = True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in mine} - mine
        grew = bool(found)
        mine |= found
    return sum(used.get(pid, 0.0) for pid in mine)


def _spark_child(path: Path, master: str, final: bool, split_mb: int) -> None:
    """One timed Spark job in this (fresh) process; prints its figures as JSON."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    start = time.perf_counter()
    if path == Path("-"):  # the baseline: a session that only starts and stops
        with quiet_pandas_warning():
            session = SparkSession.builder.master(master)
            session = session.config("spark.ui.enabled", "false")
            session = session.config("spark.driver.bindAddress", "127.0.0.1")
            spark = session.config("spark.driver.host", "127.0.0.1").getOrCreate()
        spark.range(1).collect()
        cpu = _tree_cpu()
        spark.stop()
        print(json.dumps({"startup": time.perf_counter() - start, "cpu": cpu}))
        return
    with quiet_pandas_warning():
        spark = (
            SparkSession.builder.master(master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate()
        )
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).collect()  # the session is up
    started = time.perf_counter() - start
    output = OUT / f"spark-{'final' if final else 'rows'}.parquet"
    begin = time.perf_counter()
    result = spark_replay(
        spark,
        [str(path)],
        str(output),
        ReplayOptions(final=final),
        split_bytes=split_mb << 20,
        mode="overwrite",
    )
    seconds = time.perf_counter() - begin
    cores = spark.sparkContext.defaultParallelism
    cpu = _tree_cpu()
    spark.stop()
    shutil.rmtree(output, ignore_errors=True)
    figures = {
        "seconds": seconds,
        "startup": started,
        "lines": result.summary.lines,
        "rows": result.rows,
        "cores": cores,
        "cpu": cpu,
    }
    print(json.dumps(figures))


def _spark_run(path: Path, master: str, final: bool, split_mb: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(path), "--master", master]
    command += ["--split-mb", str(split_mb)] + (["--final"] if final else [])
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _replay_run(path: Path, final: bool) -> dict[str, Any]:
    return replay_once(path, 1, final)  # its "cpu": the process's own accounting


def _java() -> str:
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    except OSError:
        return "no java"
    return done.stderr.splitlines()[0] if done.stderr else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--split-mb", type=int, default=16)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--final", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _spark_child(args.child, args.master, args.final, args.split_mb)
        return

    path = OUT / f"postfix-{args.lines}.log"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        generate(path, args.lines)
    size = path.stat().st_size
    print(
        f"{datetime.date.today()} {platform.machine()} {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"PySpark {pyspark.__version__}, {_java()}",
        flush=True,
    )
    print(f"log: {path.name}, {size / 1e6:.0f} MB", flush=True)
    print(f"load average before the runs: {os.getloadavg()[0]:.2f}", flush=True)
    base = _spark_run(Path("-"), args.master, False, args.split_mb)
    print(f"a session that only starts: {base['startup']:.1f} s, {base['cpu']:.1f} CPU-s")
    rows = []
    for final in (False, True):
        what = "--final" if final else "attempts"
        one = _replay_run(path, final)
        rows.append((f"replay, 1 process, {what}", one["lines"], one["seconds"], one["cpu"]))
        job = _spark_run(path, args.master, final, args.split_mb)
        cpu = job["cpu"] - base["cpu"]
        rows.append((f"spark-replay {args.master}, {what}", job["lines"], job["seconds"], cpu))
        assert job["lines"] == one["lines"] and job["rows"] == one["rows"], (job, one)
    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")
    print()
    print("| run | lines | seconds | lines/s | CPU-seconds | lines per CPU-second |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, lines, seconds, cpu in rows:
        print(
            f"| {name} | {lines:,} | {seconds:.1f} | {lines / seconds:,.0f} | {cpu:.1f} | "
            f"{lines / cpu:,.0f} |"
        )


if __name__ == "__main__":
    main()
