"""The lexicon: which words name which concept, in twenty-one languages, as data.

A concept is a *subject* (recipient, mailbox, domain, connection …), a *state* (unknown,
disabled, full, refused …), a *topic* (spam, blocklist, authentication …) or a *negation*.
Its terms are listed per language in ``rules/meaning/lexicon.toml``; each term is one or more
words, folded like replies (case, accents), where ``*`` at the end of a word matches any
ending (``desconocid*``) and at its start any beginning (``*postfach``, for German compounds).

Finding the concepts of a clause is one pass over its tokens with dictionary look-ups: no
regular expression runs on the reply here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..enums import _TolerantStrEnum
from ..errors import RuleError
from ..picklable import by_fields
from .normalise import fold, tokens

__all__ = ["LANGUAGES", "Concept", "ConceptKind", "Hit", "Lexicon", "Term", "parse_lexicon"]

#: Languages a concept may list terms for (ISO 639-1); other keys are refused.
LANGUAGES = (
    "en",
    "es",
    "pt",
    "fr",
    "de",
    "it",
    "nl",
    "pl",
    "tr",
    "ru",
    "zh",
    "ja",
    "uk",
    "cs",
    "sv",
    "da",
    "nb",
    "fi",
    "hu",
    "ro",
    "ko",
)
#: Shortest stem a ``*`` may extend: shorter ones would match unrelated words.
MIN_STEM = 4
#: Words a negation may stand before the state it negates ("not currently full").
NEGATION_REACH = 3
#: Words that do not count in that distance: auxiliaries, articles, "yet", "currently", in
#: each language ("no es una dirección válida", "non è una e-mail valida").
_TRANSPARENT = frozenset(
    {
        "a",
        "an",
        "the",
        "be",
        "been",
        "being",
        "is",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "yet",
        "currently",
        "any",
        "ser",
        "sido",
        "esta",
        "estar",
        "foi",
        "ete",
        "etre",
        "est",
        "wurde",
        "werden",
        "ist",
        "sein",
        "essere",
        "stato",
        "stata",
        "es",
        "e",
        "un",
        "una",
        "uno",
        "um",
        "uma",
        "une",
        "ein",
        "eine",
    }
)


class ConceptKind(_TolerantStrEnum):
    """What a concept is in a frame."""

    #: What the reply is about: recipient, mailbox, domain, connection, message …
    SUBJECT = "subject"
    #: What is said of it: unknown, disabled, full, refused …
    STATE = "state"
    #: A theme that needs no subject: spam, blocklist, greylisting …
    TOPIC = "topic"
    #: Words that turn a state around: not, no, nicht, pas …
    NEGATION = "negation"


@dataclass(frozen=True, slots=True)
class Term:
    """One way of saying a concept: its words, each exact or with a ``*`` wildcard."""

    concept: str
    words: tuple[str, ...]
    lang: str

    def matches(self, clause: list[str], at: int) -> bool:
        """Whether the term's words stand in ``clause`` from position ``at``."""
        if at + len(self.words) > len(clause):
            return False
        return all(_word_matches(w, clause[at + i]) for i, w in enumerate(self.words))


def _word_matches(pattern: str, token: str) -> bool:
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return token.endswith(pattern[1:])
    return pattern == token


@dataclass(frozen=True, slots=True)
class Concept:
    """A concept, its kind and its terms."""

    name: str
    kind: ConceptKind
    terms: tuple[Term, ...]
    description: str = ""
    #: A place ("at this site", "on this domain"): a subject inside its words is no subject
    #: of the clause.
    place: bool = False
    #: A state said with a negation's own words ("has no", "no hay"): that negation still
    #: turns the next state around ("no tiene destinatarios válidos": no valid recipients).
    keeps_negation: bool = False


@dataclass(frozen=True, slots=True)
class Hit:
    """A concept found in a clause: where, and the words that said it."""

    concept: str
    start: int
    end: int
    words: tuple[str, ...]
    negated: bool = False


