"""Dataclasses pickle and copy by their fields, alike in the pure and the compiled build.

Python pickles a slotted dataclass by its slots and, for a frozen one, restores them with
``object.__setattr__``. Compiled with mypyc (the opt-in wheel, see README), a class restores
pickled state with plain ``setattr``, which a frozen dataclass refuses, so its objects could
not cross to a replay worker or be copied. A reducer registered with ``copyreg`` (which
pickle, multiprocessing and ``copy`` consult first) rebuilds such an object through its
constructor instead: the same way, and the same pickles, in both builds.
"""

from __future__ import annotations

import copyreg
from dataclasses import fields
from typing import Any

__all__ = ["by_fields"]


def _reduce(obj: Any) -> tuple[type[Any], tuple[Any, ...]]:
    return type(obj), tuple(getattr(obj, f.name) for f in fields(obj))


def by_fields(*classes: type[Any]) -> None:
    """Pickle and copy objects of ``classes`` (dataclasses that take every field in their
    constructor, in order) as their constructor called with their fields."""
    for cls in classes:
        if not all(f.init for f in fields(cls)):
            raise TypeError(f"{cls.__name__} has a field its constructor does not take")
        copyreg.pickle(cls, _reduce)
