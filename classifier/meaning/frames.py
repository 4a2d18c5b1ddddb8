"""Frames: which concepts, said together in one clause, mean which portable reason.

A frame names concepts that must all be said, not negated, within one clause and a few
tokens of each other ("account" … "closed"), concepts that must not be said there ("sender":
then the reply is about the sender, not the recipient), and optional reply-code and stage
conditions like a phrase rule's. Frames are checked in file order; the first that holds
gives the reason, and the policy turns it into a code exactly as for a phrase rule.

They run only where no phrase rule recognised the reply, so they are the layer that
understands wordings nobody wrote a rule for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..conditions import Conditions, Example, parse_conditions, parse_examples
from ..enums import Stage
from ..errors import RuleError
from ..picklable import by_fields
from ..smtp import is_protocol_code
from .lexicon import ConceptKind, Hit, Lexicon
from .normalise import MAX_MEANING_CHARS, clauses, positions, shown

__all__ = ["COMMAND", "DEFAULT_WITHIN", "Frame", "FrameMatch", "MeaningReader", "parse_frames"]

#: The concept that names SMTP commands and their arguments (see MeaningReader.read).
COMMAND = "command"
#: Tokens from the first to the last word of a frame's concepts, at most, by default.
DEFAULT_WITHIN = 12


@dataclass(frozen=True, slots=True)
class Frame:
    """Concepts said together (and conditions) that mean a portable reason."""

    id: str
    reason: str
    #: Slots that must all be filled in one clause; each slot is one concept or alternatives.
    all: tuple[tuple[str, ...], ...]
    none: tuple[str, ...] = ()
    within: int = DEFAULT_WITHIN
    conditions: Conditions = field(default_factory=Conditions)
    #: True: only replies with a basic code; False: only text without one (MTA wording).
    coded: bool | None = None
    #: A general meaning ("try again later", "policy"): it does not override an enhanced
    #: status that says something specific (5.1.1 says more than "please try again").
    general: bool = False
    #: True: each slot must be said by words of its own ("mail" inside "does not accept
    #: mail" is not the subject of the clause).
    apart: bool = False
    #: Concepts that, with the slots', must say every word of the reply (placeholders
    #: aside): "temporary failure, please try again later" names no cause.
    only: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    note: str | None = None
    file: str = ""
    position: int = 0

    def admits(self, basic: int | None, enhanced: str | None, stage: Stage) -> bool:
        """Whether the reply's codes and stage satisfy the frame's conditions."""
        if self.coded is not None and self.coded != (basic is not None):
            return False
        return self.conditions.admits(basic, enhanced, stage)

    @property
    def label(self) -> str:
        """The frame as people read it: ``mailbox×disabled``."""
        return "×".join("|".join(slot) for slot in self.all)


@dataclass(frozen=True, slots=True)
class FrameMatch:
    """A frame that holds for a reply, with the words that said each concept."""

    frame: Frame
    words: tuple[str, ...]

    @property
    def matched(self) -> str:
        """The evidence, as shown by ``explain()``: ``account … closed``."""
        return " … ".join(self.words)


def _clause_hits(lexicon: Lexicon, clause: list[str]) -> dict[str, Hit]:
    """The first hit of each concept said in the clause; a negated state under ``!name``."""
    found: dict[str, Hit] = {}
    for hit in lexicon.find(clause):
        key = f"!{hit.concept}" if hit.negated else hit.concept
        if key not in found:
            found[key] = hit
    return found


def _fill(slots: tuple[tuple[str, ...], ...], hits: dict[str, Hit]) -> list[Hit] | None:
    """One hit per slot (the first-said alternative), in clause order; None if a slot is empty."""
    chosen: list[Hit] = []
    for slot in slots:
        found = [hits[c] for c in slot if c in hits]
        if not found:
            return None
        chosen.append(min(found, key=lambda h: h.start))
    return sorted(chosen, key=lambda h: h.start)


def _overlap(chosen: list[Hit]) -> bool:
    """Whether two of the chosen hits share words (they are sorted by start)."""
    return any(b.start < a.end for i, a in enumerate(chosen) for b in chosen[i + 1 :])


class MeaningReader:
    """A lexicon and its frames: reads the reason a reply states, if any frame holds.

    A rule set holds it through ``lazy.Meaning``, which makes it when a reply first needs it.
    """

    __slots__ = ("_frames", "_lexicon")

    def __init__(self, lexicon: Lexicon, frames: Sequence[Frame] = ()) -> None:
        """A reader of ``lexicon`` and ``frames``."""
        self._lexicon = lexicon
        self._frames = tuple(frames)

    @property
    def lexicon(self) -> Lexicon:
        """The concepts and their terms."""
        return self._lexicon

    @property
    def frames(self) -> tuple[Frame, ...]:
        """The frames, in the order they are tried."""
        return self._frames

    def says(self, text: str, concepts: frozenset[str]) -> bool:
        """Whether some clause of ``text`` says one of ``concepts``, not negated."""
        lexicon = self._lexicon
        return any(
            hit.concept in concepts and not hit.negated
            for clause in clauses(text)
            if lexicon.may_say(clause, concepts)
            for hit in lexicon.find(clause)
        )

    def read(
        self,
        text: str,
        basic: int | None,
        enhanced: str | None,
        stage: Stage,
        *,
        specific_status: bool = False,
    ) -> FrameMatch | None:
        """The first frame (in order) that holds in one clause of ``text``, or None.

        ``specific_status``: the reply's enhanced status has a meaning of its own (not X.0.0),
        so general frames give way to it.
        """
        lexicon, frames = self._lexicon, self._frames
        if not text or not frames:
            return None
        per_clause: list[tuple[dict[str, Hit], list[float] | None]] = []
        parts = clauses(text)
        for clause in parts:
            found = _clause_hits(lexicon, clause)
            if found:
                per_clause.append((found, positions(clause)))
        if not per_clause:
            return None
        if basic == 503 or (is_protocol_code(basic) and any(COMMAND in h for h, _ in per_clause)):
            # A protocol error that names a command or its arguments is about the protocol,
            # and the basic code says precisely how: "501 Invalid RCPT TO" is bad syntax, not
            # an unknown recipient ("500 Line limit exceeded" still reads as size).
            # A 503 is always about the order of commands ("503 bad sequence: no sender
            # specified" is not a refused sender).
            return None
        for frame in frames:
            if (frame.general and specific_status) or not frame.admits(basic, enhanced, stage):
                continue
            for hits, at in per_clause:
                if any(c in hits for c in frame.none):
                    continue
                chosen = _fill(frame.all, hits)
                if chosen is None:
                    continue
                first, last = chosen[0].start, chosen[-1].end
                span = last - first if at is None else at[last] - at[first]
                if span > frame.within or (frame.apart and _overlap(chosen)):
                    continue
                if frame.only:
                    # Every word must be read: a reply cut at MAX_MEANING_CHARS is not.
                    if len(text) > MAX_MEANING_CHARS or not _only(lexicon, parts, frame):
                        break
                    # Every word counted: the evidence is the whole reply as matched.
                    return FrameMatch(frame, tuple(shown(tuple(c)) for c in parts))
                return FrameMatch(frame, tuple(shown(h.words) for h in chosen))
        return None


#: Words of a reply, at most, for a frame with ``only``: stock replies are short.
ONLY_MAX_TOKENS = 24


def _only(lexicon: Lexicon, parts: list[list[str]], frame: Frame) -> bool:
    """Whether every word of the clauses is said by the frame's concepts or is a placeholder."""
    allowed = {c for slot in frame.all for c in slot} | set(frame.only)
    if sum(len(c) for c in parts) > ONLY_MAX_TOKENS:
        return False
    for clause in parts:
        covered = [token.isupper() for token in clause]  # ADDR, HOST, IP …: not words
        for hit in lexicon.find(clause):
            if hit.concept in allowed:
                covered[hit.start : hit.end] = [True] * (hit.end - hit.start)
        if not all(covered):
            return False
    return True


