"""Replaying MTA logs: every delivery line classified, in order, in bounded memory.

The input (plain or gzip files, or a stream) is read in blocks cut at line ends; each block
is split, parsed and classified by ``run_chunk``, in this process or in forked workers, and
the results are written in input order. Every input line is counted as exactly one of delivery,
skipped, unrecognised, malformed or overlong, so the totals always add up to the lines read.

A delivery line takes the sender and Message-ID of its message's arrival lines (Postfix qmgr
``from=``, cleanup ``message-id=``, Exim ``<=``, Sendmail ``from=``/``msgid=``) wherever they
sit: a block fills what its own lines tell, and hands back the rows that still want a field
with what its arrival lines said, per message; this process fills those rows from the facts
of the blocks before (one map across blocks and files, of the last ``SENDERS_MAX`` messages),
in input order, so any number of workers and any block size give the rows one parser reading
every line would.

With ``final`` only the last word per (queue id, recipient) is written: a deferral followed by
the queue giving up (Postfix ``status=expired``) ends as 133. Messages are written when the MTA
says it is done with them (Postfix ``removed``, Exim ``Completed``, an expiry) or when the
window of pending recipients is full, so memory stays bounded on any log.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from ..engine import Classifier
from ..errors import InputError
from ..logs import DONE, LineKind, LineParser
from ..logs.senders import SENDERS_MAX, Senders, wants
from ..outcome import logged_as_sent
from ..picklable import by_fields
from ..safetext import clean_text
from .final import (
    FINAL_WINDOW,
    FinalOutcomes,
    Packed,
    expire_packed,
    expired_row,
    pack,
    view_packed,
    view_row,
)
from .progress import Progress
from .rows import FIELDS, ReplayRow, refill, render, rows_of
from .sources import CHUNK_BYTES, Chunk, Source, chunks, open_sources
from .summary import ReplaySummary

__all__ = ["LedgerRow", "ReplayOptions", "replay", "replay_lines", "run_chunk"]


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
    #: Hand every row to ``replay``'s ``ledger`` callback, as ``LedgerRow`` values.
    ledger: bool = False
    #: Add each row's decision in plain words ("explanation").
    explain: bool = False


#: A row as the bounce ledger's feed reads it: source, line, MTA, time, queue id, recipient,
#: MTA status, reply, code, reason (plain values: they cross process boundaries cheaply).
LedgerRow = tuple[str, int, str, str, str, str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class Waiting:
    """A row whose sender or Message-ID its block could not tell (its arrival lines sit in an
    earlier block, range or file): its rendering is filled where the blocks' facts meet."""

    #: Position among the block's rows (and in ``packed`` with ``final``).
    index: int
    queue_id: str
    #: The fields still wanted.
    sender: bool
    message_id: bool
    #: Where the row's rendering sits in the block's ``text`` (without ``final``).
    start: int = 0
    end: int = 0


#: What a block's arrival lines said, per queue id: (sender, Message-ID), None for a field no
#: line of the block named; in the order of each message's last arrival line.
Facts = dict[str, tuple[str | None, str | None]]


@dataclass(frozen=True, slots=True)
class _ChunkResult:
    text: str
    packed: list[Packed]
    summary: ReplaySummary
    ledger: list[LedgerRow] = field(default_factory=list)
    #: Rows that want a field from arrival lines outside the block, in row order.
    waiting: list[Waiting] = field(default_factory=list)
    #: The block's arrival facts (they stand after its last line).
    arrivals: Facts = field(default_factory=dict)
    #: The number of the block's last line.
    last_line: int = 0


def _render_around(
    rows: Sequence[ReplayRow], waiting: list[Waiting], output: str, explain: bool
) -> tuple[str, list[Waiting]]:
    """The rows rendered, and the waiting rows with the place of their rendering in it."""
    pieces: list[str] = []
    placed: list[Waiting] = []
    at = done = 0
    for wait in waiting:
        run = render(rows[done : wait.index], output, explain)
        own = render(rows[wait.index : wait.index + 1], output, explain)
        pieces += (run, own)
        at += len(run)
        placed.append(replace(wait, start=at, end=at + len(own)))
        at += len(own)
        done = wait.index + 1
    pieces.append(render(rows[done:], output, explain))
    return "".join(pieces), placed


