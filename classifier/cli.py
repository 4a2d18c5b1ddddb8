"""The ``smtp-classifier`` command: subcommands live in classifier/commands, one module each.

Exit codes (all subcommands): 0 success; 1 ran, but something was not classified or a check
failed; 2 usage error; 3 input could not be read; 4 the rules are invalid.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from . import commands
from ._version import __version__
from .commands import terminal_columns
from .config import ConfigError
from .errors import InputError, RuleError

__all__ = [
    "EXIT_FAILED",
    "EXIT_INPUT",
    "EXIT_OK",
    "EXIT_RULES",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_RULES = 4


def _command_module(name: str | None) -> str | None:
    """The module of subcommand ``name`` (``check-rules``: ``check_rules``), if there is one."""
    if not name or name.startswith("-") or not name.replace("-", "").isalnum():
        return None
    module = name.replace("-", "_")
    if module == name and "_" in name:
        return None  # the command is spelled with "-": argparse alone says it is unknown
    found = importlib.util.find_spec(f"{commands.__name__}.{module}")
    return module if found is not None else None


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand the command line starts with (None when it starts with an option such
    as ``--help``, which is about every subcommand)."""
    return argv[0] if argv and not argv[0].startswith("-") else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, with every subcommand found in classifier/commands; with
    ``command``, only that subcommand (its module alone is imported: running one command does
    not load what the others need)."""
    only = _command_module(command)
    if only is not None:
        parser, sub = _top_parser()
        _register(sub, only)
        if command in sub.choices:
            return parser
    parser, sub = _top_parser()
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        _register(sub, info.name)
    return parser


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, its width read without importing shutil (a cost every run
    paid: argparse sizes a formatter for each option it adds)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=terminal_columns() - 2)


class _Parser(argparse.ArgumentParser):
    """An argument parser laid out by :class:`_Formatter` unless told otherwise; subcommands'
    parsers are made of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def _top_parser() -> tuple[
    argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]
]:
    parser = _Parser(
        prog="smtp-classifier",
        description="Classify SMTP replies, DSNs, MTA logs and bounce mail into MasterBase codes.",
        epilog="Exit codes: 0 ok, 1 unclassified/failed check, 2 usage, 3 unreadable input, "
        "4 invalid rules.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser_class: type[argparse.ArgumentParser] = _Parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=parser_class)
    sub.required = False
    return parser, sub


def _register(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    module = importlib.import_module(f"{commands.__name__}.{name}")
    register = getattr(module, "register", None)
    if register is not None:
        register(sub)


def _subparser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (the top parser when there is none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            chosen: argparse.ArgumentParser = action.choices[name]
            return chosen
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting (testable)."""
    for stream in (sys.stdout, sys.stderr):
        # A last guard: text is cleaned where it enters, but no output may die of a string
        # UTF-8 cannot encode (a file name read with surrogateescape, say).
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    parser = build_parser(_command_of(sys.argv[1:] if argv is None else argv))
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            # An unknown option after a subcommand: that subcommand's usage, not the top one.
            sub = _subparser(parser, getattr(args, "command", None))
            sub.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    prefix = f"smtp-classifier {args.command}:"
    try:
        return int(func(args))
    except RuleError as exc:
        print(f"{prefix} invalid rules: {exc}", file=sys.stderr)
        return EXIT_RULES
    except ConfigError as exc:
        print(f"{prefix} invalid configuration: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as exc:
        print(f"{prefix} {exc}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
