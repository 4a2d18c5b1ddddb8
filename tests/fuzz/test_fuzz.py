"""Fuzzing in the test suite: every seed, then mutated seeds, through every target.

The default profile runs a few dozen mutated inputs per target (seconds). Set
``SMTP_CLASSIFIER_FUZZ=long`` for the long profile (see tests/fuzz/README.md).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .targets import TARGETS, seeds

settings.register_profile(
    "fuzz-ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz-long",
    max_examples=250_000,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
PROFILE = settings.get_profile(
    "fuzz-long" if os.environ.get("SMTP_CLASSIFIER_FUZZ") == "long" else "fuzz-ci"
)

#: Fragments that broke something once (the findings of the hostile-input review), spliced in.
HOSTILE = (
    b" " * 4000,
    b"\t" * 2000,
    b"\xed\xa0\x80",  # an encoded lone surrogate
    b"+2D0-",
    b"\x00\x00",
    b"\r",
    b"\xef\xbb\xbf",
    b"reply=550 " * 50,
    b"status=sent (" * 50,
    b"lost connection with x while a",
    b"Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\n\n" * 20,
    b"(?:(?:x{100}){100}){100}",
    b"\xff\xfe",
)


@st.composite
def mutated(draw: st.DrawFn, target: str) -> bytes:
    """A seed of ``target`` with a few cuts, repeats, byte flips and hostile fragments."""
    data = bytearray(draw(st.sampled_from(seeds(target))))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("insert", "cut", "repeat", "flip", "truncate")))
        if op == "insert":
            piece = draw(st.one_of(st.sampled_from(HOSTILE), st.binary(max_size=64)))
            data[at:at] = piece
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "repeat":
            chunk = bytes(data[at : at + draw(st.integers(1, 40))])
            data[at:at] = chunk * draw(st.integers(1, 300))
        elif op == "flip" and data:
            index = min(at, len(data) - 1)
            data[index] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[at:]
    return bytes(data)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_seed_passes(target: str) -> None:
    items = seeds(target)
    assert items, target
    for item in items[:60] if target == "rule_file" else items:
        TARGETS[target](item)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_mutated_seeds_pass(target: str) -> None:
    @PROFILE
    @given(mutated(target))
    def run(data: bytes) -> None:
        TARGETS[target](data)

    run()
