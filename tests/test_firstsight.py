"""The first-sight batches and the held-out bounce mail, kept as regression guards.

Their first-sight figures are recorded in docs/accuracy.md; these floors only make sure that
a later change does not lose what the classifier gets right on them today.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT

#: Batch → (strict, lenient) floors, just below what the classifier reaches now.
FLOORS = {
    "batch-01.jsonl": (0.92, 0.96),
    "batch-02.jsonl": (0.87, 0.96),
    "batch-03.jsonl": (0.93, 0.97),
    "batch-04.jsonl": (0.91, 0.96),
    "batch-05.jsonl": (0.80, 0.93),
    "batch-06.jsonl": (0.86, 0.96),
    "batch-07.jsonl": (0.83, 0.95),
    "batch-08.jsonl": (0.86, 0.94),
    "batch-09.jsonl": (0.84, 0.94),
    "batch-10.jsonl": (0.87, 0.92),
    "batch-11.jsonl": (0.87, 0.92),
    "batch-12.jsonl": (0.81, 0.87),
    "batch-13.jsonl": (0.88, 0.95),
    "batch-14.jsonl": (0.89, 0.90),
    "batch-15.jsonl": (0.83, 0.89),
    # 16: a TLS library problem and a certificate that does not verify, without a code, are
    # 113 (docs/codes.md); their labels say 554.
    "batch-16.jsonl": (0.78, 0.89),
    "batch-17.jsonl": (0.90, 0.95),
    "batch-18.jsonl": (0.87, 0.94),
    # 19: a certificate that does not verify: 113, labelled 554; "…, 550 5.5.0 Mail refused"
    # read as the 550 it is (labelled 554, 550 accepted).
    "batch-19.jsonl": (0.88, 0.97),
    "batch-20.jsonl": (0.88, 0.95),
    "batch-21.jsonl": (0.93, 0.97),
    "batch-22.jsonl": (0.81, 0.89),
    "batch-23.jsonl": (0.86, 0.93),
    "batch-24.jsonl": (0.84, 0.87),  # a 503 is decided by its code (504), labelled 554
    "batch-25.jsonl": (0.78, 0.92),
    "batch-26.jsonl": (0.84, 0.94),
    "batch-27.jsonl": (0.89, 0.96),
    # 28, 49: a client's "could not be sent" is its transaction (554, meaning.send-failed);
    # two bounces that say it of a message the server gave up on are labelled 133.
    "batch-28.jsonl": (0.917, 0.96),
    "batch-29.jsonl": (0.84, 0.88),  # 555 is 504's case (docs/codes.md), labelled 554
    "batch-30.jsonl": (0.82, 0.95),
    "batch-31.jsonl": (0.86, 0.94),
    "batch-32.jsonl": (0.71, 0.76),
    "batch-33.jsonl": (0.82, 0.91),
    "batch-34.jsonl": (0.80, 0.87),
    "batch-35.jsonl": (0.85, 0.95),
    "batch-36.jsonl": (0.85, 0.92),
    "batch-37.jsonl": (0.72, 0.91),
    "batch-38.jsonl": (0.85, 0.91),
    "batch-39.jsonl": (0.8428, 0.9285),
    "batch-40.jsonl": (0.8405, 0.9565),
    "batch-41.jsonl": (0.8028, 0.8591),
    "batch-42.jsonl": (0.7571, 0.8428),
    "batch-43.jsonl": (0.647, 0.647),
    "batch-44.jsonl": (0.8, 0.9),
    "batch-45.jsonl": (0.923, 1.0),
    "batch-46.jsonl": (0.92, 0.96),
    "batch-47.jsonl": (0.9375, 0.9531),
    "batch-48.jsonl": (0.9062, 0.9375),
    "batch-49.jsonl": (0.7659, 0.851),
    "batch-50.jsonl": (0.7634, 0.8494),
    "batch-51.jsonl": (0.8529, 0.9705),
    "batch-52.jsonl": (0.7647, 0.9411),
    "batch-53.jsonl": (0.7291, 0.8541),
    "batch-54.jsonl": (0.7872, 0.9787),
    "batch-55.jsonl": (0.9629, 1.0),
    "batch-56.jsonl": (0.8291, 0.9177),
    "batch-57.jsonl": (0.8039, 0.8921),
    "batch-58.jsonl": (0.7843, 0.8529),
    "batch-59.jsonl": (0.9, 0.9666),
    "batch-60.jsonl": (0.7435, 0.8461),
    "batch-61.jsonl": (0.8461, 0.9487),
    "batch-62.jsonl": (0.8596, 0.9736),
    "batch-63.jsonl": (0.8849, 0.9557),
    "batch-64.jsonl": (0.9158, 0.9906),
    "batch-65.jsonl": (0.9065, 0.9532),
    "batch-66.jsonl": (0.9183, 0.9795),
    "batch-67.jsonl": (0.9583, 1.0),
    "batch-68.jsonl": (0.8571, 0.9523),
    "batch-69.jsonl": (0.9, 0.95),
    "batch-70.jsonl": (0.915, 0.993),
    "batch-71.jsonl": (0.835, 0.953),
    "batch-72.jsonl": (0.877, 0.973),
    "batch-73.jsonl": (0.903, 0.982),
    "batch-74.jsonl": (0.909, 0.969),
    "batch-75.jsonl": (0.843, 1.0),
    "batch-76.jsonl": (0.782, 0.935),
    "batch-77.jsonl": (0.769, 0.91),
    "batch-78.jsonl": (0.825, 0.887),
    "batch-79.jsonl": (0.81, 0.835),
    "batch-80.jsonl": (0.754, 0.792),
    "batch-81.jsonl": (0.826, 0.903),
}


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("batch", sorted(FLOORS))
def test_first_sight_batch_does_not_lose_ground(batch: str) -> None:
    bench = _bench("first_sight")
    outcomes = bench.evaluate(bench.load(ROOT / "fixtures" / "firstsight" / batch))
    strict = sum(o.strict for o in outcomes) / len(outcomes)
    lenient = sum(o.lenient for o in outcomes) / len(outcomes)
    floor_strict, floor_lenient = FLOORS[batch]
    assert strict >= floor_strict and lenient >= floor_lenient, (strict, lenient)


def test_every_batch_item_is_labelled_with_a_source() -> None:
    bench = _bench("first_sight")
    for path in sorted((ROOT / "fixtures" / "firstsight").glob("batch-*.jsonl")):
        for item in bench.load(path):
            assert str(item["code"]) in {str(c) for c in item["accept"]}, item
            assert str(item["source"]).strip(), item


def test_held_out_bounce_mail_does_not_lose_ground() -> None:
    corpus = Path(ROOT / "fixtures" / "heldout-mail")
    bench = _bench("sisimai_accuracy")
    figures = bench.summary(bench.evaluate(corpus))
    assert figures["recipients"] == 252
    assert figures["strict"] >= 0.80 and figures["accept"] >= 0.84, figures


def test_held_out_recipient_extraction_does_not_lose_ground() -> None:
    rows = _bench("recipients").evaluate(Path(ROOT / "fixtures" / "heldout-mail"))
    found = sum(r.found for r in rows)
    extra = sum(r.extra for r in rows)
    assert found >= 231 and extra <= 9, (found, extra)
