"""Incoming e-mail from a real maildir (written by the test): new tickets for known and unknown senders,
threading by In-Reply-To/References and by the subject tag, dedup on a second fetch, attachments
within the limits, auto-replies and bounces ignored; and the staff reply carrying In-Reply-To/References
through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from mango_callcenter.comms import mailboxes, mailin
from mango_callcenter.comms.models import CommLog, InboundMail, MailSource
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.models import Ticket, TicketAttachment, TicketMessage
from mango_core.mail import service as outbox
from mango_core.mail.models import MailMessage
from mango_core.mail.testing import running_smtp_server

LIMITS = {"attachment_max_bytes": 1000, "attachments_per_message": 2}


def mail(*, sender="jana@example.test", subject="Nejde internet", body="Od rána nic.", msgid=None,
         in_reply_to=None, references=(), headers=None, files=()) -> EmailMessage:  # noqa: ANN001
    msg = EmailMessage()
    msg["From"] = f"Jana <{sender}>"
    msg["To"] = "podpora@alfa.test"
    msg["Subject"] = subject
    msg["Message-ID"] = msgid or make_msgid("h9", "example.test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, content, ctype in files:
        maintype, _s, subtype = ctype.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


@pytest.fixture
def maildir(tmp_path):  # noqa: ANN001, ANN201
    return mailbox.Maildir(tmp_path / "Maildir", create=True)


@pytest.fixture
def source(db, world, in_loc, maildir):  # noqa: ANN001, ANN201
    with in_loc(world.loc_a):
        made = mailboxes.save_source(db, name="Podpora", kind="maildir", path=maildir._path)
        db.commit()
    return made


def fetch(db, source) -> mailboxes.FetchResult:  # noqa: ANN001
    return mailboxes.fetch_source(db, source, LIMITS)


def test_a_new_mail_opens_a_ticket_for_the_customer_and_a_second_fetch_adds_nothing(db, world, in_loc, customer_a,
                                                                                     maildir, source):
    first = mail(files=[("log.txt", b"ping timeout", "text/plain"), ("big.bin", b"x" * 2000, "application/octet-stream")])
    maildir.add(first)
    with in_loc(world.loc_a):
        result = fetch(db, source)
        assert (result.read, result.created, result.errors) == (1, 1, [])
        ticket = db.scalar(select(Ticket))
        assert ticket.customer_id == customer_a.id and ticket.channel == "email" and ticket.subject == "Nejde internet"
        (message,) = helpdesk.thread(db, ticket, public_only=True)
        assert message.email_message_id == first["Message-ID"] and message.author_customer_id == customer_a.id
        assert message.body.startswith("Od rána nic.") and "big.bin: not kept" in message.body
        assert [a.filename for a in message.attachments] == ["log.txt"]  # the too large one was dropped
        assert source.last_error == "" and source.last_fetch_at is not None
        # read: moved to cur/ and flagged seen; even put back as unseen, its Message-ID is known
        (key,) = maildir.keys()
        assert maildir.get_message(key).get_subdir() == "cur" and "S" in maildir.get_message(key).get_flags()
        maildir.add(first)
        again = fetch(db, source)
        assert again.read == 0
        assert db.scalar(select(func.count()).select_from(Ticket)) == 1
        assert db.scalar(select(func.count()).select_from(TicketMessage)) == 1
        assert db.scalar(select(func.count()).select_from(InboundMail)) == 1
        # a message a mail client moved to cur/ without reading it (no S flag) is still unread
        moved = mailbox.MaildirMessage(mail(subject="Přesunutá"))
        moved.set_subdir("cur")
        maildir.add(moved)
        assert fetch(db, source).created == 1


def test_the_staff_reply_is_threaded_to_the_customers_mail_and_the_answer_lands_in_the_same_ticket(
        db, world, in_loc, customer_a, maildir, source):
    question = mail()
    maildir.add(question)
    staff = helpdesk.Actor(user_id=world.admin_a.id)
    with in_loc(world.loc_a), running_smtp_server() as smtp:
        fetch(db, source)
        ticket = db.scalar(select(Ticket))
        posted = helpdesk.reply(db, ticket, "Dobrý den, restartujte prosím router.", staff)
        db.commit()
        sent = outbox.send_due(db, settings=smtp.settings(from_address="podpora@alfa.test"))
        assert sent.sent == 1, sent.errors
        (rcpts, email), = smtp.messages
        assert rcpts == ["jana@example.test"]
        assert email["In-Reply-To"] == question["Message-ID"]
        assert email["References"] == question["Message-ID"]
        assert email["Message-ID"] == posted.message.email_message_id
        # the customer answers the reply (a mail client keeps the thread; the subject changed)
        answer = mail(subject="Re: pořád nic", body="Restartovala jsem, pořád nic.",
                      in_reply_to=email["Message-ID"], references=[question["Message-ID"], email["Message-ID"]])
        maildir.add(answer)
        result = fetch(db, source)
        assert (result.read, result.threaded, result.created) == (1, 1, 0)
        assert [m.body for m in helpdesk.thread(db, ticket, public_only=True)][-1] == "Restartovala jsem, pořád nic."
        assert ticket.state == "open"  # the customer answered: waiting → open
        assert fetch(db, source).read == 0 and db.scalar(select(func.count()).select_from(Ticket)) == 1
        # the next reply answers the customer's latest mail and references the whole thread
        helpdesk.reply(db, ticket, "Posíláme technika.", staff)
        db.commit()
        outbox.send_due(db, settings=smtp.settings(from_address="podpora@alfa.test"))
        second = smtp.messages[-1][1]
        assert second["In-Reply-To"] == answer["Message-ID"]
        assert second["References"].split() == [question["Message-ID"], email["Message-ID"], answer["Message-ID"]]
        # both replies are in the customer's communication log
        logged = db.scalars(select(CommLog).where(CommLog.customer_id == customer_a.id)).all()
        assert len(logged) == 2 and {r.channel for r in logged} == {"email"}


def test_unknown_senders_get_their_own_ticket_and_a_subject_tag_is_trusted_only_from_the_requester(
        db, world, in_loc, maildir, source):
    maildir.add(mail(sender="cizinec@example.test", subject="Dotaz na cenu"))
    with in_loc(world.loc_a):
        fetch(db, source)
        ticket = db.scalar(select(Ticket))
        assert ticket.customer_id is None and ticket.requester_email == "cizinec@example.test"
        assert helpdesk.thread(db, ticket, public_only=True)[0].author_email == "cizinec@example.test"
        maildir.add(mail(sender="cizinec@example.test", subject=f"Re: [#{ticket.number}] Dotaz na cenu", body="A?"))
        maildir.add(mail(sender="jiny@example.test", subject=f"[#{ticket.number}] vlezu do cizího", body="B"))
        result = fetch(db, source)
        assert (result.threaded, result.created) == (1, 1)
        assert [m.body for m in helpdesk.thread(db, ticket, public_only=True)] == ["Od rána nic.", "A?"]
        other = db.scalar(select(Ticket).where(Ticket.id != ticket.id))
        assert other.requester_email == "jiny@example.test"
        # a forged In-Reply-To in our pattern does not get a stranger in either; the real id does
        posted = helpdesk.reply(db, ticket, "Cena je 500 Kč.", helpdesk.Actor(user_id=world.admin_a.id))
        forged = f"<ticket-{ticket.number}.99999.{world.loc_a.id}@mango.invalid>"
        maildir.add(mail(sender="utocnik@example.test", subject="Re: x", body="C", in_reply_to=forged))
        maildir.add(mail(sender="kolega@example.test", subject="Re: x", body="D",
                         in_reply_to=posted.message.email_message_id))
        result = fetch(db, source)
        assert (result.threaded, result.created) == (1, 1)
        assert [m.body for m in helpdesk.thread(db, ticket, public_only=True)][-1] == "D"


def test_closed_tickets_get_a_new_one_and_merged_ones_file_into_the_target(db, world, in_loc, customer_a,
                                                                           maildir, source):
    staff = helpdesk.Actor(user_id=world.admin_a.id)
    with in_loc(world.loc_a):
        closed = helpdesk.create_ticket(db, subject="Staré", body="x", actor=staff, customer_id=customer_a.id)
        helpdesk.change_state(db, closed, "closed", staff)
        source_t = helpdesk.create_ticket(db, subject="Zdroj", body="x", actor=staff, customer_id=customer_a.id)
        target = helpdesk.create_ticket(db, subject="Cíl", body="x", actor=staff, customer_id=customer_a.id)
        helpdesk.merge(db, source_t, target, staff)
        db.commit()
        maildir.add(mail(subject=f"Re: [#{closed.number}] Staré", body="znovu"))
        maildir.add(mail(subject=f"Re: [#{source_t.number}] Zdroj", body="do sloučeného"))
        result = fetch(db, source)
        assert (result.created, result.threaded) == (1, 1)
        assert helpdesk.thread(db, target, public_only=True)[-1].body == "do sloučeného"
        assert [m.body for m in helpdesk.thread(db, closed, public_only=True)] == ["x"]


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Precedence": "bulk"},
    {"X-Autoreply": "yes"},
    {"Return-Path": "<>"},
])
def test_auto_replies_and_bounces_are_recorded_but_never_filed(db, world, in_loc, customer_a, maildir, source,
                                                                headers):
    maildir.add(mail(subject="Out of office", headers=headers))
    with in_loc(world.loc_a):
        result = fetch(db, source)
        assert (result.read, result.ignored, result.created) == (1, 1, 0)
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0
        assert db.scalar(select(InboundMail.outcome)) == "ignored"
        assert db.scalar(select(func.count()).select_from(MailMessage)) == 0  # nothing answered


def test_a_bounce_from_mailer_daemon_and_mail_from_ourselves_are_ignored(db, world, in_loc, app):
    with app.app_context():
        own = outbox.current_settings().from_address
    report = mail(sender="MAILER-DAEMON@mx.example.test", subject="Undelivered Mail Returned to Sender")
    with in_loc(world.loc_a):
        assert mailin.ingest(db, report.as_bytes()).inbound.note == "null sender"
        if own:
            assert mailin.ingest(db, mail(sender=own).as_bytes()).inbound.outcome == "ignored"
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_message_without_id_is_deduplicated_by_its_bytes_and_html_only_mail_is_read(db, world, in_loc):
    msg = EmailMessage()
    msg["From"] = "html@example.test"
    msg["Subject"] = "HTML"
    msg.set_content("<p>Dobrý <b>den</b>,<br>nejde <script>x()</script>to.</p>", subtype="html")
    raw = msg.as_bytes()
    with in_loc(world.loc_a):
        first = mailin.ingest(db, raw, limits=LIMITS)
        second = mailin.ingest(db, raw, limits=LIMITS)
        assert first.new and not second.new and first.inbound.message_id.startswith("<sha256.")
        body = helpdesk.thread(db, first.inbound.ticket, public_only=True)[0].body
        assert body == "Dobrý den,\nnejde to." and "x()" not in body


def test_an_unusable_maildir_is_reported_on_the_source(db, world, in_loc, tmp_path):
    with in_loc(world.loc_a):
        broken = mailboxes.save_source(db, name="Chybí", kind="maildir", path=str(tmp_path / "none"))
        result = fetch(db, broken)
        assert result.errors and "not a maildir" in broken.last_error
        assert db.scalar(select(func.count()).select_from(TicketAttachment)) == 0
        assert db.scalar(select(MailSource.last_error).where(MailSource.id == broken.id))


def test_an_mta_pipes_a_message_to_mango_callcenter_mail_in(app, db, world, in_loc, customer_a, tmp_path):
    from mango_callcenter.comms.hooks import mail_in

    question = mail(subject="Z MTA", body="Přes pipe.")
    path = tmp_path / "msg.eml"
    path.write_bytes(question.as_bytes())
    runner = app.test_cli_runner()
    first = runner.invoke(mail_in, ["--location", world.loc_a.code, "--file", str(path)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("created ticket ")
    again = runner.invoke(mail_in, ["--location", world.loc_a.code],
                          input=question.as_bytes())
    assert again.exit_code == 0 and "(seen before)" in again.output
    assert runner.invoke(mail_in, ["--location", "NOPE", "--file", str(path)]).exit_code != 0
    with in_loc(world.loc_a):
        ticket = db.scalar(select(Ticket).where(Ticket.subject == "Z MTA"))
        assert ticket.customer_id == customer_a.id and ticket.channel == "email"
