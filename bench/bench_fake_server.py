"""A burst of simultaneous clients against the fake server and against a plain asyncio server.

Usage: python bench/bench_fake_server.py [--clients N] [--timeout S] [--rounds R]

Each server runs in its own process; this process opens N connections at once and waits up to
S seconds per connection for the 220 greeting. Prints, per server, how many clients were greeted
and how long the whole burst took (the median of R rounds). The plain server only writes a
greeting: it is the floor the fake server is compared with.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

__all__ = ["burst", "main"]

_PLAIN = """
import asyncio
async def main():
    async def greet(reader, writer):
        writer.write(b"220 plain ESMTP\\r\\n")
        await writer.drain()
        await reader.read()
        writer.close()
    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""
_FAKE = """
import asyncio
from classifier.harness.server import FakeServer
async def main():
    async with FakeServer([], port=0, base_port=None) as server:
        print(server.shared[1], flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


async def burst(port: int, clients: int, timeout: float) -> tuple[int, float]:
    """(clients greeted, seconds for the whole burst) of ``clients`` simultaneous connections."""

    async def one() -> tuple[bool, asyncio.StreamWriter | None]:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), timeout
            )
            line = await asyncio.wait_for(reader.readline(), timeout)
        except (OSError, TimeoutError):
            return False, None
        return line.startswith(b"220"), writer

    start = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    for _ok, writer in results:
        if writer is not None:
            writer.close()
    return sum(ok for ok, _w in results), elapsed


def _measure(code: str, clients: int, timeout: float, rounds: int) -> tuple[int, float]:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        runs = [asyncio.run(burst(port, clients, timeout)) for _ in range(rounds)]
    finally:
        process.kill()
        process.wait()
    return min(greeted for greeted, _s in runs), statistics.median(s for _g, s in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.clients} simultaneous clients, {args.timeout:g} s each for the greeting")
    for name, code in (("plain asyncio server", _PLAIN), ("fake-server", _FAKE)):
        greeted, seconds = _measure(code, args.clients, args.timeout, args.rounds)
        print(f"{name:<22} greeted {greeted:>5} / {args.clients}   burst {seconds:.2f} s")


if __name__ == "__main__":
    main()
