"""Replaying MTA logs: every delivery line classified, in order, in bounded memory.

The input is read line by line (plain or gzip files, or a stream) and cut into chunks; each
chunk is parsed and classified by ``run_chunk``, in this process or in forked workers, and the
results are written in input order. Every input line is counted as exactly one of delivery,
skipped, unrecognised, malformed or overlong, so the totals always add up to the lines read.

With ``final`` only the last word per (queue id, recipient) is written: a deferral followed by
the queue giving up (Postfix ``status=expired``) ends as 133. Messages are written when the MTA
says it is done with them (Postfix ``removed``, Exim ``Completed``, an expiry) or when the
window of pending recipients is full, so memory stays bounded on any log.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import multiprocessing
import os
import sys
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any, Final, TextIO

import regex

from .engine import classify
from .enums import Verdict
from .errors import InputError
from .logs import BOUNCED, DONE, EXPIRED, SENT, LineKind, LineParser, LogRecord
from .result import Classification

__all__ = [
    "FIELDS",
    "ReplayOptions",
    "ReplayRow",
    "ReplaySummary",
    "classify_record",
    "replay",
    "replay_lines",
    "template_of",
]

#: Output columns, in order (JSON keys and the CSV header).
FIELDS: Final = (
    "source",
    "line",
    "time",
    "id",
    "recipient",
    "mta",
    "mta_status",
    "dsn",
    "code",
    "estado",
    "reason",
    "rule",
    "tier",
    "stage",
    "matched",
    "text",
    "note",
)

#: Lines per chunk handed to a worker: large enough that passing it between processes is
#: cheap compared with classifying it, small enough to keep the pipeline busy.
CHUNK_LINES: Final = 4000
#: Samples of line numbers kept per kind of problem.
SAMPLES: Final = 10
#: Distinct reply templates kept for the summary (the rarest are dropped beyond it).
TEMPLATES_MAX: Final = 5000
_EXPIRED_WHY: Final = "the MTA gave up after deferrals (queue lifetime expired)"
_GAVE_UP_WHY: Final = "the MTA bounced the recipient on a temporary failure: it gave up"


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How to read and what to write; shared by the CLI and library callers."""

    #: Log format: auto, postfix, exim, sendmail, powermta, kumomta, csv or json.
    fmt: str = "auto"
    #: Reply column of a generic CSV/JSON export (dotted path for nested JSON keys).
    field: str | None = None
    #: Status column of a generic export, when not one of the usual names.
    status_field: str | None = None
    #: Write only the last word per (queue id, recipient).
    final: bool = False
    #: Output format: "json" (JSON lines) or "csv".
    output: str = "json"
    #: Write records (False: only count them, for a summary).
    records: bool = True
    #: Lines longer than this many bytes are counted as overlong and not parsed.
    max_line_bytes: int = 1 << 20
    #: Worker processes (1: everything in this process).
    workers: int = 1
    #: Pending (id, recipient) pairs kept by ``final`` before the oldest are written.
    final_window: int = 1_000_000
    #: Lines per chunk.
    chunk_lines: int = CHUNK_LINES


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One recipient's delivery attempt (or final outcome) and its classification."""

    source: str
    line: int
    record: LogRecord
    recipient: str
    result: Classification

    def to_dict(self) -> dict[str, Any]:
        """The output record as a JSON-ready mapping (keys are ``FIELDS``)."""
        r, c = self.record, self.result
        return {
            "source": self.source,
            "line": self.line,
            "time": r.time,
            "id": r.queue_id,
            "recipient": self.recipient,
            "mta": r.mta,
            "mta_status": r.status,
            "dsn": r.dsn,
            "code": c.code,
            "estado": c.estado,
            "reason": c.reason,
            "rule": c.rule_id,
            "tier": c.tier.value,
            "stage": c.stage.value,
            "matched": c.matched,
            "text": c.text,
            "note": c.note,
        }


# --- classification of one record ------------------------------------------------------------

