"""The meaning layer as a rule set holds it: imported and built the first time a reply needs it.

Most replies are decided by a phrase rule and never reach the meaning layer, so a process that
loads the compiled rule cache imports neither the lexicon nor the frames nor the normaliser
until then (``import classifier`` stays cheap); the stored lexicon and frames become a reader
on first use, under a lock.
"""

from __future__ import annotations

import marshal
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RuleError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from .frames import Frame, MeaningReader
    from .lexicon import Lexicon

__all__ = ["MEANING_DIR", "Meaning", "meaning_from_state"]

#: The sub-directory of a rule directory that holds the meaning layer's files.
MEANING_DIR = "meaning"


class Meaning:
    """A meaning reader made by ``build`` when first asked for (or given already built)."""

    __slots__ = ("_build", "_lock", "_reader")

    def __init__(self, build: Callable[[], MeaningReader]) -> None:
        """The reader that ``build`` makes, once, when a reply first needs it."""
        self._build = build
        self._lock = threading.Lock()
        self._reader: MeaningReader | None = None

    @classmethod
    def of(cls, reader: MeaningReader) -> Meaning:
        """A reader already built (rules read from their files)."""
        meaning = cls(lambda: reader)
        meaning._reader = reader
        return meaning

    @property
    def built(self) -> bool:
        """Whether the reader has been made."""
        return self._reader is not None

    def reader(self) -> MeaningReader:
        """The reader, made now if it was not yet."""
        reader = self._reader
        if reader is None:
            with self._lock:
                reader = self._reader
                if reader is None:
                    reader = self._reader = self._build()
        return reader

    @property
    def lexicon(self) -> Lexicon:
        """The concepts and their terms."""
        return self.reader().lexicon

    @property
    def frames(self) -> tuple[Frame, ...]:
        """The frames, in the order they are tried."""
        return self.reader().frames


def meaning_from_state(
    data: Any, reasons: Mapping[str, object], dirs: Sequence[Traversable | Path]
) -> Meaning:
    """The meaning layer back from ``load.meaning_state`` in ``marshal`` form, unpacked and
    built when first needed. Should the data not be a lexicon and frames, the files of ``dirs``
    are read then instead."""
    if not isinstance(data, bytes):
        raise ValueError("not a stored meaning layer")

    def build() -> MeaningReader:
        from .load import load_meaning, reader_from_state  # noqa: PLC0415 - on first use

        try:
            return reader_from_state(marshal.loads(data), reasons)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, EOFError):
            reader = load_meaning(dirs, reasons)
            if reader is None:
                raise RuleError("the meaning layer's files are gone") from None
            return reader

    return Meaning(build)