class Lexicon:
    """Concepts and an index of their terms by first word, exact, stem or ending."""

    __slots__ = (
        "_anchors",
        "_exact",
        "_keeping",
        "_kinds",
        "_pairs",
        "_places",
        "_prefix",
        "_suffix",
        "concepts",
    )

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self.concepts: Mapping[str, Concept] = MappingProxyType({c.name: c for c in concepts})
        self._kinds = {c.name: c.kind for c in self.concepts.values()}
        self._places = frozenset(c.name for c in self.concepts.values() if c.place)
        self._keeping = frozenset(c.name for c in self.concepts.values() if c.keeps_negation)
        self._anchors: dict[frozenset[str], tuple[frozenset[str], ...]] = {}
        exact: dict[str, list[Term]] = {}
        prefix: dict[str, list[Term]] = {}
        suffix: dict[str, list[Term]] = {}
        for concept in self.concepts.values():
            for term in concept.terms:
                first = term.words[0]
                if first.endswith("*"):
                    prefix.setdefault(first[:MIN_STEM], []).append(term)
                elif first.startswith("*"):
                    suffix.setdefault(first[-MIN_STEM:], []).append(term)
                else:
                    exact.setdefault(first, []).append(term)
        # Terms of two exact first words are also indexed by that pair: common first words
        # ("not", "no", a Han character) start many terms, and the pair narrows them down.
        single: dict[str, list[Term]] = {}
        paired: dict[tuple[str, str], list[Term]] = {}
        for first, terms in exact.items():
            for term in terms:
                second = term.words[1] if len(term.words) > 1 else "*"
                if "*" in second:
                    single.setdefault(first, []).append(term)
                else:
                    paired.setdefault((first, second), []).append(term)

        def longest_first(terms: list[Term]) -> tuple[Term, ...]:
            # Longest terms first, so "does not exist" is found before "not".
            return tuple(sorted(terms, key=lambda t: -len(t.words)))

        self._exact = {k: longest_first(v) for k, v in single.items()}
        self._pairs = {k: longest_first(v + single.get(k[0], [])) for k, v in paired.items()}
        self._prefix = {k: tuple(v) for k, v in prefix.items()}
        self._suffix = {k: tuple(v) for k, v in suffix.items()}

    def kind(self, concept: str) -> ConceptKind | None:
        """The kind of a concept, None when the lexicon does not know it."""
        return self._kinds.get(concept)

    def may_say(self, clause: list[str], concepts: frozenset[str]) -> bool:
        """Whether a term of ``concepts`` could start at some token of ``clause`` (by the same
        keys ``find`` looks terms up by): a cheap test before ``find`` reads every concept."""
        anchors = self._anchors.get(concepts)
        if anchors is None:
            keys: tuple[set[str], set[str], set[str]] = (set(), set(), set())
            for name in concepts:
                concept = self.concepts.get(name)
                for term in concept.terms if concept is not None else ():
                    first = term.words[0]
                    if first.endswith("*"):
                        keys[1].add(first[:MIN_STEM])
                    elif first.startswith("*"):
                        keys[2].add(first[-MIN_STEM:])
                    else:
                        keys[0].add(first)
            anchors = tuple(frozenset(k) for k in keys)
            if len(self._anchors) < 64:  # a few fixed sets in practice; bounded all the same
                self._anchors[concepts] = anchors
        exact, prefix, suffix = anchors
        return any(
            token in exact or token[:MIN_STEM] in prefix or token[-MIN_STEM:] in suffix
            for token in clause
        )

    def find(self, clause: list[str]) -> list[Hit]:
        """Every concept said in the clause, negated states marked.

        A negation counts when it stands at most NEGATION_REACH tokens before a state and is
        not itself part of a state's words ("does not exist" is a state, not a negation).
        """
        hits: list[Hit] = []
        pairs = self._pairs
        last = len(clause) - 1
        for at, token in enumerate(clause):
            seen: set[str] = set()
            exact = (pairs.get((token, clause[at + 1])) if at < last else None) or self._exact.get(
                token, ()
            )
            for terms in (
                exact,
                self._prefix.get(token[:MIN_STEM], ()),
                self._suffix.get(token[-MIN_STEM:], ()),
            ):
                for term in terms:
                    if term.concept in seen or not term.matches(clause, at):
                        continue
                    seen.add(term.concept)
                    end = at + len(term.words)
                    hits.append(Hit(term.concept, at, end, tuple(clause[at:end])))
        if not hits:
            return hits
        kinds = self._kinds
        wide = [
            h
            for h in hits
            if h.end - h.start > 1
            and (kinds[h.concept] is ConceptKind.SUBJECT or h.concept in self._places)
        ]
        if wide:
            # A subject inside a longer subject's words, or a place's, is part of it, not said
            # on its own: "mail server" is a host, not a message; "sender address" is the
            # sender's; "on this domain" places a fact here and names no domain.
            hits = [h for h in hits if not _inside(h, wide, kinds)]
        states = [h for h in hits if kinds[h.concept] is ConceptKind.STATE]
        negations = [
            h
            for h in hits
            if kinds[h.concept] is ConceptKind.NEGATION
            and not any(
                s.start <= h.start < s.end and s.concept not in self._keeping for s in states
            )
        ]
        if not negations:
            return [h for h in hits if kinds[h.concept] is not ConceptKind.NEGATION]
        # A negation turns off the nearest state after it, when no more than NEGATION_REACH
        # words stand between them (auxiliaries and articles do not count: "no server was
        # available", "could not be delivered").
        negated: set[int] = set()
        for n in negations:
            following = [s for s in states if s.start >= n.end]
            if not following:
                continue
            nearest = min(following, key=lambda s: s.start)
            gap = sum(1 for t in clause[n.end : nearest.start] if t not in _TRANSPARENT)
            if gap < NEGATION_REACH:
                negated.add(nearest.start)
        return [
            Hit(h.concept, h.start, h.end, h.words, negated=True)
            if kinds[h.concept] is ConceptKind.STATE and h.start in negated
            else h
            for h in hits
            if kinds[h.concept] is not ConceptKind.NEGATION
        ]


