"""Replaying MTA logs: every delivery line classified, in order, in bounded memory.

The input (plain or gzip files, or a stream) is read in blocks cut at line ends; each block
is split, parsed and classified by ``run_chunk``, in this process or in forked workers, and
the results are written in input order. Every input line is counted as exactly one of delivery,
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
from functools import cache
from typing import IO, Any, Final, Generic, TextIO, TypeVar

import regex

from ..engine import classify
from ..enums import Verdict
from ..errors import InputError
from ..logs.parser import BOUNCED, DONE, EXPIRED, SENT, LineKind, LineParser, LogRecord
from ..policy import gave_up
from ..result import Classification

__all__ = [
    "FIELDS",
    "FINAL_WINDOW",
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

#: Bytes per chunk handed to a worker (a few thousand lines): large enough that passing it
#: between processes is cheap compared with classifying it, small enough to keep every
#: worker busy. The reader only cuts blocks at line ends; workers split the lines.
CHUNK_BYTES: Final = 256 * 1024
#: Recipients ``final`` keeps waiting for their message's end, at most.
FINAL_WINDOW: Final = 200_000
#: Samples of line numbers kept per kind of problem.
SAMPLES: Final = 10
#: Distinct reply templates kept for the summary (the rarest are dropped beyond it).
TEMPLATES_MAX: Final = 5000
_Row = TypeVar("_Row")
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
    #: Pending (id, recipient) pairs kept by ``final`` before the oldest are written (about
    #: 1 KB each).
    final_window: int = FINAL_WINDOW
    #: Bytes per chunk (cut at line ends).
    chunk_bytes: int = CHUNK_BYTES


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One recipient's delivery attempt (or final outcome) and its classification.

    For sent lines ``result`` is one shared 250 whose ``text`` is empty: the MTA's logged reply
    is ``record.reply`` (and the ``text`` of ``to_dict()``).
    """

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
            "text": c.text or r.reply[:512],
            "note": c.note,
        }


# --- classification of one record ------------------------------------------------------------


@cache
def _sent() -> Classification:
    """Status sent is 250 whatever the text says ("delivered to mailbox", a queue id).

    One shared result, built lazily (and inherited by forked workers): its ``text`` is empty
    and the row shows the MTA's logged reply instead (building a result per sent line would
    cost more than parsing the line).
    """
    base = classify("250 2.0.0 Ok").with_code(
        "250", reason="delivered", why="the MTA logged the delivery as sent"
    )
    return replace(base, text="")


def classify_record(record: LogRecord) -> Classification:
    """The classification of one record: its text, read in the light of the MTA's status.

    sent → 250; expired → 133; a bounce on a temporary reply → 133 (the MTA gave up);
    otherwise the code the reply's words give (a deferral stays a retry code: 202, 421, 113).
    """
    status = record.status
    if status == SENT:
        return _sent()
    result = classify(record.reply, stage=record.stage)
    if status == EXPIRED:
        return gave_up(result, why=_EXPIRED_WHY)
    if status == BOUNCED and result.verdict is Verdict.TRANSIENT:
        return gave_up(result, why=_GAVE_UP_WHY)
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


#: What the summary counts of one row: code, reason, rule, MTA status, reply shape, example.
_Keys = tuple[str, str, str, str, str, str]


def summary_keys(row: ReplayRow) -> _Keys:
    """The summary's view of a row; the shape is "" unless no rule recognised the reply."""
    c, status = row.result, row.record.status
    rule = c.rule_id or (f"(status {status})" if c.note else f"({c.tier.value})")
    shape = example = ""
    if c.rule_id is None and c.note is None:
        words = c.text or row.record.reply
        shape = f"{c.basic or '-'} {c.enhanced or '-'} {template_of(words)}"
        example = words[:300]
    return (c.code or "unclassified", c.reason or "-", rule, status, shape, example)


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
        self.add(summary_keys(row))

    def add(self, keys: _Keys) -> None:
        """Count one written row from its ``summary_keys``."""
        code, reason, rule, status, shape, example = keys
        self.rows += 1
        self.codes[code] += 1
        self.reasons[reason] += 1
        self.rules[rule] += 1
        self.statuses[status] += 1
        if shape:
            self.templates[shape] += 1
            if shape not in self.examples:
                self.examples[shape] = example
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
            out.append(f"top {top} replies that no rule recognised (code from numbers, or none):")
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
    #: Whole lines, each ending with a line feed (but perhaps the last line of a file).
    data: bytes
    #: Numbers of overlong lines: each stands in ``data`` as an empty line.
    overlong: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _ChunkResult:
    text: str
    packed: list[_Packed]
    summary: ReplaySummary


