"""Live replay: each row written as soon as its line is read, from a pipe or a followed file.

``tail -F mail.log | smtp-classifier replay -`` and ``smtp-classifier replay --follow
mail.log`` read line by line (not in blocks) and flush every row, so a dashboard or a
suppression job sees a bounce the moment it is logged. ``--final`` rows come out when the MTA
says it is done with the message (Postfix ``removed``, Exim ``Completed``, an expiry).

Following works like ``tail -F``: the file is read from its start, then watched; when it is
renamed away and a new one takes its name (log rotation) the rest of the old file is read and
the new one followed from its start; a file cut shorter (``copytruncate``) is read again from
its start; a file that does not exist yet is waited for.
"""

from __future__ import annotations

import gzip
import os
import time
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Final, TextIO

from ..engine import Classifier
from ..logs import LineKind, LineParser
from .final import FINAL_WINDOW, FinalOutcomes, expired_row, view_row
from .rows import FIELDS, ReplayRow, render, rows_of
from .run import LedgerRow
from .run import _ledger_rows as ledger_rows
from .summary import ReplaySummary

__all__ = ["POLL_SECONDS", "follow", "replay_live", "stream_lines"]

#: How often a followed file is checked for new lines and rotation when it is idle.
POLL_SECONDS: Final = 0.2
_READ: Final = 64 * 1024

#: One input line: where it came from, its number there, its bytes (None: overlong, cut).
Line = tuple[str, int, bytes | None]


def stream_lines(
    name: str, stream: IO[bytes], limit: int, problems: list[str] | None = None
) -> Iterator[Line]:
    """The lines of a pipe or terminal as they arrive (a line is handed on at its line feed).

    A gzip stream (``cat mail.log.1.gz | … replay -``) is decompressed as it comes; damaged
    or cut compressed data ends the stream with a note in ``problems``.
    """
    peek = getattr(stream, "peek", None)
    if peek is not None and bytes(peek(2)[:2]) == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=stream)  # type: ignore[assignment]
    number = 0
    try:
        while True:
            raw = stream.readline(limit + 1)
            if not raw:
                return
            number += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # the rest of the overlong line
                    raw = stream.readline(_READ)
                yield name, number, None
                continue
            yield name, number, raw
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        if problems is not None:
            problems.append(
                f"{name}: compressed data ends or is damaged after line {number}: {exc}"
            )


def follow(
    path: str,
    limit: int,
    *,
    stop: Callable[[], bool] = lambda: False,
    poll: float = POLL_SECONDS,
) -> Iterator[Line]:
    """The lines of ``path`` and those appended later, across rotation, until ``stop()``."""
    handle: IO[bytes] | None = None
    inode: tuple[int, int] | None = None
    number = 0
    carry = b""
    while not stop():
        if handle is None:
            try:
                handle = open(path, "rb")  # noqa: SIM115 - kept open while following
            except OSError:
                time.sleep(poll)  # not there yet (or between rename and create)
                continue
            st = os.fstat(handle.fileno())
            inode, number, carry = (st.st_dev, st.st_ino), 0, b""
        data = handle.read(_READ)
        if data:
            carry += data
            lines = carry.split(b"\n")
            carry = lines.pop()
            for raw in lines:
                number += 1
                yield path, number, (raw + b"\n") if len(raw) <= limit else None
            if len(carry) > limit:  # an overlong line still growing: drop what came of it
                carry = b""
            continue
        rotated = _rotated(path, inode, handle)
        if rotated is None:
            time.sleep(poll)
            continue
        rest = carry + handle.read()  # written to the old file before it was rotated
        handle.close()
        handle = None
        if rotated == "renamed":
            pieces = rest.split(b"\n")
            tail = pieces.pop()
            for raw in [p + b"\n" for p in pieces] + ([tail] if tail else []):
                number += 1
                yield path, number, raw if len(raw) <= limit + 1 else None
    if handle is not None:
        handle.close()


def _rotated(path: str, inode: tuple[int, int] | None, handle: IO[bytes]) -> str | None:
    """ "renamed" when ``path`` now names another file, "truncated" when it was cut, else None."""
    try:
        st = os.stat(path)
    except OSError:
        return None  # renamed and not yet re-created: keep reading the old file meanwhile
    if (st.st_dev, st.st_ino) != inode:
        return "renamed"
    if st.st_size < handle.tell():
        return "truncated"
    return None


def replay_live(
    lines: Iterator[Line],
    out: TextIO | None,
    *,
    fmt: str = "auto",
    field: str | None = None,
    status_field: str | None = None,
    final: bool = False,
    output: str = "json",
    classifier: Classifier | None = None,
    summary: ReplaySummary | None = None,
    ledger: Callable[[list[LedgerRow]], None] | None = None,
    explain: bool = False,
) -> ReplaySummary:
    """Classify ``lines`` one by one, writing (and flushing) each row to ``out`` at once.

    ``out`` None: count only. Lines are counted by kind in the summary as in ``replay``.
    ``ledger`` is given every row (all attempts, as they are read), as ``replay`` gives it.
    """
    summary = summary if summary is not None else ReplaySummary()
    parser = LineParser(fmt, field=field, status_field=status_field)

    def emit(row: ReplayRow) -> None:
        summary.add_row(row)
        if out is not None:
            out.write(render((row,), output, explain))
            out.flush()

    finals = FinalOutcomes(FINAL_WINDOW, emit, view_row, expired_row) if final else None
    if out is not None and output == "csv":
        out.write(",".join(FIELDS + (("explanation",) if explain else ())) + "\n")
        out.flush()
    current = ""
    try:
        for name, number, raw in lines:
            if name != current:
                current = name
                parser.reset()
            summary.lines += 1
            if raw is None:
                summary.kinds[LineKind.OVERLONG] += 1
                summary.note(LineKind.OVERLONG, f"{name}:{number}")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                summary.undecodable += 1
                summary.note("undecodable", f"{name}:{number}")
                text = raw.decode("utf-8", errors="replace")
            kind, record = parser.parse(text.rstrip("\r\n"), first=number == 1)
            summary.kinds[kind] += 1
            summary.bytes_read += len(raw)
            if record is None:
                if kind not in (LineKind.SKIPPED, LineKind.OTHER):
                    summary.note(kind, f"{name}:{number}")
                continue
            rows = rows_of(record, name, number, final, classifier)
            if ledger is not None and rows:
                ledger(ledger_rows(rows))
            for row in rows:
                if finals is None:
                    emit(row)
                else:
                    finals.add(row)
    finally:
        if finals is not None:
            finals.close()
    return summary
