"""Timings of classify_message(): typical bounces, and a 15 MB bounce with attachments.

Usage: python bench/bench_message.py [--repeat N]

Prints the throughput over the vendored Sisimai bounce corpus (messages per second of CPU
time of this process, minimum and median over rounds), the mean time per message over the
sample bounces in fixtures/mail and the corpus, and the time of one 15 MB bounce whose
returned original carries base64 attachments (the case that took another decoder 6 minutes).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import time
from pathlib import Path

from classifier.mail.message import classify_message

__all__ = ["big_bounce", "main", "report_last", "text_parts_only"]

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "sisimai" / "emails"


def big_bounce(size: int = 15 * 1024 * 1024) -> bytes:
    """A DSN returning a message with ``size`` bytes of base64 attachments (and text parts)."""
    chunk = base64.encodebytes(os.urandom(3 * 1024 * 1024 // 4 * 3))
    attachments = []
    total = 0
    number = 0
    while total < size:
        number += 1
        attachments.append(
            f"--INNER\nContent-Type: application/pdf; name=a{number}.pdf\n"
            f"Content-Transfer-Encoding: base64\n\n".encode()
            + chunk
        )
        attachments.append(
            b"--INNER\nContent-Type: text/plain\n\n" + b"550 5.1.1 <x@y.test>... quoted\n" * 2000
        )
        total += len(chunk) + 64000
    return (
        b"From: MAILER-DAEMON@mta.test\nTo: a@sender.test\nSubject: Undelivered Mail\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="OUTER"\n\n'
        b"--OUTER\nContent-Type: text/plain\n\n<u@x.test>: host mx.x.test[192.0.2.1] said: "
        b"550 5.1.1 <u@x.test>: Recipient address rejected: User unknown\n"
        b"--OUTER\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mta.test\n\n"
        b"Final-Recipient: rfc822; u@x.test\nAction: failed\nStatus: 5.1.1\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 <u@x.test>: Recipient address rejected: User unknown\n"
        b"--OUTER\nContent-Type: message/rfc822\n\nFrom: a@sender.test\nTo: u@x.test\n"
        b'Subject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="INNER"\n\n'
        + b"".join(attachments)
        + b"--INNER--\n--OUTER--\n"
    )


def report_last(size: int = 15 * 1024 * 1024) -> bytes:
    """A text bounce whose report comes after ``size`` bytes of base64 attachment (worst case:
    the first reading finds nothing and the message is read again)."""
    blob = base64.encodebytes(os.urandom(size // 4 * 3))
    return (
        b"From: MAILER-DAEMON@mta.test\nTo: a@sender.test\nSubject: Undelivered Mail\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="M"\n\n'
        b"--M\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        + blob
        + b"--M\nContent-Type: text/plain\n\n<u@x.test>:\n"
        b"Remote host said: 550 5.1.1 <u@x.test>... User unknown\n--M--\n"
    )


def text_parts_only(size: int = 15 * 1024 * 1024) -> bytes:
    """An ordinary message of ``size`` bytes in many text parts whose every line names an
    address and a reply code (worst case for the free-text decoder: nothing to cut)."""
    line = b"please write to user@example.test, the 550 reply was about the subject\n"
    part = b"--M\nContent-Type: text/plain\n\n" + line * (128 * 1024 // len(line))
    return (
        b"From: someone@example.test\nTo: a@sender.test\nSubject: notes\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="M"\n\n'
        + part * (size // len(part))
        + b"--M--\n"
    )


def _time(data: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        classify_message(data)
        best = min(best, time.perf_counter() - start)
    return best


def throughput(messages: list[bytes], rounds: int) -> list[float]:
    """Messages per CPU-second of this process through classify_message, one figure a round."""
    rates = []
    for _ in range(rounds):
        start = time.process_time()
        for data in messages:
            classify_message(data)
        rates.append(len(messages) / (time.process_time() - start))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="classify_message() timings")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    classify_message(b"From: a@b.test\n\nwarm-up\n")  # load the rules once
    corpus = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    if corpus:
        rates = throughput(corpus, args.repeat)
        print(
            f"sisimai corpus: {len(corpus)} bounces, min {min(rates):,.0f} messages/s, "
            f"median {statistics.median(rates):,.0f} messages/s (CPU time)"
        )

    for label, folder in (("fixtures/mail", ROOT / "fixtures" / "mail"), ("sisimai", CORPUS)):
        files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
        if not files:
            continue
        times = [_time(p.read_bytes(), args.repeat) for p in files]
        print(
            f"{label}: {len(files)} bounces, mean {statistics.mean(times) * 1000:.2f} ms, "
            f"median {statistics.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms"
        )

    data = big_bounce()
    seconds = _time(data, max(1, args.repeat // 2))
    report = classify_message(data)
    codes = [r.code for r in report.recipients]
    print(f"15 MB bounce ({len(data) / 1e6:.1f} MB): {seconds * 1000:.0f} ms, codes {codes}")
    data = report_last()
    seconds = _time(data, max(1, args.repeat // 2))
    codes = [r.code for r in classify_message(data).recipients]
    print(
        f"15 MB, report after the attachment ({len(data) / 1e6:.1f} MB): "
        f"{seconds * 1000:.0f} ms, codes {codes}"
    )
    data = text_parts_only()
    seconds = _time(data, max(1, args.repeat // 2))
    print(
        f"15 MB of text parts ({len(data) / 1e6:.1f} MB): {seconds * 1000:.0f} ms, "
        f"kind {classify_message(data).kind}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
