"""Throughput of classify() on realistic replies, and against Sisimai in the same run.

Every rule example and fixture reply is a template, drawn with Zipf weights (a few replies
dominate real logs); some lines arrive wrapped as Postfix log text or DSN fields. Two inputs:

- distinct (reported first): every line carries its own address, IP address and queue id, as
  in a real bounce log, so no line repeats and no cache of whole texts can help;
- mix: the variable slots are re-drawn from small pools, so some lines repeat.

Figures are replies per second of CPU time of the measuring process (Python and Perl alike,
so other load on the machine does not count), minimum and median over rounds.

    python bench/bench_classify.py                 # 200 000 replies per input, full report
    python bench/bench_classify.py --lines 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import regex

from classifier import Classifier, load_rules
from classifier.engine import CACHE_BYTES
from classifier.rules import Rule, RuleSet, iter_examples

ROOT = Path(__file__).resolve().parent.parent
_ADDR = regex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IP = regex.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_HEX = regex.compile(r"\b[0-9A-F]{8,}\b")


def templates(rules: RuleSet) -> list[tuple[str, str | None]]:
    """Real replies: rule examples and fixtures/replies."""
    items = [(e.reply, e.stage) for _, _, e in iter_examples(rules)]
    for path in sorted((ROOT / "fixtures" / "replies").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                items.append((case["reply"], case.get("stage")))
    return items


def make_mix(rules: RuleSet, n: int, seed: int = 1) -> list[tuple[str, str | None]]:
    """n replies drawn from the templates with Zipf weights and re-drawn variable slots."""
    rnd = random.Random(seed)
    base = templates(rules)
    rnd.shuffle(base)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(base))]
    out: list[tuple[str, str | None]] = []
    for template, template_stage in rnd.choices(base, weights, k=n):
        user = f"u{rnd.randrange(10**6)}"
        reply = _ADDR.sub(f"{user}@example{rnd.randrange(500)}.com", template)
        reply = _IP.sub(f"192.0.2.{rnd.randrange(256)}", reply)
        reply = _HEX.sub(f"{rnd.getrandbits(40):010X}", reply)
        stage = template_stage
        shape = rnd.random()
        if shape < 0.25 and "\n" not in reply:
            host = f"mx{rnd.randrange(50)}.example.net[198.51.100.{rnd.randrange(256)}]"
            reply = f"host {host} said: {reply} (in reply to RCPT TO command)"
            stage = None
        elif shape < 0.35:
            reply = f"smtp; {reply}"
        out.append((reply, stage))
    return out


def make_distinct(rules: RuleSet, n: int, seed: int = 2) -> list[tuple[str, str | None]]:
    """n replies from the templates, each with its own address, IP address and queue id.

    A template without such a slot arrives as Postfix logs it, behind "host H[ip] said:" with
    its own IP address (multi-line ones as a DSN field naming their own reporting host).
    """
    rnd = random.Random(seed)
    base = templates(rules)
    rnd.shuffle(base)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(base))]
    out: list[tuple[str, str | None]] = []
    for number, (template, template_stage) in enumerate(rnd.choices(base, weights, k=n)):
        a, b, c = 10 + number // 65536 % 200, number // 256 % 256, number % 256
        ip = f"{a}.{b}.{c}.{rnd.randrange(1, 255)}"
        reply = _ADDR.sub(f"u{number}.{rnd.randrange(10**4)}@example{number % 997}.com", template)
        reply = _IP.sub(ip, reply)
        reply = _HEX.sub(f"{number:05X}{rnd.getrandbits(24):06X}", reply)
        stage = template_stage
        shape = rnd.random()
        if reply == template or shape < 0.25:
            host = f"mx{number % 50}.example.net[{ip}]"
            if "\n" not in reply:
                reply = f"host {host} said: {reply} (in reply to RCPT TO command)"
                stage = None
            else:
                folded = reply.replace("\n", "\n    ")
                reply = f"Reporting-MTA: dns; {host}\nDiagnostic-Code: smtp; {folded}"
        elif shape < 0.35:
            reply = f"smtp; {reply}"
        out.append((reply, stage))
    return out


def scaled(rules: RuleSet, factor: int) -> RuleSet:
    """The rule set with (factor - 1) decoy copies of every rule, matching words no reply has."""
    extra: list[Rule] = []
    for k in range(1, factor):
        for rule in rules.rules:
            tag = f"zq{k}x{len(extra)}"
            pattern = f"{tag} (?:{rule.pattern})"
            extra.append(
                Rule(
                    id=f"{rule.id}.decoy{k}",
                    reason=rule.reason,
                    pattern=pattern,
                    compiled=regex.compile(pattern, regex.IGNORECASE),
                    literals=(tag,),
                    basic=rule.basic,
                    enhanced=rule.enhanced,
                    stages=rule.stages,
                    examples=rule.examples,
                    file=rule.file,
                    position=rule.position,
                )
            )
    merged = sorted([*rules.rules, *extra], key=lambda r: r.sort_key)
    # Everything else as loaded, the meaning layer included: without it, the replies that no
    # phrase rule decides would cost the larger set less, not more.
    return dataclasses.replace(rules, rules=tuple(merged))


def rate(clf: Classifier, mix: list[tuple[str, str | None]]) -> float:
    """Replies per second of CPU time of this process (other load on the machine is not
    counted; Sisimai is timed the same way)."""
    classify = clf.classify
    t0 = time.process_time()
    for reply, stage in mix:
        classify(reply, stage=stage)
    return len(mix) / (time.process_time() - t0)


SISIMAI = r"""
use strict; use warnings;
use Sisimai::Reason;
my @lines; open(my $fh, '<:encoding(UTF-8)', $ARGV[0]) or die;
while (<$fh>) { chomp; push @lines, $_ } close $fh;
my @t0 = times; my $n = 0;
for my $l (@lines) { my $r = Sisimai::Reason->match($l); $n++ }
my @t1 = times;
printf "%.1f\n", $n / (($t1[0] + $t1[1]) - ($t0[0] + $t0[1]));
"""


def sisimai_rate(mix: list[tuple[str, str | None]]) -> float | None:
    """Sisimai::Reason->match over the same replies (one per line), or None without Perl Sisimai."""
    if shutil.which("perl") is None:
        return None
    probe = subprocess.run(
        ["perl", "-MSisimai::Reason", "-e", "1"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "replies.txt"
        data.write_text(
            "\n".join(r.replace("\r", " ").replace("\n", " ") for r, _ in mix) + "\n",
            encoding="utf-8",
        )
        script = Path(tmp) / "bench.pl"
        script.write_text(SISIMAI, encoding="utf-8")
        out = subprocess.run(
            ["perl", str(script), str(data)], capture_output=True, text=True, check=True
        )
        return float(out.stdout.strip())


def machine() -> str:
    """The processor, cores, Python and date: the context of every figure printed."""
    model = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        f"machine: {model}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {when}"
    )


def _figures(values: list[float]) -> str:
    return f"min {min(values):,.0f}/s, median {statistics.median(values):,.0f}/s"


def measure(
    label: str,
    rules: RuleSet,
    mix: list[tuple[str, str | None]],
    rounds: int,
    sisimai: bool,
) -> dict[str, float]:
    """Rounds of every variant (and Sisimai) over one input; prints and returns medians."""
    distinct = len(set(mix))
    print(f"{label}: {len(mix)} replies, {distinct} distinct ({distinct / len(mix):.0%})")
    variants: dict[str, Callable[[], Classifier]] = {
        "classify, default (bounded caches)": lambda: Classifier(rules),
        "classify, no cache": lambda: Classifier(rules, cache_size=0),
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    sis: list[float] = []
    for rnd in range(rounds):
        for name, make in variants.items():
            results[name].append(rate(make(), mix))
        if sisimai:
            s = sisimai_rate(mix)
            if s is not None:
                sis.append(s)
        print(
            f"  round {rnd + 1}: "
            + ", ".join(f"{v[-1]:,.0f}/s" for v in results.values())
            + (f", Sisimai {sis[-1]:,.0f}/s" if sis else "")
        )
    medians: dict[str, float] = {}
    for name, values in results.items():
        medians[name] = statistics.median(values)
        line = f"  {label}, {name}: {_figures(values)}"
        if sis:
            line += f" = {medians[name] / statistics.median(sis):.1f}x Sisimai::Reason->match"
        print(line)
    if sis:
        print(f"  {label}, Sisimai::Reason->match (libsisimai-perl): {_figures(sis)}")
    elif sisimai:
        print("  Sisimai not measured (apt-get install libsisimai-perl to compare)")
    return medians


def memory(mix: list[tuple[str, str | None]]) -> str:
    """Bytes a loaded classifier holds (rules, compiled patterns, prefilter), and what its
    tables add once the input has been classified with the default bounds (tracemalloc)."""
    regex.purge()  # patterns compiled earlier would be served from the module's cache
    gc.collect()
    tracemalloc.start()
    try:
        clf = Classifier(load_rules())
        gc.collect()
        loaded = tracemalloc.get_traced_memory()[0]
        for reply, stage in mix:
            clf.classify(reply, stage=stage)
        gc.collect()
        filled = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (
        f"memory: a loaded classifier {loaded / 2**20:.1f} MiB; its tables after "
        f"{len(mix)} distinct replies {(filled - loaded) / 2**20:.1f} MiB "
        f"(bound: {CACHE_BYTES / 2**20:.0f} MiB of results, see README)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=int, default=10, help="rule-count multiplier for scaling")
    ap.add_argument("--no-sisimai", action="store_true")
    args = ap.parse_args()

    print(machine())
    t0 = time.perf_counter()
    rules = load_rules()
    load_s = time.perf_counter() - t0
    print(
        f"rules: {len(rules)} (loaded and compiled in {load_s:.2f} s), "
        f"{len(templates(rules))} templates"
    )
    distinct = make_distinct(rules, args.lines)
    print(memory(distinct))
    measure("distinct", rules, distinct, args.rounds, not args.no_sisimai)
    mix = make_mix(rules, args.lines)
    measure("mix", rules, mix, args.rounds, not args.no_sisimai)

    big = scaled(rules, args.scale)
    small_rate = statistics.median(
        rate(Classifier(rules, cache_size=0), mix[:50_000]) for _ in range(args.rounds)
    )
    big_rate = statistics.median(
        rate(Classifier(big, cache_size=0), mix[:50_000]) for _ in range(args.rounds)
    )
    print(
        f"scaling, no cache: {len(rules)} rules {small_rate:,.0f}/s; {len(big)} rules "
        f"{big_rate:,.0f}/s ({small_rate / big_rate:.2f}x slower for {args.scale}x rules)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