class Arrivals:
    """The arrival facts carried across blocks and files, in input order, for the rows that
    want them. Bounded: the last ``SENDERS_MAX`` messages, each a queue id of at most 128
    characters and two values of at most 320 (measured with tracemalloc: about 57 MB with
    every field at its longest, in ASCII; about 12 MB with Postfix ids and short addresses)."""

    def __init__(self, limit: int = SENDERS_MAX) -> None:
        self.senders = Senders(limit)

    def settle(self, result: _ChunkResult, options: ReplayOptions) -> _ChunkResult:
        """The block's result with its waiting rows filled from the blocks before it; then its
        own facts are remembered for the blocks after it."""
        seen = self.senders.seen
        output = options.output
        text, at = result.text, 0
        pieces: list[str] = []
        packed = result.packed
        for wait in result.waiting:
            known = seen.get(wait.queue_id)
            if known is None:
                continue
            sender = known[0] if wait.sender else None
            message_id = known[1] if wait.message_id else None
            if not sender and not message_id:
                continue
            if options.final:
                if packed is result.packed:
                    packed = list(packed)
                row = packed[wait.index]
                expired = row.expired
                if expired is not None:
                    expired = expired._replace(
                        text=refill(expired.text, sender, message_id, output)
                    )
                text_of = refill(row.text, sender, message_id, output)
                packed[wait.index] = row._replace(text=text_of, expired=expired)
            else:
                own = refill(text[wait.start : wait.end], sender, message_id, output)
                pieces += (text[at : wait.start], own)
                at = wait.end
        self.senders.note_all(result.arrivals)
        if pieces:
            pieces.append(text[at:])
            return _ChunkResult("".join(pieces), [], result.summary, result.ledger)
        if packed is not result.packed:
            return _ChunkResult("", packed, result.summary, result.ledger)
        return result

    def close(self, summary: ReplaySummary) -> None:
        """Say how many messages were forgotten to keep the bound."""
        if self.senders.forgotten:
            summary.problems.append(
                f"arrival lines of {self.senders.forgotten} message(s) forgotten (only the last "
                f"{self.senders.limit} are kept): their later deliveries may lack from and "
                "message_id"
            )


def _ledger_rows(rows: Sequence[ReplayRow]) -> list[LedgerRow]:
    out: list[LedgerRow] = []
    for row in rows:
        r, c = row.record, row.result
        values = (r.mta, r.time, r.queue_id, row.recipient, r.status, r.reply, c.code)
        out.append((row.source, row.line, *values, c.reason or ""))
    return out


def _split(chunk: Chunk, summary: ReplaySummary) -> list[str]:
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


#: The classifier of the replay under way: set before workers fork, so they share it.
_classifier: Classifier | None = None


def run_chunk(chunk: Chunk, s: ReplayOptions) -> _ChunkResult:
    """Parse and classify one chunk; the same code runs in this process and in workers.

    With ``final`` the rows go back packed (rendered, with their expired form) for
    ``FinalOutcomes``. When records are written, the rows that want a sender or Message-ID
    from outside the block come back as ``waiting``, with the block's arrival facts.
    """
    parser = LineParser(s.fmt, field=s.field, status_field=s.status_field)
    parser.header, parser.header_kind = chunk.header, chunk.header_kind
    summary = ReplaySummary()
    rows: list[ReplayRow] = []
    waiting: list[Waiting] = []
    carry = s.records
    senders = parser.senders
    source, first, overlong = chunk.source, chunk.first_line, chunk.overlong
    limit = s.max_line_bytes
    parse, kinds = parser.parse, summary.kinds
    lines = _split(chunk, summary)
    summary.lines = len(lines)
    quiet = (LineKind.SKIPPED, LineKind.OTHER)  # kinds with no sample of where they were
    seen: list[LineKind] = []  # the kind of every line, counted at the end (in C)
    final, at_start = s.final, chunk.at_start
    for offset, text in enumerate(lines):
        line = text[:-1] if text.endswith("\r") else text
        number = first + offset
        if (overlong and number in overlong) or len(line) > limit:
            seen.append(LineKind.OVERLONG)
            summary.note(LineKind.OVERLONG, f"{source}:{number}")
            continue
        kind, record = parse(line, first=at_start and not offset)
        seen.append(kind)
        if record is not None:
            new = rows_of(record, source, number, final, _classifier)
            if carry and record.status is not DONE:
                sender, message_id = wants(record, senders)
                if sender or message_id:
                    at = len(rows)
                    qid = record.queue_id
                    waiting += (Waiting(at + n, qid, sender, message_id) for n in range(len(new)))
            rows.extend(new)
        elif kind not in quiet:
            summary.note(kind, f"{source}:{number}")
    kinds.update(seen)
    ledger = _ledger_rows(rows) if s.ledger else []
    facts = senders.seen if carry else {}
    last = first + len(lines) - 1
    if s.final:
        output = s.output if s.records else None
        packed = [pack(row, output, s.explain) for row in rows]
        return _ChunkResult("", packed, summary, ledger, waiting, facts, last)
    for row in rows:
        summary.add_row(row)
    text = ""
    if s.records:
        text, waiting = _render_around(rows, waiting, s.output, s.explain)
    return _ChunkResult(text, [], summary, ledger, waiting, facts, last)


