"""Every real reply of fixtures/replies/*.jsonl gets its expected code."""

from __future__ import annotations

import json

import pytest

from classifier import Classifier

from .conftest import FIXTURES

CASES: list[tuple[str, int, dict[str, object]]] = []
for _path in sorted((FIXTURES / "replies").glob("*.jsonl")):
    for _n, _line in enumerate(_path.read_text(encoding="utf-8").splitlines(), 1):
        if _line.strip():
            CASES.append((_path.name, _n, json.loads(_line)))


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 300, f"only {len(CASES)} fixture replies"


def test_every_fixture_has_provenance() -> None:
    for name, n, case in CASES:
        assert isinstance(case.get("reply"), str) and case["reply"], f"{name}:{n}"
        assert isinstance(case.get("source"), str) and case["source"], f"{name}:{n} no source"
        assert isinstance(case.get("code"), str), f"{name}:{n} no code"


@pytest.mark.parametrize(("name", "n", "case"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_fixture_reply(clf: Classifier, name: str, n: int, case: dict[str, object]) -> None:
    stage = case.get("stage")
    result = clf.classify(str(case["reply"]), stage=stage if isinstance(stage, str) else None)
    assert result.code == case["code"], result.explain()
