"""Rules as data: every example decided by its own rule, precedence explicit, loading strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier import Classifier, RuleError, load_rules
from classifier.checks import check_pathological
from classifier.rules import iter_examples

from .conftest import ROOT

RULES = load_rules()
EXAMPLES = list(iter_examples(RULES))


@pytest.mark.parametrize(
    ("rule_id", "index", "reply", "stage", "code"),
    [(r.id, i, e.reply, e.stage, e.code) for r, i, e in EXAMPLES],
    ids=[f"{r.id}[{i}]" for r, i, _ in EXAMPLES],
)
def test_example_is_decided_by_its_own_rule(
    clf: Classifier, rule_id: str, index: int, reply: str, stage: str | None, code: str
) -> None:
    result = clf.classify(reply, stage=stage)
    assert (result.rule_id, result.code) == (rule_id, code), result.explain()


def test_every_rule_has_a_sourced_example_and_unique_id() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.examples, rule.id
        assert all(e.source.strip() for e in rule.examples), rule.id


def test_no_pattern_runs_away(clf: Classifier) -> None:
    assert check_pathological(clf) == []


def test_every_smtp_code_has_rules() -> None:
    """Each code an SMTP reply can produce is reachable through a rule or a meaning frame
    with an example."""
    assert RULES.meaning is not None
    produced = {e.code for _, _, e in EXAMPLES} | {
        e.code for f in RULES.meaning.frames for e in f.examples
    }
    wanted = {
        "111",
        "112",
        "113",
        "131",
        "132",
        "133",
        "134",
        "201",
        "202",
        "250",
        "421",
        "500",
        "501",
        "502",
        "504",
        "551",
        "552",
        "553",
        "554",
    }
    assert wanted <= produced, sorted(wanted - produced)


def test_precedence_is_directory_then_file_name_then_position() -> None:
    keys = [(r.origin, Path(r.file).name, r.position) for r in RULES]
    assert keys == sorted(keys)
    # Bundled files are numbered: the number is the order, and nothing else changes it.
    names = [Path(r.file).name for r in RULES]
    assert all(n[:3].isdigit() and n[3] == "-" for n in names)
    assert [int(n[:3]) for n in names] == sorted(int(n[:3]) for n in names)


@pytest.mark.parametrize(
    "body",
    [
        "[meta]\npriority = 100\n",
        "[[rule]]\nid = 'a.b'\nreason = 'user_unknown'\npattern = 'abc'\npriority = 1\n"
        "[[rule.example]]\nreply = '550 abc'\ncode = '131'\nsource = 'test'\n",
    ],
)
def test_priority_is_refused_with_the_precedence_rule(tmp_path: Path, body: str) -> None:
    d = _write(tmp_path, "x.toml", body)
    with pytest.raises(RuleError, match="file name, then the position"):
        load_rules([d])


def test_every_accepted_rule_key_changes_the_rule(tmp_path: Path) -> None:
    # 'final' was accepted and read by nothing: a key that does nothing is refused.
    body = (
        "[[rule]]\nid = 'a.b'\nreason = 'user_unknown'\npattern = 'abc'\nfinal = true\n"
        "[[rule.example]]\nreply = '550 abc'\ncode = '131'\nsource = 'test'\n"
    )
    with pytest.raises(RuleError, match="unknown keys"):
        load_rules([_write(tmp_path, "x.toml", body)])


def _write(tmp: Path, name: str, body: str) -> Path:
    d = tmp / "rules"
    d.mkdir(exist_ok=True)
    (d / name).write_text(body, encoding="utf-8")
    return d


USER_RULE = """
[[rule]]
id = "local.acme-vacation-box"
reason = "mailbox_disabled"
pattern = 'acme mailbox parked'
[[rule.example]]
reply = "550 5.1.1 acme mailbox parked: user unknown"
code = "132"
source = "ACME Corp internal MTA, ticket 42"
"""


def test_user_directory_goes_in_front_of_bundled_rules(tmp_path: Path) -> None:
    d = _write(tmp_path, "local.toml", USER_RULE)
    clf = Classifier.from_dirs([d])
    result = clf.classify("550 5.1.1 acme mailbox parked: user unknown")
    # the bundled 'user unknown' rules would decide otherwise; user directories come first
    assert (result.rule_id, result.code) == ("local.acme-vacation-box", "132")
    assert (
        Classifier.from_dirs([]).classify("550 5.1.1 acme mailbox parked: user unknown").code
        == "131"
    )


def test_user_directory_can_disable_a_bundled_rule(tmp_path: Path) -> None:
    d = _write(tmp_path, "local.toml", '[meta]\ndisable = ["generic.greylisted"]\n')
    clf = Classifier.from_dirs([d])
    assert clf.rules.get("generic.greylisted") is None
    with pytest.raises(RuleError, match="unknown rules"):
        Classifier.from_dirs([_write(tmp_path, "x.toml", '[meta]\ndisable = ["nope.none"]\n')])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[rule]]\nid='a.b'\nreason='user_unknown'\npattern='x(('\n", "bad pattern"),
        ("[[rule]]\nid='a.b'\nreason='no_such_reason'\npattern='abc'\n", "unknown reason"),
        (
            "[[rule]]\nid='a.b'\nreason='user_unknown'\npattern='abc'\ncolour='red'\n",
            "unknown keys",
        ),
        ("[[rule]]\nid='a.b'\nreason='user_unknown'\npattern='abc'\n", "at least one"),
        ("[[rule]]\nid='A B'\nreason='user_unknown'\npattern='abc'\n", "malformed id"),
        (
            "[[rule]]\nid='a.b'\nreason='user_unknown'\npattern='abc'\ncode='999'\n",
            "not a MasterBase code",
        ),
        ("[[rule]]\nid='a.b'\nreason='user_unknown'\npattern='a*'\n", "empty string"),
        ("[[rule]]\nid='a.b'\nreason='user_unknown'\npattern='abc'\nbasic=['5z0']\n", "basic"),
        ("[[rule]]\nid='a.b'\nreason='user_unknown'\npattern='abc'\nstage=['lunch']\n", "stage"),
        (
            "[[rule]]\nid='a.b'\nreason='user_unknown'\npattern='abc'\n[[rule.example]]\nreply='x'\ncode='131'\n",
            "source",
        ),
        ("not toml = = =", "invalid TOML"),
    ],
)
def test_loading_rejects_bad_rules_naming_file_and_rule(
    tmp_path: Path, body: str, message: str
) -> None:
    d = _write(tmp_path, "bad.toml", body)
    with pytest.raises(RuleError, match=message) as info:
        load_rules([d])
    assert "bad.toml" in str(info.value)


def test_duplicate_id_with_a_bundled_rule_is_rejected(tmp_path: Path) -> None:
    body = USER_RULE.replace("local.acme-vacation-box", RULES.rules[0].id)
    with pytest.raises(RuleError, match="duplicate id"):
        load_rules([_write(tmp_path, "dup.toml", body)])


def test_rules_directory_is_the_bundled_one() -> None:
    assert any(Path(s).resolve() == (ROOT / "rules").resolve() for s in RULES.sources)


LIST_RULE = """
[[rule]]
id = "local.parked"
reason = "mailbox_disabled"
pattern = [
    'acme mailbox parked',
    'acme (?:box|account) frozen',
]
[[rule.example]]
reply = "550 5.1.1 ACME account frozen"
code = "132"
source = "ACME Corp internal MTA, ticket 43"
"""


def test_a_pattern_may_be_a_list_of_phrases(tmp_path: Path) -> None:
    from classifier.rules import rule_units

    rules = load_rules([_write(tmp_path, "local.toml", LIST_RULE)], builtin=True)
    rule = rules.get("local.parked")
    assert rule is not None
    assert rule.phrases == ("acme mailbox parked", "acme (?:box|account) frozen")
    assert rule.pattern == "acme mailbox parked|acme (?:box|account) frozen"
    # Each phrase is a unit of its own for the prefilter and the verification.
    assert [u.pattern for u, _lits, _lin in rule_units(rule)] == list(rule.phrases)
    clf = Classifier(rules)
    for reply in ("550 acme mailbox parked", "550 5.1.1 ACME box frozen"):
        result = clf.classify(reply)
        assert (result.rule_id, result.code) == ("local.parked", "132")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[]", "missing pattern"),
        ("['abc', '']", "missing pattern"),
        ("['abc', 'de(f']", "bad pattern phrase #2"),
        ("['abc', 1]", "missing pattern"),
    ],
)
def test_a_bad_phrase_list_is_refused(tmp_path: Path, pattern: str, message: str) -> None:
    body = LIST_RULE.replace(
        "pattern = [\n    'acme mailbox parked',\n    'acme (?:box|account) frozen',\n]",
        f"pattern = {pattern}",
    )
    with pytest.raises(RuleError, match=message):
        load_rules([_write(tmp_path, "local.toml", body)])


def test_bundled_patterns_are_short_enough_to_read() -> None:
    # A long alternation is written as a list, one phrase per line.
    for rule in RULES:
        for phrase in rule.phrases or (rule.pattern,):
            assert len(phrase) <= 200, rule.id


NO_CODE_RULE = """
[[rule]]
id = "local.gave-up"
reason = "expired"
pattern = 'gave up on this message'
basic = ["4xx", "none"]
[[rule.example]]
reply = "Host unreachable. We gave up on this message."
code = "133"
source = "ACME Corp internal MTA, ticket 44"
"""


def test_basic_none_holds_for_a_text_without_reply_code_only(tmp_path: Path) -> None:
    rules = load_rules([_write(tmp_path, "local.toml", NO_CODE_RULE)], builtin=True)
    clf = Classifier(rules)
    assert clf.classify("Host unreachable. We gave up on this message.").rule_id == (
        "local.gave-up"
    )
    assert clf.classify("451 4.4.1 Timed out. We gave up on this message.").rule_id == (
        "local.gave-up"
    )
    # A permanent reply quoted before the MTA's own words is not the MTA giving up.
    assert clf.classify("501 5.0.0 Bad HELO. We gave up on this message.").rule_id != (
        "local.gave-up"
    )
    bad = NO_CODE_RULE.replace('"none"', '"nothing"')
    with pytest.raises(RuleError, match="'none'"):
        load_rules([_write(tmp_path, "local.toml", bad)])
