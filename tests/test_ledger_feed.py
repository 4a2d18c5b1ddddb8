"""Feeding the ledger: replayed log rows and bounce mail become keyed, timed events."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from classifier import classify_message, replay_lines
from classifier.ledger import (
    Decision,
    Ledger,
    ReplayFeed,
    event_key,
    message_events,
    normalise_address,
    parse_time,
)
from classifier.ledger.model import _normalise

from .conftest import FIXTURES

POSTFIX_LOG = FIXTURES / "postfix" / "postfix-3.7.11-fakemx.log"
MAIL = FIXTURES / "mail"

_EXPIRY = """\
Nov 26 10:00:00 mta postfix/smtp[1]: ABC123: to=<Full@Example.test>, relay=mx[1.2.3.4]:25, delay=1, dsn=4.2.2, status=deferred (host mx[1.2.3.4] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command))
Nov 26 10:00:00 mta postfix/smtp[1]: ABC123: to=<ok@example.test>, relay=mx[1.2.3.4]:25, delay=1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Nov 27 10:00:00 mta postfix/smtp[1]: ABC123: to=<Full@Example.test>, relay=mx[1.2.3.4]:25, delay=1, dsn=4.2.2, status=deferred (host mx[1.2.3.4] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command))
Nov 30 10:00:00 mta postfix/qmgr[2]: ABC123: from=<s@example.test>, status=expired, returned to sender
Nov 30 10:00:01 mta postfix/smtp[1]: DEF456: to=<not an address>, relay=none, delay=1, dsn=5.1.3, status=bounced (bad address syntax)
"""


def test_fixture_log_events_and_content_keys() -> None:
    lines = POSTFIX_LOG.read_text(encoding="utf-8").splitlines()
    feed = ReplayFeed(year=2025)
    events = list(feed.events(replay_lines(lines, source="a.log")))
    rows = [r for r in replay_lines(lines) if r.recipient]
    line_of = {e.key: lines[int(e.origin.rsplit(":", 1)[1]) - 1] for e in events}
    expiries = [e for e in events if "status=expired" in line_of[e.key]]
    assert expiries and {e.code for e in expiries} == {"133"}
    assert len(events) == len(rows) + len(expiries)  # deferred recipients got their expiry
    assert feed.counts.events == len(events) and feed.counts.bad_address == 0
    assert all(e.time == parse_time(line_of[e.key][:15], 2025) for e in events)
    # the same lines read from a renamed file are the same events
    again = list(ReplayFeed(year=2025).events(replay_lines(lines, source="renamed.log")))
    assert [e.key for e in again] == [e.key for e in events]
    assert len({e.key for e in events}) == len(events)
    # the feed's loop joins the key's parts itself: the same keys as event_key
    by_line = {(e.origin, e.address): e.key for e in events}
    for row in rows:
        r = row.record
        address = normalise_address(row.recipient)
        assert address is not None
        parts = ("log", r.mta, r.time, r.queue_id, address, r.status, r.reply)
        assert by_line[f"a.log:{row.line}", address] == event_key(*parts)


def test_expiry_gives_the_deferred_recipients_133_at_its_time(tmp_path: Path) -> None:
    feed = ReplayFeed(year=2025)
    events = list(feed.events(replay_lines(_EXPIRY.splitlines(), source="x.log")))
    full = [e for e in events if e.address == "full@example.test"]
    assert [(e.code, e.transient) for e in full] == [("202", True), ("202", True), ("133", False)]
    assert full[-1].time == parse_time("Nov 30 10:00:00", 2025)
    assert feed.counts.bad_address == 1 and feed.counts.samples == ["x.log:5"]
    with Ledger.open(tmp_path / "l.db") as ledger:
        ledger.record_many(events)
        full_state = ledger.get("FULL@example.test")
        ok_state = ledger.get("ok@example.test")
    assert full_state is not None and ok_state is not None
    assert (full_state.decision, full_state.cause) == (Decision.SUPPRESSED, "133")
    assert ok_state.decision is Decision.DELIVERABLE


def test_rows_without_time_or_id_are_keyed_by_source_and_line() -> None:
    csv = ["recipient,status,reply", "a@x.test,bounced,550 5.1.1 user unknown"]
    one = list(ReplayFeed().events(replay_lines(csv, fmt="csv", field="reply", source="1.csv")))
    two = list(ReplayFeed().events(replay_lines(csv, fmt="csv", field="reply", source="2.csv")))
    assert len(one) == len(two) == 1
    assert one[0].key != two[0].key and one[0].code == "131" and one[0].time == 0.0


def test_bounce_mail_events_and_idempotence(tmp_path: Path) -> None:
    found = []
    for path in sorted(MAIL.glob("*.eml")):
        data = path.read_bytes()
        found += message_events(classify_message(data), data, origin=path.name)
    codes = {(e.address, e.code) for e in found}
    assert ("redacted@example.net", "162") in codes  # ARF complaint
    assert ("example@icloud.com", "163") in codes  # List-Unsubscribe
    assert ("kijitora@example.br", "131") in codes
    delays = [e for e in found if e.address == "nekochan@libsisimai.org"]
    assert [(e.code, e.transient) for e in delays] == [("202", True)]
    assert all(e.time > 0 for e in found)
    with Ledger.open(tmp_path / "l.db") as ledger:
        assert ledger.record_many(found).new == len(found)
        assert ledger.record_many(found).duplicate == len(found)
        complaint = ledger.get("redacted@example.net")
        assert complaint is not None and complaint.decision is Decision.UNSUBSCRIBED


def test_message_without_message_id_is_keyed_by_its_bytes() -> None:
    data = (MAIL / "rfc3464-35.eml").read_bytes()
    report = classify_message(data)
    assert report.message_id == ""
    first = message_events(report, data, origin="a")
    changed = data.replace(b"Subject:", b"X-Copy: 1\nSubject:", 1)
    other = message_events(classify_message(changed), changed, origin="b")
    assert first and {e.key for e in first}.isdisjoint(e.key for e in other)
    assert [e.key for e in first] == [e.key for e in message_events(report, data, origin="c")]


def test_message_time_reads_the_date_or_gives_zero() -> None:
    from classifier.ledger.feed import message_time

    assert message_time(b"Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody") == 1704067200.0
    assert message_time(b"Date: Mon, 1 Jan 2024 03:00:00 +0300\n\n") == 1704067200.0
    for bad in (
        b"Date: garbage\n\n",
        b"Date: Mon, 99 Foo 2024 99:99:99\n\n",
        b"\xff\xfe" * 999,
        b"",
    ):
        assert message_time(bad) == 0.0


#: Characters that make addresses hard to normalise: case, brackets, dots, spaces, controls.
_ADDRESS_CHARS = st.sampled_from("aZ9.@<> \t\x00\x7f_-+éÉ\u212b\ud800")


@given(st.text(_ADDRESS_CHARS, max_size=12) | st.from_regex(r"[a-z0-9.]{1,8}@[a-z.]{1,8}"))
def test_the_short_way_for_plain_addresses_normalises_as_the_full_one(raw: str) -> None:
    assert normalise_address(raw) == _normalise(raw)


def test_long_addresses_are_refused_either_way() -> None:
    long = "a" * 250 + "@x.test"
    assert normalise_address(long) is None and _normalise(long) is None
    assert normalise_address(long[5:]) == long[5:]


def test_syslog_times_and_what_is_not_one() -> None:
    assert parse_time("Nov 26 11:31:27", 2025) == 1764156687.0
    assert parse_time("Nov 26 11:31:60", 2025) == 1764156720.0  # a leap second
    for bad in ("Nov 26 11:31:61", "Nov 26 11x31:27", "Nov 26 11:31:2x", "Foo 26 11:31:27",
                "Nov 26 24:00:00", "Nov 26 11:60:00", "Nov 31 11:31:27"):  # fmt: skip
        assert parse_time(bad, 2025) == 0.0, bad


_TIME_CHARS = st.sampled_from("Nov 26 11:31:27 Dec 31 23:59:60 2025-11-26T1.:x٣")


@given(st.lists(st.text(_TIME_CHARS, min_size=13, max_size=17) | st.sampled_from(
    ["Nov 26 11:31:27", "Nov 26 11:31:60", "Nov 26 11:31:61", "1764156687.1234",
     "Feb 29 00:00:00", "Nov 26 11:31:٣٣", "2025-11-26T11:3", "Nov 26 11:31:2x"]
), max_size=8))  # fmt: skip
def test_the_feed_reads_times_as_parse_time(times: list[str]) -> None:
    feed = ReplayFeed(year=2025)
    for year in (2025, 2024):  # a feed whose year changes reads its minutes again
        feed.year = year
        for n, text in enumerate(times):
            (row,) = feed.of(
                "x.log", n, "postfix", text, "Q1", "a@x.test", "sent", "250 ok", "250", ""
            )
            assert row[2] == parse_time(text, year), text