_sent_base: Classification | None = None


def _sent(reply: str) -> Classification:
    """Status sent is 250 whatever the text says ("delivered to mailbox", a queue id)."""
    global _sent_base  # noqa: PLW0603 - built once, lazily, then shared (and fork-inherited)
    if _sent_base is None:
        _sent_base = classify("250 2.0.0 Ok").with_code(
            "250", reason="delivered", why="the MTA logged the delivery as sent"
        )
    return replace(_sent_base, text=reply[:512])


def classify_record(record: LogRecord) -> Classification:
    """The classification of one record: its text, read in the light of the MTA's status.

    sent → 250; expired → 133; a bounce on a temporary reply → 133 (the MTA gave up);
    otherwise the code the reply's words give (a deferral stays a retry code: 202, 421, 113).
    """
    status = record.status
    if status == SENT:
        return _sent(record.reply)
    result = classify(record.reply, stage=record.stage)
    if status == EXPIRED:
        return result.with_code("133", reason="expired", why=_EXPIRED_WHY)
    if status == BOUNCED and result.verdict is Verdict.TRANSIENT:
        return result.with_code("133", reason="expired", why=_GAVE_UP_WHY)
    return result


# --- the summary -----------------------------------------------------------------------------

_NORMALISERS: Final = (
    (regex.compile(r"<?[^\s<>@()\[\]]+@[^\s<>()\[\]]+>?"), "<addr>"),
    (regex.compile(r"\[?(?:IPv6:)?\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}\]?"), "<ip>"),
    (regex.compile(r"\[?\b\d{1,3}(?:\.\d{1,3}){3}\b\]?(?::\d+)?"), "<ip>"),
    (regex.compile(r"\b(?=[A-Za-z_-]*\d)(?=\d*[A-Za-z_-])[A-Za-z0-9_-]{8,}\b"), "<id>"),
    (regex.compile(r"\d+"), "#"),
)


def template_of(text: str) -> str:
    """The shape of a reply: addresses, IPs, ids and numbers replaced, so repeats group."""
    for pattern, token in _NORMALISERS:
        text = pattern.sub(token, text)
    return " ".join(text.split())[:300]


