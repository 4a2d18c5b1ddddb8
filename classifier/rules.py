"""Rules as data: loading, validating and ordering the TOML files of a rule directory.

A rule directory holds ``*.toml`` rule files, and the bundled one also ``reasons.toml`` (the
portable reasons and their MasterBase codes) and ``fallbacks.toml`` (what enhanced and basic
codes mean when no rule recognises the words). Loading checks everything a user can get
wrong and raises RuleError naming the file and rule, so a bad rule never slips through.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import regex

from .conditions import (
    BASIC_PATTERN,
    ENHANCED_PATTERN,
    Example,
    admits,
    check_code,
    parse_conditions,
    parse_examples,
    read_toml,
    str_list,
)
from .enums import Stage
from .errors import RuleError
from .meaning.lazy import MEANING_DIR, Meaning, meaning_from_state
from .prefilter import (
    MIN_LITERAL,
    is_linear,
    pattern_size,
    required_literals,
    split_alternatives,
)
from .rulecache import (
    cache_dir,
    pattern_from_state,
    pattern_state,
    read_cache,
    rule_set_key,
    write_cache,
)

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "Example",
    "ReasonPolicy",
    "Rule",
    "RuleSet",
    "Unit",
    "builtin_rules_dir",
    "load_rules",
    "rule_units",
]

_ID = regex.compile(r"^[a-z0-9][a-z0-9._-]*$")
_RULE_KEYS = frozenset(
    {
        "id",
        "reason",
        "pattern",
        "basic",
        "enhanced",
        "stage",
        "provider",
        "code",
        "note",
        "example",
        "literals",
    }
)
_META_KEYS = frozenset({"description", "disable", "source"})
#: What precedence is, said once for every message that needs it.
PRECEDENCE = (
    "precedence is the order of the rule directories (yours first), then the file name, then "
    "the position in the file"
)
_REASON_KEYS = frozenset({"description", "code", "permanent", "transient", "on_421", "no_code"})
_FLAGS = regex.IGNORECASE | regex.VERSION0
#: Characters of one pattern (or phrase): a longer one is a list better split into phrases.
MAX_PATTERN_CHARS = 32 * 1024
#: What compiling one pattern may build (prefilter.pattern_size: atoms, bounded repeats
#: multiplied out). Bundled patterns stay under 1 000; 100 000 compiles in about 0.1 s, while
#: ``(?:(?:(?:xyzzy{1000}){1000}){1000})`` (10⁹) would take gigabytes.
MAX_PATTERN_SIZE = 100_000


@dataclass(frozen=True, slots=True)
class ReasonPolicy:
    """A portable reason and the MasterBase code it gets for each kind of reply (as
    ``reasons.toml`` says; :func:`classifier.policy.code_for_reason` applies it)."""

    name: str
    description: str
    permanent: str | None
    transient: str | None
    on_421: str | None
    no_code: str | None


#: What a rule is verified by: a compiled alternative, the literals that select it for the
#: prefilter, and whether it is linear (prefilter.is_linear).
Unit = tuple[regex.Pattern[str], tuple[str, ...], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: the words it recognises, under which codes and stages, and what they mean."""

    id: str
    reason: str
    pattern: str
    compiled: regex.Pattern[str] = field(compare=False, repr=False)
    literals: tuple[str, ...]
    basic: tuple[str, ...] = ()
    enhanced: tuple[tuple[str, str, str], ...] = ()
    stages: frozenset[Stage] = frozenset()
    provider: str | None = None
    code: str | None = None
    note: str | None = None
    examples: tuple[Example, ...] = ()
    file: str = ""
    position: int = 0
    origin: int = 0
    #: True when the rule lists its prefilter literals itself (then it is never split).
    explicit_literals: bool = False
    #: The phrases of a pattern written as a list (``pattern`` is them joined by "|"), each
    #: verified on its own; () for a pattern written as one regex.
    phrases: tuple[str, ...] = ()
    #: The units the engine verifies (see ``rule_units``), built when the rules are loaded;
    #: () for a rule built by hand, whose units the engine builds itself.
    units: tuple[Unit, ...] = field(default=(), compare=False, repr=False)

    @property
    def has_conditions(self) -> bool:
        """True when the rule restricts codes or stages, not only words."""
        return bool(self.basic or self.enhanced or self.stages)

    def admits(self, basic: int | None, enhanced: str | None, stage: Stage) -> bool:
        """Whether the reply's codes and stage satisfy the rule's conditions."""
        return admits(self.basic, self.enhanced, self.stages, basic, enhanced, stage)

    @property
    def sort_key(self) -> tuple[int, str, int]:
        """Precedence: the rule directory (user directories first, in the order given), then
        the file name (bundled files are numbered: 100-gmail.toml before 500-generic...),
        then the position in the file."""
        return (self.origin, Path(self.file).name, self.position)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules in precedence order, with the reason policies and fallback tables they use.

    Immutable: the tables are read-only mappings.
    """

    rules: tuple[Rule, ...]
    reasons: Mapping[str, ReasonPolicy]
    enhanced_fallback: Mapping[str, str]
    basic_fallback: Mapping[str, str]
    sources: tuple[str, ...] = ()
    #: The meaning layer (lexicon and frames), consulted where no phrase rule matched.
    meaning: Meaning | None = None

    def __post_init__(self) -> None:
        # Read-only views of private copies: a rule set cannot change under a classifier.
        for name in ("reasons", "enhanced_fallback", "basic_fallback"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None


def builtin_rules_dir() -> Traversable | Path:
    """The bundled rules: inside the installed wheel, or the repository's ``rules/``."""
    # The package's directory as it was imported (what importlib.resources gives for it).
    packaged = Path(__file__).parent / "rules"
    if packaged.is_dir():
        return packaged
    repo = Path(__file__).resolve().parent.parent / "rules"
    if repo.is_dir():
        return repo
    # A package that is not a directory (a zip): importlib.resources reads inside it. Imported
    # here only, as the common case (a directory) does not need it.
    from importlib import resources  # noqa: PLC0415

    zipped = resources.files("classifier") / "rules"
    if zipped.is_dir():
        return zipped
    raise RuleError("bundled rule directory not found (broken installation)")


