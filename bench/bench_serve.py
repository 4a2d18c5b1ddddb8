"""Load test of ``smtp-classifier serve`` on loopback: requests/s, replies/s, latency, errors.

Starts the real command (one process, or several sharing the port with --reuse-port), then 64
concurrent keep-alive clients in one asyncio process post distinct replies (the rules' own
examples with the recipient re-drawn per request): single replies, then batches. Each phase is
bounded in requests and in seconds, whichever comes first. Every answer must be a 200 whose
JSON holds one result per reply sent; anything else counts as an error, and the run fails
unless there are none. The clients share the machine with the server, so on a small machine
the rates are a floor; replies per server CPU-second (from /proc, Linux) is the per-core
figure, and the one to trust on a shared machine.

    python bench/bench_serve.py                                  # 64 clients, 1 process
    python bench/bench_serve.py --processes 2 --requests 20000 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from classifier import load_rules
from classifier.rules import iter_examples

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    batch: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    replies: int = 0
    seconds: float = 0.0
    #: CPU-seconds the serve processes used during the phase.
    server_cpu: float = 0.0


def _cpu(pids: list[int]) -> float:
    """CPU-seconds (user and system) used so far by the processes ``pids`` (Linux /proc)."""
    total = 0.0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rfind(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _replies() -> list[str]:
    """One-line replies from every rule example."""
    out = []
    for _, _, example in iter_examples(load_rules()):
        out.append(" ".join(example.reply.replace("\r\n", "\n").split("\n")))
    return out


def _body(rnd: random.Random, replies: list[str], batch: int) -> bytes:
    def one() -> dict[str, str]:
        who = f"<user{rnd.randrange(10**7)}@example{rnd.randrange(100)}.org>"
        return {"reply": f"{rnd.choice(replies)} {who}", "stage": "rcpt"}

    if batch == 1:
        return json.dumps(one()).encode()
    return json.dumps({"replies": [one() for _ in range(batch)]}).encode()


async def _client(
    port: int, phase: Phase, replies: list[str], budget: list[int], deadline: float, seed: int
) -> None:
    rnd = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            body = _body(rnd, replies, phase.batch)
            head = (
                f"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            start = time.perf_counter()
            writer.write(head.encode() + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            data = await reader.readexactly(length)
            phase.latencies.append(time.perf_counter() - start)
            ok = status_line.split(b" ", 2)[1:2] == [b"200"]
            if ok:
                answer = json.loads(data)
                got = len(answer["results"]) if phase.batch > 1 else int("result" in answer)
                ok = got == phase.batch
            if ok:
                phase.replies += phase.batch
            else:
                phase.errors += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        phase.errors += 1
    finally:
        writer.close()


async def _phase(
    port: int, phase: Phase, replies: list[str], clients: int, requests: int, seconds: float
) -> None:
    budget = [requests]
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(_client(port, phase, replies, budget, deadline, n) for n in range(clients))
    )
    phase.seconds = time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(port: int, procs: list[subprocess.Popen[bytes]]) -> None:
    for _ in range(300):
        if any(p.poll() is not None for p in procs):
            raise SystemExit("serve exited early")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("serve did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--processes", type=int, default=1, help="serve processes (--reuse-port)")
    parser.add_argument("--requests", type=int, default=20_000, help="per phase, at most")
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase, at most")
    parser.add_argument("--batch", type=int, default=100, help="replies per batch request")
    args = parser.parse_args()

    port = _free_port()
    command = [sys.executable, "-m", "classifier", "serve", "--port", str(port)]
    if args.processes > 1:
        command.append("--reuse-port")
    procs = [subprocess.Popen(command, stderr=subprocess.DEVNULL) for _ in range(args.processes)]
    replies = _replies()
    try:
        _wait_healthy(port, procs)
        print(
            f"{datetime.date.today()} {platform.machine()} {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}; {args.processes} serve process(es), {args.clients} "
            f"clients in one process, load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        phases = [Phase("warm-up", 1), Phase("single reply", 1), Phase("batch", args.batch)]
        for phase in phases:
            total = 2000 if phase.name == "warm-up" else args.requests
            before = _cpu([p.pid for p in procs])
            asyncio.run(_phase(port, phase, replies, args.clients, total, args.seconds))
            phase.server_cpu = _cpu([p.pid for p in procs]) - before
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
    print()
    print(
        "| phase | replies per request | requests | requests/s | replies/s | p50 ms | p99 ms "
        "| errors | replies per server CPU-second |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    errors = 0
    for phase in phases[1:]:
        lat = sorted(phase.latencies)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        count = len(lat)
        print(
            f"| {phase.name} | {phase.batch} | {count:,} | {count / phase.seconds:,.0f} | "
            f"{phase.replies / phase.seconds:,.0f} | {p50:.1f} | {p99:.1f} | {phase.errors} | "
            f"{phase.replies / max(phase.server_cpu, 1e-9):,.0f} |"
        )
        errors += phase.errors
    if errors:
        raise SystemExit(f"{errors} errors")


if __name__ == "__main__":
    main()
