"""Shared test helpers: where the shared corpus is, and a classifier of the bundled rules."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from classifier import Classifier, default_classifier
from classifier.rulecache import CACHE_ENV

# The compiled rule cache of a test run lives in a directory of its own (also for the commands
# the tests start), not in the user's cache.
_RULE_CACHE = tempfile.mkdtemp(prefix="smtp-classifier-test-cache-")
os.environ[CACHE_ENV] = _RULE_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the test run's rule cache."""
    shutil.rmtree(_RULE_CACHE, ignore_errors=True)


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
