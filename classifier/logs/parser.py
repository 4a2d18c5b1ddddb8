"""Reading delivery attempts out of MTA log lines: each line goes to the parser of its format.

Every parser takes one line (without its line break) and returns a ``LogRecord`` when the line
reports a delivery attempt or its outcome, ``None`` when it is some other line of that MTA (or
not of that format at all), and raises ``MalformedLineError`` when the line claims to be a delivery
but cannot be read. Parsers look for cheap substrings before doing any real work, because a
replay reads millions of lines and most of them are not deliveries.

Formats, one module each: ``postfix``, ``exim``, ``sendmail``, ``powermta`` (accounting CSV),
``kumomta`` (JSON), ``export`` (any CSV or JSON-lines export).
"""

from __future__ import annotations

from typing import Final

import regex

from .exim import exim_prefix, parse_exim
from .export import parse_csv_row, parse_json
from .fields import csv_header, load_object
from .kumomta import parse_kumomta
from .postfix import parse_postfix
from .powermta import parse_powermta, powermta_header
from .record import DONE, LineKind, LogRecord, MalformedLineError
from .senders import Senders, arrival_fields, fill
from .sendmail import parse_sendmail

__all__ = ["FORMATS", "LineParser"]

FORMATS: Final = ("auto", "postfix", "exim", "sendmail", "powermta", "kumomta", "csv", "json")

#: Members read on every call, held as globals: Python 3.11 looks up an enum member on its
#: class at about twenty times the cost of a global.
_SKIPPED: Final = LineKind.SKIPPED
_DELIVERY: Final = LineKind.DELIVERY
_OTHER: Final = LineKind.OTHER
_UNRECOGNISED: Final = LineKind.UNRECOGNISED
_MALFORMED: Final = LineKind.MALFORMED

#: A syslog line's head, classic (``Mar  4 10:00:00 host prog[pid]: ``) or RFC 3339: a line of
#: this shape that no MTA parser knows is another program's (cron, dovecot, opendkim …).
#: Every repeat is bounded, so the match is linear.
_SYSLOG: Final = regex.compile(
    r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[0-9:.+Z-]{8,32})"
    r" [^\s]{1,255} [^\s:\[]{1,64}(?:\[\d{1,10}\])?: "
)


class LineParser:
    """Sends each line to the parser of its format and says what kind of line it was.

    In ``auto`` mode each line is recognised by cheap markers, so one stream may mix formats
    (a syslog file holding Postfix and Sendmail). CSV files need their header line: the parser
    remembers the last header seen until ``reset()`` is called for a new file.
    """

    __slots__ = ("field", "fmt", "header", "header_kind", "senders", "status_field")

    def __init__(
        self, fmt: str = "auto", *, field: str | None = None, status_field: str | None = None
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown log format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if fmt in ("csv", "json") and not field:
            raise ValueError(f"the {fmt} format needs the name of the reply field")
        self.fmt = fmt
        self.field = field
        self.status_field = status_field
        self.header: tuple[str, ...] | None = None
        self.header_kind = ""
        #: Senders of the messages whose arrival lines were seen (for their delivery lines).
        self.senders = Senders()

    def reset(self) -> None:
        """Forget the CSV header: the next file starts afresh."""
        self.header = None
        self.header_kind = ""

    def observe_header(self, line: str, *, first: bool) -> bool:
        """Take ``line`` as the CSV header when it is one; ``first`` is the file's first line."""
        if self.fmt in ("auto", "powermta"):
            header = powermta_header(line)
            if header is not None:
                self.header, self.header_kind = header, "powermta"
                return True
        if first and self.field and self.fmt in ("auto", "csv") and not line.startswith("{"):
            header = csv_header(line, self.field)
            if header is not None:
                self.header, self.header_kind = header, "csv"
                return True
        return False

    def parse(self, line: str, *, first: bool = False) -> tuple[LineKind, LogRecord | None]:
        """The kind of ``line`` (a LineKind value) and its record when it is a delivery."""
        if not line or line.isspace():
            return _SKIPPED, None
        if (first or line.startswith("type,")) and self.observe_header(line, first=first):
            return _SKIPPED, None
        fmt = self.fmt
        if fmt == "auto":
            fmt = self._detect(line)
            if not fmt:
                other = _SYSLOG.match(line) is not None
                return (_OTHER if other else _UNRECOGNISED), None
        try:
            record, known = self._parse(fmt, line)
        except MalformedLineError:
            return _MALFORMED, None
        if record is None:
            if known:
                arrival = arrival_fields(fmt, line)
                if arrival is not None:
                    self.senders.note(*arrival)
                return _SKIPPED, None
            return _UNRECOGNISED, None
        if record.queue_id:
            remembered = self.senders.seen.get(record.queue_id)
            if remembered is not None:
                fill(record, *remembered)
        if record.status == DONE:
            return _SKIPPED, record
        return _DELIVERY, record

    def _parse(self, fmt: str, line: str) -> tuple[LogRecord | None, bool]:
        """The record of ``line`` read as ``fmt``, and whether the line is of that format."""
        record: LogRecord | None
        if fmt == "postfix":
            record = parse_postfix(line)
            known = record is not None or "postfix" in line
        elif fmt == "exim":
            record = parse_exim(line)
            known = record is not None or exim_prefix(line) is not None
        elif fmt == "sendmail":
            record = parse_sendmail(line)
            known = record is not None or "]: " in line
        elif fmt in ("powermta", "csv"):
            if self.header is None or (self.fmt != "auto" and self.header_kind != fmt):
                return None, False
            if self.header_kind == "powermta":
                record = parse_powermta(line, self.header)
            else:
                assert self.field is not None
                record = parse_csv_row(
                    line, self.header, self.field, status_field=self.status_field
                )
            known = True
        else:  # kumomta or json
            obj = load_object(line)
            if obj is None:
                return None, False
            if fmt != "json" and isinstance(obj.get("type"), str) and "response" in obj:
                record = parse_kumomta(line, obj)
            elif self.field:
                record = parse_json(line, self.field, status_field=self.status_field, obj=obj)
            else:
                return None, False
            known = True
        return record, known

    def _detect(self, line: str) -> str:
        """The likely format of one line, from cheap substring tests only."""
        c = line[0]
        if c == "{":
            return "kumomta"
        if self.header is not None and "," in line:
            return self.header_kind
        if c.isdigit() and len(line) > 20 and line[4] == "-" and line[10] == " ":
            return "exim"
        if "postfix" in line and "]: " in line:
            return "postfix"
        if " stat=" in line or "sendmail[" in line or "sm-mta[" in line:
            return "sendmail"
        return ""