#: One encoder for every row: json.dumps(..., ensure_ascii=False) builds one per call.
_JSON: Final = json.JSONEncoder(ensure_ascii=False)


def _render(rows: Sequence[ReplayRow], output: str) -> str:
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            writer.writerow(["" if v is None else v for v in row.to_dict().values()])
        return buffer.getvalue()
    encode = _JSON.encode
    return "".join(encode(row.to_dict()) + "\n" for row in rows)


def _split(chunk: _Chunk, summary: ReplaySummary) -> list[str]:
    """The chunk's lines as text: UTF-8, or with replacement characters where it is not."""
    data = chunk.data
    if data.endswith(b"\n"):
        data = data[:-1]
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = []
        for offset, raw in enumerate(data.split(b"\n")):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                summary.undecodable += 1
                summary.note("undecodable", f"{chunk.source}:{chunk.first_line + offset}")
                lines.append(raw.decode("utf-8", errors="replace"))
    return lines


def _rows_of(record: LogRecord, source: str, number: int, final: bool) -> list[ReplayRow]:
    """The rows of one record: one per recipient (one with no recipient for message lines)."""
    if record.status == DONE:
        return [ReplayRow(source, number, record, "", _sent())] if final else []
    result = classify_record(record)
    return [ReplayRow(source, number, record, r, result) for r in record.recipients or ("",)]


def run_chunk(chunk: _Chunk, s: ReplayOptions) -> _ChunkResult:
    """Parse and classify one chunk; the same code runs in this process and in workers.

    With ``final`` the rows go back packed (rendered, with their expired form) for ``_Final``.
    """
    parser = LineParser(s.fmt, field=s.field, status_field=s.status_field)
    parser.header, parser.header_kind = chunk.header, chunk.header_kind
    summary = ReplaySummary()
    rows: list[ReplayRow] = []
    source, first, overlong = chunk.source, chunk.first_line, chunk.overlong
    limit = s.max_line_bytes
    parse, kinds = parser.parse, summary.kinds
    lines = _split(chunk, summary)
    summary.lines = len(lines)
    for offset, text in enumerate(lines):
        line = text[:-1] if text.endswith("\r") else text
        number = first + offset
        if (overlong and number in overlong) or len(line) > limit:
            kinds["overlong"] += 1
            summary.note("overlong", f"{source}:{number}")
            continue
        kind, record = parse(line, first=chunk.at_start and offset == 0)
        kinds[kind] += 1
        if record is not None:
            rows.extend(_rows_of(record, source, number, s.final))
        elif kind != LineKind.SKIPPED:
            summary.note(kind, f"{source}:{number}")
    if s.final:
        output = s.output if s.records else None
        return _ChunkResult("", [_pack(row, output) for row in rows], summary)
    for row in rows:
        summary.add_row(row)
    text = _render(rows, s.output) if s.records else ""
    return _ChunkResult(text, [], summary)


# --- reading ---------------------------------------------------------------------------------


