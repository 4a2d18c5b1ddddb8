"""The result of a classification: the code, its labels, and the evidence for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from .codes import CATALOGUE, CodeInfo, lookup_code
from .enums import Stage, Tier, Verdict
from .picklable import by_fields

__all__ = ["Classification"]

#: What an unrecognised result reports for the catalogue fields: nothing.
_NO_CODE = CodeInfo("", "", "", "", False, "")


@dataclass(frozen=True, slots=True)
class Classification:
    """What a reply means as a MasterBase code, and why.

    ``code`` is "" (and ``tier`` is NONE) when nothing usable was found: an explicit
    "unrecognised" result rather than an exception.
    """

    #: MasterBase code ("131", "202", "554"), or "" when unrecognised.
    code: str
    #: What the remote side claimed (permanent 5xx, transient 4xx, success 2xx, none).
    verdict: Verdict
    #: Portable, vendor-neutral reason ("user_unknown", "mailbox_full", ...).
    reason: str | None
    #: Basic reply code found in the text.
    basic: int | None
    #: Enhanced status code (RFC 3463) found in the text.
    enhanced: str | None
    #: SMTP stage, from the wrapper text or the caller.
    stage: Stage
    #: Id of the rule that recognised the words (None for code-based fallbacks).
    rule_id: str | None
    #: The words the rule matched.
    matched: str | None
    #: Which layer decided: rule, enhanced status, basic code, default, none.
    tier: Tier
    #: The remote's words that were classified, on one line.
    text: str
    #: Why a layer above the reply (DSN, log replay) changed the code, if it did.
    note: str | None = None

    @classmethod
    def unrecognised(
        cls,
        text: str = "",
        *,
        verdict: Verdict = Verdict.NONE,
        basic: int | None = None,
        enhanced: str | None = None,
        stage: Stage = Stage.UNKNOWN,
    ) -> Classification:
        """The explicit "unrecognised" result: no code, no reason, no rule.

        Also the base of a result whose code a layer above any reply decides (an ARF
        complaint is 162 with ``Classification.unrecognised().with_code("162", ...)``).
        """
        return cls(
            code="",
            verdict=verdict,
            reason=None,
            basic=basic,
            enhanced=enhanced,
            stage=stage,
            rule_id=None,
            matched=None,
            tier=Tier.NONE,
            text=text,
        )

    @property
    def info(self) -> CodeInfo | None:
        """The catalogue row of the code (labels, estado, retry), None when unrecognised."""
        return CATALOGUE.get(self.code)

    @property
    def label_es(self) -> str:
        """The vendor's Spanish label of the code."""
        return _NO_CODE.label_es if (i := self.info) is None else i.label_es

    @property
    def label_en(self) -> str:
        """English label of the code."""
        return _NO_CODE.label_en if (i := self.info) is None else i.label_en

    @property
    def estado(self) -> str:
        """The vendor's estado ("Rebote", "Rebote - Reintento", "Error", "Enviado", ...)."""
        return _NO_CODE.estado if (i := self.info) is None else i.estado

    @property
    def retry(self) -> bool:
        """The platform retries this code (the estado says "Reintento")."""
        return _NO_CODE.retry if (i := self.info) is None else i.retry

    @property
    def recognised(self) -> bool:
        """True when a code was assigned."""
        return bool(self.code)

    @property
    def final(self) -> bool:
        """A recognised code that the platform does not retry."""
        return bool(self.code) and not self.retry

    def with_code(self, code: str, *, reason: str | None = None, why: str) -> Classification:
        """A copy carrying another code (e.g. a DSN's final 4.x.x failure becomes 133)."""
        info = lookup_code(code)
        return replace(
            self, code=info.code, reason=reason if reason is not None else self.reason, note=why
        )

    def explain(self) -> str:
        """The decision in plain words."""
        if not self.code:
            said = f" (text: {self.text[:120]!r})" if self.text else ""
            return f"Unrecognised: no reply code and no rule matched{said}."
        head = f"{self.code} {self.label_en} / {self.label_es} [{self.estado}]"
        remote = []
        if self.basic is not None or self.enhanced is not None:
            codes = " ".join(str(c) for c in (self.basic, self.enhanced) if c is not None)
            remote.append(f"the remote said {codes} ({self.verdict.value})")
        else:
            remote.append("no SMTP reply code was given")
        if self.stage is not Stage.UNKNOWN:
            remote.append(f"at the {self.stage.value.upper().replace('_', ' ')} stage")
        if self.tier is Tier.RULE:
            why = f"rule {self.rule_id} recognised {self.matched!r} as {self.reason}"
        elif self.tier is Tier.MEANING:
            why = (
                f"no phrase rule matched; frame {self.rule_id} read {self.matched!r} "
                f"as {self.reason}"
            )
        elif self.tier is Tier.ENHANCED:
            why = f"no rule matched; enhanced status {self.enhanced} means {self.reason}"
        elif self.tier is Tier.BASIC:
            why = f"no rule matched; basic code {self.basic} decided"
        else:
            why = "no rule matched; only the reply class was usable"
        tail = "the platform will retry" if self.retry else "final"
        note = f" {self.note}." if self.note else ""
        return f"{head}: {why}; {', '.join(remote)}; {tail}.{note}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of every field: ``code`` is null when unrecognised, ``basic`` a
        string like ``enhanced`` (the field names every output of the command line uses)."""
        return {
            "code": self.code or None,
            "label_es": self.label_es,
            "label_en": self.label_en,
            "estado": self.estado,
            "retry": self.retry,
            "final": self.final,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "basic": None if self.basic is None else str(self.basic),
            "enhanced": self.enhanced,
            "stage": self.stage.value,
            "rule_id": self.rule_id,
            "matched": self.matched,
            "tier": self.tier.value,
            "text": self.text,
            "note": self.note,
        }


def _setters() -> tuple[Callable[[Classification, Any], None], ...]:
    slots = vars(Classification)
    return tuple(slots[f.name].__set__ for f in fields(Classification))


(_code, _verdict, _reason, _basic, _enhanced, _stage, _rule, _matched, _tier, _text, _note) = (
    _setters()
)
_new = Classification.__new__


def build(
    code: str,
    verdict: Verdict,
    reason: str | None,
    basic: int | None,
    enhanced: str | None,
    stage: Stage,
    rule_id: str | None,
    matched: str | None,
    tier: Tier,
    text: str,
) -> Classification:
    """``Classification(code, verdict, ...)`` (no note), built the cheap way: the slots are
    written directly, where a frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` once per field (twice the cost, on every classification)."""
    result: Classification = _new(Classification)
    _code(result, code)
    _verdict(result, verdict)
    _reason(result, reason)
    _basic(result, basic)
    _enhanced(result, enhanced)
    _stage(result, stage)
    _rule(result, rule_id)
    _matched(result, matched)
    _tier(result, tier)
    _text(result, text)
    _note(result, None)
    return result


# Pickled and copied through the constructor, alike compiled or not (see picklable.py).
by_fields(Classification)