def _load_reasons(data: dict[str, Any], file: str) -> dict[str, ReasonPolicy]:
    reasons: dict[str, ReasonPolicy] = {}
    for name, spec in data.items():
        if not isinstance(spec, dict):
            raise RuleError(f"reason {name!r} must be a table", file=file)
        unknown = set(spec) - _REASON_KEYS
        if unknown:
            raise RuleError(f"reason {name!r}: unknown keys {sorted(unknown)}", file=file)
        codes = {
            k: check_code(spec[k], file, None, f"reason {name}.{k}")
            for k in ("code", "permanent", "transient", "on_421", "no_code")
            if k in spec
        }
        both = codes.get("code")
        reasons[name] = ReasonPolicy(
            name=name,
            description=str(spec.get("description", "")),
            permanent=codes.get("permanent", both),
            transient=codes.get("transient", both),
            on_421=codes.get("on_421"),
            no_code=codes.get("no_code", both),
        )
    return reasons


def _load_fallbacks(
    data: dict[str, Any], file: str, reasons: dict[str, ReasonPolicy]
) -> tuple[dict[str, str], dict[str, str]]:
    unknown = set(data) - {"enhanced", "basic"}
    if unknown:
        raise RuleError(f"unknown tables {sorted(unknown)}", file=file)
    enhanced: dict[str, str] = {}
    for key, reason in data.get("enhanced", {}).items():
        if not ENHANCED_PATTERN.match(key) or reason not in reasons:
            raise RuleError(f"enhanced fallback {key!r} = {reason!r} is invalid", file=file)
        enhanced[key] = reason
    basic: dict[str, str] = {}
    for key, code in data.get("basic", {}).items():
        if not BASIC_PATTERN.match(key):
            raise RuleError(f"basic fallback {key!r} is not a code pattern", file=file)
        basic[key] = check_code(code, file, None, f"basic fallback {key}")
    return enhanced, basic