@dataclass(slots=True)
class ReplaySummary:
    """Counts over a replay; mergeable, so workers can each keep one and the parent adds up."""

    lines: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    rows: int = 0
    undecodable: int = 0
    bytes_read: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    templates: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def note(self, kind: str, where: str) -> None:
        """Keep the place of a problem line (the first few of each kind)."""
        places = self.samples.setdefault(kind, [])
        if len(places) < SAMPLES:
            places.append(where)

    def add_row(self, row: ReplayRow) -> None:
        """Count one written row."""
        c = row.result
        self.rows += 1
        self.codes[c.code or "unclassified"] += 1
        self.reasons[c.reason or "-"] += 1
        sent = row.record.status == SENT
        self.rules[c.rule_id or ("(status sent)" if sent else f"({c.tier.value})")] += 1
        self.statuses[row.record.status] += 1
        if c.rule_id is None and not sent and c.note is None:
            shape = (
                f"{c.basic or '-'} {c.enhanced or '-'} {template_of(c.text or row.record.reply)}"
            )
            self.templates[shape] += 1
            if shape not in self.examples:
                self.examples[shape] = (c.text or row.record.reply)[:300]
            if len(self.templates) > TEMPLATES_MAX:
                self._prune()

    def _prune(self) -> None:
        keep = dict(self.templates.most_common(TEMPLATES_MAX // 2))
        self.templates = Counter(keep)
        self.examples = {k: v for k, v in self.examples.items() if k in keep}

    def merge(self, other: ReplaySummary) -> None:
        """Add another summary's counts to this one."""
        self.lines += other.lines
        self.kinds.update(other.kinds)
        self.rows += other.rows
        self.undecodable += other.undecodable
        self.bytes_read += other.bytes_read
        self.codes.update(other.codes)
        self.reasons.update(other.reasons)
        self.rules.update(other.rules)
        self.statuses.update(other.statuses)
        self.templates.update(other.templates)
        for shape, example in other.examples.items():
            self.examples.setdefault(shape, example)
        if len(self.templates) > TEMPLATES_MAX:
            self._prune()
        for kind, places in other.samples.items():
            for where in places:
                self.note(kind, where)
        self.problems.extend(other.problems)

    @property
    def reconciled(self) -> bool:
        """Every line read was counted as exactly one kind."""
        return sum(self.kinds.values()) == self.lines

    @property
    def clean(self) -> bool:
        """No bad input and every written row carries a code."""
        bad = self.kinds[LineKind.MALFORMED] + self.kinds["overlong"] + self.undecodable
        return not bad and not self.problems and not self.codes["unclassified"]

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "lines": self.lines,
            "kinds": dict(self.kinds),
            "reconciled": self.reconciled,
            "rows": self.rows,
            "undecodable": self.undecodable,
            "bytes": self.bytes_read,
            "mta_status": dict(self.statuses.most_common()),
            "codes": dict(self.codes.most_common()),
            "reasons": dict(self.reasons.most_common()),
            "rules": dict(self.rules.most_common()),
            "top_unmatched": [
                {"count": n, "template": t, "example": self.examples.get(t, "")}
                for t, n in self.templates.most_common(top)
            ],
            "samples": self.samples,
            "problems": self.problems,
        }

    def render(self, top: int = 20) -> str:
        """The summary as plain text for a terminal."""
        out = [
            f"lines read      {self.lines}",
            "  " + ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items())),
            f"rows written    {self.rows}",
        ]
        if self.undecodable:
            out.append(f"undecodable     {self.undecodable} (decoded with replacement characters)")
        for title, counter in (
            ("MTA status", self.statuses),
            ("code", self.codes),
            ("reason", self.reasons),
            ("rule", self.rules),
        ):
            out.append("")
            out.append(f"by {title}:")
            out.extend(f"  {n:>9}  {k}" for k, n in counter.most_common())
        if self.templates:
            out.append("")
            out.append(
                f"top {top} replies no rule recognised (code from the numbers alone, or none):"
            )
            for shape, n in self.templates.most_common(top):
                out.append(f"  {n:>9}  {shape}")
        if self.samples or self.problems:
            out.append("")
            out.append("input problems:")
            out.extend(f"  {kind}: {', '.join(places)}" for kind, places in self.samples.items())
            out.extend(f"  {p}" for p in self.problems)
        return "\n".join(out) + "\n"


# --- chunks: the unit of work ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Chunk:
    source: str
    first_line: int
    #: True when the chunk starts at the file's first line (a CSV header may be there).
    at_start: bool
    header: tuple[str, ...] | None
    header_kind: str
    #: Raw lines without their line break; None stands for an overlong line.
    lines: list[bytes | None]


@dataclass(frozen=True, slots=True)
class _ChunkResult:
    text: str
    rows: list[ReplayRow]
    summary: ReplaySummary


@dataclass(frozen=True, slots=True)
class _Settings:
    fmt: str
    field: str | None
    status_field: str | None
    final: bool
    output: str
    records: bool
    #: Hand rows back instead of rendering them (final mode, library use).
    keep_rows: bool


_settings: _Settings | None = None


def _render(rows: Sequence[ReplayRow], output: str) -> str:
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            writer.writerow(["" if v is None else v for v in row.to_dict().values()])
        return buffer.getvalue()
    dumps = json.dumps
    return "".join(dumps(row.to_dict(), ensure_ascii=False) + "\n" for row in rows)


def _decode(raw: bytes, where: str, summary: ReplaySummary) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        summary.undecodable += 1
        summary.note("undecodable", where)
        return raw.decode("utf-8", errors="replace")


