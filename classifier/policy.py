"""From a recognised meaning (or only codes) to a MasterBase code, as the product policy says.

Rules recognise *what the words mean* (a portable reason); this module turns a reason plus
the reply's class, basic code and stage into a code, and decides when nothing was recognised:
first by enhanced status (RFC 3463 subject.detail), then by basic code, then by class.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from .enums import Stage, Tier, Verdict
from .reply import ParsedReply
from .rules import ReasonPolicy, Rule, RuleSet
from .smtp import AUTH_CODES, is_protocol_code

__all__ = [
    "ADDRESS_FACTS",
    "RECIPIENT_FACTS",
    "Decision",
    "code_for_reason",
    "decide_fallback",
    "decide_reason",
    "decide_rule",
    "verdict_of",
]

#: Reasons that are facts about the recipient's mailbox or domain. Before RCPT (banner, HELO,
#: MAIL) they cannot be about the recipient ("553 5.1.8 Domain of sender address does not
#: exist"), so they are a refused sender, a failed transaction (554).
RECIPIENT_FACTS = frozenset(
    {
        "user_unknown",
        "mailbox_disabled",
        "mailbox_unavailable",
        "user_not_local",
        "bad_address_syntax",
        "dns_nxdomain",
        "dns_no_mx",
    }
)
#: Reasons whose code does not depend on the reply class or on retries: the facts about the
#: recipient and a refused relay (an MTA giving up does not change them, see outcome.gave_up).
ADDRESS_FACTS = RECIPIENT_FACTS | {"relay_denied"}
#: Four capitals in a row: a word ("BUSY"), not a token.
_CAPITALS: Final = re.compile(r"[A-Z]{4,}")
_BEFORE_RCPT = frozenset({Stage.CONNECT, Stage.HELO, Stage.STARTTLS, Stage.AUTH, Stage.MAIL})
_AFTER_RCPT = frozenset({Stage.DATA, Stage.END_OF_DATA})

#: Members read on every call, held as globals: Python 3.11 looks up an enum member on its
#: class at about twenty times the cost of a global.
_PERMANENT: Final = Verdict.PERMANENT
_TRANSIENT: Final = Verdict.TRANSIENT
_SUCCESS: Final = Verdict.SUCCESS
_NONE: Final = Verdict.NONE
_RULE: Final = Tier.RULE


class Decision(NamedTuple):
    """A code and how it was reached (internal: a tuple, built on every classification)."""

    code: str
    tier: Tier
    reason: str | None


def verdict_of(reply: ParsedReply) -> Verdict:
    """What the remote claimed: the basic code's class, else the enhanced status class, else
    the class of the status beside the reply (a DSN's Status field, a log line's ``dsn=``)."""
    first = _klass(reply)
    if first == "5":
        return _PERMANENT
    if first == "4":
        return _TRANSIENT
    if first == "2":
        return _SUCCESS
    return _NONE


def code_for_reason(policy: ReasonPolicy, basic: int | None, klass: str | None) -> str | None:
    """The code of a reason for a reply of class ``klass`` ('2', '4', '5' or None)."""
    if basic == 421 and policy.on_421 is not None:
        return policy.on_421
    if klass == "4":
        return policy.transient
    if klass == "5":
        return policy.permanent
    if klass is None:
        return policy.no_code or policy.permanent or policy.transient
    return policy.permanent or policy.transient


def _klass(reply: ParsedReply) -> str | None:
    if reply.basic is not None:
        return str(reply.basic)[0]
    if reply.enhanced is not None:
        return reply.enhanced[0]
    if reply.status is not None:
        return reply.status[0]
    return None


#: Facts a host states about itself while the client connects: they are about the
#: destination, never the sender ("521 <domain> does not accept mail", RFC 7504, at the
#: greeting), and keep their code.
_HOST_FACTS: Final = frozenset({"dns_no_mx"})

#: Reasons that, said by the sending MTA itself (no reply code of the remote), have a code of
#: their own whatever class the MTA's status gives the attempt.
_SENDERS_OWN: Final = frozenset({"dns_failure"})


def _before_rcpt(reply: ParsedReply) -> bool:
    """Whether the reply answers a command before RCPT: its stage says so, or its code is one
    that only AUTH gives (smtp.AUTH_CODES)."""
    return reply.stage in _BEFORE_RCPT or reply.basic in AUTH_CODES


def decide_reason(
    rules: RuleSet, reason: str, reply: ParsedReply, *, tier: Tier, staged: bool = False
) -> Decision | None:
    """The code for a recognised reason: its policy for the reply's class and basic code.

    ``staged``: the rule or frame names the stages it holds at, so it knows whose words these
    are; otherwise a recipient reason before RCPT is about the sender.
    """
    if reason == "dns_nxdomain" and reply.stage is Stage.CONNECT and not staged:
        # While connecting, an unknown host is the one the client was told to reach ("dial
        # tcp: lookup smtp.example.com: no such host"): a DNS failure on the way, not a
        # verdict on the recipient's domain nor on the sender.
        reason = "dns_failure"
    elif (
        reason in RECIPIENT_FACTS
        and not staged
        and _before_rcpt(reply)
        and not (reply.stage is Stage.CONNECT and reason in _HOST_FACTS)
    ):
        # "User unknown" in reply to MAIL FROM is about the sender, not the recipient.
        return Decision("554", tier, "sender_rejected")
    klass = _klass(reply)
    if reason in _SENDERS_OWN and reply.basic is None and reply.enhanced is None:
        # Only the sending MTA's status beside its own words ("status=deferred (Host or domain
        # name not found ... try again)", dsn=4.4.3): its own lookup failed, whatever class it
        # files the attempt under (rules/reasons.toml: dns_failure).
        klass = None
    code = code_for_reason(rules.reasons[reason], reply.basic, klass)
    if code is None:
        return None
    return Decision(code, tier, reason)


def decide_rule(rules: RuleSet, rule: Rule, reply: ParsedReply) -> Decision | None:
    """The code for a rule that matched: its own code, else its reason's policy."""
    if rule.code is not None:
        return Decision(rule.code, _RULE, rule.reason)
    return decide_reason(rules, rule.reason, reply, tier=_RULE, staged=bool(rule.stages))


