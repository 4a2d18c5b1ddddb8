"""Reading delivery attempts out of MTA log lines: the record, one parser per format, the line
parser that picks the format."""

from __future__ import annotations

from .parser import (
    BOUNCED,
    DEFERRED,
    DONE,
    EXPIRED,
    FORMATS,
    SENT,
    LineKind,
    LineParser,
    LogRecord,
    MalformedLineError,
    csv_header,
    parse_csv_row,
    parse_exim,
    parse_json,
    parse_kumomta,
    parse_postfix,
    parse_powermta,
    parse_sendmail,
    powermta_header,
)

__all__ = [
    "BOUNCED",
    "DEFERRED",
    "DONE",
    "EXPIRED",
    "FORMATS",
    "SENT",
    "LineKind",
    "LineParser",
    "LogRecord",
    "MalformedLineError",
    "csv_header",
    "parse_csv_row",
    "parse_exim",
    "parse_json",
    "parse_kumomta",
    "parse_postfix",
    "parse_powermta",
    "parse_sendmail",
    "powermta_header",
]
