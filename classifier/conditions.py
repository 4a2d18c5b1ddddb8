"""What phrase rules and meaning frames share: reply-code and stage conditions, real examples.

A rule or a frame may hold only for some replies (``basic = ["55x"]``, ``enhanced =
["x.1.1"]``, ``stage = ["rcpt"]``) and must carry real examples with where they were seen.
Both are read and checked here, once, so that a condition or an example means the same in a
rule file and in a frame file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .codes import CATALOGUE
from .enums import Stage
from .errors import RuleError
from .picklable import by_fields

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "MAX_RULE_FILE_BYTES",
    "NO_CODE",
    "Conditions",
    "Example",
    "admits",
    "check_code",
    "code_matches",
    "enhanced_matches",
    "parse_conditions",
    "parse_examples",
    "read_toml",
    "str_list",
]

#: A basic-code condition: "550", "55x", "5xx".
BASIC_PATTERN = re.compile(r"^[245][0-9x][0-9x]$")
#: The basic-code condition met by a reply without a reply code (an MTA's own text).
NO_CODE = "none"
#: The enhanced-status condition met by a reply without an enhanced status ("none").
_NO_STATUS = (NO_CODE, NO_CODE, NO_CODE)
#: An enhanced-status condition: "5.1.1", "x.7.x", or "none".
ENHANCED_PATTERN = re.compile(r"^[245x]\.(?:[0-9]{1,3}|x)\.(?:[0-9]{1,3}|x)$")
_EXAMPLE_KEYS = frozenset({"reply", "code", "stage", "source", "note"})


@dataclass(frozen=True, slots=True)
class Example:
    """A real reply that the rule must decide, with where it was seen."""

    reply: str
    code: str
    source: str
    stage: str | None = None


def code_matches(patterns: tuple[str, ...], value: str | None) -> bool:
    """Whether a basic code ("550") fits one of the patterns ("550", "55x", "5xx"); no code
    (None) fits only "none"."""
    if value is None:
        return NO_CODE in patterns
    for pat in patterns:
        if len(pat) == len(value) and all(p in ("x", v) for p, v in zip(pat, value, strict=True)):
            return True
    return False


def enhanced_matches(patterns: tuple[tuple[str, str, str], ...], value: str | None) -> bool:
    """Whether an enhanced status ("5.1.1") fits one of the patterns ("x.1.x" split in three);
    no status (None) fits only "none"."""
    if value is None:
        return _NO_STATUS in patterns
    parts = value.split(".")
    return any(all(p in ("x", v) for p, v in zip(pat, parts, strict=True)) for pat in patterns)


def admits(
    basic_patterns: tuple[str, ...],
    enhanced_patterns: tuple[tuple[str, str, str], ...],
    stages: frozenset[Stage],
    basic: int | None,
    enhanced: str | None,
    stage: Stage,
) -> bool:
    """Whether a reply's codes and stage satisfy a rule's or frame's conditions."""
    if basic_patterns and not code_matches(basic_patterns, None if basic is None else str(basic)):
        return False
    if enhanced_patterns and not enhanced_matches(enhanced_patterns, enhanced):
        return False
    return not (stages and stage not in stages)


@dataclass(frozen=True, slots=True)
class Conditions:
    """Reply codes and stages a rule or frame is restricted to (empty: any)."""

    basic: tuple[str, ...] = ()
    enhanced: tuple[tuple[str, str, str], ...] = ()
    stages: frozenset[Stage] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.basic or self.enhanced or self.stages)

    def admits(self, basic: int | None, enhanced: str | None, stage: Stage) -> bool:
        """Whether the reply's codes and stage satisfy the conditions."""
        return admits(self.basic, self.enhanced, self.stages, basic, enhanced, stage)


#: Bytes of one rule-directory file.
MAX_RULE_FILE_BYTES = 4 * 1024 * 1024


