"""Live network features: DNS outcomes of a recipient domain and a delivery probe.

Loaded on first use (they pull in dnspython and aiosmtplib); never the test fakes.
"""

from __future__ import annotations

from .mx import DnsOutcome, check_domain, check_domain_async
from .probe import ProbeError, ProbeResult, RecipientResult, StageReply, probe, probe_async

__all__ = [
    "DnsOutcome",
    "ProbeError",
    "ProbeResult",
    "RecipientResult",
    "StageReply",
    "check_domain",
    "check_domain_async",
    "probe",
    "probe_async",
]
