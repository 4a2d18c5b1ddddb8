"""Configuration: rule directories and defaults, from a file found the usual way.

Where the configuration comes from, first found wins:

1. the file named by ``SMTP_CLASSIFIER_CONFIG`` (an empty value: no configuration file);
2. ``smtp-classifier.toml`` (the whole file) or ``pyproject.toml`` with a
   ``[tool.smtp-classifier]`` table, in the current directory or the nearest parent;
3. ``$XDG_CONFIG_HOME/smtp-classifier/config.toml`` (``~/.config/…`` when unset).

``SMTP_CLASSIFIER_RULES`` adds rule directories (separated like ``PATH``) after those of the
file. Relative paths in a file are relative to that file. Keys::

    rules = ["rules.d", "/etc/smtp-classifier/rules"]   # checked before the bundled rules
    builtin = true                                       # false: only your rules
    headers = ["X-Campaign-Id"]                          # extra headers of the original message
    output = "table"                                     # default output: table, json or csv

Unknown keys and wrong types are errors (``ConfigError``), never ignored in silence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .errors import ClassifierError

__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "RULES_ENV",
    "Config",
    "ConfigError",
    "find_config",
    "load_config",
]

#: Environment variable naming the configuration file ("" for none).
CONFIG_ENV: Final = "SMTP_CLASSIFIER_CONFIG"
#: Environment variable adding rule directories (os.pathsep-separated).
RULES_ENV: Final = "SMTP_CLASSIFIER_RULES"
#: The file looked for in the current directory and its parents.
CONFIG_NAME: Final = "smtp-classifier.toml"
_TOOL_KEY: Final = "smtp-classifier"
_OUTPUTS: Final = ("table", "json", "csv")
_KEYS: Final = frozenset({"rules", "builtin", "headers", "output"})


class ConfigError(ClassifierError):
    """The configuration file cannot be read or holds an unknown key or a wrong type."""


@dataclass(frozen=True, slots=True)
class Config:
    """What the configuration says; the defaults when there is none."""

    #: Rule directories checked before the bundled rules, in order.
    rules: tuple[Path, ...] = ()
    #: Load the bundled rules after the user's.
    builtin: bool = True
    #: Headers of the original message to report for every bounce (besides the usual ones).
    headers: tuple[str, ...] = ()
    #: Default output of the commands: "table", "json" or "csv".
    output: str = "table"
    #: The file the configuration came from (None: defaults).
    source: Path | None = None


def find_config(start: Path | None = None) -> Path | None:
    """The configuration file that applies in ``start`` (default: the current directory)."""
    named = os.environ.get(CONFIG_ENV)
    if named is not None:
        return Path(named) if named else None
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        own = directory / CONFIG_NAME
        if own.is_file():
            return own
        project = directory / "pyproject.toml"
        if project.is_file() and _tool_table(project) is not None:
            return project
    home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    user = Path(home) / "smtp-classifier" / "config.toml"
    return user if user.is_file() else None


def load_config(path: Path | None = None, *, start: Path | None = None) -> Config:
    """Read ``path`` (default: ``find_config``) and the environment into a Config."""
    path = path if path is not None else find_config(start)
    data: Mapping[str, Any] = {}
    if path is not None:
        table = _tool_table(path) if path.name == "pyproject.toml" else _read(path)
        data = table or {}
    config = _parse(data, path)
    extra = os.environ.get(RULES_ENV, "")
    dirs = tuple(Path(p) for p in extra.split(os.pathsep) if p)
    if dirs:
        config = Config(
            rules=config.rules + dirs,
            builtin=config.builtin,
            headers=config.headers,
            output=config.output,
            source=config.source,
        )
    return config


def _read(path: Path) -> dict[str, Any]:
    import tomllib  # noqa: PLC0415 - only when a configuration file exists

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _tool_table(path: Path) -> dict[str, Any] | None:
    tool = _read(path).get("tool")
    table = tool.get(_TOOL_KEY) if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{_TOOL_KEY}] must be a table")
    return table


def _strings(value: object, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _parse(data: Mapping[str, Any], path: Path | None) -> Config:
    where = str(path) if path is not None else "configuration"
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}")
    base = path.parent if path is not None else Path.cwd()
    rules = tuple(base / p for p in _strings(data.get("rules", []), "rules", where))
    builtin = data.get("builtin", True)
    if not isinstance(builtin, bool):
        raise ConfigError(f"{where}: builtin must be true or false")
    headers = _strings(data.get("headers", []), "headers", where)
    output = data.get("output", "table")
    if output not in _OUTPUTS:
        raise ConfigError(f"{where}: output must be one of {', '.join(_OUTPUTS)}")
    return Config(rules=rules, builtin=builtin, headers=headers, output=output, source=path)
