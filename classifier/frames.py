"""Classification as columns: one schema for pandas, Polars, Arrow and Spark.

A frame of replies becomes the same frame with twelve typed columns added. The columns are
built in plain lists, one value per row per column, straight from each result: no result
object is kept once its row is written, and repeated replies are served by the classifier's
bounded cache. Empty values are nulls, so ``code`` is null when a reply is unrecognised.

pandas and Polars are optional (the ``frames`` extra); this module imports neither until a
frame of that kind is given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from .engine import Classifier, default_classifier

__all__ = [
    "BOOL_COLUMNS",
    "COLUMNS",
    "ColumnData",
    "classification_columns",
    "classifier_for",
    "classify_frame",
    "column_names",
]

#: The columns added, in order, with their type: "string" (nullable) or "bool" (never null).
COLUMNS: Final = (
    ("code", "string"),
    ("estado", "string"),
    ("reason", "string"),
    ("rule_id", "string"),
    ("tier", "string"),
    ("retry", "bool"),
    ("final", "bool"),
    ("basic", "string"),
    ("enhanced", "string"),
    ("stage", "string"),
    ("label_en", "string"),
    ("matched", "string"),
)
BOOL_COLUMNS: Final = frozenset(name for name, kind in COLUMNS if kind == "bool")

#: Column name → one value per row.
ColumnData = dict[str, list[Any]]


def column_names(prefix: str = "") -> list[str]:
    """The names of the added columns, with ``prefix`` in front of each."""
    return [prefix + name for name, _ in COLUMNS]


def classifier_for(rules: Sequence[str | Path] = ()) -> Classifier:
    """The bundled classifier, or one with the rule directories ``rules`` checked first."""
    return Classifier.from_dirs(list(rules)) if rules else default_classifier()


def _text(value: object) -> str | bytes | None:
    """A cell as classifier input: text or bytes; None for missing cells (None, NaN, NA)."""
    if isinstance(value, str | bytes):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing markers
        return None
    return str(value)


def _stage(value: object) -> str | None:
    text = _text(value)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text or None


def classification_columns(
    replies: Iterable[object],
    stages: Iterable[object] | None = None,
    *,
    classifier: Classifier | None = None,
    prefix: str = "",
) -> ColumnData:
    """The classification columns of ``replies`` (with each row's stage from ``stages``).

    A missing reply (None, NaN) gives an unrecognised row: ``code`` null, ``tier`` "none".
    """
    clf = classifier if classifier is not None else default_classifier()
    classify = clf.classify
    code: list[str | None] = []
    estado: list[str | None] = []
    reason: list[str | None] = []
    rule_id: list[str | None] = []
    tier: list[str] = []
    retry: list[bool] = []
    final: list[bool] = []
    basic: list[str | None] = []
    enhanced: list[str | None] = []
    stage: list[str | None] = []
    label_en: list[str | None] = []
    matched: list[str | None] = []
    stage_iter = iter(stages) if stages is not None else None
    for value in replies:
        row_stage = _stage(next(stage_iter, None)) if stage_iter is not None else None
        text = _text(value)
        r = classify("" if text is None else text, stage=row_stage)
        info = r.info
        code.append(r.code or None)
        estado.append(info.estado if info is not None else None)
        label_en.append(info.label_en if info is not None else None)
        retry.append(info.retry if info is not None else False)
        final.append(info is not None and not info.retry)
        reason.append(r.reason)
        rule_id.append(r.rule_id)
        tier.append(r.tier.value)
        basic.append(None if r.basic is None else str(r.basic))
        enhanced.append(r.enhanced)
        stage.append(r.stage.value)
        matched.append(r.matched)
    data: dict[str, list[Any]] = {
        "code": code,
        "estado": estado,
        "reason": reason,
        "rule_id": rule_id,
        "tier": tier,
        "retry": retry,
        "final": final,
        "basic": basic,
        "enhanced": enhanced,
        "stage": stage,
        "label_en": label_en,
        "matched": matched,
    }
    return {prefix + name: data[name] for name, _ in COLUMNS}


def _check_names(existing: Iterable[str], prefix: str, stage: str | None) -> None:
    """Added columns may not overwrite the frame's, but for the stage column they normalise."""
    clash = sorted(set(column_names(prefix)) & ({str(c) for c in existing} - {stage}))
    if clash:
        raise ValueError(f"the frame already has columns {clash}; pass prefix= to add others")


def classify_frame(
    df: Any,
    column: str,
    *,
    stage: str | None = None,
    rules: Sequence[str | Path] = (),
    classifier: Classifier | None = None,
    prefix: str = "",
) -> Any:
    """A copy of the pandas or Polars frame ``df`` with the classification of ``column`` added.

    ``stage`` names a column holding each row's SMTP stage (a column called "stage" is replaced
    by the classified stage: normalised, or read from the reply's wrapper); ``rules`` are rule
    directories checked before the bundled rules (or pass a built ``classifier`` to reuse it).
    Raises ``KeyError`` for a missing column, ``ValueError`` when an added column name is taken
    and ``TypeError`` for a frame that is neither pandas nor Polars.
    """
    clf = classifier if classifier is not None else classifier_for(rules)
    module = type(df).__module__.split(".", 1)[0]
    if module == "pandas":
        return _pandas(df, column, stage, clf, prefix)
    if module == "polars":
        return _polars(df, column, stage, clf, prefix)
    raise TypeError(f"classify_frame takes a pandas or Polars DataFrame, not {type(df).__name__}")


def _pandas(df: Any, column: str, stage: str | None, clf: Classifier, prefix: str) -> Any:
    import pandas as pd  # noqa: PLC0415 - optional extra

    for name in (column, stage):
        if name is not None and name not in df.columns:
            raise KeyError(f"no column {name!r} in the frame")
    _check_names(df.columns, prefix, stage)
    stages = df[stage] if stage is not None else None
    data = classification_columns(df[column], stages, classifier=clf, prefix=prefix)
    added = {
        name: pd.Series(values, index=df.index, dtype="boolean" if kind == "bool" else "string")
        for (_, kind), (name, values) in zip(COLUMNS, data.items(), strict=True)
    }
    return df.assign(**added)


def _polars(df: Any, column: str, stage: str | None, clf: Classifier, prefix: str) -> Any:
    import polars as pl  # noqa: PLC0415 - optional extra

    for name in (column, stage):
        if name is not None and name not in df.columns:
            raise KeyError(f"no column {name!r} in the frame")
    _check_names(df.columns, prefix, stage)
    stages = df.get_column(stage) if stage is not None else None
    data = classification_columns(df.get_column(column), stages, classifier=clf, prefix=prefix)
    series = [
        pl.Series(name, values, dtype=pl.Boolean if kind == "bool" else pl.String)
        for (_, kind), (name, values) in zip(COLUMNS, data.items(), strict=True)
    ]
    return df.with_columns(series)
