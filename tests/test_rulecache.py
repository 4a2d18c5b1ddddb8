"""The compiled rule cache: the same rule set as the files give, rebuilt when they change,
ignored when damaged or untrusted, bounded, and safe for processes loading at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifier import Classifier, RuleError, RuleSet, load_rules, rulecache
from classifier import rules as rules_module
from classifier.meaning import load as meaning_load
from classifier.rulecache import CACHE_ENV

USER_RULE = """
[[rule]]
id = "local.parked"
reason = "mailbox_disabled"
pattern = ["acme mailbox parked", "acme (?:box|account) frozen"]
stage = ["rcpt"]
[[rule.example]]
reply = "550 5.1.1 acme mailbox parked"
code = "132"
stage = "rcpt"
source = "ACME Corp internal MTA, ticket 42"
"""

LEXICON = """
[acme-thing]
kind = "subject"
en = ["acme widget"]
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory of this test's own."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(directory))
    return directory


def _user_dir(tmp_path: Path, body: str = USER_RULE) -> Path:
    d = tmp_path / "rules"
    (d / "meaning").mkdir(parents=True, exist_ok=True)
    (d / "local.toml").write_text(body, encoding="utf-8")
    (d / "meaning" / "lexicon.toml").write_text(LEXICON, encoding="utf-8")
    return d


def _files(cache: Path) -> list[Path]:
    return sorted(cache.glob("rules-*.bin"))


def _same(a: RuleSet, b: RuleSet) -> None:
    """Everything a rule set holds, compiled patterns and meaning layer included."""
    assert a.rules == b.rules
    for x, y in zip(a.rules, b.rules, strict=True):
        assert (x.compiled.pattern, x.compiled.flags) == (y.compiled.pattern, y.compiled.flags)
        assert [(u.pattern, u.flags, lits, lin) for u, lits, lin in x.units] == [
            (u.pattern, u.flags, lits, lin) for u, lits, lin in y.units
        ]
    assert dict(a.reasons) == dict(b.reasons)
    assert dict(a.enhanced_fallback) == dict(b.enhanced_fallback)
    assert dict(a.basic_fallback) == dict(b.basic_fallback)
    assert a.sources == b.sources
    assert a.meaning is not None and b.meaning is not None
    assert a.meaning.frames == b.meaning.frames
    assert dict(a.meaning.lexicon.concepts) == dict(b.meaning.lexicon.concepts)


