"""Small closed vocabularies, as enums that tolerate values they have never seen.

SMTP software invents stage names and a log may carry any string; an unknown value becomes a
pseudo-member instead of an exception, in the spirit of dnspython's enums.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "STAGE_NAMES",
    "LineKind",
    "LogStatus",
    "MessageKind",
    "RecipientKind",
    "Stage",
    "Tier",
    "Verdict",
]


def _key(value: str) -> str:
    """A name as looked up: lower case, "_" and "-" as spaces, white space collapsed."""
    return " ".join(value.strip().lower().replace("_", " ").replace("-", " ").split())


class _TolerantStrEnum(StrEnum):
    """A StrEnum whose lookup is case-insensitive, knows aliases and synthesises unknowns."""

    # Hash as the string value, like equality does (and in C: members key hot-path caches).
    __hash__ = str.__hash__

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {}

    @classmethod
    def _missing_(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return None
        key = _key(value)
        for member in cls:
            if member.value == key.replace(" ", "_"):
                return member
        alias = cls._aliases().get(key)
        if alias is not None:
            return cls(alias)
        pseudo = str.__new__(cls, key.replace(" ", "_"))
        pseudo._name_ = key.replace(" ", "_").upper()
        pseudo._value_ = key.replace(" ", "_")
        return pseudo


class Stage(_TolerantStrEnum):
    """Where in the SMTP conversation a reply was given."""

    #: Connection and greeting (banner), before any command.
    CONNECT = "connect"
    #: EHLO, HELO or LHLO.
    HELO = "helo"
    #: STARTTLS and the TLS handshake.
    STARTTLS = "starttls"
    #: AUTH.
    AUTH = "auth"
    #: MAIL FROM.
    MAIL = "mail"
    #: RCPT TO.
    RCPT = "rcpt"
    #: The DATA command itself (before 354).
    DATA = "data"
    #: The final dot: the reply to the message itself.
    END_OF_DATA = "end_of_data"
    #: QUIT.
    QUIT = "quit"
    #: Not known.
    UNKNOWN = "unknown"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {
            "greeting": "connect",
            "banner": "connect",
            "initial connection": "connect",
            "connection": "connect",
            "ehlo": "helo",
            "lhlo": "helo",
            "mail from": "mail",
            "rcpt to": "rcpt",
            "end of data": "end_of_data",
            "end of message": "end_of_data",
            "data end": "end_of_data",
            "header": "end_of_data",
            "body": "end_of_data",
            "vrfy": "rcpt",
            "dot": "end_of_data",
            "eod": "end_of_data",
            "bdat": "end_of_data",
            ".": "end_of_data",
            "message": "end_of_data",
            "": "unknown",
        }

    @classmethod
    def named(cls, name: str) -> Stage | None:
        """The stage a name, synonym or SMTP command word stands for ("RCPT TO", "greeting",
        "."); None for a name never seen (where ``Stage(name)`` would make a pseudo-member)."""
        return STAGE_NAMES.get(_key(name))


#: Every name of a stage (value, synonym, command word) by its lookup key (lower case, words
#: separated by one space): read on every wrapper's stage words, so a plain dict.
STAGE_NAMES: dict[str, Stage] = {
    **{_key(member.value): member for member in Stage},
    **{_key(alias): Stage(value) for alias, value in Stage._aliases().items()},
}


class Verdict(_TolerantStrEnum):
    """What the remote side claimed, read from the reply code class."""

    #: 5xx / 5.x.x: the remote says do not retry.
    PERMANENT = "permanent"
    #: 4xx / 4.x.x: the remote says try again later.
    TRANSIENT = "transient"
    #: 2xx / 2.x.x: accepted.
    SUCCESS = "success"
    #: No reply code at all (DNS, connection, MTA text).
    NONE = "none"


class Tier(_TolerantStrEnum):
    """Which layer of the decision produced the code."""

    #: A rule recognised the words of the reply.
    RULE = "rule"
    #: No phrase rule matched; a meaning frame recognised what the words state.
    MEANING = "meaning"
    #: No rule matched; the enhanced status code (RFC 3463) decided.
    ENHANCED = "enhanced"
    #: No rule and no usable enhanced status; the basic reply code decided.
    BASIC = "basic"
    #: Only the reply class (4xx/5xx) was usable.
    DEFAULT = "default"
    #: Nothing usable: the result is "unrecognised" and carries no code.
    NONE = "none"


class MessageKind(_TolerantStrEnum):
    """What a whole message is, as ``classify_message`` reads it."""

    #: Some recipient failed (or the text reports a failure).
    BOUNCE = "bounce"
    #: Only delay warnings: the reporting MTA is still retrying.
    DELAY = "delay"
    #: Only delivery reports.
    DELIVERY = "delivery"
    #: An ARF feedback report (RFC 5965).
    FEEDBACK = "feedback"
    #: An auto-reply or vacation notice (RFC 3834).
    AUTO_REPLY = "auto_reply"
    #: A List-Unsubscribe request sent by mail.
    UNSUBSCRIBE = "unsubscribe"
    #: A delivery notification before its recipients are decided (Amazon SES deliveries).
    NOTIFICATION = "notification"
    #: Nothing recognised.
    UNKNOWN = "unknown"


class RecipientKind(_TolerantStrEnum):
    """What a message says about one recipient."""

    BOUNCE = "bounce"
    DELAY = "delay"
    DELIVERY = "delivery"
    FEEDBACK = "feedback"
    AUTO_REPLY = "auto_reply"
    UNSUBSCRIBE = "unsubscribe"
    UNKNOWN = "unknown"


class LogStatus(_TolerantStrEnum):
    """What an MTA's log line says happened to a delivery."""

    #: Delivered (accepted by the next hop).
    SENT = "sent"
    #: A temporary failure: the MTA will retry.
    DEFERRED = "deferred"
    #: A failure the MTA will not retry.
    BOUNCED = "bounced"
    #: The queue lifetime ran out after deferrals.
    EXPIRED = "expired"
    #: Not an attempt: the MTA is done with the message (Postfix "removed", Exim "Completed").
    DONE = "done"
    #: An export without a status column, or a status word never seen.
    UNKNOWN = "unknown"


class LineKind(_TolerantStrEnum):
    """What a log line turned out to be; every input line is exactly one of these."""

    #: A delivery attempt or outcome (a LogRecord with a status other than DONE).
    DELIVERY = "delivery"
    #: A known format's line that is not a delivery (arrivals, headers, DONE markers, blanks).
    SKIPPED = "skipped"
    #: No known format recognised the line.
    UNRECOGNISED = "unrecognised"
    #: A delivery line whose fields could not be read.
    MALFORMED = "malformed"
    #: A line longer than the replay's limit, counted and not parsed.
    OVERLONG = "overlong"
    #: A syslog line of another program (cron, dovecot, opendkim, amavis …): not a delivery.
    OTHER = "other"
