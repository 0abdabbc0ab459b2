"""The outbox against a real SMTP server: queue, send, retry with backoff, permanent failure, dedup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from mango_core.db import utcnow
from mango_core.mail import service
from mango_core.mail.models import FAILED, PREPARING, QUEUED, SENT, MailMessage
from mango_core.mail.service import Attachment, MailInputError
from mango_core.mail.smtp import MailConfigError, MailSettings
from mango_core.mail.testing import SmtpServer, free_port
from mango_core.scheduler import runner
from mango_core.tenancy import location_scope

PDF = b"%PDF-1.7\n% a tiny stand-in\n%%EOF\n"


def queue_one(db, **kw) -> MailMessage:  # noqa: ANN003
    values = {"to": ["jana@example.test"], "subject": "Faktura 2026000001", "text": "Dobrý den,\nfaktura v příloze."}
    return service.queue(db, **{**values, **kw})


def test_an_answer_is_threaded_with_the_message_it_answers(db, world, smtp_server):
    with location_scope(world.loc_a.id):
        queue_one(db, subject="Re: [#7] Nejde internet", message_id="<ticket-7.msg-3@alfa.test>",
                  in_reply_to="<CAF=abc@mail.example.test>",
                  references=["<ticket-7@alfa.test>", "<CAF=abc@mail.example.test>"])
        db.commit()
        assert service.send_due(db, utcnow(), settings=smtp_server.settings()).sent == 1
    [(_rcpts, email)] = smtp_server.messages
    assert email["Message-ID"] == "<ticket-7.msg-3@alfa.test>"
    assert email["In-Reply-To"] == "<CAF=abc@mail.example.test>"
    assert email["References"] == "<ticket-7@alfa.test> <CAF=abc@mail.example.test>"


@pytest.mark.parametrize(("field", "value"), [
    ("message_id", "no-brackets@alfa.test"),
    ("in_reply_to", "<two@at@signs>"),
    ("in_reply_to", "<ok@alfa.test>\r\nBcc: victim@example.test"),
    ("references", ["<fine@alfa.test>", "<no-domain>"]),
])
def test_a_bad_message_id_is_refused_and_nothing_queued(db, world, field, value):
    with location_scope(world.loc_a.id):
        before = db.scalar(select(func.count()).select_from(MailMessage))
        with pytest.raises(MailInputError) as caught:
            queue_one(db, **{field: value})
        assert caught.value.field == field
        assert db.scalar(select(func.count()).select_from(MailMessage)) == before


def test_queued_message_is_sent_with_its_attachments(db, world, smtp_server):
    with location_scope(world.loc_a.id):
        message = queue_one(db, html="<p>Dobrý den</p>", entity="invoice", entity_id=7,
                            attachments=[Attachment("FV1.pdf", PDF, "application/pdf"),
                                         ("FV1.isdoc", b"<Invoice/>", "application/xml")])
        db.commit()
        assert message.state == QUEUED
        result = service.send_due(db, utcnow(), settings=smtp_server.settings())
        assert (result.sent, result.retried, result.failed) == (1, 0, 0)
        db.refresh(message)
        assert message.state == SENT and message.attempts == 1 and message.sent_at is not None
        assert message.message_id and message.last_error == ""
    [(rcpts, email)] = smtp_server.messages
    assert rcpts == ["jana@example.test"]
    assert email["Subject"] == "Faktura 2026000001" and email["Message-ID"] == message.message_id
    assert "billing@alfa.test" in email["From"] and "Alfa Net" in email["From"]
    assert "faktura v příloze" in email.get_body(("plain",)).get_content()
    assert "<p>Dobrý den</p>" in email.get_body(("html",)).get_content()
    files = {part.get_filename(): (part.get_content_type(), part.get_content()) for part in email.iter_attachments()}
    assert files == {"FV1.pdf": ("application/pdf", PDF), "FV1.isdoc": ("application/xml", b"<Invoice/>")}


def test_server_down_retries_with_backoff_then_sends(db, world):
    server = SmtpServer(free_port())  # not started: connections are refused
    settings = server.settings()
    with location_scope(world.loc_a.id):
        message = queue_one(db)
        db.commit()
        now = utcnow()
        first = service.send_due(db, now, settings=settings)
        db.refresh(message)
        assert (first.sent, first.retried) == (0, 1)
        assert message.state == QUEUED and message.attempts == 1
        assert "cannot connect" in message.last_error and str(server.port) in message.last_error
        assert message.next_attempt_at == now + timedelta(minutes=1)
        # not due yet: nothing is tried
        assert str(service.send_due(db, now + timedelta(seconds=30), settings=settings)) == "0 sent, 0 to retry, 0 failed"
        service.send_due(db, now + timedelta(minutes=1), settings=settings)
        db.refresh(message)
        assert message.attempts == 2 and message.next_attempt_at == now + timedelta(minutes=3)  # waited 2 minutes
        server.start()
        try:
            done = service.send_due(db, now + timedelta(minutes=3), settings=settings)
        finally:
            server.stop()
        db.refresh(message)
    assert done.sent == 1 and message.state == SENT and message.attempts == 3 and message.last_error == ""
    assert len(server.messages) == 1


def test_backoff_doubles_and_is_capped():
    assert [service.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert service.backoff(30) == timedelta(hours=6)


def test_gives_up_after_max_attempts(db, world):
    settings = SmtpServer(free_port()).settings(max_attempts=2)
    with location_scope(world.loc_a.id):
        message = queue_one(db)
        db.commit()
        now = utcnow()
        service.send_due(db, now, settings=settings)
        service.send_due(db, now + timedelta(hours=1), settings=settings)
        db.refresh(message)
    assert message.state == FAILED and message.attempts == 2
    assert message.last_error.startswith("gave up after 2 attempts")


def test_permanent_refusal_fails_at_once_with_the_server_answer(db, world, smtp_server):
    with location_scope(world.loc_a.id):
        rejected = queue_one(db, subject="REJECT me")
        unknown = queue_one(db, to="nobody@unknown.test")
        fine = queue_one(db, to="ok@example.test")
        db.commit()
        result = service.send_due(db, utcnow(), settings=smtp_server.settings())
        for m in (rejected, unknown, fine):
            db.refresh(m)
    assert (result.sent, result.failed) == (1, 2)
    assert rejected.state == FAILED and "550 5.7.1 Message content rejected" in rejected.last_error
    assert unknown.state == FAILED and "nobody@unknown.test: 550 5.1.1 No such user here" in unknown.last_error
    assert fine.state == SENT and len(smtp_server.messages) == 1


def test_a_4xx_recipient_is_retried_and_a_partial_refusal_is_noted(db, world, smtp_server):
    with location_scope(world.loc_a.id):
        busy = queue_one(db, to="a@busy.test")
        partial = queue_one(db, to=["ok@example.test", "x@unknown.test"])
        db.commit()
        service.send_due(db, utcnow(), settings=smtp_server.settings())
        db.refresh(busy)
        db.refresh(partial)
    assert busy.state == QUEUED and "451" in busy.last_error
    assert partial.state == SENT and "x@unknown.test: 550" in partial.last_error
    assert smtp_server.messages[0][0] == ["ok@example.test"]


def test_dedup_key_queues_once_per_location(db, world):
    with location_scope(world.loc_a.id):
        first = queue_one(db, dedup_key="invoice:1")
        again = queue_one(db, dedup_key="invoice:1", subject="something else")
        new = service.queue_many(db, [{"to": "a@example.test", "subject": "s", "dedup_key": "invoice:1"},
                                      {"to": "a@example.test", "subject": "s", "dedup_key": "invoice:2"},
                                      {"to": "a@example.test", "subject": "s", "dedup_key": "invoice:2"}])
        db.commit()
        assert again.id == first.id and again.subject == "Faktura 2026000001"
        assert new == 1
        assert service.queue_many(db, [{"to": "a@example.test", "subject": "s", "dedup_key": "invoice:2"}]) == 0
        assert db.scalar(select(func.count()).select_from(MailMessage)) == 2
    with location_scope(world.loc_b.id):  # another location has its own keys
        other = queue_one(db, dedup_key="invoice:1")
        db.commit()
        assert other.id != first.id


def test_a_batch_queued_message_is_sent_as_queued(db, world, smtp_server):
    """queue_many writes by COPY on PostgreSQL: the JSON recipients, texts and defaults arrive whole."""
    with location_scope(world.loc_a.id):
        assert service.queue_many(db, [
            {"to": ["a@example.test", "b@example.test"], "subject": "Faktura 1", "text": "Dobrý den,\nčástka: 1\xa0234,50\xa0Kč",
             "reply_to": "fakturace@example.test", "entity": "invoice", "entity_id": 7, "dedup_key": "invoice:7"},
        ]) == 1
        db.commit()
        [message] = db.scalars(select(MailMessage)).all()
        assert (message.state, message.recipients, message.entity_id, message.attempts, message.last_error) == (
            QUEUED, ["a@example.test", "b@example.test"], 7, 0, "")
        assert message.location_id == world.loc_a.id
        assert service.send_due(db, utcnow(), settings=smtp_server.settings()).sent == 1
    [(rcpts, email)] = smtp_server.messages
    assert sorted(rcpts) == ["a@example.test", "b@example.test"]
    assert email["Subject"] == "Faktura 1" and email["Reply-To"] == "fakturace@example.test"
    assert email.get_content().replace("\r\n", "\n") == "Dobrý den,\nčástka: 1\xa0234,50\xa0Kč\n"


def test_held_message_waits_for_its_attachments(db, world, smtp_server):
    with location_scope(world.loc_a.id):
        message = queue_one(db, hold=True, dedup_key="invoice:9")
        db.commit()
        assert message.state == PREPARING and service.preparing(db) == [message]
        assert service.send_due(db, utcnow(), settings=smtp_server.settings()).sent == 0
        service.attach(db, message, Attachment("a.pdf", PDF, "application/pdf"))
        service.release(db, message)
        db.commit()
        assert service.send_due(db, utcnow(), settings=smtp_server.settings()).sent == 1
    assert [p.get_filename() for p in smtp_server.messages[0][1].iter_attachments()] == ["a.pdf"]


def test_retry_returns_a_failed_message_to_where_it_failed(db, world):
    with location_scope(world.loc_a.id):
        held = queue_one(db, hold=True)
        service.fail(db, held, "PDF cannot be made")
        sent_failed = queue_one(db)
        sent_failed.state = FAILED
        db.flush()
        service.retry(db, held)
        service.retry(db, sent_failed)
        assert held.state == PREPARING and sent_failed.state == QUEUED and sent_failed.attempts == 0
        with pytest.raises(MailInputError, match="only a failed message"):
            service.retry(db, held)


def test_other_locations_mail_is_neither_seen_nor_sent(db, world, smtp_server):
    with location_scope(world.loc_a.id):
        queue_one(db, subject="for PRG")
        db.commit()
    with location_scope(world.loc_b.id):
        assert db.scalars(select(MailMessage)).all() == []
        assert service.send_due(db, utcnow(), settings=smtp_server.settings()).sent == 0
    assert smtp_server.messages == []


def test_unconfigured_mail_keeps_messages_queued(db, world):
    with location_scope(world.loc_a.id):
        message = queue_one(db)
        db.commit()
        result = service.send_due(db, utcnow(), settings=MailSettings.from_section({}))
        assert "not configured" in str(result) and message.state == QUEUED and message.attempts == 0


def test_the_job_sends_per_location_and_records_the_run(app, mango, db, world, smtp_server, monkeypatch):
    from mango_core.mail.jobs import SEND_MAIL

    monkeypatch.setitem(mango.settings.data, "mail", {"host": "127.0.0.1", "port": smtp_server.port,
                                                      "security": "none", "from_address": "noreply@alfa.test"})
    with location_scope(world.loc_a.id):
        queue_one(db)
        db.commit()
    assert "core:send_mail" in mango.jobs
    with app.app_context():
        run = runner.run_job(mango, SEND_MAIL, world.loc_a.id, trigger="cli")
    assert run.status == runner.OK and run.result.startswith("1 sent")
    assert len(smtp_server.messages) == 1


def test_bad_settings_are_refused_by_name():
    with pytest.raises(MailConfigError, match="security"):
        MailSettings.from_section({"security": "tls"})
    with pytest.raises(MailConfigError, match="from_address"):
        MailSettings.from_section({"host": "smtp.example.test"})
    with pytest.raises(MailConfigError, match="unknown setting"):
        MailSettings.from_section({"hostname": "x"})
    with pytest.raises(MailConfigError, match="port"):
        MailSettings.from_section({"port": "25"})
    secret = MailSettings.from_section({"host": "h", "from_address": "a@b.cz", "password": "s3cret-pw"})
    assert "s3cret-pw" not in repr(secret)


def test_wrong_password_is_a_retry_not_a_lost_message(db, world, smtp_server):
    # the test server offers no AUTH: a login attempt fails like a bad password would, as Mango's problem
    settings = smtp_server.settings(username="user", password="s3cret-pw")
    with location_scope(world.loc_a.id):
        message = queue_one(db)
        db.commit()
        service.send_due(db, utcnow(), settings=settings)
        db.refresh(message)
    assert message.state == QUEUED and message.last_error and "s3cret-pw" not in message.last_error


@pytest.mark.parametrize("bad", ["", "not-an-address", "a@b", "a b@c.cz", "x@y.cz\nBcc: z@w.cz"])
def test_bad_recipients_are_refused(bad):
    with pytest.raises(MailInputError, match="to:"):
        service.clean_recipients(bad)


@given(st.one_of(st.text(max_size=80), st.lists(st.text(max_size=40), max_size=4)))
def test_recipient_parser_never_fails_otherwise(value):
    try:
        out = service.clean_recipients(value)
    except MailInputError:
        return
    assert out and all("@" in a and "\n" not in a for a in out)


def test_subject_newlines_cannot_inject_headers(db, world):
    with location_scope(world.loc_a.id):
        message = queue_one(db, subject="Faktura\r\nBcc: evil@example.test")
    assert message.subject == "Faktura Bcc: evil@example.test"
