"""``smtp-classifier spark-replay``: the replay of MTA logs as a Spark job, written as Parquet."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..logreplay import ReplayOptions
from ..logs import FORMATS
from .replay import _report

__all__ = ["register", "run"]

_DESCRIPTION = """\
Replay MTA logs (Postfix, Exim, Sendmail, PowerMTA, KumoMTA; plain or gzip) on Apache Spark
and write one Parquet row per delivery attempt (or, with --final, per message and recipient):
the same rows as "smtp-classifier replay", in the replay's columns, empty values as nulls.
Inputs must be readable at the same path on every executor (local mode, or a shared file
system). Without a Spark master configured (spark-submit sets one), runs in local[*].
Needs the "spark" extra (PySpark 4) and Java 17 or later.
"""
_EPILOG = """\
exit codes: 0 every line read and every delivery classified; 1 some input lines were bad or
some delivery got no code; 2 usage error, PySpark or Java missing, or OUTPUT exists (see
--overwrite); 3 an input could not be read.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the spark-replay subcommand."""
    p = sub.add_parser(
        "spark-replay",
        help="replay MTA logs on Apache Spark into Parquet (same rows as replay)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="log files, plain or gzip")
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="Parquet directory")
    p.add_argument("--final", action="store_true", help="last word per message and recipient")
    p.add_argument(
        "--format", dest="fmt", choices=FORMATS, default="auto", help="input format (auto)"
    )
    p.add_argument("--field", help="reply column of a generic CSV/JSON export")
    p.add_argument("--status-field", help="status column of a generic CSV/JSON export")
    p.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    p.add_argument("--split-mb", type=int, default=32, help="MB of a plain file per task (32)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--summary-json", action="store_true", help="print the counts as JSON")
    p.add_argument(
        "--max-line-bytes",
        type=int,
        default=ReplayOptions().max_line_bytes,
        help="longer lines are counted, not read",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the job; returns the exit code."""
    if args.fmt in ("csv", "json") and not args.field:
        print(f"smtp-classifier spark-replay: --format {args.fmt} needs --field", file=sys.stderr)
        return 2
    if args.split_mb < 1 or args.max_line_bytes < 1:
        print("smtp-classifier spark-replay: numbers must be positive", file=sys.stderr)
        return 2
    for name in args.inputs:  # before starting a JVM: a missing input fails at once
        if not os.path.isfile(name) or not os.access(name, os.R_OK):
            print(f"smtp-classifier spark-replay: cannot read {name}", file=sys.stderr)
            return 3
    if not args.overwrite and os.path.exists(args.output):
        print(
            f"smtp-classifier spark-replay: {args.output} exists (use --overwrite)",
            file=sys.stderr,
        )
        return 2
    try:
        from pyspark import SparkConf  # noqa: PLC0415 - the spark extra is optional
        from pyspark.sql import SparkSession  # noqa: PLC0415

        from ..spark import spark_replay  # noqa: PLC0415
        from ..spark.columns import quiet_pandas_warning  # noqa: PLC0415
    except ImportError:
        print(
            "smtp-classifier spark-replay: PySpark is missing; install the extra: "
            "pip install 'smtp-classifier[spark]'",
            file=sys.stderr,
        )
        return 2
    # Local Python workers must run this interpreter, the one with this package installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("smtp-classifier spark-replay")
    if args.master:
        builder = builder.master(args.master)
    elif not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if (args.master or "local").startswith("local") and not SparkConf().contains("spark.master"):
        # Local mode talks to itself only: keep the driver on loopback.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1")
    try:
        with quiet_pandas_warning():
            spark = builder.getOrCreate()
    except Exception as exc:  # PySpark raises its own errors when Java cannot start
        print(f"smtp-classifier spark-replay: Spark could not start: {exc}", file=sys.stderr)
        return 2
    options = ReplayOptions(
        fmt=args.fmt,
        field=args.field,
        status_field=args.status_field,
        final=args.final,
        max_line_bytes=args.max_line_bytes,
    )
    try:
        result = spark_replay(
            spark,
            args.inputs,
            args.output,
            options,
            split_bytes=args.split_mb << 20,
            mode="overwrite" if args.overwrite else "errorifexists",
        )
    finally:
        spark.stop()
    summary = result.summary
    if args.summary_json:
        data = summary.to_dict()
        data["output"] = args.output
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        print(
            f"{summary.lines} lines read, {result.rows} rows written to {args.output}",
            file=sys.stderr,
        )
    _report(summary, sys.stderr)
    return 0 if summary.clean else 1
