"""Reading delivery attempts out of MTA log lines: the record, one parser per format, the line
parser that picks the format."""

from __future__ import annotations

from .exim import parse_exim
from .export import parse_csv_row, parse_json
from .fields import csv_header
from .kumomta import parse_kumomta
from .parser import FORMATS, LineParser
from .postfix import parse_postfix
from .powermta import parse_powermta, powermta_header
from .record import (
    BOUNCED,
    DEFERRED,
    DONE,
    EXPIRED,
    SENT,
    LineKind,
    LogRecord,
    LogStatus,
    MalformedLineError,
)
from .sendmail import parse_sendmail

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
    "LogStatus",
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