def replay(
    names: Sequence[str],
    out: TextIO,
    options: ReplayOptions = ReplayOptions(),
    *,
    progress: TextIO | None = None,
    ledger: Callable[[list[LedgerRow]], None] | None = None,
    classifier: Classifier | None = None,
) -> ReplaySummary:
    """Replay the named inputs ("-" is standard input) and write records to ``out``.

    With ``options.ledger``, ``ledger`` is given every row (all attempts, in input order).
    ``classifier``: the rules to use (default: the bundled ones), e.g.
    ``Classifier.from_dirs(["my-rules"])``.

    Raises ``InputError`` when an input cannot be opened or read at all; the message says how
    many lines were done. Bad lines, damaged gzip data and overlong lines are counted in the
    returned summary, never raised.
    """
    global _classifier  # noqa: PLW0603 - workers fork with the replay's classifier
    LineParser(options.fmt, field=options.field)  # reject a bad format before reading
    logged_as_sent()  # build the rule engine now: forked workers share it
    _classifier = classifier
    summary = ReplaySummary()
    opened: list[Source] = []
    totals = sum(os.path.getsize(n) for n in names if n != "-" and os.path.isfile(n))
    meter = Progress(progress, totals)
    done_before = 0

    def sources() -> Iterator[Source]:
        nonlocal done_before
        for source in open_sources(names):
            if opened:
                done_before += opened[-1].position()
            opened.append(source)
            yield source

    def tick() -> None:
        current = opened[-1].position() if opened else 0
        meter.update(summary.lines, done_before + current)

    def write_packed(row: Packed) -> None:
        summary.add(row.keys)
        if options.records:
            out.write(row.text)

    final = None
    if options.final:
        final = FinalOutcomes(options.final_window, write_packed, view_packed, expire_packed)
    if options.records and options.output == "csv":
        out.write(",".join(FIELDS + (("explanation",) if options.explain else ())) + "\n")

    carried = Arrivals() if options.records else None

    def consume(result: _ChunkResult) -> None:
        if carried is not None:
            result = carried.settle(result, options)
        summary.merge(result.summary)
        if ledger is not None and result.ledger:
            ledger(result.ledger)
        if final is not None:
            for row in result.packed:
                final.add(row)
        elif result.text:
            out.write(result.text)

    work = chunks(
        sources(),
        LineParser(options.fmt, field=options.field, status_field=options.status_field),
        (options.chunk_bytes, options.max_line_bytes),
        summary.problems,
        tick,
    )
    try:
        if options.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            with context.Pool(options.workers) as pool:
                pending: deque[Any] = deque()
                for chunk in work:
                    pending.append(pool.apply_async(run_chunk, (chunk, options)))
                    if len(pending) >= 3 * options.workers:
                        consume(pending.popleft().get())
                while pending:
                    consume(pending.popleft().get())
        else:
            for chunk in work:
                consume(run_chunk(chunk, options))
    except InputError as exc:
        raise InputError(f"{exc} ({summary.lines} lines done)") from exc
    finally:
        summary.bytes_read = done_before + (opened[-1].position() if opened else 0)
        meter.update(summary.lines, summary.bytes_read, force=True)
        meter.close()
    if final is not None:
        final.close()
    if carried is not None:
        carried.close(summary)
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
    classifier: Classifier | None = None,
) -> Iterator[ReplayRow]:
    """Classify the delivery lines of ``lines`` (text) as they come, in this process.

    A generator: each row comes out as soon as its line has been read, so it serves a live
    stream (a socket, ``tail -F``). With ``final``, rows come out when their message is done
    (or at the end), as in ``replay``. ``classifier``: the rules to use (default: bundled).
    """
    parser = LineParser(fmt, field=field, status_field=status_field)
    buffered: list[ReplayRow] = []
    finals = FinalOutcomes(FINAL_WINDOW, buffered.append, view_row, expired_row) if final else None
    for number, line in enumerate(lines, 1):
        _, record = parser.parse(clean_text(line.rstrip("\r\n")), first=number == 1)
        if record is None:
            continue
        rows = rows_of(record, source, number, final, classifier)
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


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(ReplayOptions, Waiting, _ChunkResult)
