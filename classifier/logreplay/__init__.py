"""Replaying MTA logs: one classified row per delivery attempt, a summary, the final word."""

from __future__ import annotations

from .final import FINAL_WINDOW
from .rows import FIELDS, ReplayRow, classify_record
from .run import ReplayOptions, replay, replay_lines
from .summary import ReplaySummary, template_of

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
