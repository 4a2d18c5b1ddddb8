"""Text that any writer can encode: no lone surrogates.

A Python ``str`` may hold code points that UTF-8 cannot encode: surrogates from a JSON escape
(``"\\ud800"``), from a UTF-7 part (``+2D0-``) or from bytes read with ``surrogateescape``.
Written with ``ensure_ascii=False`` or to a UTF-8 stream they raise ``UnicodeEncodeError``. Text
taken from outside is cleaned once where it enters: a well-formed pair becomes the character it
encodes, a lone surrogate becomes U+FFFD (the replacement character).
"""

from __future__ import annotations

from typing import Any

__all__ = ["REPLACEMENT", "clean_json", "clean_text", "has_surrogates"]

REPLACEMENT = "\ufffd"


def has_surrogates(text: str) -> bool:
    """Does ``text`` hold a code point that UTF-8 cannot encode?"""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_text(text: str) -> str:
    """``text`` with surrogate pairs joined and lone surrogates replaced by U+FFFD.

    Costs one ``isascii`` test on ASCII text and one encode on other text without surrogates.
    """
    if not has_surrogates(text):
        return text
    # UTF-16 with surrogatepass writes every code point as its 16-bit units; decoding them
    # joins the pairs, and "replace" turns each unpaired unit into U+FFFD.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_json(value: Any) -> Any:
    """A decoded JSON value with every string (keys too) passed through ``clean_text``."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value
