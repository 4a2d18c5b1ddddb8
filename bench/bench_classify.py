"""Throughput of classify() on a realistic mix of replies, and against Sisimai in the same run.

The mix: every rule example and fixture reply is a template; addresses, IP addresses, queue
ids and numbers are re-drawn per line (so most lines are unique), templates are drawn with
Zipf weights (a few replies dominate real logs), and some lines arrive wrapped as Postfix log
text or DSN fields. Figures are medians over rounds, in replies per second of CPU time of
the measuring process (Python and Perl alike), so other load on the machine does not count.

    python bench/bench_classify.py                 # 200 000 replies, full report
    python bench/bench_classify.py --lines 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import regex

from classifier import Classifier, load_rules
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
    return RuleSet(tuple(merged), rules.reasons, rules.enhanced_fallback, rules.basic_fallback)


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=int, default=10, help="rule-count multiplier for scaling")
    ap.add_argument("--no-sisimai", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    rules = load_rules()
    load_s = time.perf_counter() - t0
    mix = make_mix(rules, args.lines)
    distinct = len({r for r, _ in mix})
    print(
        f"rules: {len(rules)} (loaded and compiled in {load_s:.2f} s); replies: {len(mix)} "
        f"({distinct} distinct), {len(templates(rules))} templates"
    )

    variants: dict[str, Callable[[], Classifier]] = {
        "classify, default (bounded caches)": lambda: Classifier(rules),
        "classify, no cache": lambda: Classifier(rules, cache_size=0),
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    sis: list[float] = []
    for rnd in range(args.rounds):
        for name, make in variants.items():
            results[name].append(rate(make(), mix))
        if not args.no_sisimai:
            s = sisimai_rate(mix)
            if s is not None:
                sis.append(s)
        print(
            f"  round {rnd + 1}: "
            + ", ".join(f"{v[-1]:,.0f}/s" for v in results.values())
            + (f", Sisimai {sis[-1]:,.0f}/s" if sis else "")
        )
    for name, values in results.items():
        med = statistics.median(values)
        line = f"{name}: {med:,.0f} replies/s"
        if sis:
            line += f" = {med / statistics.median(sis):.1f}x Sisimai::Reason->match"
        print(line)
    if sis:
        print(f"Sisimai::Reason->match (libsisimai-perl): {statistics.median(sis):,.0f} replies/s")
    else:
        print("Sisimai not measured (apt-get install libsisimai-perl to compare)")

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
