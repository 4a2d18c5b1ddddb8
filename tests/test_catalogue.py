"""The catalogue agrees with the vendor's own table, parsed from the seed file itself."""

from __future__ import annotations

import re

import pytest

from classifier import CATALOGUE, all_codes, lookup_code

from .conftest import shared_dir

# PDF-extraction fragments beside rows 502–552 (docs/codes.md): not codes, but their label
# column continues the row above.
NOISE = {"302", "30.", "330", "331", "332"}
CODE = re.compile(r"^(?:\d{3}|MO|MP|New|SM|Retry Fail)$")


def _seed_rows() -> dict[str, tuple[str, str]]:
    text = (shared_dir() / "seed" / "masterbase-bounce-codes.txt").read_text(encoding="utf-8")
    rows: dict[str, list[list[str]]] = {}
    current: str | None = None
    started = False
    for line in text.splitlines():
        cols = line.split("\t")
        if cols[0] == "Código" and len(cols) > 2:
            started = True
            continue
        if not started or not line.strip():
            continue
        head = cols[0].strip()
        if CODE.match(head) and head not in NOISE:
            current = head
            rows[current] = [[cols[1].strip()], [cols[2].strip() if len(cols) > 2 else ""]]
        elif current is not None:
            label = cols[1].strip() if len(cols) > 1 else ""
            estado = cols[2].strip() if len(cols) > 2 else ""
            if label:
                rows[current][0].append(label)
            if estado and estado not in ("2", "Hesote") and head not in NOISE:
                rows[current][1].append(estado)
    return {code: (" ".join(parts[0]), " ".join(parts[1])) for code, parts in rows.items()}


def test_every_seed_code_is_catalogued_with_its_label_and_estado() -> None:
    seed = _seed_rows()
    assert len(seed) == 45
    for code, (label, estado) in seed.items():
        info = lookup_code(code)
        assert info.label_es == label, code
        assert info.estado == estado, code
    assert set(seed) == set(CATALOGUE)


def test_retry_follows_the_estado() -> None:
    for info in all_codes():
        assert info.retry == ("Reintento" in info.estado)
        assert info.final is not info.retry
    assert lookup_code("202").retry
    assert not lookup_code("131").retry


def test_lookup_is_tolerant_of_case_and_int() -> None:
    assert lookup_code(131).code == "131"
    assert lookup_code("retry fail").code == "Retry Fail"
    with pytest.raises(KeyError):
        lookup_code("999")


def test_every_code_has_an_english_label_and_source() -> None:
    for info in all_codes():
        assert info.label_en and info.source
