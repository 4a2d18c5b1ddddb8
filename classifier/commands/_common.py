"""What every subcommand shares: option names, rule loading, output writers, error messages.

One vocabulary for the whole command line:

- ``--rules DIR`` (repeatable): rule directories checked before the bundled ones, then those
  of the configuration file (classifier/config.py); ``--no-config`` ignores the file.
- ``--json`` (JSON lines), ``--csv`` (a header, then rows), the table otherwise (or the
  configuration's ``output``); ``-o FILE`` writes rows to FILE (``-``: standard output).
- ``--summary`` / ``--no-summary``: the counts at the end; with ``--summary`` rows go only to
  ``-o FILE``. ``--explain``: the decision in plain words.
- ``-`` is standard input wherever an input is named.
- Errors read ``smtp-classifier COMMAND: message`` on stderr.

Writers survive any string: text that the output's encoding cannot carry (a lone surrogate)
is written with a backslash escape instead of failing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TextIO

from ..config import Config, load_config
from ..engine import Classifier, default_classifier
from . import terminal_columns

__all__ = [
    "PROG",
    "RowWriter",
    "add_output_options",
    "add_rules_options",
    "classifier_for",
    "config_for",
    "fail",
    "open_output",
    "output_format",
    "truncate",
    "write_text",
]

PROG: Final = "smtp-classifier"
#: The mark that ends a value cut to fit its column.
CUT: Final = "…"


def fail(command: str, message: str) -> None:
    """Print an error in the one shape every subcommand uses."""
    write_text(sys.stderr, f"{PROG} {command}: {message}\n")


def write_text(out: TextIO, text: str) -> None:
    """Write ``text``; characters the stream cannot encode are written as escapes."""
    try:
        out.write(text)
    except UnicodeEncodeError:
        encoding = getattr(out, "encoding", None) or "utf-8"
        out.write(text.encode(encoding, "backslashreplace").decode(encoding))


# --- options -----------------------------------------------------------------------------


def add_rules_options(parser: argparse.ArgumentParser) -> None:
    """``--rules DIR`` (repeatable) and ``--no-config``."""
    parser.add_argument(
        "--rules",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="rule directory checked before the bundled rules (repeatable)",
    )
    parser.add_argument(
        "--no-config",
        action="store_true",
        help="ignore smtp-classifier.toml, [tool.smtp-classifier] and SMTP_CLASSIFIER_* variables",
    )


def add_output_options(
    parser: argparse.ArgumentParser, *, summary: bool = True, explain: bool = True
) -> None:
    """``--json``, ``--csv``, ``-o FILE`` and, where they apply, ``--summary`` and ``--explain``."""
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="write JSON lines")
    form.add_argument("--csv", action="store_true", help="write CSV with a header line")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help='write rows to FILE ("-": standard output)'
    )
    if summary:
        parser.add_argument(
            "--summary",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="print the counts at the end (with --summary, rows go only to -o FILE)",
        )
    if explain:
        parser.add_argument(
            "--explain", action="store_true", help="say in plain words why each code was given"
        )


def config_for(args: argparse.Namespace) -> Config:
    """The configuration that applies (read once per run; defaults with ``--no-config``)."""
    cached = getattr(args, "_config", None)
    if isinstance(cached, Config):
        return cached
    config = Config() if getattr(args, "no_config", False) else load_config()
    args._config = config
    return config


def classifier_for(args: argparse.Namespace) -> Classifier:
    """The classifier of ``--rules`` DIRs, then the configuration's, then the bundled rules."""
    config = config_for(args)
    dirs = [*getattr(args, "rules", []), *config.rules]
    if not dirs and config.builtin:
        return default_classifier()
    return Classifier.from_dirs(dirs, builtin=config.builtin)


def output_format(args: argparse.Namespace) -> str:
    """ "json", "csv" or "table": the options first, then the configuration."""
    if getattr(args, "json", False):
        return "json"
    if getattr(args, "csv", False):
        return "csv"
    return config_for(args).output


@contextmanager
def open_output(args: argparse.Namespace, command: str) -> Iterator[TextIO | None]:
    """The stream rows go to: ``-o FILE``, else standard output; None when it cannot open."""
    name = getattr(args, "output", None)
    if not name or name == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        stream = open(name, "w", encoding="utf-8", errors="backslashreplace", newline="")  # noqa: SIM115
    except OSError as exc:
        fail(command, f"cannot write {name}: {exc.strerror or exc}")
        yield None
        return
    try:
        yield stream
    finally:
        stream.close()


# --- writers -----------------------------------------------------------------------------


def truncate(value: str, width: int) -> str:
    """``value`` cut to ``width`` characters, the cut shown by a mark."""
    if len(value) <= width:
        return value
    return value[: max(width - 1, 0)] + CUT


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return " ".join(text.split()) or "-"


class RowWriter:
    """Rows (mappings) as JSON lines, CSV or an aligned table, one write per row.

    ``columns`` are (field, heading, width) for the table and CSV; JSON rows carry every field
    of the mapping. Table columns are sized to their widths and values longer than that are
    cut with a mark; the last column takes the rest of a terminal's width, or all its text
    when the output is not a terminal. Every row is flushed when ``live`` is set.
    """

    def __init__(
        self,
        out: TextIO,
        form: str,
        columns: Sequence[tuple[str, str, int]],
        *,
        live: bool = False,
    ) -> None:
        self.out = out
        self.form = form
        self.columns = tuple(columns)
        self.live = live
        self.rows = 0
        self.last_width: int | None = None
        if form == "table" and _is_terminal(out):
            used = sum(width + 1 for _f, _h, width in self.columns[:-1])
            self.last_width = max(terminal_columns() - used, 20)
        self._started = False

    def _header(self) -> None:
        self._started = True
        if self.form == "csv":
            self._csv([heading for _f, heading, _w in self.columns])
        elif self.form == "table":
            self.write_line([heading for _f, heading, _w in self.columns])

    def _csv(self, values: Sequence[object]) -> None:
        import csv  # noqa: PLC0415 - only CSV output pays for it at start-up
        import io  # noqa: PLC0415

        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(["" if v is None else v for v in values])
        write_text(self.out, buffer.getvalue())

    def write_line(self, cells: Sequence[str]) -> None:
        """One table line from already formatted cells."""
        parts = []
        last = len(self.columns) - 1
        for index, ((_field, _heading, width), value) in enumerate(
            zip(self.columns, cells, strict=True)
        ):
            if index == last:
                parts.append(value if self.last_width is None else truncate(value, self.last_width))
            else:
                parts.append(f"{truncate(value, width):<{width}}")
        write_text(self.out, " ".join(parts).rstrip() + "\n")

    def write(self, row: Mapping[str, Any]) -> None:
        """Write one row."""
        if not self._started:
            self._header()
        self.rows += 1
        if self.form == "json":
            import json  # noqa: PLC0415 - only JSON output pays for it at start-up

            write_text(self.out, json.dumps(row, ensure_ascii=False) + "\n")
        elif self.form == "csv":
            self._csv([row.get(field) for field, _h, _w in self.columns])
        else:
            self.write_line([_cell(row.get(field)) for field, _h, _w in self.columns])
        if self.live:
            self.out.flush()

    def note(self, text: str) -> None:
        """A line under the last table row (an explanation); nothing in JSON or CSV."""
        if self.form == "table":
            write_text(self.out, f"      {text}\n")
            if self.live:
                self.out.flush()

    def close(self) -> None:
        """Write the header even when no row came (a CSV with its columns, a titled table)."""
        if not self._started and self.form != "json":
            self._header()
        self.out.flush()


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False
