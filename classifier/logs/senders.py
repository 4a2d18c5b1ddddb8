"""The sender of each message, remembered from the MTA's arrival line for its delivery lines.

Postfix logs the envelope sender once per message on the queue manager's line
(``ID: from=<a@b>, size=…``), Exim on the arrival line (``ID <= a@b …``), Sendmail on its
``from=`` line; delivery lines name only the recipient. The memory is bounded in entries (the
oldest message is forgotten first), so a log of any length keeps it small; a delivery whose
arrival line was not seen (an earlier file, a rotated log) has no sender.
"""

from __future__ import annotations

from typing import Final

from .exim import exim_prefix

__all__ = ["SENDERS_MAX", "Senders", "sender_line"]

#: Messages whose sender is remembered, at most (about 200 bytes each).
SENDERS_MAX: Final = 50_000


def sender_line(fmt: str, line: str) -> tuple[str, str] | None:
    """(queue id, sender) when ``line`` is the arrival line of a message in format ``fmt``."""
    if fmt in ("postfix", "sendmail"):
        at = line.find(": from=")
        if at < 0:
            return None
        head = line.rfind("]: ", 0, at)
        if head < 0:
            return None
        qid = line[head + 3 : at]
        value = line[at + 7 :]
        end = value.find(",")
        sender = (value[:end] if end >= 0 else value).strip().strip("<>")
        return (qid, sender) if qid and " " not in qid else None
    if fmt == "exim":
        split = exim_prefix(line)
        if split is None:
            return None
        tokens = split[1]
        if len(tokens) < 3 or tokens[1] != "<=":
            return None
        sender = tokens[2]
        return tokens[0], "" if sender == "<>" else sender
    return None


class Senders:
    """A bounded map of queue id to sender."""

    __slots__ = ("limit", "seen")

    def __init__(self, limit: int = SENDERS_MAX) -> None:
        self.limit = limit
        self.seen: dict[str, str] = {}

    def note(self, qid: str, sender: str) -> None:
        seen = self.seen
        seen.pop(qid, None)
        seen[qid] = sender[:320]
        if len(seen) > self.limit:
            del seen[next(iter(seen))]

    def get(self, qid: str) -> str:
        return self.seen.get(qid, "")
