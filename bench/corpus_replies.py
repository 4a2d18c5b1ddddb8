"""Reply-level accuracy on what can be extracted from the corpora (vendored in fixtures/).

1. Postfix 3.7.11 log: every delivery line (status=sent|deferred|bounced) of the fake-server run,
   classified whole, against the "log line's code" column of the corpus README.
2. Sisimai set-of-emails: the Diagnostic-Code text of single-recipient bounces, classified as a
   bare reply, against the recipient's expected code (strict) and the codes an expert could
   defend (accept). A message-level answer (a final 4xx becoming 133) needs the DSN layer, so
   this is a lower bound of what classify_message reaches.

    python bench/corpus_replies.py [--show-misses]
"""

from __future__ import annotations

import argparse
import collections
import email
import email.policy
import json
import re
import sys
from pathlib import Path

from classifier import classify

ROOT = Path(__file__).resolve().parent.parent
# Per scenario, the codes of the corpus README's "log line's code" column, in log order.
POSTFIX_TABLE: dict[str, list[str]] = {
    "banner554": ["554"],
    "banner421ml": ["421"],
    "greetdrop": ["113"],
    "ehlo550": ["250"],
    "mail553ml": ["554"],
    "rcpt550ml": ["131"],
    "rcpt452": ["202"],
    "rcpt421close": ["421"],
    "rcptdrop": ["113"],
    "rcptslow": ["113"],
    "data554ml": ["554"],
    "data451": ["202"],
    "lf": ["554"],
    "utf8": ["131"],
    "latin1": ["131"],
    "nocode": ["113"],
    "partial": ["250", "131", "202"],
    "refused": ["113"],
    "ok": ["250"],
}
_DELIVERY = re.compile(r"to=<[^@>]*@([a-z0-9]+)\.test>.*status=(sent|deferred|bounced)")


def postfix(corpus: Path, show: bool) -> tuple[int, int]:
    seen: dict[str, list[str]] = collections.defaultdict(list)
    good = total = 0
    log = corpus / "postfix-3.7.11-fakemx.log"
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _DELIVERY.search(line)
        if m is None:
            continue
        scenario = m.group(1)
        want = POSTFIX_TABLE[scenario]
        got = classify(line).code
        index = len(seen[scenario])
        seen[scenario].append(got)
        expected = want[min(index, len(want) - 1)]
        total += 1
        if got == expected or (scenario == "partial" and got in want):
            good += 1
        elif show:
            print(f"  postfix {scenario}: expected {expected}, got {got}: {line[-120:]}")
    return good, total


def sisimai(corpus: Path, show: bool) -> tuple[int, int, int, collections.Counter[str]]:
    rows = [json.loads(x) for x in (corpus / "expected.jsonl").open()]
    per_file = collections.Counter(r["file"] for r in rows)
    strict = accept = total = 0
    misses: collections.Counter[str] = collections.Counter()
    for row in rows:
        if per_file[row["file"]] != 1 or row["expected"] == "none":
            continue
        raw = (corpus / row["file"]).read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        diags = []
        for part in msg.walk():
            if part.get_content_type() == "message/delivery-status":
                payload = part.get_payload()
                text = (
                    "\n".join(str(p) for p in payload)
                    if isinstance(payload, list)
                    else str(payload)
                )
                diags += re.findall(r"(?im)^diagnostic-code:[ \t]*(.*(?:\n[ \t]+.*)*)", text)
        if len(diags) != 1:
            continue
        total += 1
        got = classify("Diagnostic-Code: " + diags[0]).code
        strict += got == row["expected"]
        accept += got in row["accept"]
        if got not in row["accept"]:
            misses[f"{row['expected']}<-{got or 'none'}"] += 1
            if show:
                want = f"{row['expected']} {row['accept']}"
                print(f"  sisimai {row['file']}: expected {want}, got {got}: {diags[0][:100]!r}")
    return strict, accept, total, misses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", type=Path, default=ROOT / "fixtures", help="corpora directory")
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args()
    good, total = postfix(args.fixtures / "postfix", args.show_misses)
    print(f"Postfix log delivery lines: {good}/{total} = {good / total:.1%} as the corpus table")
    strict, accept, n, misses = sisimai(args.fixtures / "sisimai", args.show_misses)
    print(
        f"Sisimai single-recipient Diagnostic-Code texts: {n}; strict {strict / n:.1%}, "
        f"accept {accept / n:.1%}"
    )
    if misses:
        print(
            "  misses (expected<-got): " + ", ".join(f"{k} x{v}" for k, v in misses.most_common(12))
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
