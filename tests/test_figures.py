"""The figures quoted in README.md and docs/ are what the code gives today (bench/figures.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_figures_in_the_docs_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "figures.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, (
        "stale figures; run `.venv/bin/python bench/figures.py --write`:\n" + done.stdout
    )


def test_a_stale_figure_is_caught_and_rewritten(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import figures
    finally:
        sys.path.remove(str(ROOT / "bench"))
    doc = tmp_path / "doc.md"
    doc.write_text("We ship <!-- figure:codes -->44<!-- /figure --> codes.\n", encoding="utf-8")
    real = figures.DOCS
    said: list[str] = []
    try:
        figures.DOCS = (doc,)
        assert figures.run(write=False, out=said.append) == 1
        assert said == ["doc.md: figure codes says 44, the code gives 45"]
        figures.run(write=True, out=said.append)
        assert figures.run(write=False, out=said.append) == 0
    finally:
        figures.DOCS = real
    assert "<!-- figure:codes -->45<!-- /figure -->" in doc.read_text(encoding="utf-8")
