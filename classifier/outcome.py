"""The MTA's last word about a recipient: delivered (250), still retrying (202), gave up (133).

A reply's words say what the remote meant; the MTA that reports on the delivery says what
became of it: a DSN's ``Action`` and ``Status``, a log line's status, the queue expiring.
Bounce mail and log replay both decide here, so one failure gets one code from either.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Final

from .engine import classify
from .enums import LogStatus, RecipientKind, Tier, Verdict
from .policy import ADDRESS_FACTS
from .result import Classification

__all__ = [
    "EXPIRED_WHY",
    "after_dsn",
    "after_log",
    "gave_up",
    "logged_as_sent",
    "was_temporary",
]

#: Members read on every call, held as globals: Python 3.11 looks up an enum member on its
#: class at about twenty times the cost of a global.
_EXPIRED: Final = LogStatus.EXPIRED
_BOUNCED: Final = LogStatus.BOUNCED
#: Why a recipient the queue gave up on is 133.
EXPIRED_WHY: Final = "the MTA gave up after deferrals (queue lifetime expired)"
_BOUNCED_WHY: Final = "the MTA bounced the recipient on a temporary failure: it gave up"
#: DSN actions that mean the message reached (or was passed on towards) the recipient.
_DELIVERED: Final = frozenset({"delivered", "relayed", "expanded"})


#: Facts about the address that survive the MTA giving up. A domain that does not resolve is
#: not among them: a final 4.x.x after DNS errors is the MTA giving up on a destination it
#: treated as temporarily unreachable (Sisimai corpus rfc3464-53, rhost-gsuite-05: 133). A
#: domain without a mail server is: its null MX (RFC 7505) or its answer without MX or address
#: is what the domain publishes, which retrying does not change (Google reporting a null MX
#: with Status 4.0.0, Sisimai corpus rfc3464-52, rhost-gsuite-03: 112).
_KEPT_FACTS: Final = ADDRESS_FACTS - {"dns_nxdomain"}


def gave_up(result: Classification, why: str) -> Classification:
    """A failure the sending MTA stopped retrying (expiry, a final 4.x.x): 133.

    Unless a rule or frame read a fact about the mailbox in the words ("450 4.1.1 ... User
    unknown"): giving up after retries does not change that fact, so its code stays.
    """
    if result.tier in (Tier.RULE, Tier.MEANING) and result.reason in _KEPT_FACTS:
        return result
    return result.with_code("133", reason="expired", why=why)


def was_temporary(result: Classification, status: str = "") -> bool:
    """What the remote said last was temporary: a 4.x.x status or a 4xx reply."""
    return status[:1] == "4" or result.verdict is Verdict.TRANSIENT


@cache
def logged_as_sent() -> Classification:
    """Status sent is 250 whatever the text says ("delivered to mailbox", a queue id).

    One shared result, built lazily (and inherited by forked workers): its ``text`` is empty
    and a replay row shows the MTA's logged reply instead (building a result per sent line
    would cost more than parsing the line).
    """
    base = classify("250 2.0.0 Ok").with_code(
        "250", reason="delivered", why="the MTA logged the delivery as sent"
    )
    return replace(base, text="")


def after_log(result: Classification, status: LogStatus) -> Classification:
    """The code of a log line's reply in the light of the line's status (not sent).

    Expired → 133; bounced on a temporary reply → 133 (the MTA gave up); otherwise the code
    the words give (a deferral stays a retry code: 202, 421, 113).
    """
    if status is _EXPIRED:
        return gave_up(result, why=EXPIRED_WHY)
    if status is _BOUNCED and was_temporary(result):
        return gave_up(result, why=_BOUNCED_WHY)
    return result


def after_dsn(
    result: Classification, action: str, status: str
) -> tuple[RecipientKind, Classification]:
    """The code of one recipient of a delivery report, from its Action, Status and words.

    ``Action: delayed`` is a warning (202); delivered, relayed or expanded is 250; a failure
    is 133 when the remote's last word was temporary, when the destination could not be
    reached or when nothing was recognised, and otherwise the code of the remote's words.
    """
    if action == "delayed":
        return RecipientKind.DELAY, result.with_code(
            "202", why="Action: delayed: a warning, the reporting MTA is still retrying"
        )
    if action in _DELIVERED:
        return RecipientKind.DELIVERY, result.with_code(
            "250", reason="delivered", why=f"Action: {action}: the message was delivered"
        )
    if result.reason == "expired":
        return RecipientKind.BOUNCE, result
    if was_temporary(result, status):
        said = f"Status {status}" if status[:1] == "4" else "a temporary (4xx) reply"
        return RecipientKind.BOUNCE, gave_up(
            result,
            why=f"final failure after {said}: the reporting MTA treated the failure as "
            "temporary and gave up retrying",
        )
    if not result.recognised or result.verdict == Verdict.SUCCESS:
        return RecipientKind.BOUNCE, result.with_code(
            "133",
            reason="expired",
            why="failed recipient with no recognisable reason: the MTA gave up",
        )
    if result.reason == "connection_failed":
        return RecipientKind.BOUNCE, gave_up(
            result, why="the destination could not be reached until the MTA gave up retrying"
        )
    return RecipientKind.BOUNCE, result
