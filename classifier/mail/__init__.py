"""Bounce mail: reading a message into per-recipient evidence and deciding each recipient's code.

``reader`` finds the evidence (``dsn`` for RFC 3464 fields, ``text_bounces`` for MTAs' free
text, ``ses`` for Amazon SES notifications, ``feedback`` for complaints, auto-replies and
unsubscribe requests, ``parts`` for MIME); ``message`` applies the bounce-level policy;
``mailbox`` reads .eml files, mbox files and Maildirs.
"""

from __future__ import annotations

from .message import BounceRecipient, MessageReport, classify_message

__all__ = ["BounceRecipient", "MessageReport", "classify_message"]
