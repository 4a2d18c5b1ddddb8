"""Near misses for ``--explain``: rules whose words matched but whose conditions stopped them.

A rule restricts the reply codes, enhanced statuses or stages it applies to; when its words
occur in a reply that it does not admit, the reply falls to a later rule or to the code
fallbacks. Saying so lets a rule author see why their rule did not decide.
"""

from __future__ import annotations

from typing import Final

from .conditions import NO_CODE, code_matches, enhanced_matches
from .engine import REGEX_TIMEOUT, Classifier
from .enums import Stage, Tier, Verdict
from .policy import decide_rule, verdict_of
from .reply import parse_reply
from .result import Classification
from .rules import Rule

__all__ = ["MAX_NEAR_MISSES", "near_misses"]

#: Near misses reported per reply, at most (the first ones in precedence order).
MAX_NEAR_MISSES: Final = 3

_FALLBACK: Final = {
    Tier.ENHANCED: "the enhanced-status fallback",
    Tier.BASIC: "the basic-code fallback",
    Tier.DEFAULT: "the reply-class default",
    Tier.NONE: "nothing (unrecognised)",
}


def _conditions(rule: Rule, basic: int | None, enhanced: str | None, stage: Stage) -> str:
    """The conditions of ``rule`` that the reply does not meet, in words."""
    unmet = []
    code = None if basic is None else str(basic)
    if rule.basic and not code_matches(rule.basic, code):
        unmet.append(f"the reply code {code or '(none)'} is not one of {', '.join(rule.basic)}")
    if rule.enhanced and not enhanced_matches(rule.enhanced, enhanced):
        wanted = ", ".join(
            NO_CODE if parts == (NO_CODE,) * 3 else ".".join(parts) for parts in rule.enhanced
        )
        unmet.append(f"the enhanced status {enhanced or '(none)'} is not one of {wanted}")
    if rule.stages and stage not in rule.stages:
        wanted = ", ".join(sorted(s.value for s in rule.stages))
        unmet.append(f"the stage {stage.value} is not one of {wanted}")
    return " and ".join(unmet) or "its conditions do not admit the reply"


def near_misses(
    classifier: Classifier,
    reply: str | bytes,
    result: Classification,
    *,
    stage: Stage | str | None = None,
) -> list[str]:
    """Sentences about the rules before the deciding one whose words matched ``reply`` but
    that a condition (reply code, enhanced status, stage, a 2xx reply) stopped, and which
    fallback then decided. Empty when there was none."""
    parsed = parse_reply(reply, stage)
    text = parsed.text
    if not text:
        return []
    success = verdict_of(parsed) is Verdict.SUCCESS
    found: list[str] = []
    for rule in classifier.rules.rules:
        if rule.id == result.rule_id or len(found) >= MAX_NEAR_MISSES:
            break
        try:
            match = rule.compiled.search(text, timeout=REGEX_TIMEOUT)
        except TimeoutError:
            continue
        if match is None:
            continue
        if success and rule.reason != "delivered":
            why = "a 2xx reply is only read as a delivery"
        elif not rule.admits(parsed.basic, parsed.enhanced, parsed.stage):
            why = _conditions(rule, parsed.basic, parsed.enhanced, parsed.stage)
        elif decide_rule(classifier.rules, rule, parsed) is None:
            why = f"its reason {rule.reason} gives no code for this reply class"
        else:
            continue
        found.append(f"Near miss: rule {rule.id} matched {match.group(0)!r} but {why}.")
    if found and result.tier is Tier.MEANING:
        found.append(f"Then the meaning layer decided (frame {result.rule_id}).")
    elif found and result.tier is not Tier.RULE:
        found.append(f"Then {_FALLBACK.get(result.tier, result.tier.value)} decided.")
    elif found:
        found.append(f"Then rule {result.rule_id} decided.")
    return found
