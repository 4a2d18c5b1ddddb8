"""The meaning layer: concepts a reply states, read where no phrase rule recognised it.

``normalise`` turns a reply into clauses of plain tokens, ``lexicon`` finds the concepts
(subjects, states, topics) said in a clause, ``frames`` says which concepts together mean
which portable reason. The data lives in ``rules/meaning/`` (lexicon.toml, frames.toml).
"""

from __future__ import annotations

from .frames import Frame, FrameMatch, MeaningReader, parse_frames
from .lexicon import Concept, ConceptKind, Hit, Lexicon, Term, parse_lexicon
from .normalise import clauses, fold

__all__ = [
    "Concept",
    "ConceptKind",
    "Frame",
    "FrameMatch",
    "Hit",
    "Lexicon",
    "MeaningReader",
    "Term",
    "clauses",
    "fold",
    "parse_frames",
    "parse_lexicon",
]
