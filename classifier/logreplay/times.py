"""Log times as ISO 8601: syslog stamps get their year inferred, others are normalised.

Classic syslog stamps (``Mar  4 10:00:01``) carry no year and no zone. The year given is the
one that puts the stamp at most one day after the replay's clock (the current date), so a log
of December read in January is dated last year; the zone stays unstated, as in the log.
RFC 3339 stamps are kept; Exim's ``2024-03-04 10:00:01`` becomes ``2024-03-04T10:00:01``;
Unix times (PowerMTA, KumoMTA) become UTC (``2007-05-10T14:39:59Z``).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Final

__all__ = ["iso_time"]

_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_CACHE_MAX: Final = 4096
_cache: dict[str, str] = {}
#: The replay's clock: today's date, looked at again after _RECHECK seconds (a replay that
#: runs past midnight then infers years from the new date).
_RECHECK: Final = 60.0
_clock: list[Any] = [dt.date.min, -_RECHECK]


def _today() -> dt.date:
    now = time.monotonic()
    if now - _clock[1] >= _RECHECK:
        today = dt.date.today()
        if today != _clock[0]:
            _cache.clear()
        _clock[0], _clock[1] = today, now
    date: dt.date = _clock[0]
    return date


def iso_time(raw: str, today: dt.date | None = None) -> str:
    """``raw`` as ISO 8601 (year inferred for syslog stamps), or "" when it is not a time.

    ``today``: the date to infer years from (default: the replay's clock, the current date).
    """
    if not raw:
        return ""
    if today is not None:
        return _convert(raw, today)
    hit = _cache.get(raw)
    if hit is not None:
        return hit
    iso = _convert(raw, _today())
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[raw] = iso
    return iso


def _convert(raw: str, today: dt.date) -> str:
    if raw.isdigit() and len(raw) <= 12:  # a Unix time (seconds) before year 33658
        return dt.datetime.fromtimestamp(int(raw), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if len(raw) >= 19 and raw[4] == "-" and raw[7] == "-" and raw[10] in " T":
        return raw[:10] + "T" + raw[11:]
    month = _MONTHS.get(raw[:3])
    if month is None or len(raw) < 15:
        return ""
    hms = raw[7:15]
    if not _plain_clock(hms):
        try:
            hms = dt.time.fromisoformat(hms).isoformat()
        except ValueError:
            return ""
    key = (raw[:6], today)
    date = _days.get(key)
    if date is None:
        date = _date(month, raw[4:6], today)
        if len(_days) >= _CACHE_MAX:
            _days.clear()
        _days[key] = date
    return f"{date}T{hms}" if date else ""


#: The ISO date of a syslog month and day, per replay date (a log spans few days).
_days: dict[tuple[str, dt.date], str] = {}


def _plain_clock(hms: str) -> bool:
    """Is ``hms`` a valid "HH:MM:SS" (its own ISO form: no parsing needed)?"""
    return (
        len(hms) == 8
        and hms.isascii()
        and hms[2] == ":" == hms[5]
        and hms[:2].isdigit()
        and hms[3:5].isdigit()
        and hms[6:].isdigit()
        and hms[:2] < "24"
        and hms[3:5] < "60"
        and hms[6:] < "60"
    )


def _date(month: int, day_text: str, today: dt.date) -> str:
    """The ISO date of ``month`` and ``day_text`` in the latest year that puts it at most one
    day after ``today``, or "" when it is no date."""
    try:
        day = int(day_text)
    except ValueError:
        return ""
    latest = today + dt.timedelta(days=1)
    for year in range(today.year, today.year - 8, -1):  # Feb 29: back to a leap year
        try:
            stamp = dt.date(year, month, day)
        except ValueError:
            continue
        if stamp <= latest:
            break
    else:
        return ""
    return stamp.isoformat()