def read_toml(path: Traversable | Path) -> dict[str, Any]:
    """A rule-directory file as parsed TOML; RuleError naming the file when it cannot be.

    Only regular files are opened: a FIFO or a device named like a rule file would block or
    never end."""
    if not path.is_file():
        raise RuleError("not a regular file", file=str(path))
    # Imported where a file is read: a rule set from the compiled cache reads none.
    import tomllib  # noqa: PLC0415

    try:
        if isinstance(path, Path) and path.stat().st_size > MAX_RULE_FILE_BYTES:
            raise RuleError(f"larger than {MAX_RULE_FILE_BYTES} bytes", file=str(path))
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"invalid TOML: {exc}", file=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read: {exc}", file=str(path)) from exc


def check_code(code: Any, file: str, rule_id: str | None, what: str) -> str:
    """``code`` as a catalogue code, or RuleError."""
    if not isinstance(code, str | int) or str(code) not in CATALOGUE:
        raise RuleError(f"{what}: {code!r} is not a MasterBase code", file=file, rule_id=rule_id)
    return str(code)


def str_list(value: Any, file: str, rule_id: str, key: str) -> tuple[str, ...]:
    """A string or a list of non-empty strings, as a tuple; RuleError otherwise."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleError(
            f"{key!r} must be a string or a list of strings", file=file, rule_id=rule_id
        )
    return tuple(value)


def parse_conditions(raw: dict[str, Any], file: str, rule_id: str) -> Conditions:
    """The ``basic``, ``enhanced`` and ``stage`` keys of a rule or frame table."""
    basic = str_list(raw.get("basic", []), file, rule_id, "basic")
    for b in basic:
        if b != NO_CODE and not BASIC_PATTERN.match(b):
            raise RuleError(
                f"basic {b!r} is not like '550', '55x', '5xx' or 'none'",
                file=file,
                rule_id=rule_id,
            )
    enhanced_raw = str_list(raw.get("enhanced", []), file, rule_id, "enhanced")
    for e in enhanced_raw:
        if e != NO_CODE and not ENHANCED_PATTERN.match(e):
            raise RuleError(
                f"enhanced {e!r} is not like '5.1.1', 'x.7.x' or 'none'", file=file, rule_id=rule_id
            )
    enhanced = tuple(
        _NO_STATUS if e == NO_CODE else (p[0], p[1], p[2])
        for e, p in ((e, e.split(".")) for e in enhanced_raw)
    )
    stages: set[Stage] = set()
    for s in str_list(raw.get("stage", []), file, rule_id, "stage"):
        st = Stage(s)
        if st not in Stage.__members__.values():
            raise RuleError(f"unknown stage {s!r}", file=file, rule_id=rule_id)
        stages.add(st)
    return Conditions(basic=basic, enhanced=enhanced, stages=frozenset(stages))


def parse_examples(
    raw: dict[str, Any], file: str, rule_id: str, *, what: str = "[[rule.example]]"
) -> tuple[Example, ...]:
    """The real examples of a rule or frame: at least one, each with reply, code and source."""
    examples_raw = raw.get("example", [])
    if not isinstance(examples_raw, list) or not examples_raw:
        raise RuleError(f"needs at least one {what}", file=file, rule_id=rule_id)
    examples = []
    for ex in examples_raw:
        if not isinstance(ex, dict):
            raise RuleError("an example must be a table", file=file, rule_id=rule_id)
        bad = set(ex) - _EXAMPLE_KEYS
        if bad:
            raise RuleError(f"example: unknown keys {sorted(bad)}", file=file, rule_id=rule_id)
        reply, source = ex.get("reply"), ex.get("source")
        if not isinstance(reply, str) or not reply.strip():
            raise RuleError("example without reply", file=file, rule_id=rule_id)
        if not isinstance(source, str) or not source.strip():
            raise RuleError(
                "example without source (where it was seen)", file=file, rule_id=rule_id
            )
        ex_stage = ex.get("stage")
        if ex_stage is not None and not isinstance(ex_stage, str):
            raise RuleError("example stage must be a string", file=file, rule_id=rule_id)
        code = check_code(ex.get("code"), file, rule_id, "example code")
        examples.append(Example(reply=reply, code=code, source=source, stage=ex_stage))
    return tuple(examples)


#: A reader of one key family of a rule or frame table (for callers that pass readers on).
Reader = Callable[[dict[str, Any], str, str], Any]


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(Example, Conditions)
