"""The classifier: parse the reply, find the first rule that recognises it, apply the policy.

Rules are checked in precedence order; a literal prefilter (one Aho–Corasick pass) skips the
rules that cannot match, so the answer is exactly the one of a plain loop over all rules
(``Classifier.classify_plain``, kept as the reference and tested against the fast path).
Verification is bounded: patterns that cannot backtrack badly run as they are on short texts,
everything else under a ``regex`` timeout, so no input can make a rule run away.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

import regex

from .enums import Stage, Tier, Verdict
from .policy import (
    RECIPIENT_FACTS,
    Decision,
    decide_fallback,
    decide_reason,
    decide_rule,
    verdict_of,
)
from .prefilter import Prefilter
from .reply import ParsedReply, parse_reply
from .result import Classification, build
from .rules import Rule, RuleSet, load_rules, rule_units

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from .meaning import FrameMatch

__all__ = [
    "CACHE_BYTES",
    "REGEX_TIMEOUT",
    "REPLY_BUDGET",
    "Classifier",
    "classify",
    "default_classifier",
]

#: Seconds one rule's regex may spend on one text before it counts as "no match".
REGEX_TIMEOUT = 0.05
#: Seconds the timed searches of one reply may take together, all rules counted: after it
#: the remaining candidate rules are not tried and the codes decide (``Classifier.over_budget``
#: counts such replies). Forty slow user rules cannot make one reply cost forty timeouts.
REPLY_BUDGET = 0.2
#: The clock of the budget: CPU seconds of the calling thread, so that threads or processes
#: competing for the cores never cut a reply short (the answer must not depend on load;
#: ``regex``'s own timeout likewise counts CPU time, not time spent waiting).
_clock = time.thread_time
#: Texts up to this length are searched without the timeout by patterns that cannot
#: backtrack badly (prefilter.is_linear); longer texts and other patterns always use it.
SHORT_TEXT = 1024
_CACHE_KEY_MAX = 2048
#: What words say of a failure's class when no code does: passing trouble, a delay (not
#: "try again later", which servers add to permanent refusals too).
TRANSIENT_CONCEPTS = frozenset({"transient"})
#: Reasons that stock words state without a cause ("mailbox unavailable", RFC 5321 §4.2.3): a
#: cause said elsewhere in the same reply decides instead.
NO_REASON_GIVEN = frozenset({"mailbox_unavailable"})
#: Basic codes that name their own cause (RFC 5321's 553, mailbox name not allowed: the
#: address's form): a general meaning gives way to them, as it does to an enhanced status
#: that says more than its class. 551 and 552 are sent for too many other causes to count.
_SPECIFIC_BASIC = frozenset({553})
#: Bytes the table of results may hold by default (its strings, keys and results counted).
CACHE_BYTES = 8 * 1024 * 1024
#: What one entry costs beside its strings: the result object, the key tuple, the table slot.
_ENTRY_BYTES = 400
#: The table of results watches its hits over windows of this many calls; a window with fewer
#: than 1 hit in _RARE sends it to sleep for _SLEEP calls (all-distinct input then costs what
#: no table costs), after which it watches again.
_WINDOW = 4096
_RARE = 64
_SLEEP = 15 * _WINDOW

#: Members read on every call, held as globals: Python 3.11 looks up an enum member on its
#: class at about twenty times the cost of a global.
_SUCCESS: Final = Verdict.SUCCESS


class _Memo:
    """The classifier's bounded memo tables: results by reply and by words, and which rules a
    (basic, enhanced, stage) triple admits.

    The results table holds at most ``size`` entries and ``budget`` bytes (the sizes of its
    strings plus ``_ENTRY_BYTES`` per entry; it is emptied when either is reached), and it
    sleeps while the input does not repeat (see ``_WINDOW``), so that it never costs more
    than it saves. The admissible table is small by nature (code triples of real stages).

    Safe under concurrent use without a lock: every operation is one dict get, set or clear
    (each atomic on its own), the values are immutable, and a race can only drop or repeat
    an entry, which costs a recomputation of the same answer, never a different answer (the
    counters are estimates: a lost update only moves a window's end).
    """

    __slots__ = (
        "admissible",
        "budget",
        "calls",
        "decisions",
        "hits",
        "results",
        "size",
        "sleep",
        "used",
    )

    #: Code triples remembered at most (there are few: codes are a small vocabulary).
    ADMISSIBLE_MAX: Final = 4096
    #: (rule, codes, stage, status class) decisions remembered at most (about 200 bytes each).
    DECISIONS_MAX: Final = 8192

    def __init__(self, size: int, budget: int) -> None:
        self.size = size if budget > 0 else 0
        self.budget = budget
        self.used = 0
        self.calls = 0
        self.hits = 0
        self.sleep = 0
        self.results: dict[tuple[object, ...], Classification] = {}
        self.admissible: dict[tuple[int | None, str | None, Stage], int] = {}
        self.decisions: dict[tuple[int, int | None, str | None, Stage, str | None], Decision] = {}

    def awake(self) -> bool:
        """Whether the results table is in use for this call (and the window's bookkeeping)."""
        if self.sleep > 0:
            self.sleep -= 1
            return False
        self.calls += 1
        if self.calls >= _WINDOW:
            if self.hits * _RARE < self.calls:
                self.sleep = _SLEEP
            self.calls = self.hits = 0
        return True

    def store(self, key: tuple[object, ...], result: Classification, cost: int) -> None:
        """Remember ``result`` under ``key``; empty the table first when it is full."""
        cost += _ENTRY_BYTES
        if len(self.results) >= self.size or self.used + cost > self.budget:
            self.results.clear()
            self.used = 0
            if cost > self.budget:
                return
        self.used += cost
        self.results[key] = result


class Classifier:
    """A compiled rule set, safe to share between threads.

    What decides an answer (the rules, their reason policies and fallback tables, the compiled
    units and the prefilter) is fixed at construction and immutable. Besides it the classifier
    keeps bounded memo tables (see ``_Memo``), which change what is fast, never what is
    answered, and the count of rule searches cut by the regex timeout (``timeouts``).
    """

    __slots__ = (
        "_admissible",
        "_conditional",
        "_conditional_units",
        "_decisions",
        "_delivered",
        "_lock",
        "_memo",
        "_over_budget",
        "_parts",
        "_prefilter",
        "_rules",
        "_ruleset",
        "_timeouts",
        "_units",
    )

    def __init__(
        self, rules: RuleSet, *, cache_size: int = 65536, cache_bytes: int = CACHE_BYTES
    ) -> None:
        """``cache_size`` and ``cache_bytes`` bound the table of results (entries and bytes;
        either 0 turns it off); see ``_Memo``."""
        self._ruleset = rules
        self._rules: tuple[Rule, ...] = rules.rules
        # A rule that is an alternation of phrases becomes one unit per phrase, in order: a
        # unit is verified only when its own literal occurs, and matching any unit of a rule
        # is matching the rule.
        units: list[tuple[Rule, regex.Pattern[str], bool]] = []
        literals: list[tuple[str, ...]] = []
        parts_per_rule = []
        for rule in self._rules:
            parts = rule_units(rule)
            parts_per_rule.append(tuple((part, linear) for part, _lits, linear in parts))
            for part, lits, linear in parts:
                units.append((rule, part, linear))
                literals.append(lits)
        self._parts: tuple[tuple[tuple[regex.Pattern[str], bool], ...], ...] = tuple(parts_per_rule)
        self._units: tuple[tuple[Rule, regex.Pattern[str], bool], ...] = tuple(units)
        self._prefilter = Prefilter(literals)
        self._conditional_units = tuple(
            (index, rule) for index, (rule, _p, _l) in enumerate(units) if rule.has_conditions
        )
        self._conditional = sum(1 << index for index, _rule in self._conditional_units)
        self._delivered = sum(
            1 << index for index, (rule, _p, _l) in enumerate(units) if rule.reason == "delivered"
        )
        self._memo = _Memo(cache_size, cache_bytes)
        # The table of admissible rules, held directly: it is read on every classification.
        self._admissible = self._memo.admissible
        self._decisions = self._memo.decisions
        self._lock = threading.Lock()
        self._timeouts = 0
        self._over_budget = 0

    @property
    def rules(self) -> RuleSet:
        """The rule set, in precedence order (immutable)."""
        return self._ruleset

    @property
    def timeouts(self) -> int:
        """Rule searches cut by ``REGEX_TIMEOUT`` (counted as no match) since construction."""
        return self._timeouts

    @property
    def over_budget(self) -> int:
        """Replies whose rule searches stopped at ``REPLY_BUDGET`` (the codes decided)."""
        return self._over_budget

    @classmethod
    def from_dirs(
        cls,
        extra_dirs: Sequence[str | Path | Traversable] = (),
        *,
        builtin: bool = True,
        cache_size: int = 65536,
        cache_bytes: int = CACHE_BYTES,
    ) -> Classifier:
        """Build from the bundled rules with ``extra_dirs`` checked first."""
        return cls(
            load_rules(extra_dirs, builtin=builtin),
            cache_size=cache_size,
            cache_bytes=cache_bytes,
        )

    # -- matching --------------------------------------------------------------------------

    def _mask_for(self, reply: ParsedReply) -> int:
        """Rules whose code and stage conditions admit this reply (cached per code triple)."""
        key = (reply.basic, reply.enhanced, reply.stage)
        admissible = self._admissible
        mask = admissible.get(key)
        if mask is None:
            mask = ~self._conditional
            for index, rule in self._conditional_units:
                if rule.admits(reply.basic, reply.enhanced, reply.stage):
                    mask |= 1 << index
            if len(admissible) < _Memo.ADMISSIBLE_MAX and len(reply.stage) <= 32:
                admissible[key] = mask
        return mask

    def _search(
        self, pattern: regex.Pattern[str], linear: bool, text: str
    ) -> regex.Match[str] | None:
        if linear and len(text) <= SHORT_TEXT:
            return pattern.search(text)
        try:
            return pattern.search(text, timeout=REGEX_TIMEOUT)
        except TimeoutError:
            with self._lock:  # rare (pathological input only): a lock costs nothing here
                self._timeouts += 1
            return None

    def _first_match(
        self, reply: ParsedReply, verdict: Verdict
    ) -> tuple[Rule, regex.Match[str]] | None:
        text = reply.text
        if not text:
            return None
        mask = self._prefilter.candidates(text.casefold()) & self._mask_for(reply)
        if verdict is _SUCCESS:
            mask &= self._delivered  # an accepted reply is only read as a delivery
        units = self._units
        short = len(text) <= SHORT_TEXT
        deadline = 0.0
        while mask:
            low = mask & -mask
            rule, part, linear = units[low.bit_length() - 1]
            if not (linear and short):  # a timed search: the reply's budget is checked
                now = _clock()
                if not deadline:
                    deadline = now + REPLY_BUDGET
                elif now > deadline:
                    with self._lock:  # rare (hostile input only)
                        self._over_budget += 1
                    return None
                m = self._search(part, linear, text)
            else:
                m = part.search(text)  # _search's first case, without a call
            if m is not None:
                return rule, m
            mask ^= low
        return None

    def _first_match_plain(self, reply: ParsedReply) -> tuple[Rule, regex.Match[str]] | None:
        if not reply.text:
            return None
        success = verdict_of(reply) is _SUCCESS
        for rule, parts in zip(self._rules, self._parts, strict=True):
            if success and rule.reason != "delivered":
                continue
            if rule.admits(reply.basic, reply.enhanced, reply.stage):
                for part, linear in parts:
                    m = self._search(part, linear, reply.text)
                    if m is not None:
                        return rule, m
        return None

    # -- public ----------------------------------------------------------------------------

    def classify(
        self,
        reply: str | bytes,
        *,
        stage: Stage | str | None = None,
        status: str | None = None,
    ) -> Classification:
        """Classify one reply (any shape, see parse_reply). Never raises on any str/bytes.

        ``status``: a status that came beside the reply (a DSN ``Status:`` field; a
        ``Status:`` line inside a DSN block counts the same). It fills in what the words lack
        and only then: when the reply has no enhanced status of its own, no rule recognised
        the words, the status says more than its class (not X.0.0) and its class agrees with
        the basic code, the reply is decided again with that status.
        """
        memo = self._memo
        if memo.size <= 0 or not memo.awake():
            parsed = parse_reply(reply, stage, status=status)
            return _with_report(reply, self.classify_parsed(parsed))
        cache = memo.results
        size = sys.getsizeof
        cacheable = isinstance(reply, str) and len(reply) <= _CACHE_KEY_MAX
        if cacheable:
            # Stage members hash and compare as their value: "rcpt" and Stage.RCPT are one key.
            key: tuple[object, ...] = (reply, stage) if status is None else (reply, stage, status)
            hit = cache.get(key)
            if hit is not None:
                memo.hits += 1
                return hit
        parsed = parse_reply(reply, stage, status=status)
        # The result depends only on the remote's words, codes and stage: the same reply behind
        # another wrapper (host name, DSN field) is decided once. A delivery report's Action
        # beside the words is applied after this table (the words alone do not carry it).
        words: tuple[object, ...] = (parsed.text, parsed.basic, parsed.enhanced, parsed.stage)
        if parsed.status is not None:
            words = (*words, parsed.status)
        result = cache.get(words)
        if result is None:
            result = self.classify_parsed(parsed)
            cost = size(parsed.text) + size(parsed.stage)
            if result.matched is not None:
                cost += size(result.matched)
            memo.store(words, result, cost)
        else:
            memo.hits += 1
        result = _with_report(reply, result)
        if cacheable:
            cost = size(reply) + (size(stage) if stage is not None else 0)
            memo.store(key, result, cost + (size(status) if status is not None else 0))
        return result

    def classify_plain(
        self,
        reply: str | bytes,
        *,
        stage: Stage | str | None = None,
        status: str | None = None,
    ) -> Classification:
        """Reference path: no prefilter, no cache; every rule checked in order."""
        parsed = parse_reply(reply, stage, status=status)
        result = self._decide(parsed, verdict_of(parsed), self._first_match_plain(parsed))
        if parsed.status is not None:
            result = self._with_status(parsed, result, self._first_match_plain)
        return _with_report(reply, result)

    def classify_parsed(self, parsed: ParsedReply) -> Classification:
        """Classify a reply already split by parse_reply (for callers that parse themselves)."""
        verdict = verdict_of(parsed)
        result = self._decide(parsed, verdict, self._first_match(parsed, verdict))
        if parsed.status is not None:
            result = self._with_status(parsed, result, self._first_match_any)
        return result

    def _first_match_any(self, reply: ParsedReply) -> tuple[Rule, regex.Match[str]] | None:
        return self._first_match(reply, verdict_of(reply))

    def _with_status(
        self,
        parsed: ParsedReply,
        result: Classification,
        first_match: Callable[[ParsedReply], tuple[Rule, regex.Match[str]] | None],
    ) -> Classification:
        """The result with the status beside the reply filling in what the words lack."""
        status = parsed.status
        if status is None or result.enhanced is not None or status.endswith(".0.0"):
            return result  # X.0.0 says nothing beyond the class
        if result.tier not in (Tier.BASIC, Tier.DEFAULT, Tier.NONE):
            return result
        if result.basic is not None and str(result.basic)[0] != status[0]:
            return result  # the reply's own class wins over a contradicting status
        helped = replace(parsed, enhanced=status, consistent=True, status=None)
        decided = self._decide(helped, verdict_of(helped), first_match(helped))
        return decided if decided.recognised else result

    def _reason_said(self, parsed: ParsedReply) -> tuple[Decision, str, str] | None:
        """What the rest of a reply states, where a phrase rule found only stock words.

        "Mailbox unavailable" is RFC 5321's text for 550 with no reason; when the same reply
        goes on to give a cause that is not about the mailbox ("This server does not accept
        mails from this sender address"), that cause decides.
        """
        meaning = self._ruleset.meaning
        if meaning is None:
            return None
        frame = meaning.reader().read(parsed.text, parsed.basic, parsed.enhanced, parsed.stage)
        if frame is None or frame.frame.general or frame.frame.reason in RECIPIENT_FACTS:
            return None
        decision = self._frame_decision(frame, parsed)
        return None if decision is None else (decision, frame.frame.id, frame.matched)

    def _frame_decision(self, frame: FrameMatch, parsed: ParsedReply) -> Decision | None:
        """The code for what a frame read, by its reason's policy (a frame that names stages
        knows whose words these are, as a staged rule does)."""
        return decide_reason(
            self._ruleset,
            frame.frame.reason,
            parsed,
            tier=Tier.MEANING,
            staged=bool(frame.frame.conditions.stages),
        )

    def _said_transient(
        self, parsed: ParsedReply, decision: Decision, rule: Rule | None
    ) -> Decision:
        """The decision for a reply with no code whose own words say the trouble is passing.

        An MTA's text without a reply code ("temporary failure. Command output: maildir over
        quota", a delay notice's "Delay reason: mailbox is full") states its class in words;
        a reason whose code depends on the class then takes the transient one.
        """
        reason = decision.reason
        meaning = self._ruleset.meaning
        if (
            reason is None
            or meaning is None
            or parsed.basic is not None
            or parsed.enhanced is not None
            or parsed.status is not None
            or (rule is not None and rule.code is not None)
        ):
            return decision
        policy = self._ruleset.reasons.get(reason)
        if policy is None or policy.no_code is not None:
            return decision
        if policy.transient in (None, decision.code):
            return decision
        if not meaning.reader().says(parsed.text, TRANSIENT_CONCEPTS):
            return decision
        return Decision(policy.transient, decision.tier, reason)

    def _decide(
        self,
        parsed: ParsedReply,
        verdict: Verdict,
        found: tuple[Rule, regex.Match[str]] | None,
    ) -> Classification:
        decision: Decision | None = None
        rule_id: str | None = None
        matched: str | None = None
        if found is not None:
            rule, m = found
            # A rule's decision depends on the rule, the codes, the class of the status beside
            # them and the stage only: remembered.
            status = parsed.status
            key = (id(rule), parsed.basic, parsed.enhanced, parsed.stage, status and status[0])
            decisions = self._decisions
            decision = decisions.get(key)
            if decision is None:
                decision = decide_rule(self._ruleset, rule, parsed) or _NO_DECISION
                if len(decisions) < _Memo.DECISIONS_MAX and len(parsed.stage) <= 32:
                    decisions[key] = decision
            if decision is _NO_DECISION:
                decision = None
            else:
                rule_id, matched = rule.id, m.group(0)
                decision = self._said_transient(parsed, decision, rule)
                if decision.reason in NO_REASON_GIVEN:
                    said = self._reason_said(parsed)
                    if said is not None:
                        decision, rule_id, matched = said
        meaning = self._ruleset.meaning
        if decision is None and meaning is not None and verdict is not _SUCCESS:
            # What the words state, where no phrase rule recognised them: before the codes.
            # A general meaning gives way to a status that says more (the reply's own, or
            # the one beside it, such as a DSN Status field).
            status = parsed.enhanced if parsed.enhanced is not None else parsed.status
            specific = (status is not None and not status.endswith(".0.0")) or (
                parsed.basic in _SPECIFIC_BASIC
            )
            frame = meaning.reader().read(
                parsed.text,
                parsed.basic,
                parsed.enhanced,
                parsed.stage,
                specific_status=specific and parsed.consistent,
            )
            if frame is not None:
                decision = self._frame_decision(frame, parsed)
                if decision is not None:
                    rule_id, matched = frame.frame.id, frame.matched
                    decision = self._said_transient(parsed, decision, None)
        if decision is None:
            decision = decide_fallback(self._ruleset, parsed)
        if decision is None:
            return Classification.unrecognised(
                parsed.text,
                verdict=verdict,
                basic=parsed.basic,
                enhanced=parsed.enhanced,
                stage=parsed.stage,
            )
        return build(
            decision.code,
            verdict,
            decision.reason,
            parsed.basic,
            parsed.enhanced,
            parsed.stage,
            rule_id,
            matched,
            decision.tier,
            parsed.text,
        )


def _with_report(reply: str | bytes, result: Classification) -> Classification:
    """The code of a reply pasted with its delivery report's Action field: what the reporting
    MTA did decides as in bounce mail (``Action: delayed`` is a warning, 202; a failure after
    a temporary status is the MTA giving up, 133; see ``outcome.after_dsn``)."""
    # The field, a text bounce's "permanent error" or a delay notice's "WARNING" banner is
    # rare in a reply: scans rule them out. A text that starts with its reply code ("550 …")
    # is the remote's reply itself, never a report around it: not scanned at all.
    if type(reply) is str:
        if reply[:1].isdigit() or (
            "ction:" not in reply
            and "CTION:" not in reply
            and "ermanent error" not in reply
            and "WARNING" not in reply
            and "Delay reason" not in reply
        ):
            return result
    elif reply[:1].isdigit() or (
        b"ction:" not in reply
        and b"CTION:" not in reply
        and b"ermanent error" not in reply
        and b"WARNING" not in reply
        and b"Delay reason" not in reply
    ):
        return result
    from .wrappers import reported_action  # noqa: PLC0415 - kept off the cold start

    reported = reported_action(reply)
    if reported is None:
        return result
    from .outcome import after_dsn  # noqa: PLC0415 - outcome builds on this module

    action, status = reported
    return after_dsn(result, action, status or (result.enhanced or ""))[1]


#: What the decisions table holds for a rule whose reason has no code for the reply.
_NO_DECISION = Decision("", Tier.NONE, None)

_default: Classifier | None = None
_lock = threading.Lock()


def default_classifier() -> Classifier:
    """The classifier of the bundled rules, built once on first use (thread-safe)."""
    global _default  # noqa: PLW0603 - a lazily built module singleton is the point
    if _default is None:
        with _lock:
            if _default is None:
                _default = Classifier(load_rules())
    return _default


def classify(
    reply: str | bytes, *, stage: Stage | str | None = None, status: str | None = None
) -> Classification:
    """Classify an SMTP reply, DSN diagnostic or MTA log text into a MasterBase code.

    ``status``: a DSN ``Status:`` field that came with the reply (see ``Classifier.classify``).

    >>> classify("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown").code
    '131'
    """
    return default_classifier().classify(reply, stage=stage, status=status)
