"""The meaning layer in the engine: what it decides, what it gives way to, how it explains."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier import Classifier, Tier, classify
from classifier.engine import default_classifier
from classifier.errors import RuleError


def test_a_frame_understands_a_wording_no_rule_has() -> None:
    result = classify("550 Esta cuenta de correo ha sido dada de baja")
    assert (result.code, result.tier, result.rule_id) == (
        "132",
        Tier.MEANING,
        "meaning.mailbox-disabled",
    )
    assert result.matched == "cuenta de correo … dada de baja"
    assert result.text == "Esta cuenta de correo ha sido dada de baja"  # the remote's words


def test_explain_names_the_frame_and_its_words() -> None:
    text = classify("550 Le destinataire est inconnu").explain()
    assert "frame meaning.user-unknown read 'destinataire … inconnu' as user_unknown" in text


@pytest.mark.parametrize(
    ("reply", "code", "rule_id"),
    [
        # Phrase rule beats frame: both would read "user unknown"; the rule decides.
        ("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown", "131", None),
        # Frame beats the enhanced-status fallback (5.7.1 alone would be a policy refusal).
        ("550 5.7.1 Esta cuenta de correo ha sido dada de baja", "132", "meaning.mailbox-disabled"),
        # Frame beats the basic-code fallback (550 alone would stay 550).
        ("550 Die Adresse des Empfängers existiert nicht", "131", "meaning.user-unknown"),
    ],
)
def test_precedence_rule_then_frame_then_codes(reply: str, code: str, rule_id: str | None) -> None:
    result = classify(reply)
    assert result.code == code
    if rule_id is None:
        assert result.tier is Tier.RULE
    else:
        assert (result.tier, result.rule_id) == (Tier.MEANING, rule_id)


def test_a_general_frame_gives_way_to_a_specific_status() -> None:
    # "service unavailable, try later" is general; 5.1.1 says more: the status decides.
    text = "Service temporairement indisponible, reessayez plus tard"
    result = classify(f"550 5.1.1 {text}")
    assert (result.code, result.tier) == ("131", Tier.ENHANCED)
    # Without a specific status the general frame decides.
    vague = classify(f"451 {text}")
    assert (vague.code, vague.tier) == ("202", Tier.MEANING)
    assert vague.rule_id == "meaning.service-unavailable"


def test_an_mta_giving_up_without_a_reason_is_133_only_without_a_reply_code() -> None:
    gave_up = classify("Delivery failed for this message")
    assert (gave_up.code, gave_up.rule_id) == ("133", "meaning.delivery-failed")
    # With the remote's reply code, its code decides: "not sent" is the remote's account.
    assert classify("550 Delivery failed for this message").tier is not Tier.MEANING


def test_negation_keeps_a_frame_from_firing() -> None:
    assert classify("452 Mailbox is not full").tier is not Tier.MEANING


def test_the_sender_side_is_never_read_as_the_recipient() -> None:
    result = classify("550 Die folgende Absenderadresse ist nicht korrekt")
    assert (result.code, result.reason) == ("554", "sender_rejected")


def test_frames_never_read_a_success_reply() -> None:
    result = classify("250 2.0.0 Ok: queued, mailbox full warning suppressed")
    assert result.code == "250"
    assert result.tier is not Tier.MEANING


def test_mta_wording_without_a_code() -> None:
    assert classify("No route found to domain EXAMPLE from server MAIL1").code == "113"
    assert classify("Error: connect ECONNREFUSED 192.0.2.1:25").code == "113"
    assert classify("Warning: message still undelivered after 4 hours").code == "202"


def test_every_frame_has_a_real_example_decided_by_itself() -> None:
    meaning = default_classifier().rules.meaning
    assert meaning is not None and meaning.frames
    for frame in meaning.frames:
        assert frame.examples, frame.id
        for example in frame.examples:
            assert example.source.strip()
            got = default_classifier().classify_plain(example.reply, stage=example.stage)
            assert (got.rule_id, got.code) == (frame.id, example.code), example.reply


def test_user_directories_extend_the_lexicon_and_add_frames(tmp_path: Path) -> None:
    meaning = tmp_path / "meaning"
    meaning.mkdir()
    (meaning / "lexicon.toml").write_text(
        '[disabled]\nkind = "state"\nen = ["hibernating"]\n', encoding="utf-8"
    )
    (meaning / "frames.toml").write_text(
        '[[frame]]\nid = "acme.parked"\nreason = "mailbox_disabled"\n'
        'all = ["mailbox", "parked"]\n'
        '[[frame.example]]\nreply = "550 mailbox parked by acme"\ncode = "132"\n'
        'source = "test"\n',
        encoding="utf-8",
    )
    (meaning / "lexicon.toml").write_text(
        '[disabled]\nkind = "state"\nen = ["hibernating"]\n'
        '[parked]\nkind = "state"\nen = ["parked"]\n',
        encoding="utf-8",
    )
    clf = Classifier.from_dirs([tmp_path], cache_size=0)
    assert clf.classify("550 mailbox parked by acme").rule_id == "acme.parked"
    hibernating = clf.classify("550 the account is hibernating")
    assert (hibernating.code, hibernating.rule_id) == ("132", "meaning.mailbox-disabled")


def test_a_user_frame_naming_an_unknown_concept_is_refused(tmp_path: Path) -> None:
    meaning = tmp_path / "meaning"
    meaning.mkdir()
    (meaning / "frames.toml").write_text(
        '[[frame]]\nid = "x"\nreason = "user_unknown"\nall = ["no-such-concept"]\n'
        '[[frame.example]]\nreply = "550 x"\ncode = "131"\nsource = "test"\n',
        encoding="utf-8",
    )
    with pytest.raises(RuleError, match="unknown concept"):
        Classifier.from_dirs([tmp_path])


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("501 Invalid RCPT TO", "501"),
        ("503 5.5.4 Invalid command arguments: No recipient specified", "504"),
        ("501 5.5.1 Invalid command: EHLO requires domain name", "501"),
        ("501 HELO requires domain address", "501"),
        ("555 5.5.4 Unsupported MAIL FROM parameter: XFOO", "504"),
    ],
)
def test_a_protocol_error_naming_a_command_keeps_its_basic_code(reply: str, code: str) -> None:
    result = classify(reply)
    assert (result.code, result.tier) == (code, Tier.BASIC)


def test_a_protocol_code_without_a_command_is_still_read() -> None:
    result = classify("500 Message size exceeded")
    assert (result.code, result.rule_id) == ("552", "meaning.message-too-large")


def test_a_line_over_the_limit_refused_with_a_550_is_the_form() -> None:
    assert classify("550 Maximum line length exceeded").code == "554"
    # With a 500 it reads as a size limit (Sisimai set-of-emails lhost-exim-58.eml: 552).
    assert classify("500 Line limit exceeded").code == "552"


def test_an_unknown_host_while_connecting_is_a_dns_failure() -> None:
    text = "dial tcp: lookup smtp.example.com: getaddrinfow: No such host is known."
    assert classify(text, stage="connect").code == "113"
    assert classify(text).code == "111"


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("SMTP Hatası: SMTP sunucusuna bağlanılamadı.", "113"),
        ("Błąd SMTP: Dane nie zostały przyjęte.", "554"),
        ("SMTP 错误：数据不被接受。", "554"),
        ("SMTPエラー: SMTPホストに接続できませんでした。", "113"),
        ("Ошибка SMTP: не удается подключиться к SMTP-серверу.", "113"),
        ("SMTP-fout: data niet geaccepteerd.", "554"),
    ],
)
def test_client_library_translations_are_understood(reply: str, code: str) -> None:
    result = classify(reply)
    assert (result.code, result.tier) == (code, Tier.MEANING)


def test_a_delay_notice_is_not_a_give_up() -> None:
    text = "Your message could not be delivered for 4.0 hours.\nIt will be retried until it is 5.0 days old."
    result = classify(text)
    assert (result.code, result.rule_id) == ("202", "meaning.will-retry")


@pytest.mark.parametrize(
    ("reply", "code", "rule_id"),
    [
        # Stock words alone (hosts, numbers and addresses aside) name no cause: 201.
        ("451 Try again later", "201", "meaning.no-cause"),
        ("450 4.7.1 host mx.example.net [192.0.2.7] temporary failure #42", "201", None),
        ("Temporary error in sending the message", "201", "meaning.no-cause-text"),
        # One word that is not stock is a description: no longer "no cause".
        ("451 Greylisted, please try again later", "202", None),
        ("451 Temporary local problem - please try later", "202", None),
        # 452 says storage ran short; 4.2.2 says the mailbox is full.
        ("452 try later", "202", None),
        ("450 4.2.2 <a@example.org>... temporary failure; please retry later", "202", None),
        # Without a code, stock words must say the trouble passes.
        ("Delivery failed", None, None),
        # A 421 keeps its meaning: the server closes the channel.
        ("421 4.3.0 Temporary failure", "421", None),
    ],
)
def test_stock_words_alone_are_a_soft_bounce_without_description(
    reply: str, code: str | None, rule_id: str | None
) -> None:
    result = Classifier(default_classifier().rules, cache_size=0).classify(reply)
    if code is None:
        assert result.code != "201"
        return
    assert result.code == code
    if rule_id is not None:
        assert result.rule_id == rule_id
    if code != "201":
        assert result.rule_id not in ("meaning.no-cause", "meaning.no-cause-text")


def test_stock_words_alone_show_every_word_as_evidence() -> None:
    assert classify("451 Try again later").matched == "try again later"


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        # Only capitals, digits and signs, no four capitals in a row: a token, no words (201).
        ("450 MI:CEL", "201"),
        ("451 RP:QRC", "201"),
        # A word in capitals, in lower case or in another script is text (202).
        ("450 BUSY", "202"),
        ("451 Die", "202"),
        ("451 邮箱满", "202"),
        ("451 НЕТ", "202"),
    ],
)
def test_an_opaque_token_is_no_usable_text(reply: str, code: str) -> None:
    assert classify(reply).code == code


def test_stock_words_must_be_read_whole() -> None:
    # Past the characters the meaning layer reads, the rest is unknown: not "stock words alone".
    long = "451 try again later " + "." * 2100 + " account disabled"
    assert classify(long).rule_id != "meaning.no-cause"


def _user_meaning(root: Path, lexicon: str, frames: str) -> Classifier:
    """A classifier with a user rule directory holding these lexicon and frames files."""
    meaning = root / "meaning"
    meaning.mkdir()
    (meaning / "lexicon.toml").write_text(lexicon, encoding="utf-8")
    (meaning / "frames.toml").write_text(frames, encoding="utf-8")
    return Classifier.from_dirs([root], cache_size=0)


def test_an_only_frame_names_concepts_not_negated_states(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="only"):
        _user_meaning(
            tmp_path,
            '[acme_stock]\nkind = "state"\nen = ["acme"]\n',
            '[[frame]]\nid = "acme.x"\nreason = "policy_rejected"\nall = ["acme_stock"]\n'
            'only = ["!acme_stock"]\n'
            '[[frame.example]]\nreply = "550 acme"\ncode = "554"\nsource = "test"\n',
        )


def test_an_only_frame_needs_every_word(tmp_path: Path) -> None:
    clf = _user_meaning(
        tmp_path,
        '[acme_stock]\nkind = "topic"\nen = ["acme", "says", "no"]\n',
        '[[frame]]\nid = "acme.says-no"\nreason = "policy_rejected"\n'
        'all = ["acme_stock"]\nonly = ["acme_stock"]\nenhanced = ["none"]\n'
        '[[frame.example]]\nreply = "550 ACME says no"\ncode = "554"\nsource = "test"\n',
    )
    assert clf.classify("550 ACME says no").rule_id == "acme.says-no"
    assert clf.classify("550 ACME says no (mx.example.net [192.0.2.7])").rule_id == "acme.says-no"
    assert clf.classify("550 ACME says no more mail").rule_id != "acme.says-no"
    # enhanced = ["none"]: only a reply without an enhanced status.
    assert clf.classify("550 5.7.1 ACME says no").rule_id != "acme.says-no"


@pytest.mark.parametrize(
    ("reply", "stage", "code"),
    [
        # The command that names the recipient is the recipient: refused for no stated reason.
        ("RCPT TO rechazado para user@example.com", "rcpt", "131"),
        # ... but a failure called temporary says nothing about the mailbox.
        ("Fallo temporal de RCPT TO para user@example.com", "rcpt", "202"),
        # The syntax of a domain name is its form, not whether it exists.
        ("invalid domain name syntax", None, "553"),
        ("invalid local name syntax", None, "553"),
        # Ordinary ways to say that a connection or a lookup failed.
        ("Fail to connect to mx.example.com", "connect", "113"),
        ("Error while resolving MX for example.com", None, "113"),
        # A sending that failed, in Japanese ("送信に失敗しました").
        ("以下のメールアドレスへの送信に失敗しました。", None, "133"),
        # "Unable to" and "not possible to" deny what follows: the message was not delivered.
        ("Unable to deliver message within specified time", None, "133"),
        ("It was not possible to deliver your message to one or more recipients.", None, "133"),
        # A domain with no mail hosts is that fact, even where routing is said to fail.
        ("unable to route: no mail hosts for domain", None, "112"),
        # "There is nobody with that address" (Spanish), an address called a mail ID.
        ("550 Lo sentimos, ya no hay nadie con ese email", "rcpt", "131"),
        ("This mail ID does not exist in this server", "rcpt", "131"),
        # Japanese: an address's syntax ("シンタックス"), a mail loop ("メール・ループ").
        (
            'user のシンタックスは不正です。"アカウント@ドメイン"という形式であるべきです。',
            None,
            "553",
        ),
        ("アドレス<user@example.com>はメール・ループを起こす可能性があります。", None, "113"),
        # The syntax of a recipient is its form: no unknown user.
        ("501 5.1.3 Invalid recipient syntax", "rcpt", "553"),
        # A server refusing a client's connection is no TCP error ("Connection refused").
        ("Connection refused from address outside of allowed_nets", "connect", "554"),
        # Malware named in another language ("Viren": viruses).
        ("Die Nachricht enthielt Viren", "end_of_data", "554"),
        # "In this domain" places the fact here, in every language: the recipient is unknown.
        ("550 5.1.1 El destinatario no existe en este dominio", "rcpt", "131"),
        ("550 Le destinataire n'existe pas dans ce domaine", "rcpt", "131"),
        ("No se encontró la dirección en el dominio example.com", None, "131"),
        # "Undeliverable" and "did not reach" say the message was not delivered.
        ("The following message to <user@example.com> was undeliverable.", None, "133"),
        ("Your message did not reach some or all of the intended recipients.", None, "133"),
        ("Unzustellbar: Ihre Nachricht konnte nicht zugestellt werden", None, "133"),
        # A destination server that did not answer, in Spanish and Portuguese: no connection.
        ("El servidor de destino no respondió", None, "113"),
        ("O servidor de destino não respondeu", None, "113"),
        # A limit reached, and the message to be tried again later: a deferral.
        (
            "Domain example.net has exceeded the max emails per hour (124/100 (124%)) allowed."
            "  Message will be reattempted later",
            None,
            "202",
        ),
        # Brazilian Portuguese "disparado" (fired off) with success: sent.
        ("E-mail de teste disparado com sucesso para contato@example.com.br!", None, "250"),
        # Content called inappropriate is content refused.
        (
            "smtp failed: (550, b'The mail may contain inappropriate words or content.')",
            None,
            "554",
        ),
        # The syntax of a recipient's e-mail is its form.
        ("554 5.7.1 Recipient address rejected: Invalid recipient email syntax", "rcpt", "553"),
        # "Server failure" names no name that failed to resolve.
        ("554 Server failure when trying to dissect RCPT TO argument.", "rcpt", "554"),
        # A certificate not trusted is a handshake that cannot verify it; a greeting never
        # sent is a connection that failed.
        ("The certificate presented by mx.example.com is not trusted", "connect", "113"),
        ("SMTP server did not send a greeting", "connect", "113"),
        ("Message has been held in queue for too long, returning to sender", None, "133"),
        # Mail refused "from your domain" is a refused sender, not a domain without mail.
        ("550 5.7.1 Recipient does not accept mail from your domain", "rcpt", "554"),
        # A message not sent "within 5 days" is the queue giving up.
        ("11:10:17 AEH41708: Cannot send message within 5 days", None, "133"),
        # No MX fit to use is a domain without a mail server.
        ("No suitable IP addresses for the MX", None, "112"),
        # A message's form is not an address's.
        ("554 5.6.0 Malformed email message", "end_of_data", "554"),
        # A certificate named in a compound (German "Remotezertifikat") is still one.
        ("Das Remotezertifikat ist laut Validierungsverfahren ungültig", "connect", "113"),
        # "Your SMTP account", "your domain": the sending side's, not a recipient's.
        ("450 Your SMTP account is not yet activated", None, "202"),
        ("Your domain has no DNS/MX entries", "mail", "554"),
        # Not found "at the destination domain": the address is unknown there.
        (
            "The address you sent your message to wasn't found at the destination domain.",
            None,
            "131",
        ),
        # Exchange's token for NXDOMAIN.
        ("550 5.4.4 SMTPSEND.DNS.NonExistentDomain", "rcpt", "111"),
        # "No valid recipients" in reply to DATA: the transaction has nobody left (554), no
        # fact about an address.
        ("554 5.5.1 Error: no valid recipients", "data", "554"),
        # "It was not possible to resolve" the name, in Spanish.
        ("No fue posible resolver el nombre de dominio example.com", None, "113"),
        # A refusal with a reply code that names nothing is a policy refusal (554); a protocol
        # error keeps its basic code.
        ("550 Error: Not allowed", "rcpt", "554"),
        ("501 Invisible customers are not welcome!", "mail", "501"),
        # A name "not found" while connecting is the host the client was told to reach.
        ("smtp.example.com not found", "connect", "113"),
        ("Unable to locate smtp.example.com", "connect", "113"),
        # In reply to RCPT TO a name "not known" or "not found" is the recipient's; a person
        # who has departed is no longer there.
        ("Not Known to us. Do not resend", "rcpt", "131"),
        ("This person has departed", "rcpt", "131"),
        # The recipient host's own delivery program failed: a mailbox problem (132).
        ('procmail: Lock failure on "/var/mail/bob.lock"', None, "132"),
        # Too long in the queue is time, not size: the queue gave up.
        ("The message has been in the queue too long and was discarded", None, "133"),
        ("552 message is too long.", "data", "552"),
        # EAGAIN's text is a network error of the sending side, not a temporary refusal.
        (
            "Error receiving data from the mailserver -- Resource temporarily unavailable",
            "data",
            "113",
        ),
    ],
)
def test_ordinary_words_for_recipients_syntax_and_failures(
    reply: str, stage: str | None, code: str
) -> None:
    assert classify(reply, stage=stage).code == code


def test_too_many_unknown_recipients_is_about_the_sender_not_an_address() -> None:
    # "Excessive unknown recipients" (a provider throttling a sender) names no address.
    for reply in ("550 Excessive unknown recipients", "550 too many unknown recipients"):
        assert classify(reply).code != "131", reply
    assert classify("550 unknown recipient").code == "131"


def test_a_failed_delivery_told_to_the_sender_is_no_refused_sender() -> None:
    reply = (
        "The postmaster will probably delete the queued message afterwards, or have them "
        "expire (i.e. send a bounce message about failed delivery to the sender)."
    )
    assert classify(reply).rule_id != "meaning.sender-refused"


def test_a_heading_before_the_remote_reply_is_no_refusal_of_its_own() -> None:
    # dma: "<host> did not like our RCPT TO:" and then the remote's own words.
    reply = "mx.example.com [192.0.2.25] did not like our RCPT TO:\n550 5.0.0 On hold."
    assert classify(reply).rule_id != "meaning.recipient-refused"
