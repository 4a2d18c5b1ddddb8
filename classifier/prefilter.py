"""Literal prefilter: which rules can possibly match a text, found in one Aho–Corasick pass.

Every rule needs at least one of a few literal strings (taken from its pattern, or listed by
the rule). One automaton over all those literals finds, per text, the rules worth verifying
with their regex; rules are then checked in precedence order, so the answer is the one a plain
loop over all rules would give, at a fraction of the cost.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

import ahocorasick

__all__ = [
    "MIN_LITERAL",
    "Prefilter",
    "is_linear",
    "literal_runs",
    "pattern_size",
    "required_literals",
    "split_alternatives",
]

#: Literals shorter than this select too many rules to be worth it.
MIN_LITERAL = 3

# The stdlib parser gives a syntax tree; `regex`-only syntax falls back to "always check".
_sre_parse: Any = importlib.import_module("re._parser")
_sre_const: Any = importlib.import_module("re._constants")

_LITERAL = _sre_const.LITERAL
_SUBPATTERN = _sre_const.SUBPATTERN
_BRANCH = _sre_const.BRANCH
_MAX_REPEAT = _sre_const.MAX_REPEAT
_MIN_REPEAT = _sre_const.MIN_REPEAT
_POSSESSIVE_REPEAT = getattr(_sre_const, "POSSESSIVE_REPEAT", None)
_ATOMIC_GROUP = getattr(_sre_const, "ATOMIC_GROUP", None)
_AT = _sre_const.AT

Factor = frozenset[str]


def _factors(items: Any) -> list[Factor]:
    """Required factors of a parsed sequence: each a set of alternatives, all factors needed."""
    out: list[Factor] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append(frozenset(["".join(run)]))
            run.clear()

    for op, arg in items:
        if op is _LITERAL:
            run.append(chr(arg))
            continue
        if op is _AT:  # anchors and \b do not consume text
            continue
        flush()
        if op is _SUBPATTERN:
            out.extend(_factors(arg[-1]))
        elif _ATOMIC_GROUP is not None and op is _ATOMIC_GROUP:
            out.extend(_factors(arg))
        elif op is _BRANCH:
            alternatives: set[str] = set()
            for branch in arg[1]:
                best = _best(_factors(branch))
                if best is None:
                    alternatives = set()
                    break
                alternatives |= best
            if alternatives:
                out.append(frozenset(alternatives))
        elif op in (_MAX_REPEAT, _MIN_REPEAT) or (
            _POSSESSIVE_REPEAT is not None and op is _POSSESSIVE_REPEAT
        ):
            low, _high, sub = arg
            if low >= 1:
                out.extend(_factors(sub))
    flush()
    return out


def _runs(items: Any, out: list[str]) -> None:
    run: list[str] = []
    for op, arg in items:
        if op is _LITERAL:
            run.append(chr(arg))
            continue
        out.append("".join(run))
        run.clear()
        if op is _SUBPATTERN:
            _runs(arg[-1], out)
        elif op is _BRANCH:
            for branch in arg[1]:
                _runs(branch, out)
        elif op in (_MAX_REPEAT, _MIN_REPEAT) or (
            _POSSESSIVE_REPEAT is not None and op is _POSSESSIVE_REPEAT
        ):
            _runs(arg[2], out)
        elif _ATOMIC_GROUP is not None and op is _ATOMIC_GROUP:
            _runs(arg, out)
        elif op is _sre_const.IN:
            out.extend(chr(v) for kind, v in arg if kind is _LITERAL)
            out.extend(chr(v[0]) for kind, v in arg if kind is _sre_const.RANGE)
    out.append("".join(run))


def literal_runs(pattern: str) -> list[str]:
    """Every run of literal characters in ``pattern`` (and one character of each class), in
    order, required or not; [] when the standard parser cannot read the pattern."""
    try:
        tree = _sre_parse.parse(pattern, 0)
    except (re.error, OverflowError, RecursionError, ValueError):
        return []
    out: list[str] = []
    _runs(tree, out)
    return [run for run in out if run]


def _best(factors: Sequence[Factor]) -> Factor | None:
    """The most selective factor: the one whose shortest alternative is longest."""
    best: Factor | None = None
    best_len = 0
    for factor in factors:
        shortest = min(len(alt.strip()) for alt in factor)
        if shortest > best_len or (
            shortest == best_len and best is not None and len(factor) < len(best)
        ):
            best, best_len = factor, shortest
    return best


def required_literals(pattern: str) -> tuple[str, ...]:
    """Literals of which at least one occurs (case-folded) in any text the pattern matches.

    Returns () when no literal of MIN_LITERAL characters can be derived: such a rule is always
    verified.
    """
    try:
        tree = _sre_parse.parse(pattern, 0)
    except (re.error, OverflowError, RecursionError, ValueError):
        return ()
    best = _best(_factors(tree))
    if best is None:
        return ()
    folded = tuple(sorted({alt.casefold() for alt in best}))
    if min(len(alt.strip()) for alt in folded) < MIN_LITERAL:
        return ()
    return folded


def _has_risky(items: Any) -> bool:
    """True if the sequence holds a repeat or an alternation (or a back-reference)."""
    for op, arg in items:
        if op in (_MAX_REPEAT, _MIN_REPEAT, _BRANCH, _sre_const.GROUPREF) or (
            _POSSESSIVE_REPEAT is not None and op is _POSSESSIVE_REPEAT
        ):
            return True
        if op is _SUBPATTERN and _has_risky(arg[-1]):
            return True
        if _ATOMIC_GROUP is not None and op is _ATOMIC_GROUP:
            return True
    return False


def _repeats(items: Any) -> tuple[int, bool]:
    """(unbounded repeats, risky nesting found) in a parsed sequence."""
    count, risky = 0, False
    for op, arg in items:
        if op in (_MAX_REPEAT, _MIN_REPEAT) or (
            _POSSESSIVE_REPEAT is not None and op is _POSSESSIVE_REPEAT
        ):
            _low, high, sub = arg
            if high == _sre_const.MAXREPEAT or high > 100:
                count += 1
            if high > 1 and _has_risky(sub):
                risky = True  # (x+)+, (a|aa)+, (.*a){12}: exponential backtracking shapes
            c, r = _repeats(sub)
            count, risky = count + c, risky or r
        elif op is _SUBPATTERN:
            c, r = _repeats(arg[-1])
            count, risky = count + c, risky or r
        elif op is _BRANCH:
            for branch in arg[1]:
                c, r = _repeats(branch)
                count, risky = count + c, risky or r
        elif op is _sre_const.GROUPREF or (_ATOMIC_GROUP is not None and op is _ATOMIC_GROUP):
            return count, True
    return count, risky


def is_linear(pattern: str) -> bool:
    """True when the pattern cannot backtrack badly on a short text: no nested repeats, no
    back-references, at most two unbounded repeats. Such patterns are searched without the
    per-call timeout on texts up to ``SHORT_TEXT`` characters (the timeout costs more than
    the search itself); everything else always runs under the timeout."""
    try:
        tree = _sre_parse.parse(pattern, 0)
    except (re.error, OverflowError, RecursionError, ValueError):
        return False
    count, risky = _repeats(tree)
    return not risky and count <= 2


def _class_end(pattern: str, i: int) -> int:
    """The index of the "]" closing the character class opened at ``pattern[i]`` (or len)."""
    n = len(pattern)
    i += 1
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":
        i += 1
    while i < n and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


def split_alternatives(pattern: str) -> list[str]:
    """Split a pattern at its top-level ``|``: each alternative can be verified on its own.

    A rule written as a long alternation of phrases is then checked one phrase at a time, and
    only for the phrases whose literal occurs: far less work than searching the whole
    alternation. Returns ``[pattern]`` when there is no top-level alternation.
    """
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(pattern, i)
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts if len(parts) > 1 and all(parts) else [pattern]


class Prefilter:
    """Maps a case-folded text to a bit mask of candidate rule indices."""

    __slots__ = ("_always", "_automaton", "_empty")

    def __init__(self, literals_per_rule: Iterable[Sequence[str]]) -> None:
        table: dict[str, int] = {}
        always = 0
        for index, literals in enumerate(literals_per_rule):
            if not literals:
                always |= 1 << index
                continue
            for literal in literals:
                table[literal] = table.get(literal, 0) | (1 << index)
        automaton = ahocorasick.Automaton()
        for literal, mask in table.items():
            automaton.add_word(literal, mask)
        self._empty = not table
        if not self._empty:
            automaton.make_automaton()
        self._automaton = automaton
        self._always = always

    def candidates(self, folded_text: str) -> int:
        """Bit mask (bit i = rule i) of the rules that may match ``folded_text``."""
        mask = self._always
        if self._empty or not folded_text:
            return mask
        for _end, value in self._automaton.iter(folded_text):
            mask |= value
        return mask


def _quantifier(pattern: str, i: int) -> tuple[int, int] | None:
    """``(end, max count)`` of the ``{m}``, ``{m,}``, ``{m,n}`` or ``{,n}`` at ``i``, if any.

    An unbounded repeat counts as its minimum (at least 1): the engine does not copy it.
    """
    close = pattern.find("}", i, i + 24)
    if close < 0:
        return None
    low, comma, high = pattern[i + 1 : close].partition(",")
    low, high = low.strip(), high.strip()
    if not (low.isdigit() or (comma and high.isdigit())) or (high and not high.isdigit()):
        return None
    if low and not low.isdigit():
        return None
    if comma and not high:
        return close + 1, max(int(low or 0), 1)
    return close + 1, max(int(high if comma else low), 1)


def pattern_size(pattern: str) -> int:
    """An upper estimate of what compiling ``pattern`` builds: each atom counts 1, a group the
    sum of its items, and a bounded repeat multiplies its item by its upper bound.

    ``(?:(?:x{1000}){1000}){1000}`` is 10⁹: a regex engine unrolls such repeats, and the
    compiled pattern would need gigabytes. Read from the text, so any regex syntax is measured.
    """
    frames: list[list[int]] = [[0, 0]]  # per open group: [total, weight of the last item]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        weight = 1
        if c == "\\":
            i += 2
            if i < n and pattern[i] == "{" and pattern[i - 1] in "pPNxgku":
                end = pattern.find("}", i)
                i = end + 1 if end >= 0 else n
        elif c == "[":
            i = _class_end(pattern, i) + 1
        elif c == "(":
            frames.append([0, 0])
            i += 1
            continue
        elif c == ")" and len(frames) > 1:
            total, _last = frames.pop()
            weight = max(total, 1)
            i += 1
        elif c in "*+?":
            i += 1
            continue  # a repeat that the engine does not unroll
        elif c == "{" and (quantifier := _quantifier(pattern, i)) is not None:
            i, count = quantifier
            frame = frames[-1]
            frame[0] += frame[1] * (count - 1)
            frame[1] *= count
            continue
        else:
            i += 1
        frame = frames[-1]
        frame[0] += weight
        frame[1] = weight
    while len(frames) > 1:  # unbalanced: the compiler refuses it anyway
        total, _last = frames.pop()
        frames[-1][0] += total
    return frames[0][0]