def _rows_of(record: LogRecord, source: str, number: int, final: bool) -> list[ReplayRow]:
    """The rows of one record: one per recipient (one with no recipient for message lines)."""
    if record.status == DONE:
        return [ReplayRow(source, number, record, "", _sent(""))] if final else []
    result = classify_record(record)
    return [ReplayRow(source, number, record, r, result) for r in record.recipients or ("",)]


def run_chunk(chunk: _Chunk, settings: _Settings | None = None) -> _ChunkResult:
    """Parse and classify one chunk; the same code runs in this process and in workers."""
    s = settings or _settings
    assert s is not None, "run_chunk needs settings"
    parser = LineParser(s.fmt, field=s.field, status_field=s.status_field)
    parser.header, parser.header_kind = chunk.header, chunk.header_kind
    summary = ReplaySummary()
    rows: list[ReplayRow] = []
    source = chunk.source
    for offset, raw in enumerate(chunk.lines):
        number = chunk.first_line + offset
        summary.lines += 1
        if raw is None:
            summary.kinds["overlong"] += 1
            summary.note("overlong", f"{source}:{number}")
            continue
        line = _decode(raw, f"{source}:{number}", summary)
        kind, record = parser.parse(line, first=chunk.at_start and offset == 0)
        summary.kinds[kind] += 1
        if kind in (LineKind.MALFORMED, LineKind.UNRECOGNISED):
            summary.note(kind, f"{source}:{number}")
        if record is not None:
            rows.extend(_rows_of(record, source, number, s.final))
    if s.keep_rows:
        return _ChunkResult("", rows, summary)
    for row in rows:
        summary.add_row(row)
    text = _render(rows, s.output) if s.records else ""
    return _ChunkResult(text, [], summary)


# --- reading ---------------------------------------------------------------------------------


class _Source:
    """One input (file or stream) read as raw lines, with gzip, overlong and truncation care."""

    def __init__(self, name: str, stream: IO[bytes] | None = None) -> None:
        self.name = name
        self.line = 0
        self.raw: IO[bytes]
        try:
            self.raw = stream if stream is not None else open(name, "rb")  # noqa: SIM115
            magic = self._peek(self.raw)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
        self.gzip = magic.startswith(b"\x1f\x8b")
        self.reader: IO[bytes] = self.raw
        if self.gzip:
            self.reader = gzip.GzipFile(fileobj=self.raw)  # type: ignore[assignment]
        self.done = -1
        self.size = 0
        if stream is None:
            try:
                self.size = os.fstat(self.raw.fileno()).st_size
            except OSError:
                self.size = 0

    @staticmethod
    def _peek(raw: IO[bytes]) -> bytes:
        peek = getattr(raw, "peek", None)
        if peek is not None:
            return bytes(peek(2)[:2])
        return b""

    def position(self) -> int:
        """Bytes of the underlying file consumed so far (compressed bytes for gzip)."""
        if self.done >= 0:
            return self.done
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def lines(self, limit: int, problems: list[str]) -> Iterator[bytes | None]:
        """Raw lines without line breaks; None for a line longer than ``limit`` bytes."""
        readline = self.reader.readline
        while True:
            try:
                raw = readline(limit + 1)
                if not raw:
                    return
                self.line += 1
                if len(raw) > limit and not raw.endswith(b"\n"):
                    while True:  # skip the rest of the overlong line, a bounded piece at a time
                        rest = readline(limit)
                        if not rest or rest.endswith(b"\n"):
                            break
                    yield None
                    continue
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                problems.append(
                    f"{self.name}: compressed data ends or is damaged after line {self.line}: {exc}"
                )
                return
            except OSError as exc:
                if self.gzip:
                    problems.append(
                        f"{self.name}: compressed data is damaged after line {self.line}: {exc}"
                    )
                    return
                raise InputError(
                    f"cannot read {self.name} after line {self.line}: {exc.strerror or exc}"
                ) from exc
            if raw.endswith(b"\n"):
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            yield raw

    def close(self) -> None:
        """Close what this source opened (not a stream it was given)."""
        self.done = self.position()
        if self.gzip:
            self.reader.close()
        if self.raw is not sys.stdin.buffer:
            self.raw.close()


