"""Loading the meaning layer from rule directories: ``meaning/lexicon.toml`` and ``frames.toml``.

The bundled directory holds the lexicon and frames; a user directory may add terms to a
bundled concept, add concepts, and add frames, which are checked before the bundled ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path

from ..conditions import read_toml
from ..errors import RuleError
from .frames import Frame, MeaningReader, parse_frames
from .lexicon import Concept, Lexicon, parse_lexicon

__all__ = ["MEANING_DIR", "load_meaning"]

#: The sub-directory of a rule directory that holds the meaning layer's files.
MEANING_DIR = "meaning"


def _merge(concepts: dict[str, Concept], added: list[Concept], file: str) -> None:
    for concept in added:
        known = concepts.get(concept.name)
        if known is None:
            concepts[concept.name] = concept
            continue
        if known.kind is not concept.kind:
            raise RuleError(
                f"concept {concept.name!r} is a {known.kind.value} elsewhere, "
                f"not a {concept.kind.value}",
                file=file,
            )
        concepts[concept.name] = Concept(
            name=known.name,
            kind=known.kind,
            terms=known.terms + concept.terms,
            description=known.description,
        )


def load_meaning(
    dirs: Sequence[Traversable | Path], reasons: Mapping[str, object]
) -> MeaningReader | None:
    """The lexicon and frames of ``dirs`` (bundled directory last); None when none has any.

    Raises RuleError for an invalid file, an unknown concept or reason, a frame without a
    real example, or a duplicate frame id.
    """
    concepts: dict[str, Concept] = {}
    frame_files: list[tuple[Traversable | Path, list[object]]] = []
    # Lexicons first (every directory's terms), then frames, which name concepts.
    for directory in reversed(dirs):
        meaning = directory / MEANING_DIR
        if not meaning.is_dir():
            continue
        lexicon_file = meaning / "lexicon.toml"
        if lexicon_file.is_file():
            _merge(
                concepts,
                parse_lexicon(read_toml(lexicon_file), str(lexicon_file)),
                str(lexicon_file),
            )
        frames_file = meaning / "frames.toml"
        if frames_file.is_file():
            data = read_toml(frames_file)
            unknown = set(data) - {"frame"}
            if unknown:
                raise RuleError(f"unknown top-level keys {sorted(unknown)}", file=str(frames_file))
            raw = data.get("frame", [])
            if not isinstance(raw, list):
                raise RuleError("'frame' must be an array of tables", file=str(frames_file))
            frame_files.append((frames_file, raw))
    if not concepts:
        return None
    lexicon = Lexicon(concepts.values())
    frames: list[Frame] = []
    seen: dict[str, str] = {}
    # User directories' frames come first: reversed() above read the bundled one first.
    for path, raw in reversed(frame_files):
        for frame in parse_frames(raw, str(path), lexicon, reasons):
            if frame.id in seen:
                raise RuleError(
                    f"duplicate frame id (also in {seen[frame.id]})",
                    file=str(path),
                    rule_id=frame.id,
                )
            seen[frame.id] = str(path)
            frames.append(frame)
    return MeaningReader(lexicon, frames)
