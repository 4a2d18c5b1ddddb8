"""The README's examples run as written."""

from __future__ import annotations

import doctest
import re

from .conftest import ROOT


def test_readme_examples() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if ">>>" in b]
    assert blocks
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for n, block in enumerate(blocks):
        test = parser.get_doctest(block, {}, f"README[{n}]", "README.md", 0)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0


def test_sample_replies_are_all_recognised() -> None:
    from classifier import classify

    for line in (ROOT / "fixtures" / "sample-replies.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            continue
        assert classify(line).recognised, line