def _chunks(
    sources: Iterable[_Source],
    options: ReplayOptions,
    problems: list[str],
    tick: Callable[[], None],
) -> Iterator[_Chunk]:
    """Cut every source into chunks; a CSV header starts a new chunk so each carries its own."""
    scout = LineParser(options.fmt, field=options.field, status_field=options.status_field)
    size = options.chunk_lines
    for source in sources:
        scout.reset()
        lines: list[bytes | None] = []
        first = 1
        at_start = True
        header: tuple[str, ...] | None = None
        kind = ""
        for raw in source.lines(options.max_line_bytes, problems):
            number = source.line
            is_header = False
            if raw is not None and (number == 1 or raw.startswith(b"type,")):
                text = raw.decode("utf-8", errors="replace")
                is_header = scout.observe_header(text, first=number == 1)
            if lines and (is_header or len(lines) >= size):
                yield _Chunk(source.name, first, at_start, header, kind, lines)
                lines, first, at_start = [], number, False
                tick()
            if not lines:
                header, kind = scout.header, scout.header_kind
                if is_header:
                    header, kind = None, ""  # the header line itself is read in the chunk
                    at_start = True
            lines.append(raw)
        if lines:
            yield _Chunk(source.name, first, at_start, header, kind, lines)
        tick()
        source.close()


# --- final outcomes --------------------------------------------------------------------------


class _Final:
    """The last word per (queue id, recipient), written when the message is done."""

    def __init__(self, window: int, emit: Callable[[ReplayRow], None]) -> None:
        self.window = window
        self.emit = emit
        self.pending: dict[tuple[str, str], ReplayRow] = {}
        self.by_id: dict[str, list[tuple[str, str]]] = {}

    def add(self, row: ReplayRow) -> None:
        record = row.record
        qid = record.queue_id
        if record.status == DONE:
            self._flush(qid)
            return
        if record.status == EXPIRED and not record.recipients:
            self._expire(row)
            return
        key = (qid, row.recipient)
        if key not in self.pending:
            self.by_id.setdefault(qid, []).append(key)
        self.pending[key] = row
        while len(self.pending) > self.window:
            oldest = next(iter(self.pending))
            self.emit(self.pending.pop(oldest))
            keys = self.by_id.get(oldest[0])
            if keys is not None:
                keys.remove(oldest)
                if not keys:
                    del self.by_id[oldest[0]]

    def _expire(self, row: ReplayRow) -> None:
        """The queue gave up on a message: its deferred recipients end as 133."""
        keys = self.by_id.get(row.record.queue_id, [])
        expired = False
        for key in keys:
            last = self.pending[key]
            if last.record.status not in (SENT, BOUNCED, EXPIRED):
                result = last.result.with_code("133", reason="expired", why=_EXPIRED_WHY)
                record = replace(last.record, status=EXPIRED)
                self.pending[key] = replace(last, record=record, result=result)
                expired = True
        if not expired:
            self.emit(row)  # nothing of it seen here (an earlier file): keep the line's word
        self._flush(row.record.queue_id)

    def _flush(self, qid: str) -> None:
        for key in self.by_id.pop(qid, []):
            self.emit(self.pending.pop(key))

    def close(self) -> None:
        for row in self.pending.values():
            self.emit(row)
        self.pending.clear()
        self.by_id.clear()


# --- progress --------------------------------------------------------------------------------


class _Progress:
    """A one-line progress report on stderr: lines, lines/s and bytes."""

    def __init__(self, stream: TextIO | None, total: int) -> None:
        self.stream = stream
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, lines: int, done_bytes: int, *, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.2:
            return
        self.last = now
        rate = lines / max(now - self.start, 1e-9)
        size = f"{done_bytes / 1e6:,.1f} MB"
        if self.total:
            size += f" of {self.total / 1e6:,.1f} MB ({100 * done_bytes / self.total:.0f}%)"
        self.stream.write(f"\r{lines:,} lines  {rate:,.0f} lines/s  {size}   ")
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


