"""The log job: MTA logs replayed on Spark, written as Parquet, row for row what ``replay`` gives.

The files are cut into byte ranges at line starts (a gzip file, a CSV export with a header and
any file read with ``--field`` stay whole), a first small job counts the lines of each range so
every row keeps its line number, and each task then reads its range with the replay's own
reader, line parsers and classification (``classifier.replay``), so the rows are the ones
``replay`` writes. With ``final`` the rows are grouped by queue id across all files, sorted
back into input order, and each message's rows go through the replay's own final-outcome
logic: deferrals then expiry end as 133, exactly as on one machine (and with no window, since
a message's rows are all in one place).

A delivery's sender and Message-ID come from its message's arrival lines, which may sit in
another range or file. Each task fills what its own lines tell (as a block of ``replay``
does), flags the rows that still want a field, and emits its arrival facts as rows of their
own: (file, line, queue id, sender, Message-ID). Rows and facts are then grouped by queue id
and ordered by (file, line); a flagged row takes, field by field, the value of the last fact
before it that names the field: the rule of one parser reading every input in order. Unlike
``replay`` (the last ``SENDERS_MAX`` messages), nothing is forgotten.

Inputs are paths every executor can read (local mode, or a shared file system mounted at the
same place on every node). Parquet columns are the replay's record fields; empty values are
null.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any, Final

from ..errors import InputError

# The replay's reader, chunking, per-chunk parsing and final-outcome logic, used as they are.
from ..logreplay.final import FinalOutcomes as _Final
from ..logreplay.final import Packed as _Packed
from ..logreplay.final import expire_packed as _expire_packed
from ..logreplay.final import view_packed as _view_packed
from ..logreplay.rows import FIELDS, refill
from ..logreplay.run import ReplayOptions, _ChunkResult, run_chunk
from ..logreplay.sources import Source as _Source
from ..logreplay.sources import chunks as _chunks
from ..logreplay.summary import ReplaySummary
from ..logs import DONE, EXPIRED, LineParser, powermta_header
from .columns import quiet_pandas_warning

__all__ = [
    "DEFAULT_SPLIT_BYTES",
    "LogRange",
    "SparkReplayResult",
    "plan_ranges",
    "spark_replay",
]

#: Bytes of a plain file per task: large enough that a task's start-up is noise.
DEFAULT_SPLIT_BYTES: Final = 32 << 20
_INT_FIELDS: Final = frozenset({"line"})
#: Columns of the replay's rows that are booleans (the code's retry and final).
_BOOL_FIELDS: Final = frozenset({"retry", "final"})


def _arrow_type(name: str) -> Any:
    import pyarrow as pa  # noqa: PLC0415 - on the executors

    if name in _INT_FIELDS:
        return pa.int64()
    return pa.bool_() if name in _BOOL_FIELDS else pa.string()


#: A final window no message can fill: on Spark each message's rows are grouped first.
_NO_WINDOW: Final = 1 << 62


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRange:
    """Part of one input: whole lines from byte ``start`` to ``end``, one task's work."""

    #: Position of the input among those given (output order and --final order follow it).
    index: int
    #: The input as the caller named it (the rows' ``source``).
    name: str
    #: Its absolute path, read by the executors.
    path: str
    start: int
    end: int
    #: The file is one task (gzip, CSV with a header, read with --field, or small).
    whole: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SparkReplayResult:
    """What the job read and wrote."""

    #: The replay's counts: lines per kind, problems, and the codes of the rows written.
    summary: ReplaySummary
    #: Rows in the Parquet output.
    rows: int
    #: Rows per code ("unclassified" for rows without one).
    codes: dict[str, int]


def _line_start_at_or_after(handle: IO[bytes], offset: int, size: int) -> int:
    """The first line start at or after ``offset`` (``size`` when there is none)."""
    if offset <= 0:
        return 0
    handle.seek(offset - 1)
    position = offset - 1
    while True:
        block = handle.read(1 << 16)
        if not block:
            return size
        cut = block.find(b"\n")
        if cut >= 0:
            return position + cut + 1
        position += len(block)