def test_a_second_load_reads_the_cache_and_gives_the_same_rule_set(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user_dir(tmp_path)
    from_files = load_rules([user], disk_cache=False)
    assert _files(cache) == []
    first = load_rules([user])
    assert len(_files(cache)) == 1

    def no_file_read(*_args: object) -> None:
        raise AssertionError("a rule file was read although the cache holds the rule set")

    monkeypatch.setattr(rules_module, "read_toml", no_file_read)
    monkeypatch.setattr(rules_module, "_load_meaning", no_file_read)
    monkeypatch.setattr(meaning_load, "read_toml", no_file_read)
    stored = load_rules([user])
    _same(from_files, first)
    _same(from_files, stored)
    clf = Classifier(stored)
    for reply in ("550 acme mailbox parked", "550 5.1.1 ACME account frozen"):
        assert clf.classify(reply, stage="rcpt").rule_id == "local.parked"
        assert clf.classify(reply, stage="rcpt") == Classifier(from_files).classify(
            reply, stage="rcpt"
        )


def test_an_edited_rule_file_is_read_again(cache: Path, tmp_path: Path) -> None:
    user = _user_dir(tmp_path)
    load_rules([user])
    (user / "local.toml").write_text(
        USER_RULE.replace("acme mailbox parked", "acme mailbox moored"), encoding="utf-8"
    )
    rules = load_rules([user])
    rule = rules.get("local.parked")
    assert rule is not None and rule.phrases[0] == "acme mailbox moored"
    assert len(_files(cache)) == 2


def test_a_broken_rule_file_fails_the_same_with_a_cache(cache: Path, tmp_path: Path) -> None:
    user = _user_dir(tmp_path)
    load_rules([user])
    (user / "local.toml").write_text(USER_RULE.replace("mailbox_disabled", "no_such"), "utf-8")
    with pytest.raises(RuleError) as uncached:
        load_rules([user], disk_cache=False)
    with pytest.raises(RuleError) as cached:
        load_rules([user])
    assert str(cached.value) == str(uncached.value)
    assert "unknown reason 'no_such'" in str(cached.value)
    assert len(_files(cache)) == 1  # nothing invalid is stored


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign", "empty"])
def test_a_damaged_cache_file_is_ignored_and_written_again(
    cache: Path, tmp_path: Path, damage: str
) -> None:
    user = _user_dir(tmp_path)
    expected = load_rules([user], disk_cache=False)
    load_rules([user])
    (path,) = _files(cache)
    blob = path.read_bytes()
    damaged = {
        "flip": blob[:-100] + bytes([blob[-100] ^ 0x01]) + blob[-99:],
        "truncate": blob[: len(blob) // 2],
        "foreign": b"something else entirely\n" + blob[30:],
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    _same(expected, load_rules([user]))
    key = blob[len(rulecache.MAGIC) :][: rulecache.KEY_BYTES]
    assert rulecache.read_cache(cache, key) is not None  # written again, whole


def test_a_cache_writable_by_others_is_not_used(cache: Path, tmp_path: Path) -> None:
    if not hasattr(os, "geteuid"):
        pytest.skip("no file owners on this system")
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    user = _user_dir(tmp_path)
    _same(load_rules([user], disk_cache=False), load_rules([user]))
    assert _files(cache) == []
    cache.chmod(0o700)
    load_rules([user])
    (path,) = _files(cache)
    path.chmod(0o666)
    assert (
        rulecache.read_cache(
            cache, path.read_bytes()[len(rulecache.MAGIC) :][: rulecache.KEY_BYTES]
        )
        is None
    )


def test_an_empty_setting_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, "")
    assert rulecache.cache_dir() is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert rulecache.cache_dir() == tmp_path / "xdg" / "smtp-classifier"


def test_the_cache_keeps_at_most_its_files_and_bytes(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(rulecache.MAX_FILES + 5):
        key = bytes([number]) * rulecache.KEY_BYTES
        assert rulecache.write_cache(cache, key, ("payload", number, b"x" * 1000))
    assert len(_files(cache)) == rulecache.MAX_FILES
    newest = bytes([rulecache.MAX_FILES + 4]) * rulecache.KEY_BYTES
    assert rulecache.read_cache(cache, newest) == ("payload", rulecache.MAX_FILES + 4, b"x" * 1000)
    monkeypatch.setattr(rulecache, "MAX_BYTES", 5000)
    assert rulecache.write_cache(cache, b"\xff" * rulecache.KEY_BYTES, ("big", b"y" * 3000))
    assert sum(p.stat().st_size for p in _files(cache)) <= 5000
    assert not rulecache.write_cache(cache, b"\xfe" * rulecache.KEY_BYTES, ("too big", b"z" * 6000))
    assert rulecache.read_cache(cache, b"\xfe" * rulecache.KEY_BYTES) is None


def test_a_file_of_another_key_is_not_read(cache: Path) -> None:
    key, other = b"\x01" * rulecache.KEY_BYTES, b"\x02" * rulecache.KEY_BYTES
    assert rulecache.write_cache(cache, key, ("mine",))
    (path,) = _files(cache)
    path.rename(path.with_name(f"rules-{other.hex()[:40]}.bin"))
    assert rulecache.read_cache(cache, other) is None


def test_processes_loading_at_once_all_get_the_rules(cache: Path, tmp_path: Path) -> None:
    """Several processes fill an empty cache at the same time: each answers right, and the
    file left behind is whole."""
    user = _user_dir(tmp_path)
    code = (
        "import sys; from classifier import Classifier, load_rules; "
        "c = Classifier(load_rules([sys.argv[1]])); "
        "print(c.classify('550 acme mailbox parked', stage='rcpt').rule_id)"
    )
    env = {**os.environ, CACHE_ENV: str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(user)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    assert outputs == ["local.parked"] * 4
    assert len(_files(cache)) == 1
    assert not list(cache.glob(".tmp-*"))
    _same(load_rules([user], disk_cache=False), load_rules([user]))


def test_check_rules_reads_every_file(cache: Path, tmp_path: Path) -> None:
    from classifier.cli import main

    user = _user_dir(tmp_path)
    assert main(["check-rules", str(user)]) == 0
    assert _files(cache) == []


def test_the_meaning_layer_of_a_stored_rule_set_is_built_on_first_use(cache: Path) -> None:
    from_files = load_rules(disk_cache=False)
    load_rules()
    stored = load_rules()
    assert stored.meaning is not None
    assert not stored.meaning.built  # nothing built yet
    reply = "550 Esta cuenta de correo ha sido dada de baja"
    got = Classifier(stored).classify(reply)
    assert got.tier.value == "meaning"
    assert got == Classifier(from_files).classify(reply)
    assert stored.meaning.built
