"""The meaning layer: concepts a reply states, read where no phrase rule recognised it.

``normalise`` turns a reply into clauses of plain tokens, ``lexicon`` finds the concepts
(subjects, states, topics) said in a clause, ``frames`` says which concepts together mean
which portable reason. The data lives in ``rules/meaning/`` (lexicon.toml, frames.toml).
A rule set holds the layer through ``lazy.Meaning``; the modules below load on first use, so
that importing the package (and ``classifier``) does not import them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazyattrs import lazy_getattr
from .lazy import MEANING_DIR, Meaning, meaning_from_state

if TYPE_CHECKING:
    from .frames import Frame, FrameMatch, MeaningReader, parse_frames
    from .lexicon import Concept, ConceptKind, Hit, Lexicon, Term, parse_lexicon
    from .normalise import clauses, fold

_LAZY = {
    "Frame": "frames",
    "FrameMatch": "frames",
    "MeaningReader": "frames",
    "parse_frames": "frames",
    "Concept": "lexicon",
    "ConceptKind": "lexicon",
    "Hit": "lexicon",
    "Lexicon": "lexicon",
    "Term": "lexicon",
    "parse_lexicon": "lexicon",
    "clauses": "normalise",
    "fold": "normalise",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "MEANING_DIR",
    "Concept",
    "ConceptKind",
    "Frame",
    "FrameMatch",
    "Hit",
    "Lexicon",
    "Meaning",
    "MeaningReader",
    "Term",
    "clauses",
    "fold",
    "meaning_from_state",
    "parse_frames",
    "parse_lexicon",
]
