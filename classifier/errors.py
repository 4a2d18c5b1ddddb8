"""One exception tree: everything the library raises on purpose derives from ClassifierError.

Classifying never raises (bad input gives an "unrecognised" result); exceptions are for
things a user must fix, such as a broken rule file.
"""

from __future__ import annotations

__all__ = ["ClassifierError", "InputError", "RuleError"]


class ClassifierError(Exception):
    """Base class of every exception raised on purpose by smtp-classifier."""


class RuleError(ClassifierError):
    """A rule file is invalid: carries the file and the rule id so the user can find it."""

    def __init__(self, message: str, *, file: str | None = None, rule_id: str | None = None):
        self.file = file
        self.rule_id = rule_id
        self.reason = message
        where = ": ".join(part for part in (file, f"rule {rule_id!r}" if rule_id else None) if part)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(ClassifierError):
    """An input that a caller asked to be read cannot be read at all (missing file, bad gzip)."""
