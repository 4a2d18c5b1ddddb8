"""A one-line progress report on a terminal."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
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