class _Source:
    """One input (file or stream) read in blocks, with gzip, overlong and truncation care."""

    def __init__(self, name: str, stream: IO[bytes] | None = None) -> None:
        self.name = name
        self.line = 0
        self.owned = stream is None  # a stream given by the caller stays open
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
        self.consumed = 0  # bytes handed out (decompressed), for streams that cannot tell()

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
            return self.consumed

    def blocks(
        self, size: int, limit: int, problems: list[str]
    ) -> Iterator[tuple[bytes, tuple[int, ...]]]:
        """Whole lines, about ``size`` bytes at a time, with the numbers of overlong lines.

        A line longer than ``limit`` bytes that spans blocks is not kept: it stands as an empty
        line and its number is given, so memory stays below ``size + limit`` on any input.
        Damaged or cut gzip data ends the source with a problem noted, not an exception.
        """
        read1: Callable[[int], bytes] = getattr(self.reader, "read1", self.reader.read)
        carry = b""
        skipping = False  # inside an overlong line whose start was dropped
        damage = ""
        while not damage:
            parts: list[bytes] = []
            got = 0
            while got < size:
                try:
                    piece = read1(size - got)
                except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                    damage = str(exc)
                    break
                except OSError as exc:
                    if not self.gzip:
                        raise InputError(
                            f"cannot read {self.name} after line {self.line}: {exc.strerror or exc}"
                        ) from exc
                    damage = str(exc)
                    break
                if not piece:
                    break
                parts.append(piece)
                got += len(piece)
            if not parts:
                break
            block = b"".join(parts)
            self.consumed += got
            buf = carry + block if carry else block
            cut = buf.rfind(b"\n")
            if cut < 0:
                skipping = skipping or len(buf) > limit
                carry = b"" if skipping else buf
                continue
            data, carry = buf[: cut + 1], buf[cut + 1 :]
            overlong: tuple[int, ...] = ()
            if skipping:
                data = b"\n" + data[data.find(b"\n") + 1 :]
                overlong = (self.line + 1,)
                skipping = False
            if len(carry) > limit:
                skipping, carry = True, b""
            self.line += data.count(b"\n")
            yield data, overlong
        if skipping:
            self.line += 1
            yield b"\n", (self.line,)
        elif carry:
            self.line += 1
            yield carry, ()
        if damage:
            problems.append(
                f"{self.name}: compressed data ends or is damaged after line {self.line}: {damage}"
            )

    def close(self) -> None:
        """Close what this source opened (not a stream it was given)."""
        self.done = self.position()
        if self.gzip:
            self.reader.close()
        if self.owned:
            self.raw.close()


def _header_cuts(data: bytes) -> list[bytes]:
    """``data`` cut before every line that starts with "type," (a PowerMTA header, maybe)."""
    pieces = []
    start = 0
    at = data.find(b"\ntype,")
    while at >= 0:
        pieces.append(data[start : at + 1])
        start = at + 1
        at = data.find(b"\ntype,", start)
    pieces.append(data[start:])
    return pieces


def _chunks(
    sources: Iterable[_Source],
    options: ReplayOptions,
    problems: list[str],
    tick: Callable[[], None],
) -> Iterator[_Chunk]:
    """Cut every source into chunks; a CSV header starts a new chunk so each carries its own."""
    scout = LineParser(options.fmt, field=options.field, status_field=options.status_field)
    for source in sources:
        scout.reset()
        first = 1
        for data, overlong in source.blocks(options.chunk_bytes, options.max_line_bytes, problems):
            for piece in _header_cuts(data):
                at_start = first == 1
                header, kind = scout.header, scout.header_kind
                if at_start or piece.startswith(b"type,"):
                    end = piece.find(b"\n")
                    head = (piece[:end] if end >= 0 else piece).decode("utf-8", errors="replace")
                    if scout.observe_header(head.rstrip("\r"), first=at_start):
                        header, kind, at_start = None, "", True  # the chunk reads it itself
                yield _Chunk(source.name, first, at_start, header, kind, piece, overlong)
                first += piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1)
                tick()
        source.close()


# --- final outcomes --------------------------------------------------------------------------


def _expired(row: ReplayRow) -> ReplayRow | None:
    """A deferred row relabelled as the queue giving up (133); None when it was final."""
    if row.record.status in (SENT, BOUNCED, EXPIRED) or not row.record.recipients:
        return None
    result = gave_up(row.result, why=_EXPIRED_WHY)
    return replace(row, record=replace(row.record, status=EXPIRED), result=result)


#: A row as a worker hands it back for ``final``: id, recipient, MTA status, message-level,
#: rendered text, summary keys and the same row expired (deferred rows only). Plain tuples
#: cross process boundaries far cheaper than rows with their classifications.
_Packed = tuple[str, str, str, bool, str, _Keys, "_Packed | None"]


