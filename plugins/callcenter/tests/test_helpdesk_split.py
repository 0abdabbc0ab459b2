"""Splitting a ticket: chosen messages and their files move into a new ticket (numbered from the same counter,
links copied, SLA from now, events on both), bad choices are refused with nothing changed, e-mail answers to a
moved message follow it, and the Opcare page (checkboxes, subject, confirm, permission, redirect)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from mango_callcenter.comms import mailin
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.attachments import Upload
from mango_callcenter.helpdesk.models import Ticket, TicketAttachment, TicketEvent, TicketMessage
from mango_core.tenancy import location_scope
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.fixtures import login, post

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def staff(world):  # noqa: ANN001, ANN201
    return helpdesk.Actor(user_id=world.admin_a.id)


@pytest.fixture
def busy(db, world, in_loc, customer_a, staff):  # noqa: ANN001, ANN201
    """A ticket about two things: the customer's first message, a note, a reply (with a file), a second question
    (with a file) and a note about it."""
    with in_loc(world.loc_a):
        queue = helpdesk.save_queue(db, name="Technici")
        category = helpdesk.save_category(db, name="Připojení")
        ticket = helpdesk.create_ticket(db, subject="Nejde internet", body="Od rána nic.", actor=staff,
                                        customer_id=customer_a.id, priority="high", queue_id=queue.id,
                                        category_id=category.id, channel="phone", now=T0)
        note1 = helpdesk.add_note(db, ticket, "Zkontrolovat AP", staff, now=T0 + timedelta(minutes=5)).message
        reply = helpdesk.reply(db, ticket, "Technik jede.", staff, now=T0 + timedelta(minutes=10),
                               uploads=[Upload("mapa.pdf", b"%PDF", "application/pdf")]).message
        question = helpdesk.customer_message(db, ticket, "A ještě faktura za březen je špatně.",
                                             helpdesk.Actor(customer_id=customer_a.id), now=T0 + timedelta(hours=1),
                                             uploads=[Upload("faktura.pdf", b"%PDF-2", "application/pdf")]).message
        note2 = helpdesk.add_note(db, ticket, "Předat fakturaci", staff, now=T0 + timedelta(hours=2)).message
        db.commit()
        first = helpdesk.thread(db, ticket, public_only=False)[0]
    return {"ticket": ticket, "first": first, "note1": note1, "reply": reply, "question": question, "note2": note2}


def _snapshot(db) -> tuple:  # noqa: ANN001
    return (db.scalar(select(func.count()).select_from(Ticket)),
            sorted(db.execute(select(TicketMessage.id, TicketMessage.ticket_id)).all()),
            sorted(db.execute(select(TicketAttachment.id, TicketAttachment.ticket_id)).all()),
            db.scalar(select(func.count()).select_from(TicketEvent)))


def test_split_moves_messages_and_files_into_a_new_ticket(db, world, in_loc, customer_a, staff, busy):
    old = busy["ticket"]
    now = T0 + timedelta(days=1)
    with in_loc(world.loc_a):
        other = helpdesk.create_ticket(db, subject="Jiný", body="x", actor=staff, customer_id=customer_a.id)
        new = helpdesk.split(db, old, [str(busy["question"].id), busy["note2"].id], staff, now=now)
        db.commit()
        assert new.number == other.number + 1  # the same gapless counter
        assert new.subject == "Re: Nejde internet"
        assert (new.customer_id, new.queue_id, new.category_id, new.priority, new.channel, new.state) == (
            customer_a.id, old.queue_id, old.category_id, "high", "phone", "new")
        # SLA from now (high: 4 h / 24 h), not from the old ticket's creation
        assert (new.response_due_at, new.resolution_due_at) == (now + timedelta(hours=4), now + timedelta(hours=24))
        assert new.first_response_at is None and new.created_by_id == world.admin_a.id
        assert [m.body for m in helpdesk.thread(db, new, public_only=False)] == [
            "A ještě faktura za březen je špatně.", "Předat fakturaci"]
        assert [m.body for m in helpdesk.thread(db, old, public_only=False)] == [
            "Od rána nic.", "Zkontrolovat AP", "Technik jede."]
        files = {a.filename: a.ticket_id for a in db.scalars(select(TicketAttachment))}
        assert files == {"mapa.pdf": old.id, "faktura.pdf": new.id}
        assert [(e.kind, e.new_value) for e in helpdesk.events(db, new)] == [
            ("created", "new"), ("split_from", f"#{old.number}")]
        assert [(e.kind, e.new_value) for e in helpdesk.events(db, old)][-1] == ("split_to", f"#{new.number}")
        assert old.state == "open"  # the old ticket goes on as it was


def test_a_split_may_take_the_first_message_when_public_ones_stay_and_takes_a_given_subject(db, world, in_loc,
                                                                                           staff, busy):
    with in_loc(world.loc_a):
        new = helpdesk.split(db, busy["ticket"], [busy["first"].id], staff, subject="  Výpadek   ráno ")
        assert new.subject == "Výpadek ráno"
        assert [m.body for m in helpdesk.thread(db, busy["ticket"], public_only=True)] == [
            "Technik jede.", "A ještě faktura za březen je špatně."]


@pytest.mark.parametrize(("choose", "field", "message"), [
    (lambda b: [], "messages", "Choose the messages to move."),
    (lambda b: ["x1"], "messages", "Choose messages of this ticket."),
    (lambda b: [b["note1"].id, b["note2"].id], "messages",
     "Move at least one public message (the customer sees the new ticket)."),
    (lambda b: [b["first"].id, b["reply"].id, b["question"].id], "messages",
     "Leave at least one public message in this ticket."),
    (lambda b: [b[k].id for k in ("first", "note1", "reply", "question", "note2")], "messages",
     "Leave at least one public message in this ticket."),
])
def test_bad_choices_are_refused_and_change_nothing(db, world, in_loc, staff, busy, choose, field, message):
    with in_loc(world.loc_a):
        before = _snapshot(db)
        with pytest.raises(InvalidValue) as exc:
            helpdesk.split(db, busy["ticket"], choose(busy), staff)
        assert (exc.value.field, str(exc.value)) == (field, message)
        db.rollback()
        assert _snapshot(db) == before


def test_messages_of_another_ticket_or_location_closed_tickets_and_customers_are_refused(db, world, in_loc,
                                                                                       customer_a, staff, busy):
    with in_loc(world.loc_b):
        foreign = helpdesk.create_ticket(db, subject="Brno", body="cizí", actor=helpdesk.SYSTEM,
                                         requester_email="brno@example.test")
        db.commit()
        foreign_message = helpdesk.thread(db, foreign, public_only=False)[0].id
    with in_loc(world.loc_a):
        other = helpdesk.create_ticket(db, subject="Jiný", body="jiný", actor=staff, customer_id=customer_a.id)
        db.commit()
        before = _snapshot(db)
        other_message = helpdesk.thread(db, other, public_only=False)[0].id
        for ids in ([other_message], [busy["question"].id, foreign_message]):
            with pytest.raises(InvalidValue, match="Choose messages of this ticket"):
                helpdesk.split(db, busy["ticket"], ids, staff)
            db.rollback()
        with pytest.raises(InvalidValue, match="Only staff"):
            helpdesk.split(db, busy["ticket"], [busy["question"].id], helpdesk.Actor(customer_id=customer_a.id))
        db.rollback()
        with pytest.raises(InvalidValue) as exc:
            helpdesk.split(db, busy["ticket"], [busy["question"].id], staff, subject="x" * 201)
        assert exc.value.field == "subject"
        db.rollback()
        helpdesk.change_state(db, busy["ticket"], "closed", staff)
        db.commit()
        before = _snapshot(db)
        with pytest.raises(InvalidValue, match="closed"):
            helpdesk.split(db, busy["ticket"], [busy["question"].id], staff)
        db.rollback()
        assert _snapshot(db) == before


def _answer(sender: str, in_reply_to: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "podpora@alfa.test", "Re: něco"
    msg["Message-ID"] = f"<answer.{abs(hash(body))}@example.test>"
    msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    return msg.as_bytes()


def test_an_email_answer_to_a_moved_reply_threads_into_the_new_ticket(db, world, in_loc, customer_a, staff, busy):
    with in_loc(world.loc_a):
        reply_id = busy["reply"].email_message_id
        assert reply_id  # the reply was e-mailed with its Message-ID
        new = helpdesk.split(db, busy["ticket"], [busy["reply"].id, busy["question"].id], staff)
        db.commit()
        result = mailin.ingest(db, _answer("jana@example.test", reply_id, "Technik nedorazil."))
        db.commit()
        assert result.inbound.ticket_id == new.id
        assert helpdesk.thread(db, new, public_only=True)[-1].body == "Technik nedorazil."
        assert "Technik nedorazil." not in [m.body for m in helpdesk.thread(db, busy["ticket"], public_only=True)]


# --- Opcare --------------------------------------------------------------------------------------------


def enter(client, world, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


def test_the_ticket_page_offers_the_split_and_it_redirects_to_the_new_ticket(client, db, world, busy):
    number = busy["ticket"].number
    enter(client, world)
    page = client.get(f"/callcenter/{number}").get_data(as_text=True)
    assert 'id="ticket-split"' in page and 'data-confirm="' in page
    assert f'name="messages" value="{busy["question"].id}" form="ticket-split"' in page
    assert "Rozdělit do nového tiketu" in page  # Czech UI
    resp = post(client, f"/callcenter/{number}/split",
                {"messages": [str(busy["question"].id), str(busy["note2"].id)], "subject": "Faktura za březen"},
                token_from=f"/callcenter/{number}")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        new = db.scalar(select(Ticket).where(Ticket.subject == "Faktura za březen"))
        assert new is not None
        assert {m.id for m in helpdesk.thread(db, new, public_only=False)} == {busy["question"].id, busy["note2"].id}
    assert resp.headers["Location"].endswith(f"/callcenter/{new.number}")
    shown = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Zprávy přesunuty do nového tiketu č. {new.number}." in shown
    assert 'data-event="split_from"' in shown and f'href="/callcenter/{number}"' in shown


def test_a_bad_split_from_the_page_shows_the_error_and_moves_nothing(client, db, world, busy):
    number = busy["ticket"].number
    enter(client, world)
    with location_scope(world.loc_a.id):
        before = _snapshot(db)
    resp = post(client, f"/callcenter/{number}/split", {"messages": [str(busy["note1"].id)], "subject": ""},
                token_from=f"/callcenter/{number}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/callcenter/{number}")
    page = client.get(f"/callcenter/{number}").get_data(as_text=True)
    assert "Přesuňte alespoň jednu veřejnou zprávu" in page
    with location_scope(world.loc_a.id):
        assert _snapshot(db) == before


def test_the_split_needs_the_manage_permission_and_a_ticket_of_the_location(app, client, db, world, busy):
    number = busy["ticket"].number
    enter(client, world, world.clerk_a)
    resp = post(client, f"/callcenter/{number}/split", {"messages": [str(busy["question"].id)]})
    assert resp.status_code == 403
    brno = app.test_client()  # staff of another partner: PRG's ticket number is not found in BRN
    login(brno, world.admin_b.email)
    assert post(brno, "/location", {"location_id": world.loc_b.id}).status_code == 302
    resp = post(brno, f"/callcenter/{number}/split", {"messages": [str(busy["question"].id)]})
    assert resp.status_code == 404
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Ticket)) == 1
