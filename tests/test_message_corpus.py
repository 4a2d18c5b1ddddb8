"""Accuracy on the labelled Sisimai bounce corpus (vendored in fixtures/sisimai)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.conftest import FIXTURES, ROOT

CORPUS = FIXTURES / "sisimai"

#: Agreement required with the corpus labels (bench/sisimai_accuracy.py gives the figures):
#: just below what the classifier reaches, so that any regression fails.
MIN_STRICT = 0.95
MIN_ACCEPT = 0.99


def _bench() -> ModuleType:
    path = ROOT / "bench" / "sisimai_accuracy.py"
    spec = importlib.util.spec_from_file_location("sisimai_accuracy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sisimai_accuracy"] = module
    spec.loader.exec_module(module)
    return module


def test_sisimai_corpus_agreement() -> None:
    corpus: Path = CORPUS
    bench = _bench()
    outcomes = bench.evaluate(corpus)
    figures = bench.summary(outcomes)
    assert figures["recipients"] == 421
    assert figures["accept"] >= MIN_ACCEPT, figures
    assert figures["strict"] >= MIN_STRICT, figures


def test_every_labelled_bounce_yields_its_recipients() -> None:
    corpus: Path = CORPUS
    outcomes = _bench().evaluate(corpus)
    missing = [o.file for o in outcomes if o.predicted == "missing"]
    # Two labels name recipients the mail does not carry as such (a synthesised address in
    # arf-12, the second of two delivery reports saved in one file in rfc3464-28, which
    # classify_message reads as one message and says so).
    assert len(missing) <= 2, missing
