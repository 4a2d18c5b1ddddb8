"""Replay throughput under attack: the generated 1 M-line Postfix log, clean and with 1 % of its
lines replaced by hostile shapes. The goal: the attacked log takes at most twice the clean time.

    python bench/bench_attack.py                    # 1 000 000 lines, 1 % hostile, 1 worker
    python bench/bench_attack.py --lines 200000 --share 0.05 --rounds 3

The hostile lines are the shapes that once made parsing quadratic or crashed a writer, each
made distinct (a line number in the host name, so no cache helps) and 1 to 16 KiB long:
``lost connection … while a`` and ``timed out while a`` followed by a run of blanks, Exchange's
``Remote Server returned '550 a`` with blanks, Sendmail ``stat=`` with repeated ``reply=550``,
repeated ``status=sent (`` and Exim's ``SMTP error from remote mailer after RCPT TO``, a reply of
non-BMP characters, a KumoMTA record with a lone surrogate, and damaged delivery lines
(``statis=``, cut before ``status=``). Each run is a fresh process, as in bench_replay.py, and
the attacked file also reports how its lines were counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections.abc import Callable
from pathlib import Path

from bench_replay import OUT, _run
from gen_postfix_log import generate

__all__ = ["hostile_line", "main", "write_attacked"]

_SIZES = (1024, 4096, 16384)
_SHAPES: tuple[Callable[[int, int], str], ...] = (
    lambda i, k: f"lost connection with mx{i}.example.net[192.0.2.7] while a{' ' * k}b",
    lambda i, k: f"conversation with mx{i}.example.net[192.0.2.7] timed out while a{chr(9) * k}b",
    lambda i, k: (
        f"host mx{i}.example.net[192.0.2.7] said: Remote Server returned '550 a{' ' * k}b'"
    ),
    lambda i, k: f"host mx{i}.example.net said: stat=x {'reply=550 ' * (k // 10)}",
    lambda i, k: f"host mx{i}.example.net said: " + "status=sent (" * (k // 13),
    lambda i, k: (
        f"host mx{i}.example.net said: "
        + "SMTP error from remote mailer after RCPT TO " * (k // 44)
    ),
    lambda i, k: f"host mx{i}.example.net said: 550 5.1.1 " + "\U0001f4e7" * (k // 4),
)


def hostile_line(index: int) -> str:
    """The ``index``-th hostile line: a Postfix deferral with a hostile text, a damaged line or
    a KumoMTA record with a lone surrogate escape."""
    when = "Nov 26 11:31:27 mta"
    kind = index % (len(_SHAPES) + 3)
    if kind == len(_SHAPES):
        return (
            f"{when} postfix/smtp[1]: A{index:09X}: to=<u{index}@example.org>, relay=none, "
            "delay=1, dsn=5.1.1, statis=bounced (host said: 550 5.1.1 unknown)"
        )
    if kind == len(_SHAPES) + 1:
        return f"{when} postfix/smtp[1]: A{index:09X}: to=<u{index}@example.org>, relay=none"
    if kind == len(_SHAPES) + 2:
        record = (
            f'{{"type":"Bounce","id":"k{index}","recipient":"u{index}@example.org",'
            f'"response":{{"code":550,"content":"no such user \\ud800 {index}",'
            '"command":"RCPT TO"},"timestamp":1}'
        )
        return record
    text = _SHAPES[kind](index, _SIZES[(index // len(_SHAPES)) % len(_SIZES)])
    return (
        f"{when} postfix/smtp[1]: A{index:09X}: to=<u{index}@example.org>, "
        f"relay=mx{index}.example.net[192.0.2.7]:25, delay=1, delays=0/0/0/1, dsn=4.4.2, "
        f"status=deferred ({text})"
    )


def write_attacked(clean: Path, target: Path, share: float) -> int:
    """Copy ``clean`` to ``target`` with every (1/share)-th line hostile; returns how many."""
    every = max(1, round(1 / share))
    count = 0
    with clean.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as out:
        for number, line in enumerate(src, 1):
            if number % every == 0:
                out.write(hostile_line(count) + "\n")
                count += 1
            else:
                out.write(line)
    return count


def _counts(path: Path) -> dict[str, int]:
    """How a replay counts the lines of ``path`` (one extra, untimed run)."""
    from classifier.logreplay import ReplayOptions, replay  # noqa: PLC0415 - only here

    with open(os.devnull, "w", encoding="utf-8") as sink:
        summary = replay([str(path)], sink, ReplayOptions())
    return {**dict(summary.kinds), "rows": summary.rows, "undecodable": summary.undecodable}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.01, help="hostile share (0.01)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    clean = OUT / f"postfix-{args.lines}.log"
    if not clean.exists():
        print(f"generating {clean} ...", flush=True)
        generate(clean, args.lines)
    attacked = OUT / f"postfix-{args.lines}-attacked-{args.share:g}.log"
    hostile = write_attacked(clean, attacked, args.share)
    print(f"{hostile:,} hostile lines of {args.lines:,}; load {os.getloadavg()[0]:.2f}")
    figures: dict[str, dict[str, float]] = {}
    for name, path in (("clean", clean), ("attacked", attacked)):
        runs = [_run(path, args.workers, False) for _ in range(args.rounds)]
        seconds = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        figures[name] = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2)}
        lines = runs[0]["lines"]
        print(
            f"{name:<9} {lines:,} lines, {path.stat().st_size / 1e6:.0f} MB: {seconds:.2f} s "
            f"({cpu:.2f} CPU-s, {lines / cpu:,.0f} lines per CPU-second)",
            flush=True,
        )
    ratio = figures["attacked"]["cpu_seconds"] / figures["clean"]["cpu_seconds"]
    print(f"attacked / clean (CPU time): {ratio:.2f} (goal: at most 2)")
    counts = _counts(attacked)
    print(f"attacked file counted as: {counts}")
    report = {"lines": args.lines, "share": args.share, "hostile": hostile, **figures}
    report |= {"ratio_cpu": round(ratio, 2), "counts": counts}
    (OUT / "attack.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