# --- the replay ------------------------------------------------------------------------------


def _open_sources(names: Sequence[str]) -> Iterator[_Source]:
    for name in names:
        yield _Source(name, sys.stdin.buffer if name == "-" else None)


def replay(
    names: Sequence[str],
    out: TextIO,
    options: ReplayOptions = ReplayOptions(),
    *,
    progress: TextIO | None = None,
) -> ReplaySummary:
    """Replay the named inputs ("-" is standard input) and write records to ``out``.

    Raises ``InputError`` when an input cannot be opened or read at all; the message says how
    many lines were done. Bad lines, damaged gzip data and overlong lines are counted in the
    returned summary, never raised.
    """
    global _settings  # noqa: PLW0603 - set before forking so that workers inherit it
    settings = _Settings(
        options.fmt,
        options.field,
        options.status_field,
        options.final,
        options.output,
        options.records,
        options.final,
    )
    _settings = settings
    LineParser(options.fmt, field=options.field)  # reject a bad format before reading
    _sent("")  # build the rule engine now: forked workers share it
    summary = ReplaySummary()
    opened: list[_Source] = []
    totals = sum(os.path.getsize(n) for n in names if n != "-" and os.path.isfile(n))
    meter = _Progress(progress, totals)
    done_before = 0

    def sources() -> Iterator[_Source]:
        nonlocal done_before
        for source in _open_sources(names):
            if opened:
                done_before += opened[-1].position()
            opened.append(source)
            yield source

    def tick() -> None:
        current = opened[-1].position() if opened else 0
        meter.update(summary.lines, done_before + current)

    def write_row(row: ReplayRow) -> None:
        summary.add_row(row)
        if options.records:
            out.write(_render((row,), options.output))

    final = _Final(options.final_window, write_row) if options.final else None
    if options.records and options.output == "csv":
        out.write(",".join(FIELDS) + "\n")

    def consume(result: _ChunkResult) -> None:
        summary.merge(result.summary)
        if final is not None:
            for row in result.rows:
                final.add(row)
        elif result.text:
            out.write(result.text)

    chunks = _chunks(sources(), options, summary.problems, tick)
    try:
        if options.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            with context.Pool(options.workers) as pool:
                pending: deque[Any] = deque()
                for chunk in chunks:
                    pending.append(pool.apply_async(run_chunk, (chunk,)))
                    if len(pending) >= 3 * options.workers:
                        consume(pending.popleft().get())
                while pending:
                    consume(pending.popleft().get())
        else:
            for chunk in chunks:
                consume(run_chunk(chunk, settings))
    except InputError as exc:
        raise InputError(f"{exc} ({summary.lines} lines done)") from exc
    finally:
        summary.bytes_read = done_before + (opened[-1].position() if opened else 0)
        meter.update(summary.lines, summary.bytes_read, force=True)
        meter.close()
    if final is not None:
        final.close()
    return summary


def replay_lines(
    lines: Iterable[str],
    *,
    fmt: str = "auto",
    field: str | None = None,
    status_field: str | None = None,
    final: bool = False,
    source: str = "-",
) -> Iterator[ReplayRow]:
    """Classify the delivery lines of ``lines`` (text) as they come, in this process.

    With ``final``, rows come out when their message is done (or at the end), as in ``replay``.
    """
    parser = LineParser(fmt, field=field, status_field=status_field)
    buffered: list[ReplayRow] = []
    finals = _Final(1_000_000, buffered.append) if final else None
    for number, line in enumerate(lines, 1):
        _, record = parser.parse(line.rstrip("\r\n"), first=number == 1)
        if record is None:
            continue
        rows = _rows_of(record, source, number, final)
        if finals is None:
            yield from rows
            continue
        for row in rows:
            finals.add(row)
        yield from buffered
        buffered.clear()
    if finals is not None:
        finals.close()
        yield from buffered
