"""Bad mail never crashes classify_message(): malformed MIME, charsets, 8-bit, huge, nested.

Timings are measured in bench/bench_message.py, not asserted here.
"""

from __future__ import annotations

import base64
import os

import pytest

from classifier.mail.message import classify_message

BOUNCE_HEAD = b"From: MAILER-DAEMON@mta.test\nTo: a@sender.test\nSubject: failure notice\n\n"


def fifteen_megabytes() -> bytes:
    """A DSN whose returned original carries 15 MB of base64 attachments."""
    chunk = base64.encodebytes(b"\x00\xff" * (1536 * 1024))
    parts = b"".join(
        b"--IN\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        + chunk
        for _ in range(4)
    )
    return (
        b"From: MAILER-DAEMON@mta.test\nTo: a@sender.test\nSubject: Undelivered Mail\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
        b'boundary="OUT"\n\n--OUT\nContent-Type: message/delivery-status\n\n'
        b"Reporting-MTA: dns; mta.test\n\nFinal-Recipient: rfc822; u@x.test\nAction: failed\n"
        b"Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <u@x.test>: User unknown\n"
        b"--OUT\nContent-Type: message/rfc822\n\nFrom: a@sender.test\nTo: u@x.test\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="IN"\n\n'
        + parts
        + b"--IN--\n--OUT--\n"
    )


def test_fifteen_megabyte_bounce_is_decoded() -> None:
    data = fifteen_megabytes()
    assert len(data) > 15_000_000
    report = classify_message(data)
    assert [(r.recipient, r.code) for r in report.recipients] == [("u@x.test", "131")]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 1000,
        os.urandom(200_000),
        b"Content-Type: multipart/report; boundary=\n\n--\n--\n",
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        + b'--b\nContent-Type: multipart/mixed; boundary="b"\n\n' * 3000,
        b"".join(b"Content-Type: message/rfc822\n\n" for _ in range(3000)) + b"x",
        b"Subject: x\n" * 50_000,
        BOUNCE_HEAD + b"a" * 3_000_000,
        BOUNCE_HEAD + b"<" * 1_000_000,
        BOUNCE_HEAD + b"to <" + b"a@" * 500_000,
        BOUNCE_HEAD + b"x@" + b"a." * 500_000,
        BOUNCE_HEAD + b"Final-Recipient: rfc822; " + b"a" * 100_000 + b"@x.test\n",
        BOUNCE_HEAD + b"Final-Recipient: rfc822; " + b"a" * 120_000 + b"\nAction: failed\n",
        b"From: MAILER-DAEMON@m.test\nTo: " + b"a" * 500_000 + b"\nSubject: Undelivered\n\nx\n",
        b"From: MAILER-DAEMON@m.test\nContent-Type: text/html\n\n" + b"<script>" * 100_000,
        BOUNCE_HEAD + b"550" + b" " * 2_000_000 + b"x",
    ],
    ids=[
        "empty",
        "nul-bytes",
        "random-binary",
        "empty-boundary",
        "multipart-bomb",
        "deeply-nested-rfc822",
        "headers-only",
        "one-long-line",
        "angle-brackets",
        "at-signs",
        "endless-domain",
        "endless-local-part",
        "address-field-without-at",
        "huge-to-header",
        "html-tag-storm",
        "reply-code-then-spaces",
    ],
)
def test_malformed_input_gives_a_report_not_an_exception(data: bytes) -> None:
    report = classify_message(data)
    assert report.kind in ("bounce", "unknown")
    for r in report.recipients:
        assert len(r.recipient) <= 254


def test_wrong_and_unknown_charsets_and_8bit_headers() -> None:
    data = (
        b"From: \xff\xfe Mail Delivery System <MAILER-DAEMON@mta.test>\n"
        b"Subject: =?x-unknown?B?////?= Undelivered \xe9\n"
        b"To: =?utf-8?Q?=FF?= <a@sender.test>\n"
        b"Content-Type: text/plain; charset=no-such-charset\n"
        b"Content-Transfer-Encoding: quoted-printable\n\n"
        b"<u@x.test>: host mx.x.test[192.0.2.1] said: 550 5.1.1 <u@x.test>: Usu=E1rio\n"
        b"    desconhecido \xff\xfe (in reply to RCPT TO command)\n"
    )
    report = classify_message(data)
    (r,) = report.recipients
    assert r.recipient == "u@x.test"
    assert r.classification is not None and r.classification.enhanced == "5.1.1"


def test_broken_base64_and_bad_transfer_encoding() -> None:
    data = (
        b"From: MAILER-DAEMON@mta.test\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!\n"
        b"--B\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: x-weird\n\n"
        b"Final-Recipient: rfc822; u@x.test\nAction: failed\nStatus: 5.2.2\n"
        b"--B\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n%%%%\n--B--\n"
    )
    (r,) = classify_message(data).recipients
    assert (r.recipient, r.status) == ("u@x.test", "5.2.2")


def test_boundary_never_found_still_reads_the_report() -> None:
    data = (
        b"From: MAILER-DAEMON@mta.test\nSubject: Returned mail\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; boundary="NOT-THERE"\n\n'
        b"Final-Recipient: rfc822; u@x.test\nAction: failed\nStatus: 5.1.1\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
    )
    (r,) = classify_message(data).recipients
    assert (r.recipient, r.code) == ("u@x.test", "131")


def test_nested_forwarded_bounce_is_found_once() -> None:
    inner = (
        b"From: MAILER-DAEMON@mta.test\nTo: a@sender.test\nSubject: failure notice\n\n"
        b"<u@x.test>:\nRemote host said: 550 5.1.1 <u@x.test>... User unknown\n"
    )
    outer = (
        b"From: a@sender.test\nTo: helpdesk@sender.test\nSubject: Fwd: failure notice\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="M"\n\n'
        b"--M\nContent-Type: text/plain\n\nsee attached\n"
        b"--M\nContent-Type: message/rfc822\n\n" + inner + b"--M--\n"
    )
    (r,) = classify_message(outer).recipients
    assert (r.recipient, r.code) == ("u@x.test", "131")


@pytest.mark.parametrize("eol", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_line_endings_do_not_change_the_result(eol: bytes) -> None:
    from pathlib import Path

    mail = Path(__file__).resolve().parent.parent / "fixtures" / "mail"
    for path in sorted(mail.glob("*.eml")):
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        expected = [(r.recipient, r.code) for r in classify_message(raw).recipients]
        converted = raw.replace(b"\n", eol)
        assert [(r.recipient, r.code) for r in classify_message(converted).recipients] == (
            expected
        ), path.name


def test_report_after_a_big_attachment_is_still_found() -> None:
    blob = base64.encodebytes(b"\x00" * (4 * 1024 * 1024))
    data = (
        b"From: MAILER-DAEMON@mta.test\nTo: a@sender.test\nSubject: Undelivered Mail\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="M"\n\n'
        b"--M\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        + blob
        + b"--M\nContent-Type: text/plain\n\n<u@x.test>:\n"
        b"Remote host said: 550 5.1.1 <u@x.test>... User unknown\n--M--\n"
    )
    (r,) = classify_message(data).recipients
    assert (r.recipient, r.code) == ("u@x.test", "131")
