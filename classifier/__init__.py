"""smtp-classifier: what mail servers say, as MasterBase bounce codes, with the reason why.

    >>> from classifier import classify
    >>> result = classify("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown")
    >>> result.code, result.reason
    ('131', 'user_unknown')

Importing anything but this package is only needed to extend the engine.
"""

from __future__ import annotations

from ._version import __version__
from .codes import CATALOGUE, CodeInfo, all_codes, lookup_code
from .engine import Classifier, classify, default_classifier
from .enums import Stage, Tier, Verdict
from .errors import ClassifierError, InputError, RuleError
from .reply import ParsedReply, parse_reply
from .result import Classification
from .rules import Rule, RuleSet, load_rules

__all__ = [
    "CATALOGUE",
    "Classification",
    "Classifier",
    "ClassifierError",
    "CodeInfo",
    "InputError",
    "ParsedReply",
    "Rule",
    "RuleError",
    "RuleSet",
    "Stage",
    "Tier",
    "Verdict",
    "__version__",
    "all_codes",
    "classify",
    "default_classifier",
    "load_rules",
    "lookup_code",
    "parse_reply",
]
