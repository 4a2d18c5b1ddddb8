"""``smtp-classifier fake-server`` as a process: prints where it listens, serves, stops on signals."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from classifier.cli import main
from classifier.network.probe import probe

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"
STEP = 15.0


class Served:
    """A fake-server process whose stdout lines are read by a thread (reads never block us)."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-m", "classifier", "fake-server", *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, prefix: str) -> list[str]:
        """Lines up to and including the first starting with ``prefix`` (bounded wait)."""
        seen: list[str] = []
        while True:
            line = self.lines.get(timeout=STEP)
            if line is None:
                raise AssertionError(f"fake-server ended early: {seen}")
            seen.append(line)
            if line.startswith(prefix):
                return seen

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STEP)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=STEP)
            self._pump_thread.join(STEP)
            assert self.process.stdout is not None
            self.process.stdout.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_fake_server_serves_scenarios_and_stops_cleanly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    transport, transcript = tmp_path / "transport", tmp_path / "sessions.jsonl"
    served = Served(
        "--fixtures", str(FIXTURES),
        "--only", "partial", "--only", "banner554", "--only", "refused",
        "--postfix-transport", str(transport),
        "--transcript", str(transcript),
    )  # fmt: skip
    try:
        lines = served.until("ready")
        listing = {line.split()[0]: line.split() for line in lines}
        routing = lines[0].split()[2]
        assert lines[0].startswith("listening on 127.0.0.1:")
        own = listing["partial"][2]
        assert listing["refused"][3:] == ["refuses", "connections"]
        addresses = ["ok@partial.test", "nouser@partial.test", "full@partial.test"]
        expected = {"ok@partial.test": "250", "nouser@partial.test": "131"}
        expected["full@partial.test"] = "202"
        assert probe(own, addresses, timeout=5).codes == expected
        assert probe(routing, addresses, timeout=5).codes == expected
        banner = probe(listing["banner554"][2], ["user@banner554.test"], timeout=5)
        assert banner.codes == {"user@banner554.test": "554"}
        assert f"partial.test smtp:[127.0.0.1]:{own.rpartition(':')[2]}" in transport.read_text()
    finally:
        rc = served.stop(sig)
    assert rc == 0
    assert served.until("stopped")
    sessions = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert {s["scenario"] for s in sessions} == {"partial", "banner554"}
    assert len(sessions) == 3


def test_fake_server_usage_and_input_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fake-server", "--fixtures", str(FIXTURES), "--host", "0.0.0.0"]) == 2
    assert main(["fake-server", "--fixtures", str(FIXTURES), "--only", "no-such-id"]) == 2
    assert main(["fake-server", "--fixtures", str(FIXTURES), "--base-port", "70000"]) == 2
    assert main(["fake-server", "--fixtures", str(tmp_path / "missing.json")]) == 3
    broken = tmp_path / "broken.json"
    broken.write_text('{"scenarios": [{"id": "x"}]}', encoding="utf-8")
    assert main(["fake-server", "--fixtures", str(broken)]) == 3
    assert "description" in capsys.readouterr().err
