"""The corpora vendored in fixtures/ are verbatim copies of the shared corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import FIXTURES, shared_dir

#: Vendored directory, and its file names that differ from the shared ones.
VENDORED = {
    "sisimai": (FIXTURES / "sisimai", {}),
    "postfix": (FIXTURES / "postfix", {"README.md": "CORPUS.md"}),
}


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(VENDORED))
def test_vendored_copy_equals_the_shared_corpus(name: str) -> None:
    shared = shared_dir() / "corpus" / name
    vendored, renamed = VENDORED[name]
    files = _files(shared)
    assert files
    for relative in files:
        copy = vendored / renamed.get(str(relative), str(relative))
        assert copy.is_file(), f"{relative} of the shared corpus is not vendored"
        assert copy.read_bytes() == (shared / relative).read_bytes(), relative


def test_vendored_corpora_are_complete() -> None:
    # What the tests of core claims read, present in every clone.
    emails = FIXTURES / "sisimai" / "emails"
    assert len(list(emails.glob("*.eml"))) == 397
    labels = (FIXTURES / "sisimai" / "expected.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(labels) == 421
    assert "BSD 2-CLAUSE" in (FIXTURES / "sisimai" / "LICENSE").read_text(encoding="utf-8")
    for name in ("postfix-3.7.11-fakemx.log", "postfix-3.7.11-dsn.mbox", "CORPUS.md"):
        assert (FIXTURES / "postfix" / name).stat().st_size > 0
