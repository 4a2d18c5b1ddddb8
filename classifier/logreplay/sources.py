"""Reading the inputs: files or streams in blocks cut at line ends (gzip, overlong lines,
truncation), and the chunks handed to workers."""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Final

from ..errors import InputError
from ..logs import LineParser

__all__ = ["CHUNK_BYTES", "Chunk", "Source", "chunks", "open_sources"]

#: Bytes per chunk handed to a worker (a few thousand lines): large enough that passing it
#: between processes is cheap compared with classifying it, small enough to keep every
#: worker busy. The reader only cuts blocks at line ends; workers split the lines.
CHUNK_BYTES: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class Chunk:
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


class Source:
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
        #: Lines end with a bare carriage return (classic Mac): decided on the first block.
        self.cr_only: bool | None = None

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
            if self.cr_only is None:
                self.cr_only = b"\r" in block and b"\n" not in block
            if self.cr_only:
                block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
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


def chunks(
    sources: Iterable[Source],
    scout: LineParser,
    sizes: tuple[int, int],
    problems: list[str],
    tick: Callable[[], None],
) -> Iterator[Chunk]:
    """Cut every source into chunks; a CSV header starts a new chunk so each carries its own.

    ``scout`` is a parser of the replay's format that only reads headers; ``sizes`` are the
    chunk size and the longest line, in bytes.
    """
    chunk_bytes, max_line_bytes = sizes
    for source in sources:
        scout.reset()
        first = 1
        for data, overlong in source.blocks(chunk_bytes, max_line_bytes, problems):
            for piece in _header_cuts(data):
                at_start = first == 1
                header, kind = scout.header, scout.header_kind
                if at_start or piece.startswith(b"type,"):
                    end = piece.find(b"\n")
                    head = (piece[:end] if end >= 0 else piece).decode("utf-8", errors="replace")
                    if scout.observe_header(head.rstrip("\r"), first=at_start):
                        header, kind, at_start = None, "", True  # the chunk reads it itself
                yield Chunk(source.name, first, at_start, header, kind, piece, overlong)
                first += piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1)
                tick()
        source.close()


def open_sources(names: Sequence[str]) -> Iterator[Source]:
    for name in names:
        yield Source(name, sys.stdin.buffer if name == "-" else None)
