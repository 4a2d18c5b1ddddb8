"""The generalisation check: what the product knows beyond each product-specific phrase list."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.checks import check_generalisation
from classifier.cli import main
from classifier.engine import Classifier
from classifier.rules import load_rules


def test_each_specific_file_is_switched_off_and_its_examples_counted() -> None:
    clf = Classifier(load_rules(), cache_size=0)
    results = check_generalisation(clf)
    names = [Path(r.file).name for r in results]
    assert names == sorted(names)
    assert all(name[0] in "123" for name in names)
    assert "500-generic-mailbox.toml" not in names
    own = {r.file: sum(len(x.examples) for x in clf.rules if x.file == r.file) for r in results}
    assert all(r.examples == own[r.file] and 0 <= r.right <= r.examples for r in results)


def test_check_rules_reports_generalisation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-rules", "--generalisation"]) == 0
    out = capsys.readouterr().out
    assert "generalisation:" in out
    assert "overall" in out.splitlines()[-1]