def _pack(row: ReplayRow, output: str | None) -> _Packed:
    """A row packed for the parent; rendered in ``output`` unless None (a summary only)."""
    record = row.record
    if record.status == DONE:
        return (record.queue_id, "", DONE, True, "", ("", "", "", DONE, "", ""), None)
    expired = _expired(row)
    return (
        record.queue_id,
        row.recipient,
        record.status,
        not record.recipients,
        "" if output is None else _render((row,), output),
        summary_keys(row),
        None if expired is None else _pack(expired, output),
    )


class _Final(Generic[_Row]):
    """The last word per (queue id, recipient), written when the message is done.

    Works on full rows (library use) or packed ones (the command), through ``view``: the
    row's (queue id, recipient, MTA status, message-level) and ``expire``: the row relabelled
    133, or None when its last word was final.
    """

    def __init__(
        self,
        window: int,
        emit: Callable[[_Row], None],
        view: Callable[[_Row], tuple[str, str, str, bool]],
        expire: Callable[[_Row], _Row | None],
    ) -> None:
        self.window = window
        self.emit = emit
        self.view = view
        self.expire = expire
        self.pending: dict[tuple[str, str], _Row] = {}
        self.by_id: dict[str, list[tuple[str, str]]] = {}

    def add(self, row: _Row) -> None:
        qid, recipient, status, message_level = self.view(row)
        if status == DONE:
            self._flush(qid)
            return
        if status == EXPIRED and message_level:
            self._expire(qid, row)
            return
        key = (qid, recipient)
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

    def _expire(self, qid: str, row: _Row) -> None:
        """The queue gave up on a message: its deferred recipients end as 133."""
        expired = False
        for key in self.by_id.get(qid, []):
            relabelled = self.expire(self.pending[key])
            if relabelled is not None:
                self.pending[key] = relabelled
                expired = True
        if not expired:
            self.emit(row)  # nothing of it seen here (an earlier file): keep the line's word
        self._flush(qid)

    def _flush(self, qid: str) -> None:
        for key in self.by_id.pop(qid, []):
            self.emit(self.pending.pop(key))

    def close(self) -> None:
        for row in self.pending.values():
            self.emit(row)
        self.pending.clear()
        self.by_id.clear()


def _view_row(row: ReplayRow) -> tuple[str, str, str, bool]:
    record = row.record
    return record.queue_id, row.recipient, record.status, not record.recipients


def _view_packed(row: _Packed) -> tuple[str, str, str, bool]:
    return row[0], row[1], row[2], row[3]


def _expire_packed(row: _Packed) -> _Packed | None:
    return row[6]


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
    LineParser(options.fmt, field=options.field)  # reject a bad format before reading
    _sent()  # build the rule engine now: forked workers share it
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

    def write_packed(row: _Packed) -> None:
        summary.add(row[5])
        if options.records:
            out.write(row[4])

    final = None
    if options.final:
        final = _Final(options.final_window, write_packed, _view_packed, _expire_packed)
    if options.records and options.output == "csv":
        out.write(",".join(FIELDS) + "\n")

    def consume(result: _ChunkResult) -> None:
        summary.merge(result.summary)
        if final is not None:
            for row in result.packed:
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
                    pending.append(pool.apply_async(run_chunk, (chunk, options)))
                    if len(pending) >= 3 * options.workers:
                        consume(pending.popleft().get())
                while pending:
                    consume(pending.popleft().get())
        else:
            for chunk in chunks:
                consume(run_chunk(chunk, options))
    except InputError as exc:
        raise InputError(f"{exc} ({summary.lines} lines done)") from exc
    finally:
        summary.bytes_read = done_before + (opened[-1].position() if opened else 0)
        meter.update(summary.lines, summary.bytes_read, force=True)
        meter.close()
    if final is not None:
        final.close()
    read = sum(source.line for source in opened)
    if read != summary.lines:  # every line read must have been counted once
        summary.problems.append(f"{read} lines were read but {summary.lines} were counted")
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
    finals = _Final(FINAL_WINDOW, buffered.append, _view_row, _expired) if final else None
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
