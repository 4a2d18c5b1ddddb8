"""The meaning layer's parts on their own: normalisation, lexicon look-up, negation, frames."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from classifier.enums import Stage
from classifier.errors import RuleError
from classifier.meaning import Lexicon, MeaningReader, clauses, fold, parse_frames, parse_lexicon
from classifier.meaning.lexicon import LANGUAGES
from classifier.rules import builtin_rules_dir

_REASONS = {"user_unknown": 1, "mailbox_full": 1, "mailbox_disabled": 1}
_EXAMPLE = [{"reply": "x", "code": "131", "source": "test"}]


def _lexicon(data: dict[str, Any]) -> Lexicon:
    return Lexicon(parse_lexicon(data, "test.toml"))


_SMALL = {
    "mailbox": {"kind": "subject", "en": ["mailbox", "inbox"], "de": ["*postfach"]},
    "user": {"kind": "subject", "es": ["usuario*"]},
    "sender": {"kind": "subject", "en": ["sender"]},
    "unknown": {"kind": "state", "en": ["unknown", "does not exist"], "es": ["desconocid*"]},
    "full": {"kind": "state", "en": ["full"], "de": ["voll"]},
    "negation": {"kind": "negation", "en": ["not", "no"]},
}


def _reader(frames: list[dict[str, Any]]) -> MeaningReader:
    lexicon = _lexicon(_SMALL)
    return MeaningReader(lexicon, parse_frames(frames, "frames.toml", lexicon, _REASONS))


def test_fold_removes_case_and_accents_but_keeps_other_scripts() -> None:
    assert fold("Buzón LLENO") == "buzon lleno"
    assert fold("Empfänger") == "empfanger"
    assert fold("Ящик") == "ящик"


def test_clauses_unify_variants_and_replace_addresses_hosts_ids() -> None:
    text = "550 5.1.1 <John@Example.COM>: Mail-box of e-mail user FULL; see https://x.test/a?b=1"
    assert clauses(text) == [
        ["STATUS", "ADDR", "mailbox", "of", "email", "user", "full"],
        ["see", "URL"],
    ]
    assert clauses("L'adresse d'expéditeur n'existe pas") == [
        ["adresse", "expediteur", "ne", "existe", "pas"]
    ]
    assert clauses("host mx1.example.net[192.0.2.1] id ABC123XYZ")[0] == [
        "host",
        "HOST",
        "IP",
        "id",
        "ID",
    ]
    assert clauses("the user doesn't exist") == [["the", "user", "does", "not", "exist"]]
    assert clauses("mail box") == [["mailbox"]]


def test_clauses_split_at_sentence_ends_not_inside_host_names() -> None:
    assert clauses("Delivery to mx.example.com failed. Mailbox full - try later") == [
        ["delivery", "to", "HOST", "failed"],
        ["mailbox", "full"],
        ["try", "later"],
    ]


def test_a_short_label_before_a_colon_is_read_with_what_follows() -> None:
    assert clauses("Name server: example.com: non-recoverable error. Next") == [
        ["name", "server", "HOST", "nonrecoverable", "error"],
        ["next"],
    ]
    assert clauses("The remote server gave this reply in full: user unknown") == [
        ["the", "remote", "server", "gave", "this", "reply", "in", "full"],
        ["user", "unknown"],
    ]


def test_identifiers_and_run_on_sentences_are_read_as_words() -> None:
    # Two sentences joined without a space are no host name.
    assert clauses("550 Delivery error.Mailbox of a@b.example is FULL") == [
        ["delivery", "error"],
        ["mailbox", "of", "ADDR", "is", "full"],
    ]
    # A class name after its module, a camel-case identifier: their words.
    assert clauses("smtplib.SMTPServerDisconnected: please run connect() first")[0][:4] == [
        "smtplib",
        "smtp",
        "server",
        "disconnected",
    ]
    assert clauses("SMTPRecipientsRefused: {}") == [["smtp", "recipients", "refused"]]
    # Not an exception's type, a dotted status family, a name with one-letter parts, a host.
    assert clauses("SmtpException: Mailbox unavailable") == [
        ["smtpexception", "mailbox", "unavailable"]
    ]
    assert clauses("RESOLVER.CON.ChainDisabled") == [["HOST"]]
    assert clauses("FCrDNS check failed") == [["fcrdns", "check", "failed"]]
    assert clauses("mail.Example.com and Mail.Ru") == [["HOST", "and", "HOST"]]
    # Protocol words with a digit are words, other words with digits ids.
    assert clauses("no UTF8 mailboxes, no SMTPUTF8 for ab12cd") == [
        ["no", "utf8", "mailboxes", "no", "smtputf8", "for", "ID"]
    ]
    # A numbered id or a date is a number: it keeps no word from the words around it.
    assert clauses("Delivered message 1700000000-1 to a@b.example on 12/31") == [
        ["delivered", "message", "to", "ADDR", "on"]
    ]


def test_clauses_read_a_bounded_prefix() -> None:
    assert sum(len(c) for c in clauses("word " * 100_000)) <= 2048 // 5 + 1


def test_lexicon_finds_exact_stem_and_compound_terms() -> None:
    lexicon = _lexicon(_SMALL)
    hits = lexicon.find(["usuario", "desconocido"])
    assert [(h.concept, h.words) for h in hits] == [
        ("user", ("usuario",)),
        ("unknown", ("desconocido",)),
    ]
    hits = lexicon.find(["empfangerpostfach", "voll"])
    assert [h.concept for h in hits] == ["mailbox", "full"]


def test_a_subject_inside_a_longer_subject_is_part_of_it() -> None:
    lexicon = _lexicon(
        {
            "message": {"kind": "subject", "en": ["mail"]},
            "host": {"kind": "subject", "en": ["mail server", "server"]},
            "sender": {"kind": "subject", "en": ["sender", "sender address"]},
            "address": {"kind": "subject", "en": ["address"]},
            "refused": {"kind": "state", "en": ["rejected", "rejected mail"]},
        }
    )
    said = {(h.concept, h.start) for h in lexicon.find(["mail", "server", "rejected", "mail"])}
    assert ("message", 0) not in said and ("host", 0) in said
    assert ("message", 3) in said  # the last "mail" stands on its own
    said = {(h.concept, h.start) for h in lexicon.find(["sender", "address", "rejected"])}
    assert said == {("sender", 0), ("refused", 2)}
    # A state is not a subject: a subject inside a state's words stays ("rejected mail").
    assert "message" in [h.concept for h in lexicon.find(["rejected", "mail"])]


def test_negation_turns_off_a_following_state_but_not_its_own_words() -> None:
    lexicon = _lexicon(_SMALL)
    negated = {h.concept: h.negated for h in lexicon.find(["mailbox", "is", "not", "full"])}
    assert negated == {"mailbox": False, "full": True}
    said = {h.concept: h.negated for h in lexicon.find(["mailbox", "does", "not", "exist"])}
    assert said == {"mailbox": False, "unknown": False}


def test_articles_and_the_copula_do_not_count_in_a_negations_reach() -> None:
    lexicon = _lexicon(
        {
            "address": {"kind": "subject", "es": ["direccion*"], "it": ["indirizz*"]},
            "valid": {"kind": "state", "es": ["valid*"], "it": ["valid*"]},
            "negation": {"kind": "negation", "es": ["no"], "it": ["non"]},
        }
    )
    for text in ("no es una dirección válida", "non è un indirizzo valido"):
        negated = {h.concept: h.negated for h in lexicon.find(clauses(text)[0])}
        assert negated == {"address": False, "valid": True}, text
    # Content words still count: three of them put the state out of reach.
    far = {
        h.concept: h.negated
        for h in lexicon.find(clauses("no dije nada sobre esa dirección válida")[0])
    }
    assert far["valid"] is False


def test_frame_needs_its_concepts_in_one_clause() -> None:
    reader = _reader(
        [
            {
                "id": "f.full",
                "reason": "mailbox_full",
                "all": ["mailbox", "full"],
                "example": _EXAMPLE,
            }
        ]
    )
    match = reader.read("Your inbox is full", None, None, Stage.RCPT)
    assert match is not None
    assert (match.frame.id, match.matched) == ("f.full", "inbox … full")
    assert reader.read("Inbox: ok. Disk full", None, None, Stage.RCPT) is None
    assert reader.read("Inbox is not full", None, None, Stage.RCPT) is None


def test_frame_alternatives_exclusions_and_conditions() -> None:
    frames = [
        {
            "id": "f.unknown",
            "reason": "user_unknown",
            "all": [["mailbox", "user"], "unknown"],
            "none": ["sender"],
            "enhanced": ["x.1.x"],
            "example": _EXAMPLE,
        }
    ]
    reader = _reader(frames)
    assert reader.read("usuario desconocido", 550, "5.1.1", Stage.RCPT) is not None
    assert reader.read("usuario desconocido", 550, "5.7.1", Stage.RCPT) is None
    assert reader.read("sender mailbox unknown", 550, "5.1.1", Stage.RCPT) is None


def test_frames_are_checked_in_order_first_wins() -> None:
    frames = [
        {"id": "f.first", "reason": "mailbox_disabled", "all": ["mailbox"], "example": _EXAMPLE},
        {
            "id": "f.second",
            "reason": "mailbox_full",
            "all": ["mailbox", "full"],
            "example": _EXAMPLE,
        },
    ]
    match = _reader(frames).read("mailbox full", 552, None, Stage.RCPT)
    assert match is not None and match.frame.id == "f.first"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"id": "f", "reason": "nope", "all": ["mailbox"], "example": _EXAMPLE}, "unknown reason"),
        ({"id": "f", "reason": "user_unknown", "all": ["nothing"], "example": _EXAMPLE}, "concept"),
        (
            {"id": "f", "reason": "user_unknown", "all": ["negation"], "example": _EXAMPLE},
            "concept",
        ),
        ({"id": "f", "reason": "user_unknown", "all": ["mailbox"]}, "example"),
        ({"id": "f", "reason": "user_unknown", "all": [], "example": _EXAMPLE}, "non-empty"),
        ({"id": "f", "reason": "user_unknown", "all": ["mailbox"], "x": 1}, "unknown keys"),
    ],
)
def test_invalid_frames_are_refused_with_their_id(frame: dict[str, Any], message: str) -> None:
    lexicon = _lexicon(_SMALL)
    with pytest.raises(RuleError, match=message):
        parse_frames([frame], "frames.toml", lexicon, _REASONS)


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "subject", "en": ["ab*"]},
        {"kind": "subject", "en": ["a*b"]},
        {"kind": "subject", "xx": ["word"]},
        {"kind": "colour", "en": ["word"]},
        {"kind": "subject"},
        {"kind": "subject", "en": "word"},
        {"kind": "state", "en": ["word"], "place": True},
        {"kind": "topic", "en": ["word"], "keeps_negation": True},
        {"kind": "topic", "en": ["word"], "place": "yes"},
    ],
)
def test_invalid_concepts_are_refused(spec: dict[str, Any]) -> None:
    with pytest.raises(RuleError):
        parse_lexicon({"c": spec}, "lexicon.toml")


def test_bundled_lexicon_covers_every_language_per_core_concept() -> None:
    path = builtin_rules_dir() / "meaning" / "lexicon.toml"
    concepts = {c.name: c for c in parse_lexicon(tomllib.loads(path.read_text("utf-8")), "x")}
    core = ["recipient", "user", "mailbox", "account", "domain", "unknown", "disabled", "full"]
    for name in core:
        assert {t.lang for t in concepts[name].terms} == set(LANGUAGES)


def test_unspaced_scripts_are_read_per_character_and_split_at_their_punctuation() -> None:
    assert clauses("SMTP 错误：无法连接到 SMTP 主机。其他") == [
        ["smtp", "错", "误", "无", "法", "连", "接", "到", "smtp", "主", "机"],
        ["其", "他"],
    ]
    # Kana mixed with Latin letters in one run: each Kana character stands alone.
    assert clauses("SMTPエラー")[0][:2] == ["smtp", "エ"]
    lexicon = _lexicon({"connection": {"kind": "subject", "zh": ["连接"]}})
    hits = lexicon.find(clauses("无法连接")[0])
    assert [(h.concept, h.start, h.end) for h in hits] == [("connection", 2, 4)]


def test_distances_count_unspaced_characters_as_parts_of_words() -> None:
    lexicon = _lexicon(
        {
            "message": {"kind": "subject", "ja": ["データ"]},
            "refused": {"kind": "state", "ja": ["受け付けられません"]},
        }
    )
    frames = [
        {
            "id": "f.refused",
            "reason": "user_unknown",
            "all": ["message", "refused"],
            "within": 5,
            "example": _EXAMPLE,
        }
    ]
    reader = MeaningReader(lexicon, parse_frames(frames, "f.toml", lexicon, _REASONS))
    # 13 characters from the first concept to the last, about four words.
    assert reader.read("データが受け付けられませんでした", None, None, Stage.DATA) is not None


def test_slashes_and_plural_marks() -> None:
    assert clauses("illegal host/domain")[0] == ["illegal", "host", "domain"]
    assert clauses("dial tcp: i/o timeout over tcp/ip")[0][-4:] == [
        "i/o",
        "timeout",
        "over",
        "tcp/ip",
    ]
    assert clauses("No mail server(s) available")[0] == ["no", "mail", "servers", "available"]


def test_apart_frames_need_words_of_their_own_for_each_slot() -> None:
    lexicon = _lexicon(
        {
            "address": {"kind": "subject", "en": ["address", "mail"]},
            "no_mail": {"kind": "state", "en": ["does not accept mail"]},
        }
    )
    frames = [
        {
            "id": "f.no-mail",
            "reason": "user_unknown",
            "all": ["address", "no_mail"],
            "apart": True,
            "example": _EXAMPLE,
        }
    ]
    reader = MeaningReader(lexicon, parse_frames(frames, "f.toml", lexicon, _REASONS))
    assert reader.read("This address does not accept mail", 550, None, Stage.RCPT) is not None
    # "mail" is said only inside the state's own words: no subject of its own.
    assert reader.read("example.com does not accept mail", 550, None, Stage.RCPT) is None


def test_a_state_said_with_a_negation_keeps_that_negation_for_the_next_state() -> None:
    # "has no" / "não possui" state an absence; the negation inside them still turns the
    # state after it around ("não possui destinatários válidos": no valid recipients).
    path = builtin_rules_dir() / "meaning" / "lexicon.toml"
    lexicon = Lexicon(parse_lexicon(tomllib.loads(path.read_text("utf-8")), "x"))
    clause = clauses("Seu e-mail não possui destinatários válidos")[0]
    hits = {(h.concept, h.negated) for h in lexicon.find(clause)}
    assert ("absent", False) in hits and ("valid", True) in hits
    clause = clauses("Remote domain has no DNS/MX entries")[0]
    assert "absent" in {h.concept for h in lexicon.find(clause)}


def test_a_subject_inside_a_place_is_no_subject_of_the_clause() -> None:
    small = {
        "domain": {"kind": "subject", "en": ["domain"]},
        "here": {"kind": "topic", "en": ["on this domain"], "place": True},
        "there": {"kind": "topic", "en": ["near this domain"]},
    }
    lexicon = _lexicon(small)
    said = {h.concept for h in lexicon.find(clauses("inactive on this domain")[0])}
    assert said == {"here"}
    # Without the flag a topic's words leave the subject said.
    said = {h.concept for h in lexicon.find(clauses("inactive near this domain")[0])}
    assert said == {"there", "domain"}


@pytest.mark.parametrize(
    ("words", "concept"),
    [
        # Turkish "veri" (data) is a message word; as a stem it took "verification" too.
        ("sender verification failed", "message"),
        ("certificate could not be verified", "message"),
        # French "reporté" (postponed) is a delay; English "reported" is not.
        ("reported as spam by the recipient", "delayed"),
        # French "clos" (closed) is a state of an account; English "closing" is not.
        ("closing connection", "disabled"),
    ],
)
def test_a_stem_of_one_language_does_not_take_another_languages_words(
    words: str, concept: str
) -> None:
    path = builtin_rules_dir() / "meaning" / "lexicon.toml"
    lexicon = Lexicon(parse_lexicon(tomllib.loads(path.read_text("utf-8")), "x"))
    found = {hit.concept for clause in clauses(words) for hit in lexicon.find(clause)}
    assert concept not in found


def test_german_terms_match_when_written_without_umlauts() -> None:
    # ASCII-only programs write "ä" as "ae": "Empfaenger", "ungueltig".
    lexicon = _lexicon(
        {
            "recipient": {"kind": "subject", "de": ["empfänger*"]},
            "invalid": {"kind": "state", "de": ["ungultig*"]},
        }
    )
    for text in ("Empfänger ungültig", "Empfaenger ungueltig", "Empfanger ungultig"):
        found = {h.concept for h in lexicon.find(clauses(text)[0])}
        assert found == {"recipient", "invalid"}, text
    # Only German terms get the other spelling.
    english = _lexicon({"invalid": {"kind": "state", "en": ["ungultig"]}})
    assert english.find(clauses("ungueltig")[0]) == []


def test_no_term_is_listed_twice_for_one_concept_and_language() -> None:
    with (builtin_rules_dir() / "meaning" / "lexicon.toml").open("rb") as handle:
        data = tomllib.load(handle)
    repeated = {
        (concept, lang): sorted({t for t in terms if terms.count(t) > 1})
        for concept, spec in data.items()
        for lang, terms in spec.items()
        if isinstance(terms, list) and len(set(terms)) != len(terms)
    }
    assert repeated == {}
