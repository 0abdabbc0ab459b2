"""Incoming calls: the webhook's authentication (401/403), idempotency by PBX call id, the customer
found by a differently written number, the pop-up endpoint and script, the one-click ticket, the call
log on the customer card with click-to-call links, and another location's calls staying apart."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select

from mango_callcenter.calls import service as calls
from mango_callcenter.calls.models import Call
from mango_callcenter.helpdesk.models import Ticket
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import LocationModule
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.fixtures import login, post


def enter(client, world, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


@pytest.fixture
def token(db, world, in_loc):  # noqa: ANN001, ANN201
    with in_loc(world.loc_a):
        made = calls.new_token(db)
        calls.set_click_to_call(db, "http://pbx.example.test/call?to={number}")
        db.commit()
    return made


def hook(client, body, token=None, code="PRG", **headers):  # noqa: ANN001, ANN003, ANN201
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(f"/callcenter/hook/calls/{code}", json=body, headers=headers)


def test_the_webhook_needs_the_locations_token(client, db, world, in_loc, token):
    body = {"call_id": "1700000000.1", "caller": "777123456", "called": "800100200"}
    assert hook(client, body).status_code == 401
    assert hook(client, body, "wrong-token").status_code == 401
    assert hook(client, body, token, code="BRN").status_code == 401  # another location's address
    assert hook(client, body, token, code="NOPE").status_code == 401
    assert "Bearer" in hook(client, body).headers["WWW-Authenticate"]
    with operator_scope():  # the call centre switched off in PRG: the right token is refused with 403
        db.execute(delete(LocationModule).where(LocationModule.location_id == world.loc_a.id,
                                                LocationModule.module == "callcenter"))
        db.commit()
    assert hook(client, body, token).status_code == 403
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(Call)) == 0


def test_a_call_is_stored_once_and_matched_by_a_differently_written_number(client, db, world, customer_a, token):
    # the contact is stored as +420777123456; the PBX sends 00420 777 123 456
    body = {"call_id": "1700000000.7", "caller": "00420 777 123 456", "called": "800100200"}
    first = hook(client, body, token)
    assert first.status_code == 201 and first.json["customer_id"] == customer_a.id and first.json["created"]
    again = hook(client, body, token)
    assert again.status_code == 200 and again.json["id"] == first.json["id"] and not again.json["created"]
    other_header = client.post("/callcenter/hook/calls/PRG", json={**body, "call_id": "x-2", "caller": "anonymous"},
                               headers={"X-Mango-Token": token})
    assert other_header.status_code == 201 and other_header.json["customer_id"] is None
    assert hook(client, {"caller": "777123456"}, token).status_code == 400  # no call id
    assert hook(client, ["not", "an", "object"], token).status_code == 400
    with location_scope(world.loc_a.id):
        rows = list(db.scalars(select(Call).order_by(Call.id)))
    assert [(r.pbx_call_id, r.caller_phone, r.customer_id) for r in rows] == [
        ("1700000000.7", "+420777123456", customer_a.id), ("x-2", "", None)]


def test_the_service_checks_its_input(db, world, in_loc, customer_a):
    with in_loc(world.loc_a):
        call, created = calls.incoming_call(db, call_id="c1", caller="+420 777-123-456", called="100")
        assert created and call.customer_id == customer_a.id
        assert calls.incoming_call(db, call_id="c1", caller="+420111222333")[0].id == call.id
        with pytest.raises(InvalidValue):
            calls.incoming_call(db, call_id="c2", caller="x" * 100)
        with pytest.raises(InvalidValue):
            calls.set_click_to_call(db, "javascript:alert(1)//{number}")
        with pytest.raises(InvalidValue):
            calls.set_click_to_call(db, "http://pbx/call")  # no {number}
    with in_loc(world.loc_b):  # the same number in another location finds nobody there
        other, _ = calls.incoming_call(db, call_id="c1", caller="777123456")
        assert other.customer_id is None
    assert calls.click_to_call_url("http://pbx/call?to={number}", "+420 777") == "http://pbx/call?to=+420%20777"


def test_the_popup_shows_new_calls_to_operators_with_the_permission(client, db, world, customer_a, token):
    enter(client, world, world.clerk_a)  # without callcenter.calls.view
    assert client.get("/callcenter/calls/popup").status_code == 403
    home = client.get("/").get_data(as_text=True)
    assert home.count("callcenter-popup-script") == 0  # pages still work, without the script
    client2 = client.application.test_client()
    enter(client2, world)
    assert hook(client, {"call_id": "p-1", "caller": "777 123 456", "called": "800"}, token).status_code == 201
    data = client2.get("/callcenter/calls/popup").json
    [row] = data["calls"]
    assert "Dotazová" in row["customer"] and row["caller"] == "777 123 456"
    assert row["card_url"].endswith(f"/customers/{customer_a.id}")
    assert row["ticket_url"].endswith(f"/callcenter/calls/{row['id']}/ticket")
    assert data["labels"]["incoming"] == "Příchozí hovor"
    assert client2.get(f"/callcenter/calls/popup?after={row['id']}").json["calls"] == []
    page = client2.get("/").get_data(as_text=True)
    assert page.count('id="callcenter-popup-script"') == 1 and 'src="/callcenter/calls/popup.js"' in page
    script = client2.get("/callcenter/calls/popup.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript" and b"sessionStorage" in script.data
    # one click: a phone ticket for the caller; a second click opens the same ticket
    resp = post(client2, row["ticket_url"], {}, token_from="/callcenter/calls/")
    assert resp.status_code == 302 and "/callcenter/" in resp.headers["Location"]
    resp2 = post(client2, row["ticket_url"], {}, token_from="/callcenter/calls/")
    assert resp2.headers["Location"] == resp.headers["Location"]
    with location_scope(world.loc_a.id):
        tickets = list(db.scalars(select(Ticket)))
    assert len(tickets) == 1 and tickets[0].customer_id == customer_a.id and tickets[0].channel == "phone"
    assert tickets[0].subject == "Telefonát z 777 123 456"


def test_the_call_log_on_the_card_has_click_to_call_links(client, db, world, in_loc, customer_a, token):
    with in_loc(world.loc_a):
        calls.incoming_call(db, call_id="log-1", caller="777123456", called="800")
        db.commit()
    enter(client, world)
    tab = client.get(f"/customers/{customer_a.id}?tab=callcenter_calls").get_data(as_text=True)
    assert 'id="card-calls"' in tab and 'data-call="' in tab
    assert 'href="http://pbx.example.test/call?to=+420777123456"' in tab
    log = client.get("/callcenter/calls/").get_data(as_text=True)
    assert 'data-dial="+420777123456"' in log and "Hovory" in log


def test_settings_make_a_token_that_the_webhook_accepts(client, db, world):
    enter(client, world)
    page = post(client, "/callcenter/calls/settings", {"action": "token"}, token_from="/callcenter/calls/settings")
    html = page.get_data(as_text=True)
    token = re.search(r'id="new-token">([^<]+)<', html).group(1)
    assert "/callcenter/hook/calls/PRG" in html
    assert hook(client, {"call_id": "s-1", "caller": "777000000"}, token).status_code == 201
    bad = post(client, "/callcenter/calls/settings", {"click_to_call_url": "ftp://x"},
               token_from="/callcenter/calls/settings")
    assert "{number}" in bad.get_data(as_text=True)