def _enhanced_reason(rules: RuleSet, enhanced: str) -> str | None:
    klass, subject, detail = enhanced.split(".")
    table = rules.enhanced_fallback
    # A class-wide entry ("2.x.x": delivered) outranks a subject shared by all classes: a
    # success with a policy subject (2.7.0, a quarantine) is still a success. X.0.0 says
    # nothing more than the basic code, which then decides.
    wide = (f"{klass}.x.x",) if subject != "0" else ()
    keys = (enhanced, f"x.{subject}.{detail}", f"{klass}.{subject}.x", *wide, f"x.{subject}.x")
    for key in keys:
        reason = table.get(key)
        if reason is not None:
            return reason
    return None


def _basic_code(rules: RuleSet, basic: int) -> str | None:
    b = str(basic)
    table = rules.basic_fallback
    for key in (b, f"{b[:2]}x", f"{b[0]}xx"):
        code = table.get(key)
        if code is not None:
            return code
    return None


def _opaque(text: str) -> bool:
    """Whether a reply's text says nothing in words: empty, or only capitals, digits and signs
    with no run of four capitals ("MI:CEL", a provider's token; "BUSY" is a word, and so is any
    lower-case or non-Latin letter)."""
    return all(not c.isalpha() or "A" <= c <= "Z" for c in text) and not _CAPITALS.search(text)


def decide_fallback(rules: RuleSet, reply: ParsedReply) -> Decision | None:
    """No rule recognised the words: decide by enhanced status, basic code, then class."""
    klass = _klass(reply)
    stage = reply.stage
    if is_protocol_code(reply.basic):
        # Protocol errors: the basic code is the precise one; 555 is 504's case for MAIL and
        # RCPT parameters.
        code = rules.basic_fallback.get(str(reply.basic))
        if code is not None:
            return Decision(code, Tier.BASIC, None)
    if reply.enhanced is not None and reply.enhanced[0] == (klass or reply.enhanced[0]):
        reason = _enhanced_reason(rules, reply.enhanced)
        if reason is not None:
            if reason in RECIPIENT_FACTS and _before_rcpt(reply):
                if reply.basic == 421:
                    # The server closes the channel; the status names no fact about anyone.
                    return Decision("421", Tier.ENHANCED, None)
                return Decision("554", Tier.ENHANCED, "sender_rejected")
            policy = rules.reasons[reason]
            code = code_for_reason(policy, reply.basic, klass)
            if reply.basic == 421 and policy.on_421 is None:
                # The status says what ran short; the 421 says the server closes the channel.
                code = "421"
            if code is not None:
                return Decision(code, Tier.ENHANCED, reason)
    if reply.basic is not None:
        basic = reply.basic
        if 400 <= basic < 500 and basic != 421 and _opaque(reply.text):
            # A 4xx whose words say nothing (none, or a provider's token) is the soft bounce
            # without description; one that describes its trouble is 202 (fallbacks.toml).
            return Decision("201", Tier.BASIC, None)
        if basic in (550, 551, 553) and (stage in _BEFORE_RCPT or stage in _AFTER_RCPT):
            return Decision("554", Tier.BASIC, None)
        code = rules.basic_fallback.get(str(basic))
        if code is not None:
            return Decision(code, Tier.BASIC, "delivered" if code == "250" else None)
        code = _basic_code(rules, basic)
        if code is not None:
            return Decision(code, Tier.DEFAULT, "delivered" if code == "250" else None)
    if reply.enhanced is None and reply.status is not None and klass in ("2", "4"):
        # Words of no rule beside a status that says delivered or deferred (a log line's
        # "dsn=2.0.0, status=sent (...)"): a delivery, or a retry described in words as a 45x
        # with text is. A permanent status alone is left to what reads the rest (bounce mail).
        if klass == "2":
            return Decision("250", Tier.DEFAULT, "delivered")
        return Decision("201" if _opaque(reply.text) else "202", Tier.DEFAULT, None)
    if reply.enhanced is not None and klass is not None:
        # Only the class is known ("5.0.0", "4.9.9"): the class default, not a protocol code.
        code = rules.basic_fallback.get(f"{klass}xx")
        if code is not None:
            return Decision(code, Tier.DEFAULT, "delivered" if code == "250" else None)
    return None
