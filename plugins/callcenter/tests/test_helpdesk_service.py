"""The helpdesk's service layer: numbering, transitions, SLA due dates and the breach job, replies and
their e-mail, notes, merge, attachments, and the append-only event log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from mango_callcenter.helpdesk import mails, sla
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.attachments import Upload
from mango_callcenter.helpdesk.models import Ticket, TicketAttachment, TicketMessage
from mango_core.mail.models import MailMessage
from mango_core.mail.service import build_email
from mango_core.mail.smtp import MailSettings
from mango_core.tenancy.validators import InvalidValue

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def staff(world):  # noqa: ANN001, ANN201
    return helpdesk.Actor(user_id=world.admin_a.id)


def _ticket(db, customer, staff, **kw) -> Ticket:  # noqa: ANN001
    values = {"subject": "Nejde internet", "body": "Od rána nic.", "actor": staff, "customer_id": customer.id,
              "now": T0, **kw}
    return helpdesk.create_ticket(db, **values)


def _mails(db) -> list[MailMessage]:  # noqa: ANN001
    return list(db.scalars(select(MailMessage).order_by(MailMessage.id)))


def test_numbers_are_per_location_and_due_dates_follow_the_default_sla(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        first = _ticket(db, customer_a, staff, priority="high")
        second = _ticket(db, customer_a, staff, priority="low")
        db.commit()
    with in_loc(world.loc_b):
        other = helpdesk.create_ticket(db, subject="Faktura", body="?", actor=helpdesk.SYSTEM,
                                       requester_email="someone@example.test", now=T0)
        db.commit()
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert first.response_due_at == T0 + timedelta(hours=4) and first.resolution_due_at == T0 + timedelta(hours=24)
    assert second.response_due_at == T0 + timedelta(hours=24)
    assert first.state == "new" and first.channel == "opcare"
    with in_loc(world.loc_a):
        assert [e.kind for e in helpdesk.events(db, first)] == ["created"]
        assert helpdesk.thread(db, first, public_only=True)[0].body == "Od rána nic."


def test_a_locations_sla_replaces_the_default_and_a_priority_change_moves_the_due_dates(db, world, in_loc,
                                                                                       customer_a, staff):
    with in_loc(world.loc_a):
        sla.save_sla(db, "normal", response_hours="2", resolution_hours="10")
        ticket = _ticket(db, customer_a, staff)
        assert ticket.response_due_at == T0 + timedelta(hours=2)
        helpdesk.change_priority(db, ticket, "urgent", staff, now=T0)
        assert (ticket.response_due_at, ticket.resolution_due_at) == (T0 + timedelta(hours=1), T0 + timedelta(hours=8))
        with pytest.raises(InvalidValue) as exc:
            sla.save_sla(db, "low", response_hours="10", resolution_hours="5")
        assert exc.value.field == "low_resolution"
        with pytest.raises(InvalidValue):
            sla.save_sla(db, "low", response_hours="0", resolution_hours="5")
        db.commit()
    with in_loc(world.loc_b):  # another location keeps the defaults
        assert sla.sla_table(db)["normal"] == (8, 48)


def test_state_transitions_are_checked_and_logged(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        ticket = _ticket(db, customer_a, staff)
        helpdesk.change_state(db, ticket, "open", staff)
        helpdesk.change_state(db, ticket, "resolved", staff)
        assert ticket.resolved_at is not None
        helpdesk.change_state(db, ticket, "open", staff)  # reopened
        assert ticket.resolved_at is None
        helpdesk.change_state(db, ticket, "closed", staff)
        db.commit()
        for wanted in ("open", "new", "resolved"):
            with pytest.raises(InvalidValue) as exc:
                helpdesk.change_state(db, ticket, wanted, staff)
            assert exc.value.field == "state" and str(exc.value) == f"A ticket cannot go from closed to {wanted}."
        with pytest.raises(InvalidValue):
            helpdesk.change_state(db, ticket, "bogus", staff)
        assert ticket.state == "closed"
        with pytest.raises(InvalidValue):  # nobody writes to a closed ticket
            helpdesk.reply(db, ticket, "Ještě něco", staff)
        db.rollback()
        log = [(e.kind, e.old_value, e.new_value) for e in helpdesk.events(db, ticket)]
    assert log == [("created", "", "new"), ("state", "new", "open"), ("state", "open", "resolved"),
                   ("state", "resolved", "open"), ("state", "open", "closed")]


def test_new_may_not_go_back_and_waiting_opens_on_a_customer_message(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        ticket = _ticket(db, customer_a, staff)
        helpdesk.change_state(db, ticket, "waiting", staff)
        with pytest.raises(InvalidValue):
            helpdesk.change_state(db, ticket, "new", staff)
        helpdesk.customer_message(db, ticket, "Pořád nic", helpdesk.Actor(customer_id=customer_a.id))
        assert ticket.state == "open"
        other = helpdesk.Actor(customer_id=customer_a.id + 999)
        with pytest.raises(InvalidValue):  # a customer writes only to its own tickets
            helpdesk.customer_message(db, ticket, "Cizí", other)


def test_the_event_log_is_append_only(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        _ticket(db, customer_a, staff)
        db.commit()
    with pytest.raises(DBAPIError), db.connection().begin_nested():
        db.connection().execute(text("UPDATE callcenter_ticket_event SET new_value = 'x'"))
    with pytest.raises(DBAPIError), db.connection().begin_nested():
        db.connection().execute(text("DELETE FROM callcenter_ticket_event"))


def test_assignment_needs_staff_of_the_location(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        ticket = _ticket(db, customer_a, staff)
        helpdesk.assign(db, ticket, world.clerk_a.id, staff)
        assert ticket.assignee_id == world.clerk_a.id
        with pytest.raises(InvalidValue) as exc:
            helpdesk.assign(db, ticket, world.admin_b.id, staff)  # staff of another partner
        assert exc.value.field == "assignee_id" and ticket.assignee_id == world.clerk_a.id
        helpdesk.assign(db, ticket, "", staff)
        assert ticket.assignee_id is None
        assert [(e.old_value, e.new_value) for e in helpdesk.events(db, ticket) if e.kind == "assignee"] == [
            ("", world.clerk_a.name), (world.clerk_a.name, "")]


def test_a_reply_queues_exactly_one_threaded_email_and_a_note_none(db, world, in_loc, customer_a, staff):
    from mango_core.tenancy import operator_scope

    with operator_scope():
        world.loc_a.email = "helpdesk@alfa.test"
        db.commit()
    with in_loc(world.loc_a):
        ticket = _ticket(db, customer_a, staff)
        note = helpdesk.add_note(db, ticket, "Interní: zkontrolovat AP", staff)
        assert note.mail_id is None and note.message.internal
        assert _mails(db) == []
        posted = helpdesk.reply(db, ticket, "Dobrý den, technik je na cestě.", staff, now=T0 + timedelta(hours=1))
        db.commit()
        queued = _mails(db)
        assert len(queued) == 1 and queued[0].id == posted.mail_id
        assert ticket.first_response_at == T0 + timedelta(hours=1) and ticket.state == "waiting"
        mail = queued[0]
        assert mail.recipients == ["jana@example.test"]
        assert mail.subject == f"[#{ticket.number}] Nejde internet"
        assert mail.dedup_key == f"callcenter:reply:{posted.message.id}"
        assert "technik je na cestě" in mail.text and "zkontrolovat AP" not in mail.text
        assert f"Požadavek č. {ticket.number}: Nejde internet" in mail.text  # the location's language
        assert mail.reply_to == "helpdesk@alfa.test"
        domain = mails.msgid_domain()
        # the Message-ID names the ticket for people and carries a random part nobody can guess
        assert re.fullmatch(rf"<ticket-{ticket.number}\.[A-Za-z0-9_-]{{24}}@{re.escape(domain)}>", mail.message_id)
        assert mail.message_id == posted.message.email_message_id
        email = build_email(mail, MailSettings.from_section({"host": "smtp.test", "from_address": "noc@alfa.test"}))
        assert email["Message-ID"] == mail.message_id and email["Subject"] == mail.subject
        # an answer to it finds the ticket by the stored Message-ID, and by the subject tag only from the customer
        assert mails.ticket_of_answer(db, references=["<x@y>", mail.message_id], subject="Re: x",
                                      sender="kdokoli@example.test") is ticket
        assert mails.ticket_of_answer(db, references=[], subject=f"Re: [#{ticket.number}] Nejde",
                                      sender="JANA@example.test") is ticket
        assert mails.ticket_of_answer(db, references=[], subject=f"Re: [#{ticket.number}] Nejde",
                                      sender="cizi@example.test") is None
        # a second reply: one more e-mail, the first response time stays
        helpdesk.reply(db, ticket, "Hotovo.", staff, now=T0 + timedelta(hours=3))
        assert len(_mails(db)) == 2 and ticket.first_response_at == T0 + timedelta(hours=1)


def test_a_reply_without_any_address_is_stored_without_mail(db, world, in_loc, staff):
    from mango_core.customers import service as customers

    with in_loc(world.loc_a):
        silent = customers.create_customer(db, kind="person", first_name="Tichý", last_name="Zákazník")
        ticket = helpdesk.create_ticket(db, subject="Telefonát", body="Volal.", actor=staff, customer_id=silent.id,
                                        channel="phone")
        posted = helpdesk.reply(db, ticket, "Vyřízeno.", staff)
        assert posted.mail_id is None and _mails(db) == []


def test_creating_refuses_bad_input_and_writes_nothing(db, world, in_loc, customer_a, staff):
    from mango_core.customers import service as customers

    with in_loc(world.loc_b):
        foreign = customers.create_customer(db, kind="person", first_name="Cizí", last_name="Brňák")
        db.commit()
    with in_loc(world.loc_a):
        cases = [({"subject": ""}, "subject"), ({"body": " "}, "body"), ({"priority": "asap"}, "priority"),
                 ({"customer_id": foreign.id}, "customer_id"), ({"customer_id": None}, "customer_id"),
                 ({"queue_id": 999999}, "queue_id"), ({"channel": "fax"}, "channel"),
                 ({"assignee_id": world.admin_b.id}, "assignee_id")]
        for overrides, field in cases:
            with pytest.raises(InvalidValue) as exc:
                _ticket(db, customer_a, staff, **overrides)
            assert exc.value.field == field, overrides
            db.rollback()
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_the_sla_job_marks_each_breach_once_and_notifies_once(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        queue = helpdesk.save_queue(db, name="První linie", email="linka@alfa.test")
        unassigned = _ticket(db, customer_a, staff, priority="urgent", queue_id=queue.id)  # 1 h / 8 h
        assigned = _ticket(db, customer_a, staff, priority="urgent", assignee_id=world.clerk_a.id)
        answered = _ticket(db, customer_a, staff, priority="urgent")
        helpdesk.reply(db, answered, "Díváme se na to.", staff, now=T0 + timedelta(minutes=30))
        waiting = answered
        calm = _ticket(db, customer_a, staff, priority="low")  # 24 h / 120 h
        db.commit()
        baseline = len(_mails(db))

        result = sla.check_breaches(db, T0 + timedelta(hours=2))
        db.commit()
        assert (result.response, result.resolution, result.notified) == (2, 0, 2)
        new_mails = _mails(db)[baseline:]
        assert sorted(m.recipients[0] for m in new_mails) == ["clerk@alfa.test", "linka@alfa.test"]
        assert all(m.subject.startswith("Překročeno SLA (doba reakce): [#") for m in new_mails)
        assert unassigned.response_breached_at == T0 + timedelta(hours=2)
        assert waiting.response_breached_at is None and calm.response_breached_at is None

        again = sla.check_breaches(db, T0 + timedelta(hours=3))  # the job runs every 5 minutes
        db.commit()
        assert (again.response, again.resolution, again.notified) == (0, 0, 0)
        assert len(_mails(db)) == baseline + 2

        later = sla.check_breaches(db, T0 + timedelta(hours=9))  # resolution of the urgent ones
        db.commit()
        # the answered ticket waits for the customer: no resolution breach while it waits
        assert (later.response, later.resolution) == (0, 2)
        assert sla.check_breaches(db, T0 + timedelta(hours=10)).resolution == 0
        kinds = [e.kind for e in helpdesk.events(db, assigned)]
        assert kinds.count("response_breach") == 1 and kinds.count("resolution_breach") == 1


def test_merge_moves_messages_and_closes_the_merged_ticket_with_a_link(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        target = _ticket(db, customer_a, staff, subject="Výpadek")
        source = _ticket(db, customer_a, staff, subject="Výpadek znovu",
                         uploads=[Upload("foto.jpg", b"\xff\xd8jpeg", "image/jpeg")])
        helpdesk.add_note(db, source, "Poznámka", staff)
        helpdesk.merge(db, source, target, staff)
        db.commit()
        assert source.state == "closed" and source.merged_into_id == target.id
        bodies = [m.body for m in helpdesk.thread(db, target, public_only=False)]
        assert bodies == ["Od rána nic.", "Od rána nic.", "Poznámka"]
        assert db.scalar(select(func.count()).select_from(TicketMessage)
                         .where(TicketMessage.ticket_id == source.id)) == 0
        assert {a.ticket_id for a in db.scalars(select(TicketAttachment))} == {target.id}
        assert [e.new_value for e in helpdesk.events(db, source) if e.kind == "merged"] == [f"#{target.number}"]
        assert [e.new_value for e in helpdesk.events(db, target) if e.kind == "merged_from"] == [f"#{source.number}"]
        with pytest.raises(InvalidValue):
            helpdesk.merge(db, source, target, staff)  # already merged (closed)
        with pytest.raises(InvalidValue):
            helpdesk.merge(db, target, target, staff)


def test_merge_refuses_tickets_of_two_customers(db, world, in_loc, customer_a, staff):
    from mango_core.customers import service as customers

    with in_loc(world.loc_a):
        other = customers.create_customer(db, kind="person", first_name="Jiný", last_name="Zákazník")
        one = _ticket(db, customer_a, staff)
        two = _ticket(db, other, staff, customer_id=other.id)
        with pytest.raises(InvalidValue):
            helpdesk.merge(db, one, two, staff)
        assert one.state == "new" and one.merged_into_id is None


def test_attachment_limits(db, world, in_loc, customer_a, staff):
    limits = {"attachment_max_bytes": 1000, "attachments_per_message": 2}
    with in_loc(world.loc_a):
        ticket = _ticket(db, customer_a, staff)
        db.commit()
        bad = [
            [Upload("big.pdf", b"x" * 1001, "application/pdf")],
            [Upload("empty.txt", b"", "text/plain")],
            [Upload("a.txt", b"a", "text/plain")] * 3,
            [Upload("weird.bin", b"a", "no-slash")],
        ]
        for uploads in bad:
            with pytest.raises(InvalidValue) as exc:
                helpdesk.add_note(db, ticket, "Soubor", staff, uploads=uploads, limits=limits)
            assert exc.value.field == "attachments"
            db.rollback()
        assert db.scalar(select(func.count()).select_from(TicketAttachment)) == 0
        posted = helpdesk.add_note(db, ticket, "Soubor", staff, limits=limits,
                                   uploads=[Upload("../../etc/pass\x00wd.pdf", b"x" * 1000, "application/PDF")])
        (row,) = posted.message.attachments
        assert (row.filename, row.content_type, row.size) == ("passwd.pdf", "application/pdf", 1000)


def test_lists_filter_and_count(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        queue = helpdesk.save_queue(db, name="Technici")
        late = _ticket(db, customer_a, staff, priority="urgent", queue_id=queue.id, assignee_id=world.clerk_a.id)
        fresh = helpdesk.create_ticket(db, subject="Nové", body="b", actor=staff, customer_id=customer_a.id)
        done = _ticket(db, customer_a, staff)
        helpdesk.change_state(db, done, "resolved", staff)
        db.commit()
        everything = helpdesk.TicketFilter(state="active")
        assert {t.id for t in helpdesk.list_tickets(db, everything)} == {late.id, fresh.id}
        assert [t.id for t in helpdesk.list_tickets(db, helpdesk.TicketFilter(overdue=True))] == [late.id]
        assert [t.id for t in helpdesk.list_tickets(db, helpdesk.TicketFilter(queue_id=queue.id))] == [late.id]
        mine = helpdesk.TicketFilter(assignee_id=world.clerk_a.id)
        assert [t.id for t in helpdesk.list_tickets(db, mine)] == [late.id]
        counts = helpdesk.counts(db, helpdesk.TicketFilter())
        assert (counts["new"], counts["resolved"], counts["active"], counts["overdue"]) == (2, 1, 2, 1)
        assert helpdesk.is_overdue(late) and not helpdesk.is_overdue(fresh)


def test_the_sla_job_is_registered_every_five_minutes_and_runs_in_a_location(mango, db, world, in_loc, customer_a,
                                                                             staff):
    from mango_core.scheduler.jobs import JobContext

    job = mango.jobs["callcenter:sla"]
    assert job.trigger == {"trigger": "interval", "minutes": 5}
    with in_loc(world.loc_a):
        _ticket(db, customer_a, staff, priority="urgent", assignee_id=world.admin_a.id,
                now=datetime.now(UTC) - timedelta(hours=2))
        db.commit()
        ctx = JobContext(session=db, location_id=world.loc_a.id, job_id=job.id, settings={})
        assert job.func(ctx) == "1 response and 0 resolution breaches, 1 e-mails"
        assert job.func(ctx) == "0 response and 0 resolution breaches, 0 e-mails"


def test_anonymising_a_customer_erases_its_tickets_texts(db, world, in_loc, customer_a, staff):
    from mango_core.customers import service as customers

    with in_loc(world.loc_a):
        ticket = _ticket(db, customer_a, staff, uploads=[Upload("smlouva.pdf", b"%PDF", "application/pdf")])
        helpdesk.reply(db, ticket, "Dobrý den, paní Dotazová", staff)
        other = helpdesk.create_ticket(db, subject="Jiný zákazník", body="Zůstává", actor=helpdesk.SYSTEM,
                                       requester_email="jiny@example.test")
        customers.change_state(db, customer_a, "former")
        customers.anonymise(db, customer_a, reason="GDPR")
        db.commit()
        db.expire_all()
        assert ticket.subject == helpdesk.ERASED and ticket.number == 1
        assert {m.body for m in helpdesk.thread(db, ticket, public_only=False)} == {helpdesk.ERASED}
        assert db.scalar(select(func.count()).select_from(TicketAttachment)) == 0
        assert [e.kind for e in helpdesk.events(db, ticket)][:2] == ["created", "state"]
        assert other.subject == "Jiný zákazník"


def test_queues_and_categories_have_unique_names_per_location(db, world, in_loc):
    with in_loc(world.loc_a):
        first = helpdesk.save_queue(db, name="Technici", email="a@alfa.test; b@alfa.test")
        assert first.email == "a@alfa.test, b@alfa.test"
        for name, email, field in (("technici", "", "name"), ("Jiná", "není adresa", "email"), ("", "", "name")):
            with pytest.raises(InvalidValue) as exc:
                helpdesk.save_queue(db, name=name, email=email)
            assert exc.value.field == field
        helpdesk.save_queue(db, name="Technici", email="", is_active=False, queue=first)  # its own name is fine
        assert not first.is_active and first.email == ""
        helpdesk.save_category(db, name="Výpadek")
        with pytest.raises(InvalidValue):
            helpdesk.save_category(db, name="VÝPADEK")
        db.commit()
    with in_loc(world.loc_b):  # another location has its own names
        assert helpdesk.save_queue(db, name="Technici").id != first.id
        assert [q.name for q in helpdesk.queues(db)] == ["Technici"]
