"""Hostile rule directories: patterns too large to compile, files that are not files, patterns
that backtrack on their own literals, and a budget per reply across all rules."""

from __future__ import annotations

import itertools
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import regex

from classifier import Classifier, RuleError, engine, load_rules
from classifier.checks import check_pathological, probes
from classifier.prefilter import pattern_size
from classifier.rules import MAX_PATTERN_SIZE

HUGE = "(?:(?:(?:xyzzy{1000}){1000}){1000})"


def _rule(rule_id: str, pattern: str) -> str:
    return (
        f"[[rule]]\nid = \"{rule_id}\"\nreason = \"policy_rejected\"\npattern = '''{pattern}'''\n"
        '[[rule.example]]\nreply = "550 5.7.1 xxy"\ncode = "554"\nsource = "made up"\n\n'
    )


def _limited() -> None:  # pragma: no cover - runs in the child process
    # A regression must fail the test, not take the machine's memory.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _check_rules(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "classifier", "check-rules", "--no-builtin", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
        check=False,
    )


def test_pattern_size_multiplies_bounded_repeats() -> None:
    assert pattern_size(HUGE) > 10**9
    assert pattern_size(r"\d{1,3}(?:\.\d{1,3}){3}") < 30
    assert pattern_size("user (?:unknown|not found)") < 30
    assert max(pattern_size(rule.pattern) for rule in load_rules()) < MAX_PATTERN_SIZE // 100


def test_a_pattern_too_large_to_compile_is_a_rule_error(tmp_path: Path) -> None:
    (tmp_path / "huge.toml").write_text(_rule("user.huge", HUGE))
    done = _check_rules(tmp_path)  # first in a memory-limited child: a regression fails there
    assert done.returncode == 4, done.stderr
    assert "too large to compile" in done.stderr
    with pytest.raises(RuleError, match="too large to compile") as caught:
        load_rules([tmp_path], builtin=False)
    assert caught.value.rule_id == "user.huge"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_like_a_rule_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(_rule("user.ok", "xyzzy"))
    os.mkfifo(tmp_path / "x.toml")
    done = _check_rules(tmp_path)  # would block forever opening the FIFO
    assert done.returncode == 4
    assert "x.toml: not a regular file" in done.stderr


def test_check_rules_probes_each_pattern_with_its_own_literals(tmp_path: Path) -> None:
    (tmp_path / "slow.toml").write_text(_rule("user.slow", "(x+x+)+y") + _rule("user.ok", "xxy"))
    clf = Classifier.from_dirs([tmp_path], builtin=False, cache_size=0)
    assert any(text.startswith("xxxx") and not text.endswith("y") for text in probes("(x+x+)+y"))
    assert check_pathological(clf) == ["user.slow"]


def test_a_reply_has_a_budget_across_all_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = "".join(_rule(f"user.slow-{n}", f"(x+x+)+y{n}") for n in range(40))
    (tmp_path / "slow.toml").write_text(rules)
    clf = Classifier.from_dirs([tmp_path], builtin=False, cache_size=0)
    # A clock that advances 0.1 s at each reading, and a count of the rules tried: with a
    # budget of 0.2 s the fourth timed search is not started, whatever this machine's speed.
    ticks = itertools.count()
    monkeypatch.setattr(engine, "_clock", lambda: next(ticks) * 0.1)
    monkeypatch.setattr(engine, "REPLY_BUDGET", 0.2)
    tried: list[str] = []
    search = Classifier._search

    def counted(
        self: Classifier, pattern: regex.Pattern[str], linear: bool, text: str
    ) -> regex.Match[str] | None:
        tried.append(pattern.pattern)
        return search(self, pattern, linear, text)

    monkeypatch.setattr(Classifier, "_search", counted)
    result = clf.classify("550 " + "x" * 3000 + "!")
    assert result.code == "550"  # the codes decide once the rules are out of time
    assert len(tried) == 3
    assert clf.over_budget == 1
