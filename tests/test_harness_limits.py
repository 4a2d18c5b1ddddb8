"""The fake server under abuse: what a transcript keeps is bounded in bytes, a burst of clients
is queued by the kernel and greeted, and ``localhost`` is loopback."""

from __future__ import annotations

import select
import smtplib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from classifier.commands.fake_server import is_loopback
from classifier.harness.loopthread import LoopThread
from classifier.harness.scenario import parse_scenario
from classifier.harness.server import BackgroundServer, FakeServer

STEP = 15.0
SINK = parse_scenario(
    {"id": "sink", "description": "accepts all", "source": "this test", "expect": {"b": "250"}},
    origin="test",
)


def test_transcripts_keep_bounded_bytes_of_each_message_and_count_the_rest() -> None:
    body = b"x" * 99 + b"\r\n"
    message = b"Subject: big\r\n\r\n" + body * 3000  # about 300 KB
    with BackgroundServer([SINK], port=None, max_kept_bytes=150_000) as server:
        with smtplib.SMTP(*server.address_for("sink"), timeout=STEP) as client:
            for _ in range(4):
                client.sendmail("a@example.org", ["b@sink.test"], message)
        (transcript,) = server.transcripts
        sizes = transcript.message_sizes
        assert len(sizes) == 4 and all(size >= len(message) for size in sizes)
        kept = [len(m) for m in transcript.messages]
        assert kept == [64 * 1024, 64 * 1024, 150_000 - 2 * 64 * 1024, 0]
        assert transcript.cut_bytes == sum(sizes) - sum(kept)
        assert transcript.to_dict()["messages"] == sizes


def test_a_transcript_records_a_bounded_number_of_exchanges() -> None:
    with BackgroundServer([], port=0, base_port=None, max_exchanges=10) as server:
        assert server.shared is not None
        with smtplib.SMTP(*server.shared, timeout=STEP) as client:
            for _ in range(30):
                client.rset()
        (transcript,) = server.transcripts
        assert len(transcript.exchanges) == 10
        assert transcript.dropped >= 20


@pytest.fixture
def busy_server() -> Iterator[tuple[FakeServer, threading.Event]]:
    """A fake server whose loop is held busy until the returned event is set."""
    thread, server = LoopThread.start(
        lambda: _started(FakeServer([], port=0, base_port=None)), STEP, "busy-fake-server"
    )
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        held.set()
        release.wait(STEP)

    thread.loop.call_soon_threadsafe(hold)
    assert held.wait(STEP)
    try:
        yield server, release
    finally:
        release.set()
        thread.run(server.stop(), STEP)
        thread.close()


async def _started(server: FakeServer) -> FakeServer:
    await server.start()
    return server


def test_a_burst_of_200_connections_is_queued_and_all_are_greeted(
    busy_server: tuple[FakeServer, threading.Event],
) -> None:
    server, release = busy_server
    assert server.shared is not None
    clients = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(200)]
    try:
        for sock in clients:
            sock.setblocking(False)
            sock.connect_ex(server.shared)
        # While the server's loop is busy, the kernel completes the handshakes of every client
        # its listen queue holds; with the default backlog (100) the rest wait for SYN
        # retransmissions and are not connected within this bounded wait.
        pending, deadline = set(clients), time.monotonic() + 5.0
        while pending and time.monotonic() < deadline:
            _r, writable, _x = select.select([], list(pending), [], deadline - time.monotonic())
            pending -= set(writable)
        errors = [s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) for s in clients]
        assert not pending and errors == [0] * len(clients)
        release.set()
        greeted = 0
        for sock in clients:
            sock.setblocking(True)
            sock.settimeout(STEP)
            greeted += sock.recv(64).startswith(b"220 ")
        assert greeted == len(clients)
    finally:
        for sock in clients:
            sock.close()


def test_localhost_is_loopback() -> None:
    assert is_loopback("localhost")
    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.0.2.1")