_FRAME_KEYS = frozenset(
    {
        "id",
        "reason",
        "all",
        "none",
        "within",
        "coded",
        "general",
        "apart",
        "only",
        "basic",
        "enhanced",
        "stage",
        "note",
        "example",
    }
)


def _names(value: Any, what: str, frame_id: str, file: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleError(f"{what!r} must be a list of concept names", file=file, rule_id=frame_id)
    return tuple(value)


def _slots(value: Any, frame_id: str, file: str) -> tuple[tuple[str, ...], ...]:
    """``all``: a list whose items are a concept name or a list of alternative names."""
    if not isinstance(value, list) or not value:
        raise RuleError("'all' must be a non-empty list", file=file, rule_id=frame_id)
    return tuple(_names(item, "all", frame_id, file) for item in value)


def parse_frames(
    raw_frames: Iterable[Any], file: str, lexicon: Lexicon, reasons: Mapping[str, object]
) -> list[Frame]:
    """Frames from a parsed frames file, checked against the lexicon and the reasons.

    Conditions and examples are read by the same readers as a phrase rule's, so they mean
    exactly what a rule's do.
    """
    frames: list[Frame] = []
    for position, raw in enumerate(raw_frames):
        if not isinstance(raw, dict):
            raise RuleError("each [[frame]] must be a table", file=file)
        frame_id = raw.get("id")
        if not isinstance(frame_id, str) or not frame_id:
            raise RuleError(f"frame #{position + 1}: missing id", file=file)
        unknown = set(raw) - _FRAME_KEYS
        if unknown:
            raise RuleError(f"unknown keys {sorted(unknown)}", file=file, rule_id=frame_id)
        reason = raw.get("reason")
        if reason not in reasons:
            raise RuleError(f"unknown reason {reason!r}", file=file, rule_id=frame_id)
        required = _slots(raw.get("all"), frame_id, file)
        excluded = _names(raw.get("none", []), "none", frame_id, file)
        only = _names(raw.get("only", []), "only", frame_id, file)
        for name in (*(c for slot in required for c in slot), *excluded, *only):
            kind = lexicon.kind(name.removeprefix("!"))
            if kind is None or kind is ConceptKind.NEGATION:
                raise RuleError(f"unknown concept {name!r}", file=file, rule_id=frame_id)
            if name.startswith("!") and name in only:
                raise RuleError(
                    f"'only' names concepts, not negated states: {name!r}",
                    file=file,
                    rule_id=frame_id,
                )
            if name.startswith("!") and kind is not ConceptKind.STATE:
                raise RuleError(
                    f"only a state can be negated: {name!r}", file=file, rule_id=frame_id
                )
        within = raw.get("within", DEFAULT_WITHIN)
        if not isinstance(within, int) or isinstance(within, bool) or within < 1:
            raise RuleError("within must be a positive integer", file=file, rule_id=frame_id)
        coded = raw.get("coded")
        if coded is not None and not isinstance(coded, bool):
            raise RuleError("coded must be true or false", file=file, rule_id=frame_id)
        general = raw.get("general", False)
        if not isinstance(general, bool):
            raise RuleError("general must be true or false", file=file, rule_id=frame_id)
        apart = raw.get("apart", False)
        if not isinstance(apart, bool):
            raise RuleError("apart must be true or false", file=file, rule_id=frame_id)
        note = raw.get("note")
        frames.append(
            Frame(
                id=frame_id,
                reason=str(reason),
                all=required,
                none=excluded,
                within=within,
                conditions=parse_conditions(raw, file, frame_id),
                coded=coded,
                general=general,
                apart=apart,
                only=only,
                examples=parse_examples(raw, file, frame_id, what="[[frame.example]]"),
                note=str(note) if note is not None else None,
                file=file,
                position=position,
            )
        )
    return frames


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(Frame, FrameMatch)
