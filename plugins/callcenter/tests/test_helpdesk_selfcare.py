"""The helpdesk in the customer portal: a customer lists its tickets, opens one and replies; staff's
internal notes (and their files) never show; another customer's ticket is 404."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.attachments import Upload
from mango_callcenter.helpdesk.models import Ticket
from mango_core.selfcare.menu import all_items
from mango_core.selfcare.testing import build_portal, portal_login, portal_post
from mango_core.tenancy import location_scope


@pytest.fixture
def portal(app, db, world):  # noqa: ANN001, ANN201
    with app.test_request_context():
        return build_portal(db, world.loc_a, tag="a")


def _logged_in(client, portal) -> None:  # noqa: ANN001
    assert portal_login(client, portal.code, portal.email).status_code == 302


def test_the_portal_offers_support(app, client, portal):
    with app.test_request_context():
        assert "callcenter_selfcare.tickets" in {i.endpoint for i in all_items()}
    _logged_in(client, portal)
    page = client.get("/selfcare/callcenter/").get_data(as_text=True)
    assert 'id="tickets-empty"' in page and "Podpora" in page


def test_a_customer_opens_a_ticket_staff_answer_and_notes_stay_hidden(client, db, world, portal, in_loc):
    _logged_in(client, portal)
    resp = portal_post(client, "/selfcare/callcenter/new",
                       {"subject": "Nefunguje Wi-Fi", "body": "Od včera nejde Wi-Fi.", "service_id": str(portal.service_id),
                        "attachments": (io.BytesIO(b"screenshot"), "wifi.png", "image/png")},
                       token_from="/selfcare/callcenter/new", content_type="multipart/form-data")
    assert resp.status_code == 302
    with location_scope(portal.location_id):
        ticket = db.scalar(select(Ticket).where(Ticket.subject == "Nefunguje Wi-Fi"))
    assert (ticket.customer_id, ticket.channel, ticket.service_id) == (portal.customer_id, "selfcare", portal.service_id)
    staff = helpdesk.Actor(user_id=world.admin_a.id)
    with in_loc(world.loc_a):
        ticket = db.get(Ticket, ticket.id)
        helpdesk.add_note(db, ticket, "TAJNÉ: zákazník má starý router", staff,
                          uploads=[Upload("internal.txt", b"secret", "text/plain")])
        helpdesk.reply(db, ticket, "Zkuste prosím router restartovat.", staff)
        db.commit()
    page = client.get(f"/selfcare/callcenter/{ticket.number}").get_data(as_text=True)
    assert "Od včera nejde Wi-Fi." in page and "Zkuste prosím router restartovat." in page
    assert "TAJNÉ" not in page and "internal.txt" not in page and 'data-internal="1"' not in page
    files = re.findall(r'data-attachment="(\d+)"', page)
    assert len(files) == 1
    assert client.get(f"/selfcare/callcenter/{ticket.number}/files/{files[0]}").data == b"screenshot"
    with location_scope(portal.location_id):
        secret_id = next(a.id for m in helpdesk.thread(db, ticket, public_only=False) if m.internal
                         for a in m.attachments)
    assert client.get(f"/selfcare/callcenter/{ticket.number}/files/{secret_id}").status_code == 404
    # the customer answers: the waiting ticket opens again
    page_url = f"/selfcare/callcenter/{ticket.number}"
    assert portal_post(client, f"{page_url}/reply", {"body": "Restart nepomohl."}, token_from=page_url).status_code == 302
    with location_scope(portal.location_id):
        db.expire_all()
        assert db.get(Ticket, ticket.id).state == "open"
        assert [m.body for m in helpdesk.thread(db, ticket, public_only=True)][-1] == "Restart nepomohl."
    listing = client.get("/selfcare/callcenter/").get_data(as_text=True)
    assert f'data-ticket="{ticket.number}"' in listing
    overview = client.get("/selfcare/").get_data(as_text=True)
    assert 'id="selfcare-requests"' in overview and f'data-ticket="{ticket.number}"' in overview


def test_another_customers_ticket_is_404(client, db, world, portal, in_loc):
    with in_loc(world.loc_a):
        theirs = helpdesk.create_ticket(db, subject="Cizí", body="Cizí tiket", actor=helpdesk.SYSTEM,
                                        customer_id=portal.other_id)
        db.commit()
    _logged_in(client, portal)
    assert client.get(f"/selfcare/callcenter/{theirs.number}").status_code == 404
    url = f"/selfcare/callcenter/{theirs.number}/reply"
    assert portal_post(client, url, {"body": "x"}, token_from="/selfcare/callcenter/new").status_code == 404
    assert "Cizí" not in client.get("/selfcare/callcenter/").get_data(as_text=True)


def test_a_closed_ticket_takes_no_reply(client, db, world, portal, in_loc):
    with in_loc(world.loc_a):
        ticket = helpdesk.create_ticket(db, subject="Hotovo", body="b", actor=helpdesk.SYSTEM,
                                        customer_id=portal.customer_id)
        helpdesk.change_state(db, ticket, "closed", helpdesk.SYSTEM)
        db.commit()
    _logged_in(client, portal)
    url = f"/selfcare/callcenter/{ticket.number}"
    assert 'id="ticket-closed"' in client.get(url).get_data(as_text=True)
    resp = portal_post(client, f"{url}/reply", {"body": "Ještě?"}, token_from="/selfcare/callcenter/new")
    assert resp.status_code == 400
    with location_scope(portal.location_id):
        assert len(helpdesk.thread(db, ticket, public_only=True)) == 1