def plan_ranges(
    names: Sequence[str], options: ReplayOptions, split_bytes: int = DEFAULT_SPLIT_BYTES
) -> list[LogRange]:
    """Cut each input into ranges of about ``split_bytes`` that start at line starts."""
    ranges: list[LogRange] = []
    scout = LineParser(options.fmt, field=options.field, status_field=options.status_field)
    for index, name in enumerate(names):
        path = os.path.abspath(name)
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as handle:
                head = handle.read(4096)
                first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
                whole = (
                    head.startswith(b"\x1f\x8b")
                    or options.field is not None
                    or options.fmt in ("csv", "powermta")
                    or powermta_header(first) is not None
                    or scout.observe_header(first, first=True)
                    or size <= split_bytes
                )
                starts = [0]
                if not whole:
                    for offset in range(split_bytes, size, split_bytes):
                        start = _line_start_at_or_after(handle, offset, size)
                        if starts[-1] < start < size:
                            starts.append(start)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
        bounds = [*starts, size]
        for start, end in itertools.pairwise(bounds):
            ranges.append(
                LogRange(index=index, name=name, path=path, start=start, end=end, whole=whole)
            )
    return ranges


def _open_range(path: str, start: int, end: int) -> IO[bytes]:
    """A buffered stream over bytes ``start``..``end`` of ``path`` (peek works, for gzip)."""
    import io  # noqa: PLC0415 - kept beside its only use

    class Limited(io.RawIOBase):
        def __init__(self) -> None:
            self.handle = open(path, "rb")  # noqa: SIM115 - closed with the stream
            self.handle.seek(start)
            self.left = end - start
            self.done = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            size = min(len(buffer), self.left)
            if size <= 0:
                return 0
            data = self.handle.read(size)
            buffer[: len(data)] = data
            self.left -= len(data)
            self.done += len(data)
            return len(data)

        def tell(self) -> int:
            return self.done

        def close(self) -> None:
            self.handle.close()
            super().close()

    return io.BufferedReader(Limited(), 1 << 16)


def _count_lines(path: str, start: int, end: int) -> int:
    """Line feeds in bytes ``start``..``end`` of ``path``."""
    count = 0
    with _open_range(path, start, end) as stream:
        while block := stream.read(1 << 20):
            count += block.count(b"\n")
    return count


def _task_results(task: dict[str, Any], options: ReplayOptions) -> Iterator[_ChunkResult]:
    """Replay one range: the replay's chunks, shifted to the range's first line number."""
    summary: ReplaySummary = task["summary"]
    offset = task["first_line"] - 1
    stream = None if task["whole"] else _open_range(task["path"], task["start"], task["end"])
    source = _Source(task["path"], stream)
    source.name = task["name"]  # rows name the input as the caller did, like replay
    try:
        scout = LineParser(options.fmt, field=options.field, status_field=options.status_field)
        sizes = (options.chunk_bytes, options.max_line_bytes)
        for piece in _chunks([source], scout, sizes, summary.problems, lambda: None):
            chunk = piece
            if offset:
                chunk = replace(
                    piece,
                    first_line=piece.first_line + offset,
                    overlong=tuple(n + offset for n in piece.overlong),
                )
            result = run_chunk(chunk, options)
            summary.merge(result.summary)
            yield result
    finally:
        if stream is not None:
            stream.close()


def _rows_batches(rendered: str) -> Iterator[Any]:
    """The replay's rendered JSON lines as Arrow record batches; empty strings become nulls."""
    table = _rows_table(rendered)
    if table is not None:
        yield from table.to_batches()


