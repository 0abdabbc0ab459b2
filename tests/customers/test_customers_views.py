"""Opcare customer pages: permissions, locations, CSRF, forms in Czech, card tabs, contacts, custom fields."""

from __future__ import annotations

import re

import pytest
from customer_data import person
from sqlalchemy import select

from mango_core.customers import fields, service
from mango_core.customers.models import Customer
from mango_core.params import ParamDef
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import csrf_token, login, post


def text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def enter_prg(client, world, user=None) -> None:
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


@pytest.fixture
def jan(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        c = service.create_customer(db, **person())
        db.commit()
    return c


def test_menu_list_and_search(client, world, jan):
    enter_prg(client, world)
    page = text(client.get("/customers/"))
    assert 'data-menu="core_customers.index"' in page and "Zákazníci" in page
    assert 'data-customer="1"' in page and "Jan Novák" in page
    resp = client.get("/customers/?q=novak")  # one hit: straight to the card
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/customers/{jan.id}")
    assert "Hledání neodpovídá" in text(client.get("/customers/?q=zzzz"))
    assert client.get("/customers/?state=bogus&sort=bogus&tag=x&after=%%%").status_code == 200


def test_create_validates_in_czech_and_english(client, world, db):
    enter_prg(client, world)
    form = text(client.get("/customers/new?kind=company"))
    assert 'name="company_name"' in form and 'name="first_name"' not in form
    resp = post(client, "/customers/new", {"kind": "company", "company_name": "Alfa", "ico": "27082441"},
                token_from="/customers/new")
    assert resp.status_code == 400 and "chybnou kontrolní číslici" in text(resp)
    post(client, "/language", {"locale": "en", "next": "/"})
    resp = post(client, "/customers/new", {"kind": "person", "first_name": "Jan"}, token_from="/customers/new")
    assert resp.status_code == 400 and "This field is required." in text(resp)
    post(client, "/language", {"locale": "cs", "next": "/"})
    with location_scope(world.loc_a.id):
        assert db.scalar(select(Customer.id)) is None
    resp = post(client, "/customers/new", {"kind": "person", "first_name": "Eva", "last_name": "Malá",
                                           "birth_number": "715319/2747"}, token_from="/customers/new")
    assert resp.status_code == 400 and "Rodné číslo není platné" in text(resp)
    resp = post(client, "/customers/new", {"kind": "person", "first_name": "Eva", "last_name": "Malá",
                                           "marketing_consent": "y"}, token_from="/customers/new")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        eva = db.scalar(select(Customer).where(Customer.last_name == "Malá"))
    assert eva.number == 1 and eva.marketing_consent and eva.location_id == world.loc_a.id
    card = text(client.get(f"/customers/{eva.id}"))
    assert "Eva Malá" in card and 'data-tab="history"' in card
    resp = post(client, f"/customers/{eva.id}/edit", {"kind": "person", "first_name": "Eva", "last_name": "Veselá",
                                                      "variable_symbol": "1", "reason": "sňatek"},
                token_from=f"/customers/{eva.id}/edit")
    assert resp.status_code == 302
    with location_scope(world.loc_a.id):
        db.refresh(eva)
    assert eva.last_name == "Veselá"


def test_card_actions_by_post_with_csrf(client, world, db, jan):
    enter_prg(client, world)
    url = f"/customers/{jan.id}"
    assert client.post(f"{url}/state", data={"state": "active"}).status_code == 400  # no CSRF token
    assert client.get(f"{url}/state").status_code == 405  # nothing changes on GET
    assert post(client, f"{url}/state", {"state": "active", "on": "2025-01-01"}, token_from=url).status_code == 302
    assert post(client, f"{url}/tags", {"name": "VIP"}, token_from=url).status_code == 302
    assert post(client, f"{url}/notes", {"text": "Volal"}, token_from=url).status_code == 302
    resp = post(client, f"{url}/contacts/new", {"name": "Jan", "role_billing": "y", "emails": "jan@novak.cz\nspatne",
                                                "phones": ""}, token_from=f"{url}/contacts/new")
    assert resp.status_code == 400 and "platnou e-mailovou adresu" in text(resp)
    resp = post(client, f"{url}/contacts/new", {"name": "Jan", "role_billing": "y", "emails": "jan@novak.cz",
                                                "phones": "777 123 456"}, token_from=f"{url}/contacts/new")
    assert resp.status_code == 302
    resp = post(client, f"{url}/addresses/new", {"kind": "service_place", "street": "Dlouhá 5", "city": "Praha",
                                                 "postal_code": "11000", "country": "CZ"},
                token_from=f"{url}/addresses/new")
    assert resp.status_code == 302
    card = text(client.get(url))
    assert "+420 777 123 456" in card and "Dlouhá 5, 110 00 Praha" in card and 'data-tag="VIP"' in card
    assert "Volal" in card and 'data-state="active"' in card and "data-confirm" in card
    with location_scope(world.loc_a.id):
        db.refresh(jan)
        contact, address = jan.contacts[0], jan.addresses[0]
        tag_id = jan.tag_links[0].tag_id
    assert post(client, f"{url}/contacts/{contact.id}/remove", token_from=url).status_code == 302
    assert post(client, f"{url}/addresses/{address.id}/remove", token_from=url).status_code == 302
    assert post(client, f"{url}/tags/{tag_id}/remove", token_from=url).status_code == 302
    history = text(client.get(f"{url}?tab=history"))
    for action in ("state_changed", "tag_added", "contact_added", "address_removed", "note_added"):
        assert action in history
    assert "Adam Alfa" in history


def test_anonymise_from_the_card(client, world, db, jan):
    enter_prg(client, world)
    url = f"/customers/{jan.id}"
    assert post(client, f"{url}/anonymise", {"reason": ""}, token_from=url).status_code == 302
    with location_scope(world.loc_a.id):
        db.refresh(jan)
    assert jan.anonymised_at is None
    post(client, f"{url}/state", {"state": "former"}, token_from=url)
    assert post(client, f"{url}/anonymise", {"reason": "žádost"}, token_from=url).status_code == 302
    with location_scope(world.loc_a.id):
        db.refresh(jan)
    assert jan.anonymised_at is not None and jan.last_name is None
    assert "Anonymizovaný zákazník" in text(client.get(url))
    assert client.get(f"{url}/edit").status_code == 302
    assert client.get(f"{url}/contacts/new").status_code == 404


def test_permissions_and_other_locations(client, world, db, jan):
    login(client, world.clerk_a.email)  # only core.jobs.view
    assert client.get("/customers/").status_code == 403
    assert client.get(f"/customers/{jan.id}").status_code == 403
    assert 'data-menu="core_customers.index"' not in text(client.get("/"))
    post(client, "/logout")
    login(client, world.admin_b.email)
    assert client.get(f"/customers/{jan.id}").status_code == 404
    assert client.get(f"/customers/{jan.id}/edit").status_code == 404
    token = csrf_token(client, "/customers/")
    assert client.post(f"/customers/{jan.id}/state", data={"state": "active", "csrf_token": token}).status_code == 404
    post(client, "/logout")
    enter_prg(client, world)
    assert client.get(f"/customers/{jan.id}?tab=nonsense").status_code == 404


def test_plugin_tabs_and_panels_only_where_enabled(client, world, db, app, jan):
    enter_prg(client, world)
    with app.app_context(), location_scope(world.loc_a2.id):
        kla = service.create_customer(db, **person())
        db.commit()
    prg = jan
    page = text(client.get(f"/customers/{prg.id}"))
    assert 'data-tab="example_notes"' in page and 'id="example-customer-panel"' in page
    assert 'id="example-customer-tab"' in text(client.get(f"/customers/{prg.id}?tab=example_notes"))
    assert post(client, "/location", {"location_id": world.loc_a2.id}).status_code == 302  # example is off in KLA
    page = text(client.get(f"/customers/{kla.id}"))
    assert 'data-tab="history"' in page and "example" not in page
    assert client.get(f"/customers/{kla.id}?tab=example_notes").status_code == 404


def test_custom_fields_editor_and_values(client, world, db, jan):
    enter_prg(client, world)
    page = text(client.get("/customers/fields"))
    assert "Vlastní pole zákazníků" in page
    resp = post(client, "/customers/fields", {"key": "Bad Key", "label": "X", "type": "text"},
                token_from="/customers/fields")
    assert resp.status_code == 400
    resp = post(client, "/customers/fields", {"key": "contract_no", "label": "Číslo smlouvy", "type": "text",
                                              "regex": "S-[0-9]+", "required": "y"}, token_from="/customers/fields")
    assert resp.status_code == 302
    resp = post(client, "/customers/fields", {"key": "segment", "label": "Segment", "type": "choice",
                                              "choices": "home=Domácnost\nbiz=Firma"}, token_from="/customers/fields")
    assert resp.status_code == 302
    with location_scope(world.loc_a2.id):  # shared by the partner's locations
        assert [p.key for p in fields.definitions(db)] == ["contract_no", "segment"]
        assert fields.definitions(db).version == 3
    with location_scope(world.loc_b.id):
        assert list(fields.definitions(db)) == []
    assert 'value="contract_no"' in text(client.get("/customers/fields?edit=contract_no"))
    url = f"/customers/{jan.id}/custom-fields"
    resp = post(client, url, {"cf-contract_no": "X-1", "cf-segment": "home"}, token_from=url)
    assert resp.status_code == 400
    resp = post(client, url, {"cf-contract_no": "S-42", "cf-segment": "biz"}, token_from=url)
    assert resp.status_code == 302, text(resp)
    with location_scope(world.loc_a.id):
        db.refresh(jan)
    assert jan.custom_fields == {"contract_no": "S-42", "segment": "biz"} and jan.custom_fields_version == 3
    card = text(client.get(f"/customers/{jan.id}"))
    assert re.search(r'data-field="segment">\s*Firma', card)
    assert "custom.contract_no" in text(client.get(f"/customers/{jan.id}?tab=history"))
    assert post(client, "/customers/fields/segment/remove", token_from="/customers/fields").status_code == 302
    post(client, "/logout")
    login(client, world.clerk_a.email)
    assert client.get("/customers/fields").status_code == 403


def test_set_custom_fields_service_refuses_bad_values(db, in_a):
    c = service.create_customer(db, **person())
    fields.save_definitions(db, [ParamDef(key="speed", label="Rychlost", type="integer", min=1, max=1000)])
    from mango_core.params import ParamValidationError

    with pytest.raises(ParamValidationError) as exc:
        fields.set_custom_fields(db, c, {"speed": "5000", "unknown": "x"})
    assert set(exc.value.errors) == {"speed", "unknown"} and c.custom_fields == {}
    assert fields.set_custom_fields(db, c, {"speed": "100"}) == {"custom.speed": (None, 100)}
