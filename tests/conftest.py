"""Shared test helpers: where the shared corpus is, and a classifier of the bundled rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier import Classifier, default_classifier

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def shared_dir() -> Path:
    """The read-only ../shared beside the checkout; skips the calling test when it is absent."""
    path = ROOT.parent / "shared"
    if not (path / "corpus").is_dir():
        pytest.skip(f"shared corpus not found at {path} (present in CI, not in a user's clone)")
    return path


@pytest.fixture(scope="session")
def clf() -> Classifier:
    """The default classifier (bundled rules)."""
    return default_classifier()
