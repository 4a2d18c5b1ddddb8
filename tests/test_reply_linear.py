"""Every pattern that reads a wrapper out of untrusted text runs in linear time.

Each case is an input built to make a backtracking pattern rescan its tail (a long run of
white space before the end, a head repeated thousands of times, ...). A case is timed at
8 KiB and at 64 KiB of filler in the same run: linear work grows 8x, quadratic work 64x. The
test asserts less than 24x, in CPU time of the thread (best of several runs each, so a busy
machine does not make it fail), or an absolute time far below what quadratic work on 64 KiB
would take.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import reply, wrappers
from classifier.logs import LogRecord, parse_exim, parse_postfix, parse_sendmail
from classifier.meaning import normalise
from classifier.reply import parse_reply

SMALL = 8 * 1024
BIG = 64 * 1024
#: Quadratic work on 64 KiB takes seconds; linear work well under this.
FLOOR = 0.005


def _best(run: Callable[[str], object], text: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.thread_time()
        run(text)
        best = min(best, time.thread_time() - t0)
    return best


def _sized(make: Callable[[int], str], size: int) -> str:
    """The input of ``make`` grown until it reaches ``size`` characters."""
    n = 1
    while len(make(n)) < size:
        n *= 2
    lo, hi = n // 2, n
    while lo < hi:
        mid = (lo + hi) // 2
        if len(make(mid)) < size:
            lo = mid + 1
        else:
            hi = mid
    return make(lo)


def _through(parse_line: Callable[[str], LogRecord | None]) -> Callable[[str], object]:
    """Read a log line, then the reply it carries, as replay does."""

    def run(line: str) -> object:
        record = parse_line(line)
        assert record is not None
        return parse_reply(record.reply)

    return run


# (name, what runs, input of n filler units)
CASES: list[tuple[str, Callable[[str], object], Callable[[int], str]]] = [
    ("lost", wrappers._LOST.match, lambda n: "lost connection with x while a" + " " * n + "b"),
    (
        "lost-timed-out",
        wrappers._LOST.match,
        lambda n: "conversation with x timed out while a" + "\t" * n + "b",
    ),
    ("lost-brackets", wrappers._LOST.match, lambda n: "lost connection with x" + "[" * n),
    (
        "quoted-remote",
        wrappers._quoted_remote,
        lambda n: "Remote Server returned '550 a" + " " * n + "b",
    ),
    (
        "quoted-remote-head",
        wrappers._quoted_remote,
        lambda n: "server replied" + " " * n + ":",
    ),
    ("sendmail-reply", wrappers._sendmail_reply, lambda n: "stat=x " + "reply=550 " * n + "\nfoo"),
    ("embedded-spaces", wrappers._embedded_reply, lambda n: ("x" + " " * 64 + "550 ") * n),
    ("embedded-codes", wrappers._embedded_reply, lambda n: "550-" * n),
    ("postfix-status", wrappers._postfix_status, lambda n: "status=sent (" * n),
    ("postfix-status-open", wrappers._postfix_status, lambda n: "status=sent (" * n + ")"),
    ("exim", wrappers._EXIM.search, lambda n: "SMTP error from remote mailer after RCPT TO " * n),
    (
        "exim-address",
        wrappers._EXIM.search,
        lambda n: "SMTP error from remote mailer after RCPT TO <" * n,
    ),
    (
        "exim-word",
        wrappers._EXIM.search,
        lambda n: "SMTP error from remote mailer after " + "a" * n,
    ),
    (
        "in-reply-to",
        lambda t: reply.IN_REPLY_TO.match(t, 0),
        lambda n: " (in reply to RCPT TO command)" + " " * n + "x",
    ),
    ("python-tuple", wrappers._PY_REPLY.search, lambda n: "('550', [" * n),
    (
        "postfix-reject",
        wrappers._POSTFIX_REJECT.search,
        lambda n: "reject: RCPT from " + "x" * n + "[",
    ),
    ("postfix-reject-heads", wrappers._POSTFIX_REJECT.search, lambda n: "reject: RCPT from a[" * n),
    ("embedded-places", wrappers._embedded_reply, lambda n: ("a.b" + "x" * 60 + ":550 ") * n),
    ("parse-postfix-reject", parse_reply, lambda n: "NOQUEUE: reject: RCPT from a[b]: 550 x" * n),
    (
        "phpmailer",
        wrappers._PHPMAILER.search,
        lambda n: "SMTP server error: DATA command failed Detail: x" * n,
    ),
    # The meaning layer's normaliser (it reads at most MAX_MEANING_CHARS, but its patterns
    # are linear on any length).
    ("run-on", lambda t: normalise._RUN_ON.sub(r"\1. ", t), lambda n: "abc.Def" * n),
    (
        "class-name",
        lambda t: normalise._CLASS_NAME.sub(normalise._class_name, t),
        lambda n: "a.B" + "bC" * n + "5",
    ),
    ("camel-run", lambda t: normalise._CAMEL.sub(normalise._camel_words, t), lambda n: "a" * n),
    (
        "camel-humps",
        lambda t: normalise._CAMEL.sub(normalise._camel_words, t),
        lambda n: "aB" * n + "5",
    ),
    # The same shapes through the public entry point (the general path for long input).
    ("parse-lost", parse_reply, lambda n: "lost connection with x while a" + " " * n + "b"),
    (
        "parse-quoted",
        parse_reply,
        lambda n: "Remote Server returned '550 a" + " " * n + "b",
    ),
    ("parse-sendmail", parse_reply, lambda n: "stat=x " + "reply=550 " * n + "\nfoo"),
    ("parse-status", parse_reply, lambda n: "status=sent (" * n),
    ("parse-exim", parse_reply, lambda n: "SMTP error from remote mailer after RCPT TO " * n),
    (
        "parse-in-reply-to",
        parse_reply,
        lambda n: "550 5.1.1 x (in reply to RCPT TO command)" + " " * n + "x",
    ),
    # Log line parsers, each on a line whose text is the adversarial part.
    (
        "log-postfix",
        _through(parse_postfix),
        lambda n: (
            "Jan  1 00:00:00 mx postfix/smtp[1]: 4AB12: to=<a@b.c>, relay=x, dsn=4.4.1, "
            "status=deferred (" + "status=deferred (" * n + ")"
        ),
    ),
    (
        "log-sendmail",
        _through(parse_sendmail),
        lambda n: (
            "Jan  1 00:00:00 mx sm-mta[1]: x1: to=<a@b.c>, dsn=5.1.1, stat=x " + "reply=550 " * n
        ),
    ),
    (
        "log-exim",
        _through(parse_exim),
        lambda n: (
            "2024-01-01 00:00:00 1abc-000001-AB ** a@b.c R=x T=y: "
            + "SMTP error from remote mailer after RCPT TO " * n
        ),
    ),
]


@pytest.mark.parametrize(("name", "run", "make"), CASES, ids=[c[0] for c in CASES])
def test_wrapper_patterns_are_linear(
    name: str, run: Callable[[str], object], make: Callable[[int], str]
) -> None:
    small, big = _sized(make, SMALL), _sized(make, BIG)
    assert len(big) >= BIG
    t_small, t_big = _best(run, small), _best(run, big)
    assert t_big < FLOOR or t_big < 24 * t_small, (
        f"{name}: {t_small * 1e3:.2f} ms at {len(small)} chars, "
        f"{t_big * 1e3:.2f} ms at {len(big)} chars"
    )


def test_rewritten_helpers_read_what_the_patterns_read() -> None:
    """The helpers that replaced lazy groups give the text those groups gave."""
    assert wrappers._postfix_status("x status=bounced (host a said: 550 no) ") == (
        "bounced",
        "host a said: 550 no",
    )
    assert wrappers._postfix_status("status=sent (a) (b)") == ("sent", "a) (b")
    assert wrappers._postfix_status("status=sent (open") is None
    assert wrappers._quoted_remote("Remote Server returned '550 5.1.1 no such user' ") == (
        "550 5.1.1 no such user"
    )
    assert wrappers._quoted_remote('server replied: "421 busy"') == "421 busy"
    assert wrappers._quoted_remote("server replied 550 '") == "550 "
    assert wrappers._sendmail_reply("stat=x, reply=550 5.1.1 no user, relay=y") == (
        "550 5.1.1 no user"
    )
    assert wrappers._sendmail_reply("reply=550 a\nreply=451 b") == "451 b"
    assert wrappers._sendmail_reply("reply=550 a\n") == "550 a"
    assert wrappers._sendmail_reply("reply=550 a\nfoo") is None
    m = wrappers._LOST.match("lost connection with mx.example[192.0.2.1]:25 while sending RCPT TO")
    assert m is not None
    assert (m.group(1), m.group(2)) == ("mx.example", "sending RCPT TO")
    m = wrappers._EXIM.search(
        "SMTP error from remote mail server after RCPT TO:<a@b.c>:\n"
        "    host mx.b.c [192.0.2.1]: 550 5.1.1 unknown"
    )
    assert m is not None
    assert (m.group(1), m.group(2)) == ("RCPT TO", "mx.b.c")


_EMBEDDED_AS_ONE_PATTERN = re.compile(
    r"(?:^|[:;>]\s*|\s-\s|'|\"|\s(?=([245])[0-9][0-9] \1\.[0-9]{1,3}\.[0-9]{1,3}\s))"
    r"(?P<code>[2-5][0-9][0-9])(?:[ -]|- )(?=\S)"
)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["5", "0", "4", " ", "\t", "\u2003", "-", ":", ";", ">", "'", '"', "x"])
        | st.sampled_from(["550 ", "250-", "5.1.1 ", " - ", ": 421 ", "\n"]),
        max_size=16,
    ).map("".join)
)
def test_embedded_reply_finds_what_one_pattern_would(body: str) -> None:
    """The code-first reader of an embedded reply finds the match the single pattern led by
    its alternation finds (the pattern it replaces)."""
    m = _EMBEDDED_AS_ONE_PATTERN.search(body)
    assert wrappers._embedded_reply(body) == ((m.start(), m.start("code")) if m else (-1, -1))
