"""Results, records and replay work items pickle and copy to equal objects (picklable.py).

Replay workers receive their options and send back their results pickled; users pickle
results into queues and caches. tests/test_compiled.py runs this file in the compiled build
too, where a frozen dataclass cannot restore pickled state by itself.
"""

from __future__ import annotations

import copy
import copyreg
import dataclasses
import importlib
import io
import pickle
import tomllib
from pathlib import Path
from typing import Any

import pytest

from classifier import classify, parse_reply
from classifier.ledger import DEFAULT_POLICY, ReplayFeed
from classifier.logreplay import ReplayOptions, replay, replay_lines
from classifier.logreplay.run import run_chunk
from classifier.logreplay.sources import Chunk
from classifier.mail.message import classify_message

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "fixtures" / "postfix" / "postfix-3.7.11-fakemx.log"


def _samples() -> list[Any]:
    lines = LOG.read_text(encoding="utf-8").splitlines()
    rows = list(replay_lines(lines, source="fakemx"))
    mails = sorted((ROOT / "fixtures" / "mail").glob("*.eml"))
    report = next(r for r in map(classify_message, (m.read_bytes() for m in mails)) if r.recipients)
    summary = replay([str(LOG)], io.StringIO(), ReplayOptions())
    events = list(ReplayFeed(year=2025).events(rows))
    data = "\n".join(lines).encode() + b"\n"
    chunk = Chunk(
        source="fakemx", first_line=1, at_start=True, header=None, header_kind="", data=data
    )
    return [
        classify("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown"),
        parse_reply("452 4.2.2 Mailbox full", stage="rcpt"),
        rows[0],
        rows[0].record,
        report,
        *report.recipients,
        summary,
        events[0],
        DEFAULT_POLICY,
        ReplayOptions(workers=2, final=True),
        run_chunk(chunk, ReplayOptions()),
    ]


@pytest.mark.parametrize("sample", _samples(), ids=lambda s: type(s).__name__)
def test_pickles_and_copies_to_an_equal_object(sample: Any) -> None:
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        assert pickle.loads(pickle.dumps(sample, protocol)) == sample
    assert copy.copy(sample) == sample
    assert copy.deepcopy(sample) == sample


def test_every_dataclass_of_a_compiled_module_pickles_by_its_fields() -> None:
    """A dataclass added to a module of the compile list must be registered (by_fields)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    paths = config["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["custom"]["compile"]
    found = []
    for path in paths:
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == module.__name__
            ):
                found.append(value)
                assert value in copyreg.dispatch_table, f"{value.__qualname__} not registered"
    assert len(found) >= 20
