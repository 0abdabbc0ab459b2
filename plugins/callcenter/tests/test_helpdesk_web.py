"""Opcare helpdesk pages: permissions, the list with filters and counts, a new ticket from the customer
card, replies and notes, state changes, merge, downloads, settings, and tenant isolation (404)."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.attachments import Upload
from mango_callcenter.helpdesk.models import Sla, Ticket
from mango_core.mail.models import MailMessage
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post


def enter(client, world, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


@pytest.fixture
def ticket(db, world, in_loc, customer_a) -> Ticket:  # noqa: ANN001
    with in_loc(world.loc_a):
        made = helpdesk.create_ticket(db, subject="Pomalý internet", body="Večer je to pomalé.",
                                      actor=helpdesk.Actor(customer_id=customer_a.id), customer_id=customer_a.id,
                                      channel="selfcare", uploads=[Upload("speedtest.png", b"\x89PNG..", "image/png")])
        db.commit()
    return made


def test_pages_need_their_permissions(client, world, ticket):
    enter(client, world, world.clerk_a)  # holds only core.jobs.view
    for path in ("/callcenter/", f"/callcenter/{ticket.number}", "/callcenter/new", "/callcenter/settings",
                 f"/callcenter/{ticket.number}/files/1"):
        assert client.get(path).status_code == 403, path
    resp = post(client, f"/callcenter/{ticket.number}/reply", {"body": "x"}, token_from="/")
    assert resp.status_code == 403


def test_the_list_filters_and_counts(client, db, world, in_loc, customer_a, ticket):
    with in_loc(world.loc_a):
        urgent = helpdesk.create_ticket(db, subject="Výpadek celé ulice", body="b", priority="urgent",
                                        actor=helpdesk.Actor(user_id=world.admin_a.id), customer_id=customer_a.id,
                                        assignee_id=world.admin_a.id)
        db.commit()
    enter(client, world)
    page = client.get("/callcenter/").get_data(as_text=True)
    assert "Pomalý internet" in page and "Výpadek celé ulice" in page
    assert re.search(r'data-count="new"[^>]*>[^<]*<span[^>]*>2<', page)
    mine = client.get("/callcenter/?mine=1").get_data(as_text=True)
    assert "Výpadek celé ulice" in mine and "Pomalý internet" not in mine
    urgent_only = client.get("/callcenter/?priority=urgent").get_data(as_text=True)
    assert f'data-ticket="{urgent.number}"' in urgent_only and f'data-ticket="{ticket.number}"' not in urgent_only
    assert "Tikety" in page  # the Czech UI
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-count="active">2<', home) and re.search(r'data-count="mine">1<', home)


def test_a_new_ticket_from_the_customer_card(client, db, world, customer_a):
    enter(client, world)
    card = client.get(f"/customers/{customer_a.id}?tab=callcenter_tickets").get_data(as_text=True)
    assert 'id="card-tickets"' in card and f"/callcenter/new?customer_id={customer_a.id}" in card
    form = client.get(f"/callcenter/new?customer_id={customer_a.id}").get_data(as_text=True)
    assert customer_a.display_name in form
    resp = post(client, "/callcenter/new", {"customer_id": str(customer_a.id), "subject": "Volala kvůli routeru",
                                            "body": "Router bliká červeně.", "priority": "high", "channel": "phone",
                                            "attachments": (io.BytesIO(b"log"), "router.log", "text/plain")},
                token_from="/callcenter/new", content_type="multipart/form-data")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        made = db.scalar(select(Ticket).where(Ticket.subject == "Volala kvůli routeru"))
    assert resp.headers["Location"].endswith(f"/callcenter/{made.number}")
    assert (made.customer_id, made.priority, made.channel, made.created_by_id) == (
        customer_a.id, "high", "phone", world.admin_a.id)
    page = client.get(f"/callcenter/{made.number}").get_data(as_text=True)
    assert "Router bliká červeně." in page and "router.log" in page
    card = client.get(f"/customers/{customer_a.id}?tab=callcenter_tickets").get_data(as_text=True)
    assert f'data-ticket="{made.number}"' in card


def test_a_new_ticket_can_notify_the_customer(client, db, world, customer_a):
    enter(client, world)
    form = client.get(f"/callcenter/new?customer_id={customer_a.id}").get_data(as_text=True)
    assert 'name="notify"' in form and "Informovat zákazníka e-mailem" in form
    base = {"customer_id": str(customer_a.id), "body": "Ve čtvrtek vyměníme router.", "priority": "normal",
            "channel": "phone"}
    assert post(client, "/callcenter/new", {**base, "subject": "Bez oznámení"},
                token_from="/callcenter/new").status_code == 302
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(MailMessage)) == 0
    assert post(client, "/callcenter/new", {**base, "subject": "S oznámením", "notify": "y"},
                token_from="/callcenter/new").status_code == 302
    with location_scope(world.loc_a.id):
        made = db.scalar(select(Ticket).where(Ticket.subject == "S oznámením"))
        (mail,) = db.scalars(select(MailMessage)).all()
        first = helpdesk.thread(db, made, public_only=True)[0]
    assert mail.recipients == ["jana@example.test"] and mail.subject == f"[#{made.number}] S oznámením"
    assert "Ve čtvrtek vyměníme router." in mail.text and mail.message_id == first.email_message_id


def test_bad_input_shows_the_form_again(client, db, world):
    enter(client, world)
    resp = post(client, "/callcenter/new", {"subject": "Bez zákazníka", "body": "x", "priority": "normal",
                                            "channel": "phone"}, token_from="/callcenter/new")
    assert resp.status_code == 200 and "Bez zákazníka" in resp.get_data(as_text=True)
    resp = post(client, "/callcenter/new", {"subject": "Neznámé číslo", "body": "x", "priority": "normal",
                                            "channel": "phone", "customer_number": "987654"},
                token_from="/callcenter/new")
    assert resp.status_code == 200 and "Žádný zákazník nemá toto číslo." in resp.get_data(as_text=True)
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_reply_note_state_and_download(client, db, world, ticket):
    enter(client, world)
    number = ticket.number
    page = f"/callcenter/{number}"
    assert post(client, f"{page}/note", {"body": "Interně: AP přetížené"}, token_from=page).status_code == 302
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(MailMessage)) == 0
    assert post(client, f"{page}/reply", {"body": "Zvýšili jsme kapacitu."}, token_from=page).status_code == 302
    with location_scope(world.loc_a.id):
        mails = list(db.scalars(select(MailMessage)))
        assert len(mails) == 1 and mails[0].subject.startswith(f"[#{number}]")
        db.expire_all()
        assert db.scalar(select(Ticket.state).where(Ticket.id == ticket.id)) == "waiting"
    assert post(client, f"{page}/state", {"state": "resolved"}, token_from=page).status_code == 302
    assert post(client, f"{page}/state", {"state": "closed"}, token_from=page).status_code == 302
    resp = post(client, f"{page}/state", {"state": "open"}, token_from=page, follow_redirects=True)
    assert "Tiket nemůže přejít ze stavu uzavřený do stavu v řešení." in resp.get_data(as_text=True)
    with location_scope(world.loc_a.id):
        db.expire_all()
        assert db.scalar(select(Ticket.state).where(Ticket.id == ticket.id)) == "closed"
    html = client.get(page).get_data(as_text=True)
    assert "Interně: AP přetížené" in html and "Zvýšili jsme kapacitu." in html
    assert "změna stavu: vyřešený → uzavřený" in html  # the event log, in Czech
    attachment_id = re.search(r'data-attachment="(\d+)"', html).group(1)
    download = client.get(f"{page}/files/{attachment_id}")
    assert download.status_code == 200 and download.data == b"\x89PNG.."
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_merge_through_the_page(client, db, world, in_loc, customer_a, ticket):
    with in_loc(world.loc_a):
        dup = helpdesk.create_ticket(db, subject="Pořád pomalé", body="Znovu.", actor=helpdesk.SYSTEM,
                                     customer_id=customer_a.id)
        db.commit()
    enter(client, world)
    page = f"/callcenter/{dup.number}"
    assert post(client, f"{page}/merge", {"target": f"#{ticket.number}"}, token_from=page).status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert 'id="ticket-merged-into"' in html
    target = client.get(f"/callcenter/{ticket.number}").get_data(as_text=True)
    assert "Znovu." in target


def test_a_new_ticket_by_customer_number(client, db, world, customer_a):
    enter(client, world)
    resp = post(client, "/callcenter/new", {"customer_number": str(customer_a.number), "subject": "Telefonát",
                                            "body": "Volala paní Dotazová.", "priority": "normal", "channel": "phone"},
                token_from="/callcenter/new")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        assert db.scalar(select(Ticket.customer_id).where(Ticket.subject == "Telefonát")) == customer_a.id


def test_another_locations_ticket_is_404(client, db, world, in_loc, customer_a, ticket):
    with in_loc(world.loc_b):
        for n in range(3):  # numbers 1..3 in BRN; PRG has only number 1
            theirs = helpdesk.create_ticket(db, subject=f"Brno {n}", body="b", actor=helpdesk.SYSTEM,
                                            requester_email="x@brno.test",
                                            uploads=[Upload("brno.txt", b"brno", "text/plain")])
        db.commit()
    enter(client, world)
    assert client.get(f"/callcenter/{ticket.number}").status_code == 200
    assert client.get(f"/callcenter/{theirs.number}").status_code == 404
    assert post(client, f"/callcenter/{theirs.number}/reply", {"body": "x"}, token_from="/").status_code == 404
    # a file of BRN through PRG's own ticket is not found either
    from mango_callcenter.helpdesk.models import TicketAttachment
    from mango_core.tenancy import operator_scope

    with operator_scope():
        brno_file = db.scalar(select(TicketAttachment.id).where(TicketAttachment.location_id == world.loc_b.id))
    assert client.get(f"/callcenter/{ticket.number}/files/{brno_file}").status_code == 404
    assert "Brno" not in client.get("/callcenter/?state=").get_data(as_text=True)


def test_settings_save_queues_categories_and_sla(client, db, world):
    enter(client, world)
    page = "/callcenter/settings"
    assert post(client, f"{page}/queues", {"name": "Technici", "email": "tech@alfa.test", "is_active": "y"},
                token_from=page).status_code == 302
    assert post(client, f"{page}/categories", {"name": "Výpadek", "is_active": "y"}, token_from=page).status_code == 302
    sla = {f"{p}_{k}": v for p in ("low", "normal", "high", "urgent") for k, v in (("response", "3"), ("resolution", "30"))}
    assert post(client, f"{page}/sla", sla, token_from=page).status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "Technici" in html and "Výpadek" in html
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Sla)) == 4
    bad = {**sla, "urgent_resolution": "1"}  # shorter than the response: nothing saved
    resp = post(client, f"{page}/sla", bad, token_from=page, follow_redirects=True)
    assert resp.status_code == 200
    with location_scope(world.loc_a.id):
        db.expire_all()
        assert db.scalar(select(Sla.resolution_hours).where(Sla.priority == "urgent")) == 30
