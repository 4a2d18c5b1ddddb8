"""smtp-classifier: what mail servers say, as MasterBase bounce codes, with the reason why.

    >>> from classifier import classify
    >>> result = classify("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown")
    >>> result.code, result.reason
    ('131', 'user_unknown')

Importing anything but this package is only needed to extend the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .codes import CATALOGUE, CodeInfo, all_codes, lookup_code
from .engine import Classifier, classify, default_classifier
from .enums import Stage, Tier, Verdict
from .errors import ClassifierError, InputError, RuleError
from .lazyattrs import lazy_getattr
from .reply import ParsedReply, parse_reply
from .result import Classification
from .rules import Rule, RuleSet, load_rules

if TYPE_CHECKING:
    from .logreplay import ReplayRow, ReplaySummary, replay, replay_lines
    from .logs import LogRecord
    from .mail import BounceRecipient, MessageReport, classify_message
    from .network import (
        DnsOutcome,
        ProbeError,
        ProbeResult,
        check_domain,
        check_domain_async,
        probe,
        probe_async,
    )

# Features beyond classify() load on first use: the probe and DNS checks pull in aiosmtplib
# and dnspython, which an MTA pipeline that only classifies replies does not need.
_LAZY = {
    "classify_message": "mail",
    "BounceRecipient": "mail",
    "MessageReport": "mail",
    "replay": "logreplay",
    "replay_lines": "logreplay",
    "ReplayRow": "logreplay",
    "ReplaySummary": "logreplay",
    "LogRecord": "logs",
    "probe": "network",
    "probe_async": "network",
    "ProbeResult": "network",
    "ProbeError": "network",
    "check_domain": "network",
    "check_domain_async": "network",
    "DnsOutcome": "network",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "CATALOGUE",
    "BounceRecipient",
    "Classification",
    "Classifier",
    "ClassifierError",
    "CodeInfo",
    "DnsOutcome",
    "InputError",
    "LogRecord",
    "MessageReport",
    "ParsedReply",
    "ProbeError",
    "ProbeResult",
    "ReplayRow",
    "ReplaySummary",
    "Rule",
    "RuleError",
    "RuleSet",
    "Stage",
    "Tier",
    "Verdict",
    "__version__",
    "all_codes",
    "check_domain",
    "check_domain_async",
    "classify",
    "classify_message",
    "default_classifier",
    "load_rules",
    "lookup_code",
    "parse_reply",
    "probe",
    "probe_async",
    "replay",
    "replay_lines",
]
