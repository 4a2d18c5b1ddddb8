"""Small closed vocabularies, as enums that tolerate values they have never seen.

SMTP software invents stage names and a log may carry any string; an unknown value becomes a
pseudo-member instead of an exception, in the spirit of dnspython's enums.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["Stage", "Tier", "Verdict"]


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
        key = " ".join(value.strip().lower().replace("_", " ").replace("-", " ").split())
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
        stage = cls(name)
        return stage if cls.__members__.get(stage.name) is stage else None


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
    #: No rule matched; the enhanced status code (RFC 3463) decided.
    ENHANCED = "enhanced"
    #: No rule and no usable enhanced status; the basic reply code decided.
    BASIC = "basic"
    #: Only the reply class (4xx/5xx) was usable.
    DEFAULT = "default"
    #: Nothing usable: the result is "unrecognised" and carries no code.
    NONE = "none"
