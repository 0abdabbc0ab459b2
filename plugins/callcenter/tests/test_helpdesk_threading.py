"""Safe threading of incoming e-mail: our reply Message-IDs carry a random part, answers are filed only by an
exact look-up of stored Message-IDs, a ``[#N]`` subject tag counts only from the ticket's customer (any contact
e-mail) or requester, forged references and tags open a new ticket; and the customer e-mail of a ticket staff
opened (threaded like a reply)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from mango_callcenter.comms import mailin
from mango_callcenter.comms.models import CREATED, THREADED
from mango_callcenter.helpdesk import mails
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.models import Ticket
from mango_core.mail.models import MailMessage
from mango_core.tenancy.validators import InvalidValue


@pytest.fixture
def staff(world):  # noqa: ANN001, ANN201
    return helpdesk.Actor(user_id=world.admin_a.id)


@pytest.fixture
def accountant(db, world, in_loc, customer_a):  # noqa: ANN001, ANN201
    """A second contact of the customer (not where replies go, but the customer's address all the same)."""
    from mango_core.customers import service as customers

    with in_loc(world.loc_a):
        customers.add_contact(db, customer_a, name="Účetní", roles=["billing"], emails=["ucetni@example.test"])
        db.commit()
    return "ucetni@example.test"


def answer(*, sender: str, subject: str = "Re: dotaz", body: str = "text", in_reply_to: str | None = None,
           references: tuple[str, ...] = ()) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "podpora@alfa.test", subject
    msg["Message-ID"] = make_msgid("t", "example.test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    msg.set_content(body)
    return msg.as_bytes()


def ingest(db, raw: bytes):  # noqa: ANN001, ANN201
    result = mailin.ingest(db, raw)
    db.commit()
    return result.inbound


def test_reply_message_ids_are_random_and_stored(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        ticket = helpdesk.create_ticket(db, subject="Dotaz", body="?", actor=staff, customer_id=customer_a.id)
        first = helpdesk.reply(db, ticket, "Jedna", staff).message
        second = helpdesk.reply(db, ticket, "Dvě", staff).message
        db.commit()
        ids = [first.email_message_id, second.email_message_id]
        for value in ids:
            assert re.fullmatch(rf"<ticket-{ticket.number}\.[A-Za-z0-9_-]{{24}}@[^<>@\s]+>", value)
            # the old predictable parts (message id, location id) are gone
            assert f".{first.id}." not in value and f".{world.loc_a.id}@" not in value
        assert ids[0] != ids[1]
        sent = db.scalars(select(MailMessage.message_id).order_by(MailMessage.id)).all()
        assert sent == ids


def test_forged_references_open_a_new_ticket(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        ticket = helpdesk.create_ticket(db, subject="Dotaz", body="?", actor=staff, customer_id=customer_a.id)
        posted = helpdesk.reply(db, ticket, "Odpověď", staff).message
        db.commit()
        domain = posted.email_message_id.rpartition("@")[2]
        forged = [f"<ticket-{ticket.number}.{posted.id}.{world.loc_a.id}@{domain}>",  # the old pattern, exactly
                  f"<ticket-{ticket.number}.AAAAAAAAAAAAAAAAAAAAAAAA@{domain}>",  # the new pattern, guessed
                  posted.email_message_id.replace("<", "<x")]  # a near miss
        for i, ref in enumerate(forged):
            inbound = ingest(db, answer(sender="utocnik@example.test", body=f"vložit {i}", in_reply_to=ref,
                                        references=(ref,)))
            assert inbound.outcome == CREATED and inbound.ticket_id != ticket.id
        assert [m.body for m in helpdesk.thread(db, ticket, public_only=True)] == ["?", "Odpověď"]
        # the real id, exactly, threads (a colleague in copy knows it; nobody guesses it)
        inbound = ingest(db, answer(sender="kolega@example.test", body="opravdu", references=(
            "<unrelated@example.test>", posted.email_message_id)))
        assert (inbound.outcome, inbound.ticket_id) == (THREADED, ticket.id)


def test_an_old_predictable_reply_id_threads_only_from_the_tickets_people(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        ticket = helpdesk.create_ticket(db, subject="Starý", body="?", actor=staff, customer_id=customer_a.id)
        old = helpdesk.reply(db, ticket, "Odpověď z dřívějška", staff).message
        legacy = f"<ticket-{ticket.number}.{old.id}.{world.loc_a.id}@alfa.test>"
        old.email_message_id = legacy  # as stored before Message-IDs had a random part
        db.commit()
        stranger = ingest(db, answer(sender="utocnik@example.test", in_reply_to=legacy, body="cizí"))
        assert stranger.outcome == CREATED and stranger.ticket_id != ticket.id
        own = ingest(db, answer(sender="Jana <jana@example.test>", in_reply_to=legacy, body="moje"))
        assert (own.outcome, own.ticket_id) == (THREADED, ticket.id)


def test_a_subject_tag_counts_only_from_an_address_of_the_ticket(db, world, in_loc, customer_a, accountant, staff):
    from mango_core.customers import service as customers

    with in_loc(world.loc_a):
        other = customers.create_customer(db, kind="person", first_name="Petr", last_name="Jiný", state="active")
        customers.add_contact(db, other, name="Petr", roles=["owner"], emails=["petr@example.test"])
        ticket = helpdesk.create_ticket(db, subject="Faktura", body="?", actor=staff, customer_id=customer_a.id)
        unknown = helpdesk.create_ticket(db, subject="Cena", body="?", actor=helpdesk.SYSTEM,
                                         requester_email="zajemce@example.test")
        db.commit()
        tag = f"Re: [#{ticket.number}] Faktura"
        for sender in ("utocnik@example.test", "petr@example.test", "zajemce@example.test"):
            inbound = ingest(db, answer(sender=sender, subject=tag, body=f"od {sender}"))
            assert inbound.outcome == CREATED and inbound.ticket_id != ticket.id, sender
        assert db.scalar(select(Ticket).where(Ticket.id == inbound.ticket_id)).requester_email == "zajemce@example.test"
        # any contact e-mail of the ticket's customer, in any case, and the requester of an unknown sender's ticket
        for sender in ("JANA@example.test", accountant):
            inbound = ingest(db, answer(sender=sender, subject=tag, body=f"od {sender}"))
            assert (inbound.outcome, inbound.ticket_id) == (THREADED, ticket.id), sender
        inbound = ingest(db, answer(sender="zajemce@example.test", subject=f"[#{unknown.number}] Cena"))
        assert (inbound.outcome, inbound.ticket_id) == (THREADED, unknown.id)
        assert mails.sender_belongs(db, ticket, accountant) and not mails.sender_belongs(db, ticket, "")


def test_a_message_id_of_another_location_does_not_thread(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        ticket = helpdesk.create_ticket(db, subject="Praha", body="?", actor=staff, customer_id=customer_a.id)
        posted = helpdesk.reply(db, ticket, "Odpověď", staff).message
        db.commit()
        reference = posted.email_message_id
    with in_loc(world.loc_b):
        inbound = ingest(db, answer(sender="jana@example.test", in_reply_to=reference, body="do Brna"))
        assert inbound.outcome == CREATED
        assert mails.ticket_of_answer(db, references=[reference], subject="", sender="jana@example.test") is None
    with in_loc(world.loc_a):
        assert [m.body for m in helpdesk.thread(db, ticket, public_only=True)] == ["?", "Odpověď"]


def test_a_ticket_opened_by_staff_can_notify_the_customer_threaded_like_a_reply(db, world, in_loc, customer_a,
                                                                               staff):
    with in_loc(world.loc_a):
        quiet = helpdesk.create_ticket(db, subject="Bez e-mailu", body="Jen zapsáno.", actor=staff,
                                       customer_id=customer_a.id)
        assert db.scalar(select(MailMessage)) is None
        ticket = helpdesk.create_ticket(db, subject="Výměna routeru", body="Vyměníme vám router ve čtvrtek.",
                                        actor=staff, customer_id=customer_a.id, channel="phone", notify=True)
        db.commit()
        (sent,) = db.scalars(select(MailMessage)).all()
        first = helpdesk.thread(db, ticket, public_only=True)[0]
        assert sent.recipients == ["jana@example.test"] and sent.subject == f"[#{ticket.number}] Výměna routeru"
        assert sent.dedup_key == f"callcenter:opened:{ticket.id}"
        assert f"Evidujeme váš požadavek č. {ticket.number}:" in sent.text
        assert "Vyměníme vám router ve čtvrtek." in sent.text
        assert sent.message_id == first.email_message_id and sent.in_reply_to is None
        assert quiet.state == ticket.state == "new"
        inbound = ingest(db, answer(sender="jana@example.test", in_reply_to=sent.message_id, body="Čtvrtek mi nejde."))
        assert (inbound.outcome, inbound.ticket_id) == (THREADED, ticket.id)
        # the next reply continues the thread
        reply = helpdesk.reply(db, ticket, "Tak v pátek.", staff)
        db.commit()
        queued = db.get(MailMessage, reply.mail_id)
        assert sent.message_id in queued.thread_ids.split()
        with pytest.raises(InvalidValue):  # only staff notify
            helpdesk.create_ticket(db, subject="x", body="y", actor=helpdesk.Actor(customer_id=customer_a.id),
                                   customer_id=customer_a.id, notify=True)
