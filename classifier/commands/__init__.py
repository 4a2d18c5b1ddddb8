"""Subcommands of the smtp-classifier command line, discovered automatically."""

from __future__ import annotations

import os
import sys

__all__ = ["terminal_columns"]


def terminal_columns(fallback: int = 80) -> int:
    """The width of the terminal: ``COLUMNS`` when set, else the size of standard output's
    terminal, else ``fallback``. ``shutil.get_terminal_size`` reads the same, but importing
    shutil costs the command line ~3 ms of its start for this one call."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else fallback
