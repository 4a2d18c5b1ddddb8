"""The bounce ledger: classified events in, a decision per address out.

Events (a replayed log row, a bounce message's report for one recipient) are recorded once
each, per address; a policy (``policy.toml``) folds them into a decision: deliverable,
retrying, suppressed (hard bounce), retry_fail, unsubscribed. SQLite by default,
PostgreSQL with the ``postgres`` extra. docs/ledger.md tells the rules.
"""

from __future__ import annotations

from .feed import FeedCounts, ReplayFeed, ReplaySink, message_events
from .ledger import BATCH, Ledger, RecordCounts, is_postgres
from .model import (
    AddressState,
    Decision,
    LedgerError,
    LedgerEvent,
    Outcome,
    event_key,
    normalise_address,
    parse_time,
)
from .policy import DEFAULT_POLICY, Policy, load_policy, outcome_of

__all__ = [
    "BATCH",
    "DEFAULT_POLICY",
    "AddressState",
    "Decision",
    "FeedCounts",
    "Ledger",
    "LedgerError",
    "LedgerEvent",
    "Outcome",
    "Policy",
    "RecordCounts",
    "ReplayFeed",
    "ReplaySink",
    "event_key",
    "is_postgres",
    "load_policy",
    "message_events",
    "normalise_address",
    "outcome_of",
    "parse_time",
]
