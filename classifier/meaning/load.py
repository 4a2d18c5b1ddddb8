"""Loading the meaning layer from rule directories: ``meaning/lexicon.toml`` and ``frames.toml``.

The bundled directory holds the lexicon and frames; a user directory may add terms to a
bundled concept, add concepts, and add frames, which are checked before the bundled ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..conditions import Conditions, Example, read_toml
from ..enums import Stage
from ..errors import RuleError
from .frames import Frame, MeaningReader, parse_frames
from .lazy import MEANING_DIR
from .lexicon import Concept, ConceptKind, Lexicon, Term, parse_lexicon

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["MEANING_DIR", "load_meaning", "meaning_state", "reader_from_state"]


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
            place=known.place or concept.place,
            keeps_negation=known.keeps_negation or concept.keeps_negation,
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


def meaning_state(reader: MeaningReader) -> tuple[Any, ...]:
    """The lexicon and frames as plain data, for the compiled rule cache (rules.py)."""
    concepts = tuple(
        (
            c.name,
            str(c.kind),
            tuple((t.concept, t.words, t.lang) for t in c.terms),
            c.description,
            c.place,
            c.keeps_negation,
        )
        for c in reader.lexicon.concepts.values()
    )
    frames = tuple(
        (
            f.id,
            f.reason,
            f.all,
            f.none,
            f.within,
            f.conditions.basic,
            f.conditions.enhanced,
            tuple(sorted(str(s) for s in f.conditions.stages)),
            f.coded,
            f.general,
            f.apart,
            f.only,
            tuple((e.reply, e.code, e.source, e.stage) for e in f.examples),
            f.note,
            f.file,
            f.position,
        )
        for f in reader.frames
    )
    return (concepts, frames)


def reader_from_state(data: Any, reasons: Mapping[str, object]) -> MeaningReader:
    """The reader of the lexicon and frames ``meaning_state`` stored (ValueError and the
    like when the data is not that)."""
    concepts_data, frames_data = data
    lexicon = Lexicon(
        Concept(
            name=name,
            kind=ConceptKind(kind),
            terms=tuple(
                Term(concept=concept, words=words, lang=lang) for concept, words, lang in terms
            ),
            description=description,
            place=place,
            keeps_negation=keeps_negation,
        )
        for name, kind, terms, description, place, keeps_negation in concepts_data
    )
    frames = []
    for (
        frame_id,
        reason,
        required,
        excluded,
        within,
        basic,
        enhanced,
        stages,
        coded,
        general,
        apart,
        only,
        examples,
        note,
        file,
        position,
    ) in frames_data:
        if reason not in reasons:
            raise ValueError(f"frame {frame_id!r}: unknown reason {reason!r}")
        frames.append(
            Frame(
                id=frame_id,
                reason=reason,
                all=required,
                none=excluded,
                within=within,
                conditions=Conditions(
                    basic=basic, enhanced=enhanced, stages=frozenset(Stage(s) for s in stages)
                ),
                coded=coded,
                general=general,
                apart=apart,
                only=only,
                examples=tuple(
                    Example(reply=reply, code=code, source=source, stage=stage)
                    for reply, code, source, stage in examples
                ),
                note=note,
                file=file,
                position=position,
            )
        )
    return MeaningReader(lexicon, frames)
