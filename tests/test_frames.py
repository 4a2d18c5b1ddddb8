"""classify_frame: the classification columns for pandas and Polars frames."""

from __future__ import annotations

from typing import Any

import pytest

from classifier import classify
from classifier.frames import COLUMNS, classification_columns, classify_frame, column_names

REPLIES = [
    "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown",
    "452 4.2.2 Mailbox full",
    "550 5.1.1 User unknown",
    "no code and no known words",
    None,
    b"421 4.7.0 Try again later, closing connection. (\xff)",
]
STAGES = ["rcpt", None, "mail", None, None, "connect"]


def _expected(reply: str | bytes | None, stage: str | None) -> dict[str, Any]:
    r = classify("" if reply is None else reply, stage=stage)
    return {
        "code": r.code or None,
        "estado": r.estado or None,
        "reason": r.reason,
        "rule_id": r.rule_id,
        "tier": r.tier.value,
        "retry": r.retry,
        "final": r.final,
        "basic": None if r.basic is None else str(r.basic),
        "enhanced": r.enhanced,
        "stage": r.stage.value,
        "label_en": r.label_en or None,
        "matched": r.matched,
    }


def test_columns_match_classify_row_by_row() -> None:
    data = classification_columns(REPLIES, STAGES)
    assert list(data) == column_names()
    rows = [{name: data[name][i] for name in data} for i in range(len(REPLIES))]
    assert rows == [_expected(r, s) for r, s in zip(REPLIES, STAGES, strict=True)]
    assert rows[2]["code"] == "554" and rows[3]["code"] is None and rows[4]["tier"] == "none"


def test_pandas_frame() -> None:
    pd = pytest.importorskip("pandas", reason="the frames extra (pandas) is not installed")
    df = pd.DataFrame({"reply": REPLIES, "stage": STAGES, "n": range(6)}, index=list("abcdef"))
    out = classify_frame(df, "reply", stage="stage")
    assert list(out.columns) == [
        "reply",
        "stage",
        "n",
        *(c for c in column_names() if c != "stage"),
    ]
    assert list(out.index) == list("abcdef") and list(df.columns) == ["reply", "stage", "n"]
    assert str(out["code"].dtype) == "string" and str(out["final"].dtype) == "boolean"
    got = out.iloc[0][column_names()].to_dict()
    assert got == _expected(REPLIES[0], "rcpt")
    assert out["code"].isna().tolist() == [False, False, False, True, True, False]
    with pytest.raises(ValueError, match="prefix"):
        classify_frame(out, "reply")
    assert "mb_code" in classify_frame(out, "reply", prefix="mb_").columns
    with pytest.raises(KeyError):
        classify_frame(df, "missing")
    nan = pd.DataFrame({"reply": [float("nan"), pd.NA]})
    assert classify_frame(nan, "reply")["tier"].tolist() == ["none", "none"]


def test_polars_frame_has_the_same_values() -> None:
    pl = pytest.importorskip("polars", reason="the frames extra (Polars) is not installed")
    texts = [r if not isinstance(r, bytes) else r.decode("latin-1") for r in REPLIES]
    df = pl.DataFrame({"reply": texts, "stage": STAGES})
    out = classify_frame(df, "reply", stage="stage")
    assert out.columns == ["reply", "stage", *(c for c in column_names() if c != "stage")]
    kinds = {name: str(out.schema[name]) for name, _ in COLUMNS}
    assert kinds["code"] == "String" and kinds["retry"] == "Boolean"
    rows = out.select(column_names()).to_dicts()
    assert rows == [_expected(r, s) for r, s in zip(texts, STAGES, strict=True)]


def test_other_objects_are_refused() -> None:
    with pytest.raises(TypeError):
        classify_frame([["550 user unknown"]], "reply")
