"""Write a large, realistic Postfix mail log for the replay benchmark.

The shape follows the real Postfix 3.7.11 log in fixtures/postfix: per message pickup,
cleanup, qmgr and one smtp line per recipient, then qmgr "removed"; deferred recipients are
retried later and end delivered or with qmgr "status=expired". About a quarter of the lines
are deliveries, most of them sent. The remote replies are the rules' own real examples,
drawn with Zipf weights (a few replies dominate real logs) and wrapped as Postfix writes them
("host X[ip] said: … (in reply to RCPT TO command)"); recipients, hosts and ids vary per line.

    python bench/gen_postfix_log.py bench/out/postfix.log --lines 1000000
"""

from __future__ import annotations

import argparse
import random
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from classifier import load_rules
from classifier.rules import iter_examples

DOMAINS = (
    "gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "icloud.com", "aol.com",
    "gmx.de", "web.de", "orange.fr", "free.fr", "libero.it", "mail.ru", "yandex.ru",
    "terra.com.br", "uol.com.br", "bol.com.br", "hotmail.es", "yahoo.es", "telefonica.net",
    "movistar.cl", "entel.cl", "vtr.net", "speedy.com.ar", "prodigy.net.mx", "example.org",
)  # fmt: skip
COMMANDS = ("RCPT TO", "RCPT TO", "RCPT TO", "end of DATA", "MAIL FROM")
CONNECTION_TEXTS = (
    "connect to {mx}[{ip}]:25: Connection timed out",
    "connect to {mx}[{ip}]:25: Connection refused",
    "lost connection with {mx}[{ip}] while sending RCPT TO",
    "conversation with {mx}[{ip}] timed out while receiving the initial server greeting",
    "Host or domain name not found. Name service error for name={domain} type=MX: Host not "
    "found, try again",
)


def _replies() -> tuple[list[str], list[str]]:
    """Permanent and transient one-line replies from every rule example."""
    permanent, transient = [], []
    for _, _, example in iter_examples(load_rules()):
        text = " ".join(example.reply.replace("\r\n", "\n").split("\n"))
        if text[:1] == "5":
            permanent.append(text)
        elif text[:1] == "4":
            transient.append(text)
    return permanent, transient


class _Log:
    """The generator's state: clock, pid numbers and the messages waiting for a retry."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.clock = 0
        permanent, transient = _replies()
        self.rnd.shuffle(permanent)
        self.rnd.shuffle(transient)
        self.permanent = permanent
        self.transient = transient
        self.perm_w = [1 / (r + 1) ** 1.1 for r in range(len(permanent))]
        self.temp_w = [1 / (r + 1) ** 1.1 for r in range(len(transient))]
        self.waiting: deque[tuple[str, str]] = deque()

    def stamp(self, program: str) -> str:
        self.clock += self.rnd.randrange(3)
        seconds = self.clock % 86400
        time = f"Nov 26 {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return f"{time} mta postfix/{program}[{self.rnd.randrange(1000, 40000)}]:"

    def qid(self) -> str:
        return f"{self.rnd.getrandbits(44):011X}"

    def host(self, domain: str) -> tuple[str, str]:
        ip = f"{self.rnd.randrange(1, 223)}.{self.rnd.randrange(256)}.{self.rnd.randrange(256)}"
        return f"mx{self.rnd.randrange(1, 4)}.{domain}", f"{ip}.{self.rnd.randrange(1, 255)}"

    def delivery(self, qid: str, rcpt: str, outcome: str) -> str:
        domain = rcpt.partition("@")[2]
        mx, ip = self.host(domain)
        head = f"{self.stamp('smtp')} {qid}: to=<{rcpt}>, relay={mx}[{ip}]:25, delay=0.4, "
        head += "delays=0.1/0/0.1/0.2, "
        if outcome == "sent":
            return f"{head}dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {self.qid()})"
        if outcome == "bounced":
            reply = self.rnd.choices(self.permanent, self.perm_w)[0]
            command = self.rnd.choice(COMMANDS)
            said = f"host {mx}[{ip}] said: {reply} (in reply to {command} command)"
            return f"{head}dsn=5.0.0, status=bounced ({said})"
        if self.rnd.random() < 0.3:
            said = self.rnd.choice(CONNECTION_TEXTS).format(mx=mx, ip=ip, domain=domain)
        else:
            reply = self.rnd.choices(self.transient, self.temp_w)[0]
            said = f"host {mx}[{ip}] said: {reply} (in reply to RCPT TO command)"
        return f"{head}dsn=4.0.0, status=deferred ({said})"

    def message(self) -> Iterator[str]:
        """The lines of one new message, plus a retry of an older deferred one now and then."""
        qid = self.qid()
        rnd = self.rnd
        yield f"{self.stamp('pickup')} {qid}: uid=1001 from=<news@sender.example>"
        yield f"{self.stamp('cleanup')} {qid}: message-id=<{qid}@sender.example>"
        count = 1 if rnd.random() < 0.8 else rnd.randrange(2, 4)
        size = rnd.randrange(900, 90000)
        yield (
            f"{self.stamp('qmgr')} {qid}: from=<news@sender.example>, size={size}, "
            f"nrcpt={count} (queue active)"
        )
        deferred = False
        for _ in range(count):
            rcpt = f"user{rnd.randrange(2_000_000)}@{rnd.choice(DOMAINS)}"
            draw = rnd.random()
            outcome = "sent" if draw < 0.82 else "bounced" if draw < 0.92 else "deferred"
            yield self.delivery(qid, rcpt, outcome)
            if outcome == "deferred":
                self.waiting.append((qid, rcpt))
                deferred = True
        if not deferred:
            yield f"{self.stamp('qmgr')} {qid}: removed"
        if len(self.waiting) > 50 or (self.waiting and rnd.random() < 0.05):
            old, rcpt = self.waiting.popleft()
            if rnd.random() < 0.6:
                yield self.delivery(old, rcpt, "sent")
            else:
                yield self.delivery(old, rcpt, "deferred")
                yield (
                    f"{self.stamp('qmgr')} {old}: from=<news@sender.example>, status=expired, "
                    "returned to sender"
                )
            yield f"{self.stamp('qmgr')} {old}: removed"
        if rnd.random() < 0.1:
            mx, ip = self.host(rnd.choice(DOMAINS))
            yield f"{self.stamp('smtp')} connect to {mx}[{ip}]:25: Connection timed out"


def generate(path: Path, lines: int, seed: int = 26) -> int:
    """Write at least ``lines`` lines to ``path``; returns how many were written."""
    log = _Log(seed)
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        while written < lines:
            batch = list(log.message())
            out.write("\n".join(batch) + "\n")
            written += len(batch)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=26)
    args = parser.parse_args()
    print(f"{generate(args.path, args.lines, args.seed)} lines written to {args.path}")


if __name__ == "__main__":
    main()