def _compile(pattern: str, file: str, rule_id: str, what: str) -> regex.Pattern[str]:
    """Compile a rule's regex, refusing first what would take too long or too much memory."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RuleError(
            f"{what}: longer than {MAX_PATTERN_CHARS} characters: write it as phrases",
            file=file,
            rule_id=rule_id,
        )
    size = pattern_size(pattern)
    if size > MAX_PATTERN_SIZE:
        raise RuleError(
            f"{what}: too large to compile: its repeats multiply out to about {size} "
            f"elements (at most {MAX_PATTERN_SIZE}); bound them less or use + and *",
            file=file,
            rule_id=rule_id,
        )
    try:
        return regex.compile(pattern, _FLAGS)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise RuleError(f"{what}: {exc}", file=file, rule_id=rule_id) from exc


def _phrases(value: Any, file: str, rule_id: str) -> tuple[str, ...]:
    """A rule's pattern: one regex, or a list of phrases (each a regex of its own) that are
    alternatives, so a phrase is added by adding a line."""
    if isinstance(value, str) and value.strip():
        return (value,)
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise RuleError(
            "missing pattern (a regex, or a list of phrases)", file=file, rule_id=rule_id
        )
    for index, phrase in enumerate(value):
        _compile(phrase, file, rule_id, f"bad pattern phrase #{index + 1} {phrase!r}")
    return tuple(value)


def _parse_rule(
    raw: Any,
    file: str,
    position: int,
    origin: int,
    reasons: dict[str, ReasonPolicy],
) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError("each [[rule]] must be a table", file=file)
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise RuleError(f"rule #{position + 1}: missing or malformed id {rule_id!r}", file=file)
    unknown = set(raw) - _RULE_KEYS
    if "priority" in unknown:
        raise RuleError(f"'priority' is not a rule key: {PRECEDENCE}", file=file, rule_id=rule_id)
    if unknown:
        raise RuleError(f"unknown keys {sorted(unknown)}", file=file, rule_id=rule_id)
    reason = raw.get("reason")
    if reason not in reasons:
        raise RuleError(f"unknown reason {reason!r}", file=file, rule_id=rule_id)
    phrases = _phrases(raw.get("pattern"), file, rule_id)
    pattern = "|".join(phrases)
    compiled = _compile(pattern, file, rule_id, "bad pattern")
    if compiled.search("") is not None:
        raise RuleError("pattern matches the empty string", file=file, rule_id=rule_id)
    conditions = parse_conditions(raw, file, rule_id)
    literals: tuple[str, ...]
    if "literals" in raw:
        literals = tuple(
            sorted({lit.casefold() for lit in str_list(raw["literals"], file, rule_id, "literals")})
        )
        if any(len(lit) < MIN_LITERAL for lit in literals):
            raise RuleError(
                f"literals must have {MIN_LITERAL}+ characters", file=file, rule_id=rule_id
            )
    else:
        literals = required_literals(pattern)
    code = check_code(raw["code"], file, rule_id, "code") if "code" in raw else None
    examples = parse_examples(raw, file, rule_id)
    provider = raw.get("provider")
    note = raw.get("note")
    explicit = "literals" in raw
    return Rule(
        id=rule_id,
        reason=reason,
        pattern=pattern,
        compiled=compiled,
        literals=literals,
        basic=conditions.basic,
        enhanced=conditions.enhanced,
        stages=conditions.stages,
        provider=str(provider) if provider is not None else None,
        code=code,
        note=str(note) if note is not None else None,
        examples=examples,
        file=file,
        position=position,
        origin=origin,
        explicit_literals=explicit,
        phrases=phrases if len(phrases) > 1 else (),
        units=_units(pattern, phrases if len(phrases) > 1 else (), explicit, compiled, literals),
    )


def _units(
    pattern: str,
    phrases: tuple[str, ...],
    explicit_literals: bool,
    compiled: regex.Pattern[str],
    literals: tuple[str, ...],
) -> tuple[Unit, ...]:
    """A rule's alternatives, each with the literals that select it and whether it is linear:
    the phrases of a list pattern, else the top-level alternatives of the regex (the whole
    rule when it cannot be split or lists its own literals). Matching any unit is matching
    the rule, and a unit is verified only when its own literal occurs."""
    parts = list(phrases) or split_alternatives(pattern)
    if len(parts) > 1 and not explicit_literals:
        units: list[Unit] = []
        for part in parts:
            lits = required_literals(part)
            try:
                unit = regex.compile(part, compiled.flags)
            except regex.error:
                break
            units.append((unit, lits, is_linear(part)))
        else:
            return tuple(units)
    return ((compiled, literals, is_linear(pattern)),)


def rule_units(rule: Rule) -> tuple[Unit, ...]:
    """The units of ``rule``: those built when it was loaded, else built now."""
    return rule.units or _units(
        rule.pattern, rule.phrases, rule.explicit_literals, rule.compiled, rule.literals
    )


def _rule_files(directory: Traversable | Path) -> list[Traversable | Path]:
    if not directory.is_dir():
        raise RuleError("not a directory", file=str(directory))
    names = sorted(
        (
            p
            for p in directory.iterdir()
            if p.name.endswith(".toml") and p.name not in ("reasons.toml", "fallbacks.toml")
        ),
        key=lambda p: p.name,
    )
    return list(names)


def load_rules(
    extra_dirs: Sequence[str | Path | Traversable] = (),
    *,
    builtin: bool = True,
    disk_cache: bool = True,
) -> RuleSet:
    """Load the rules of ``extra_dirs`` (checked first, in the given order) and the bundled ones.

    Raises RuleError on anything invalid: unknown keys, duplicate ids, unknown reasons or
    codes, bad regexes, rules without a real example.

    ``disk_cache``: reuse the rule set stored by an earlier load of the very same files
    (classifier/rulecache.py), and store it after loading; False reads and checks every file.
    """
    base = builtin_rules_dir()
    dirs: list[Traversable | Path] = [
        Path(d) if isinstance(d, str | Path) else d for d in extra_dirs
    ]
    if builtin:
        dirs.append(base)
    directory = cache_dir() if disk_cache else None
    key = _cache_key(base, dirs) if directory is not None else None
    if directory is not None and key is not None:
        stored = read_cache(directory, key)
        if stored is not None:
            try:
                return _from_state(stored, dirs)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError):
                pass  # not a rule set this code can read: loaded from the files below
    ruleset = _load_files(base, dirs)
    if directory is not None and key is not None:
        write_cache(directory, key, _state(ruleset))
    return ruleset


def _load_files(base: Traversable | Path, dirs: Sequence[Traversable | Path]) -> RuleSet:
    """Read and check every file of ``dirs`` (the bundled ``base`` holds the reasons and
    fallback tables)."""
    reasons_file = base / "reasons.toml"
    reasons = _load_reasons(read_toml(reasons_file), str(reasons_file))
    fb_file = base / "fallbacks.toml"
    enhanced_fb, basic_fb = _load_fallbacks(read_toml(fb_file), str(fb_file), reasons)
    rules: list[Rule] = []
    disabled: set[str] = set()
    seen: dict[str, str] = {}
    for origin, directory in enumerate(dirs):
        for path in _rule_files(directory):
            file = str(path)
            data = read_toml(path)
            unknown = set(data) - {"meta", "rule"}
            if unknown:
                raise RuleError(f"unknown top-level keys {sorted(unknown)}", file=file)
            meta = data.get("meta", {})
            if isinstance(meta, dict) and "priority" in meta:
                raise RuleError(f"[meta] priority is not accepted: {PRECEDENCE}", file=file)
            if not isinstance(meta, dict) or set(meta) - _META_KEYS:
                raise RuleError(f"[meta] accepts only {sorted(_META_KEYS)}", file=file)
            disabled.update(str_list(meta.get("disable", []), file, "meta", "disable"))
            raw_rules = data.get("rule", [])
            if not isinstance(raw_rules, list):
                raise RuleError("'rule' must be an array of tables ([[rule]])", file=file)
            for position, raw in enumerate(raw_rules):
                rule = _parse_rule(raw, file, position, origin, reasons)
                if rule.id in seen:
                    raise RuleError(
                        f"duplicate id (also in {seen[rule.id]})", file=file, rule_id=rule.id
                    )
                seen[rule.id] = file
                rules.append(rule)
    unknown_disabled = disabled - set(seen)
    if unknown_disabled:
        raise RuleError(f"[meta] disable names unknown rules {sorted(unknown_disabled)}")
    ordered = sorted((r for r in rules if r.id not in disabled), key=lambda r: r.sort_key)
    return RuleSet(
        rules=tuple(ordered),
        reasons=reasons,
        enhanced_fallback=enhanced_fb,
        basic_fallback=basic_fb,
        sources=tuple(str(d) for d in dirs),
        meaning=_load_meaning(dirs, reasons),
    )


def _load_meaning(
    dirs: Sequence[Traversable | Path], reasons: Mapping[str, ReasonPolicy]
) -> Meaning | None:
    """The meaning layer of ``dirs``, read from its files now (they are checked as the rules
    are)."""
    from .meaning.load import load_meaning  # noqa: PLC0415 - not on the cached path

    reader = load_meaning(dirs, reasons)
    return None if reader is None else Meaning.of(reader)


# -- the compiled rule cache (classifier/rulecache.py) ---------------------------------------

#: The shape of a stored rule set; changed whenever ``_state`` changes.
_STATE = "ruleset-2"


def _cache_key(base: Traversable | Path, dirs: Sequence[Traversable | Path]) -> bytes | None:
    """The cache key of loading ``dirs``: every file the load reads, in order; None when a
    directory is not a plain one (the load then says what is wrong, or reads a package)."""
    if not isinstance(base, Path) or not all(isinstance(d, Path) for d in dirs):
        return None
    files: list[Path] = [base / "reasons.toml", base / "fallbacks.toml"]
    try:
        for directory in dirs:
            files.extend(Path(str(p)) for p in _rule_files(directory))
            meaning = Path(str(directory)) / MEANING_DIR
            files.extend(
                f for f in (meaning / "lexicon.toml", meaning / "frames.toml") if f.is_file()
            )
    except (RuleError, OSError):
        return None
    return rule_set_key(files, "\0".join(str(d) for d in dirs))


def _state(ruleset: RuleSet) -> tuple[Any, ...]:
    """The rule set as plain data (rulecache stores nothing else)."""
    state = pattern_state
    rules = []
    for r in ruleset.rules:
        units = tuple(
            (None if unit is r.compiled else state(unit), lits, linear)
            for unit, lits, linear in r.units
        )
        rules.append(
            (
                r.id,
                r.reason,
                r.pattern,
                state(r.compiled),
                r.literals,
                r.basic,
                r.enhanced,
                tuple(sorted(str(s) for s in r.stages)),
                r.provider,
                r.code,
                r.note,
                tuple((e.reply, e.code, e.source, e.stage) for e in r.examples),
                r.file,
                r.position,
                r.origin,
                r.explicit_literals,
                r.phrases,
                units,
            )
        )
    reasons = tuple(
        (p.name, p.description, p.permanent, p.transient, p.on_421, p.no_code)
        for p in ruleset.reasons.values()
    )
    return (
        _STATE,
        reasons,
        tuple(ruleset.enhanced_fallback.items()),
        tuple(ruleset.basic_fallback.items()),
        ruleset.sources,
        tuple(rules),
        _meaning_state(ruleset.meaning),
    )


def _meaning_state(meaning: Meaning | None) -> bytes | None:
    """The meaning layer for the cache (None when the rules have none): its plain data in
    ``marshal`` form of its own, unpacked only when a reply first needs the layer (it is a
    third of the stored rule set)."""
    if meaning is None:
        return None
    from .meaning.load import meaning_state  # noqa: PLC0415 - only when writing the cache

    return marshal.dumps(meaning_state(meaning.reader()))


def _from_state(data: Any, dirs: Sequence[Traversable | Path]) -> RuleSet:
    """The rule set back from ``_state``; ValueError (or another lookup error) when the data
    is not one."""
    tag, reasons_data, enhanced_fb, basic_fb, sources, rules_data, meaning = data
    if tag != _STATE:
        raise ValueError("not a stored rule set")
    reasons = {
        name: ReasonPolicy(
            name=name,
            description=description,
            permanent=permanent,
            transient=transient,
            on_421=on_421,
            no_code=no_code,
        )
        for name, description, permanent, transient, on_421, no_code in reasons_data
    }
    compiled_from = pattern_from_state
    rules = []
    for (
        rule_id,
        reason,
        pattern,
        compiled_state,
        literals,
        basic,
        enhanced,
        stages,
        provider,
        code,
        note,
        examples,
        file,
        position,
        origin,
        explicit,
        phrases,
        units,
    ) in rules_data:
        compiled = compiled_from(compiled_state)
        rules.append(
            Rule(
                id=rule_id,
                reason=reason,
                pattern=pattern,
                compiled=compiled,
                literals=literals,
                basic=basic,
                enhanced=enhanced,
                stages=frozenset(Stage(s) for s in stages),
                provider=provider,
                code=code,
                note=note,
                examples=tuple(
                    Example(reply=reply, code=ex_code, source=source, stage=stage)
                    for reply, ex_code, source, stage in examples
                ),
                file=file,
                position=position,
                origin=origin,
                explicit_literals=explicit,
                phrases=phrases,
                units=tuple(
                    (compiled if unit is None else compiled_from(unit), lits, linear)
                    for unit, lits, linear in units
                ),
            )
        )
    return RuleSet(
        rules=tuple(rules),
        reasons=reasons,
        enhanced_fallback=dict(enhanced_fb),
        basic_fallback=dict(basic_fb),
        sources=sources,
        meaning=meaning_from_state(meaning, reasons, dirs) if meaning is not None else None,
    )


def iter_examples(rules: Iterable[Rule]) -> Iterator[tuple[Rule, int, Example]]:
    """Every (rule, index, example) of ``rules``: the suite and check-rules run them all."""
    for rule in rules:
        for index, example in enumerate(rule.examples):
            yield rule, index, example