def _inside(hit: Hit, wide: list[Hit], kinds: dict[str, ConceptKind]) -> bool:
    """Whether a subject hit lies within a longer subject hit of another concept."""
    if kinds[hit.concept] is not ConceptKind.SUBJECT:
        return False
    size = hit.end - hit.start
    return any(
        w.concept != hit.concept
        and w.start <= hit.start
        and hit.end <= w.end
        and w.end - w.start > size
        for w in wide
    )


def _term(concept: str, lang: str, raw: Any, file: str) -> Term:
    if not isinstance(raw, str) or not raw.strip():
        raise RuleError(f"concept {concept!r}: {lang} terms must be non-empty strings", file=file)
    marked = fold(raw.strip()).replace("*", _WILD)
    words = tuple(w.replace(_WILD, "*") for w in tokens(marked))
    if not words:
        raise RuleError(f"concept {concept!r}: term {raw!r} has no words", file=file)
    for word in words:
        if any(c.isupper() for c in word) or not any(c.isalpha() for c in word):
            raise RuleError(
                f"concept {concept!r}: term {raw!r} holds a number, address or host: "
                "those are replaced before matching and can never be matched",
                file=file,
            )
        stem = word.strip("*")
        if "*" in stem or (word != stem and len(stem) < MIN_STEM):
            raise RuleError(
                f"concept {concept!r}: term {raw!r}: '*' goes at the start or end of a word "
                f"of {MIN_STEM}+ letters",
                file=file,
            )
    return Term(concept=concept, words=words, lang=lang)


#: Most variants of one German term written without umlauts (see _transliterated).
_MAX_VARIANTS = 16


def _transliterated(term: Term) -> list[Term]:
    """The German term as written where umlauts are not at hand: "ä" as "ae", "ö" as "oe",
    "ü" as "ue" ("Empfaenger", "ungueltig", "zurueckgewiesen", as ASCII-only programs write).

    Folding has already turned "ä" into "a", so which vowel was one is not known: every a, o
    or u may have been. The variants that were not German words match nothing real; at most
    ``_MAX_VARIANTS`` per term, the first ones found (shorter spellings first).
    """
    options: list[list[str]] = []
    for word in term.words:
        spots = [i for i, c in enumerate(word) if c in "aou"]
        forms = {word}
        for i in reversed(spots[:4]):  # right to left: an "e" put in moves no earlier vowel
            forms |= {f[: i + 1] + "e" + f[i + 1 :] for f in forms}
        options.append(sorted(forms, key=lambda f: (len(f), f)))
    variants: list[tuple[str, ...]] = [()]
    for choices in options:
        variants = [(*v, f) for v in variants for f in choices][: _MAX_VARIANTS + 1]
    return [
        Term(concept=term.concept, words=words, lang=term.lang)
        for words in variants
        if words != term.words
    ][:_MAX_VARIANTS]


_WILD = "zqxwildzqx"  # stands for "*" while a term is tokenised like a reply
_CONCEPT_KEYS = frozenset({"kind", "description", "source", "place", "keeps_negation", *LANGUAGES})


def parse_lexicon(data: Mapping[str, Any], file: str) -> list[Concept]:
    """Concepts from a parsed lexicon file; RuleError names the file and concept."""
    concepts: list[Concept] = []
    for name, spec in data.items():
        if not isinstance(spec, dict):
            raise RuleError(f"concept {name!r} must be a table", file=file)
        unknown = set(spec) - _CONCEPT_KEYS
        if unknown:
            raise RuleError(f"concept {name!r}: unknown keys {sorted(unknown)}", file=file)
        kind = ConceptKind(str(spec.get("kind", "")))
        if kind not in ConceptKind.__members__.values():
            raise RuleError(f"concept {name!r}: unknown kind {spec.get('kind')!r}", file=file)
        terms: list[Term] = []
        for lang in LANGUAGES:
            raw = spec.get(lang, [])
            if not isinstance(raw, list):
                raise RuleError(f"concept {name!r}: {lang} must be a list", file=file)
            for item in raw:
                term = _term(name, lang, item, file)
                terms.append(term)
                if lang == "de":
                    terms.extend(_transliterated(term))
        if not terms:
            raise RuleError(f"concept {name!r} has no terms", file=file)
        flags = {key: spec.get(key, False) for key in ("place", "keeps_negation")}
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise RuleError(f"concept {name!r}: {key} must be true or false", file=file)
        if flags["place"] and kind is not ConceptKind.TOPIC:
            raise RuleError(f"concept {name!r}: only a topic can be a place", file=file)
        if flags["keeps_negation"] and kind is not ConceptKind.STATE:
            raise RuleError(f"concept {name!r}: only a state keeps a negation", file=file)
        concepts.append(
            Concept(
                name=name,
                kind=kind,
                terms=tuple(terms),
                description=str(spec.get("description", "")),
                place=flags["place"],
                keeps_negation=flags["keeps_negation"],
            )
        )
    return concepts


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(Term, Concept, Hit)