def _rows_table(rendered: str) -> Any:
    """The replay's rendered JSON lines as an Arrow table (None when there are none); empty
    strings become nulls.

    A lone surrogate (a JSON log may carry one) cannot be stored as UTF-8: it becomes "?".
    """
    import pyarrow as pa  # noqa: PLC0415 - on the executors
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.json as pj  # noqa: PLC0415

    data = rendered.encode("utf-8", errors="replace")
    if not data.strip():
        return None
    schema = pa.schema([pa.field(f, _arrow_type(f)) for f in FIELDS])
    table = pj.read_json(
        pa.BufferReader(data),
        read_options=pj.ReadOptions(use_threads=False, block_size=max(1 << 20, len(data) + 1)),
        parse_options=pj.ParseOptions(explicit_schema=schema),
    )
    null = pa.scalar(None, pa.string())
    columns = [
        column
        if name in _INT_FIELDS or name in _BOOL_FIELDS
        else pc.if_else(pc.equal(column, ""), null, column)
        for name, column in zip(table.column_names, table.columns, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=schema)


#: Columns a task adds to its rows for the join of arrival facts: the input's position, whether
#: the row is an arrival fact, the fields a delivery row still wants, and a fact's values (null
#: for a field its line does not name, "" for one it names empty).
_JOIN_FIELDS: Final = (
    ("_file", "long"),
    ("_arrival", "bool"),
    ("_want_from", "bool"),
    ("_want_id", "bool"),
    ("_from", "string"),
    ("_id", "string"),
)


def _joined_batches(result: _ChunkResult, file: int) -> Iterator[Any]:
    """One block's rows with the join's columns, then its arrival facts as rows of their own
    (at its last line, after the rows of that line)."""
    import pyarrow as pa  # noqa: PLC0415 - on the executors

    schema = _joined_schema_arrow()
    table = _rows_table(result.text)
    if table is not None:
        size = table.num_rows
        want_from = [False] * size
        want_id = [False] * size
        for wait in result.waiting:
            want_from[wait.index] = wait.sender
            want_id[wait.index] = wait.message_id
        extra = [
            pa.array([file] * size, pa.int64()),
            pa.array([False] * size, pa.bool_()),
            pa.array(want_from, pa.bool_()),
            pa.array(want_id, pa.bool_()),
            pa.nulls(size, pa.string()),
            pa.nulls(size, pa.string()),
        ]
        yield from pa.Table.from_arrays([*table.columns, *extra], schema=schema).to_batches()
    if result.arrivals:
        size = len(result.arrivals)
        columns: dict[str, Any] = {name: pa.nulls(size, schema.field(name).type) for name in FIELDS}
        columns["line"] = pa.array([result.last_line] * size, pa.int64())
        columns["id"] = pa.array(list(result.arrivals), pa.string())
        columns["_file"] = pa.array([file] * size, pa.int64())
        columns["_arrival"] = pa.array([True] * size, pa.bool_())
        columns["_want_from"] = pa.array([False] * size, pa.bool_())
        columns["_want_id"] = pa.array([False] * size, pa.bool_())
        facts = result.arrivals.values()
        columns["_from"] = pa.array([sender for sender, _ in facts], pa.string())
        columns["_id"] = pa.array([message_id for _, message_id in facts], pa.string())
        yield pa.RecordBatch.from_pydict(columns, schema=schema)


def _joined_schema_arrow() -> Any:
    import pyarrow as pa  # noqa: PLC0415 - on the executors

    kinds = {"long": pa.int64(), "bool": pa.bool_(), "string": pa.string()}
    return pa.schema(
        [pa.field(f, _arrow_type(f)) for f in FIELDS]
        + [pa.field(name, kinds[kind]) for name, kind in _JOIN_FIELDS]
    )


def _output_schema() -> Any:
    from pyspark.sql.types import (  # noqa: PLC0415 - the spark extra is optional
        BooleanType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    def kind(name: str) -> Any:
        if name in _INT_FIELDS:
            return LongType()
        return BooleanType() if name in _BOOL_FIELDS else StringType()

    return StructType([StructField(f, kind(f), True) for f in FIELDS])


def _joined_schema() -> Any:
    from pyspark.sql.types import (  # noqa: PLC0415 - the spark extra is optional
        BooleanType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    kinds = {"long": LongType(), "bool": BooleanType(), "string": StringType()}
    fields = list(_output_schema().fields)
    fields += [StructField(name, kinds[kind], True) for name, kind in _JOIN_FIELDS]
    return StructType(fields)


def _fill_from_arrivals(rows: Any) -> Any:
    """Delivery rows with the fields they want taken from the last arrival fact before them."""
    from pyspark.sql import Window  # noqa: PLC0415 - the spark extra is optional
    from pyspark.sql import functions as F  # noqa: PLC0415, N812

    key = F.coalesce(F.col("id"), F.concat_ws(":", F.col("_file"), F.col("line")))
    before = (
        Window.partitionBy("_key")
        .orderBy("_file", "line", "_arrival")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )

    def taken(column: str, want: str, fact: str) -> Any:
        found = F.last(F.col(fact), ignorenulls=True).over(before)
        return F.when(F.col(want), F.nullif(found, F.lit(""))).otherwise(F.col(column))

    return (
        rows.withColumn("_key", key)
        .withColumn("from", taken("from", "_want_from", "_from"))
        .withColumn("message_id", taken("message_id", "_want_id", "_id"))
        .filter(~F.col("_arrival"))
        .select(*FIELDS)
    )


def _packed_schema() -> Any:
    from pyspark.sql.types import (  # noqa: PLC0415 - the spark extra is optional
        BooleanType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    return StructType(
        [
            StructField("qid", StringType(), False),
            StructField("file", LongType(), False),
            StructField("start", LongType(), False),
            StructField("seq", LongType(), False),
            StructField("recipient", StringType(), False),
            StructField("status", StringType(), False),
            StructField("message_level", BooleanType(), False),
            StructField("text", StringType(), False),
            StructField("expired", StringType(), True),
            StructField("arrival", BooleanType(), False),
            StructField("want_from", BooleanType(), False),
            StructField("want_id", BooleanType(), False),
            StructField("from", StringType(), True),
            StructField("message_id", StringType(), True),
        ]
    )


def spark_replay(
    spark: Any,
    names: Sequence[str],
    output: str,
    options: ReplayOptions | None = None,
    *,
    split_bytes: int = DEFAULT_SPLIT_BYTES,
    mode: str = "errorifexists",
) -> SparkReplayResult:
    """Replay ``names`` on ``spark`` and write the rows as Parquet to ``output``.

    ``options`` are the replay's (format, reply field, ``final``, line limit). Raises
    ``InputError`` when an input cannot be read at all; bad lines are counted in the
    summary, as by ``replay``.
    """
    options = options if options is not None else ReplayOptions()
    LineParser(options.fmt, field=options.field)  # reject a bad format before any work
    options = replace(options, workers=1, records=True, output="json", final_window=_NO_WINDOW)
    sc = spark.sparkContext
    ranges = plan_ranges(names, options, split_bytes)

    # Line numbers: each range starts after the lines of the ranges before it in its file.
    counted = [r for r in ranges if not r.whole]
    counts: dict[tuple[int, int], int] = {}
    if counted:
        work = [(r.index, r.start, r.path, r.end) for r in counted]
        pairs = (
            sc.parallelize(work, len(work))
            .map(lambda w: ((w[0], w[1]), _count_lines(w[2], w[1], w[3])))
            .collect()
        )
        counts = dict(pairs)
    tasks = []
    before: dict[int, int] = {}
    for r in ranges:
        first_line = before.get(r.index, 0) + 1
        before[r.index] = first_line - 1 + counts.get((r.index, r.start), 0)
        tasks.append(
            {
                "index": r.index,
                "name": r.name,
                "path": r.path,
                "start": r.start,
                "end": r.end,
                "whole": r.whole,
                "first_line": first_line,
            }
        )

    totals = sc.accumulator(ReplaySummary(), _SummaryParam())  # duck-typed AccumulatorParam
    final = options.final

    def replay_ranges(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # noqa: PLC0415 - runs on the executors

        for batch in batches:
            for task in batch.to_pylist():
                summary = ReplaySummary()
                task["summary"] = summary
                if final:
                    columns: dict[str, list[Any]] = {
                        name: [] for name in _packed_schema().fieldNames()
                    }
                    seq = itertools.count()
                    for result in _task_results(task, options):
                        _add_packed(columns, result, task["index"], task["start"], seq)
                    yield pa.RecordBatch.from_pydict(columns)
                else:
                    for result in _task_results(task, options):
                        yield from _joined_batches(result, task["index"])
                totals.add(summary)

    with quiet_pandas_warning():
        task_frame = spark.createDataFrame(
            sc.parallelize([tuple(t.values()) for t in tasks], max(1, len(tasks))),
            "index long, name string, path string, start long, end long, whole boolean, "
            "first_line long",
        )
        if not final:
            rows = _fill_from_arrivals(task_frame.mapInArrow(replay_ranges, _joined_schema()))
        else:
            packed = task_frame.mapInArrow(replay_ranges, _packed_schema())
            grouped = packed.repartition("qid").sortWithinPartitions("qid", "file", "start", "seq")
            rows = grouped.mapInArrow(_final_rows, _output_schema())
        rows.write.mode(mode).parquet(output)
    written = spark.read.parquet(output)
    codes = {
        (row["code"] or "unclassified"): int(row["count"])
        for row in written.groupBy("code").count().collect()
    }
    summary = totals.value
    summary.codes.clear()
    summary.codes.update(codes)
    summary.rows = sum(codes.values())
    return SparkReplayResult(summary=summary, rows=summary.rows, codes=codes)


class _SummaryParam:
    """Merges the summaries of the tasks (PySpark's AccumulatorParam protocol)."""

    def zero(self, value: ReplaySummary) -> ReplaySummary:
        return ReplaySummary()

    def addInPlace(self, value1: ReplaySummary, value2: ReplaySummary) -> ReplaySummary:  # noqa: N802 - PySpark's name
        value1.merge(value2)
        return value1


def _add_packed(
    columns: dict[str, list[Any]],
    result: _ChunkResult,
    file: int,
    start: int,
    seq: Iterator[int],
) -> None:
    """One block's packed rows, then its arrival facts (after its last line), as columns."""
    wanted = {wait.index: wait for wait in result.waiting}

    def add(qid: str, arrival: bool, sender: str | None, message_id: str | None) -> None:
        columns["qid"].append(qid)
        columns["file"].append(file)
        columns["start"].append(start)
        columns["seq"].append(next(seq))
        columns["arrival"].append(arrival)
        columns["from"].append(sender)
        columns["message_id"].append(message_id)

    for index, packed in enumerate(result.packed):
        wait = wanted.get(index)
        expired = packed[6]
        add(packed[0], False, None, None)
        columns["recipient"].append(packed[1])
        columns["status"].append(packed[2])
        columns["message_level"].append(packed[3])
        columns["text"].append(packed[4])
        columns["expired"].append(None if expired is None else expired[4])
        columns["want_from"].append(wait is not None and wait.sender)
        columns["want_id"].append(wait is not None and wait.message_id)
    for qid, (sender, message_id) in result.arrivals.items():
        add(qid, True, sender, message_id)
        for name in ("recipient", "status", "text"):
            columns[name].append("")
        columns["message_level"].append(False)
        columns["expired"].append(None)
        columns["want_from"].append(False)
        columns["want_id"].append(False)


def _final_rows(batches: Iterator[Any]) -> Iterator[Any]:
    """Each message's rows, in input order, through the replay's final-outcome logic; a row
    that wants a sender or Message-ID takes the last one its message's arrival facts named."""
    out: list[_Packed] = []
    current: str | None = None
    final: _Final[_Packed] | None = None
    sender: str | None = None
    message_id: str | None = None
    for batch in batches:
        columns = batch.to_pydict()
        for qid, recipient, status, message_level, rendered, relabelled_text, *join in zip(
            columns["qid"],
            columns["recipient"],
            columns["status"],
            columns["message_level"],
            columns["text"],
            columns["expired"],
            columns["arrival"],
            columns["want_from"],
            columns["want_id"],
            columns["from"],
            columns["message_id"],
            strict=True,
        ):
            if qid != current:
                if final is not None:
                    final.close()
                current = qid
                final = _Final(_NO_WINDOW, out.append, _view_packed, _expire_packed)
                sender = message_id = None
            assert final is not None
            arrival, want_from, want_id, named_from, named_id = join
            if arrival:
                sender = sender if named_from is None else named_from
                message_id = message_id if named_id is None else named_id
                continue
            text, expired = rendered, relabelled_text
            if want_from or want_id:
                fields = (sender if want_from else None, message_id if want_id else None)
                text = refill(text, *fields)
                if expired is not None:
                    expired = refill(expired, *fields)
            relabelled = None
            if expired is not None:
                relabelled = _Packed(
                    qid, recipient, EXPIRED, message_level, expired, _NO_KEYS, None
                )
            final.add(_Packed(qid, recipient, status, message_level, text, _NO_KEYS, relabelled))
        if len(out) >= 4096:
            yield from _rows_batches("".join(row[4] for row in out if row[2] != DONE))
            out.clear()
    if final is not None:
        final.close()
    if out:
        yield from _rows_batches("".join(row[4] for row in out if row[2] != DONE))


#: Final outcomes need no summary keys here: the summary counts come from the Parquet output.
_NO_KEYS: Final = ("", "", "", "", "", "")
