"""Replaying MTA logs: one classified row per delivery attempt, a summary, the final word."""

from __future__ import annotations

from .run import (
    FIELDS,
    FINAL_WINDOW,
    ReplayOptions,
    ReplayRow,
    ReplaySummary,
    classify_record,
    replay,
    replay_lines,
    template_of,
)

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
