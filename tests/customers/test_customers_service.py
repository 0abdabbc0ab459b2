"""Customer services: validation, numbering, state, structure, contacts, addresses, tags, GDPR, events."""

from __future__ import annotations

from datetime import date

import pytest
from customer_data import company, person
from sqlalchemy import func, select

from mango_core.customers import service
from mango_core.customers.models import Customer, CustomerContactChannel, CustomerNote
from mango_core.history.models import HistoryEntry
from mango_core.tenancy import location_scope
from mango_example import plugin as example_plugin


def history_of(db, customer, action=None):
    stmt = select(HistoryEntry).where(HistoryEntry.customer_id == customer.id).order_by(HistoryEntry.id)
    if action:
        stmt = stmt.where(HistoryEntry.action == action)
    return list(db.scalars(stmt))


def count(db, model=Customer):
    return db.scalar(select(func.count()).select_from(model))


def test_create_person_numbers_and_history(db, in_a, world):
    a = service.create_customer(db, actor=world.admin_a.id, **person(birth_number="710319/2745"))
    b = service.create_customer(db, **company())
    assert (a.number, b.number) == (1, 2)
    assert a.variable_symbol == "1" and b.variable_symbol == "2"
    assert a.display_name == "Jan Novák" and a.sort_name == "novak jan"
    assert a.birth_number == "7103192745" and a.birth_date == date(1971, 3, 19)
    assert b.display_name == "Stavby Šťastný s.r.o." and b.sort_name == "stavby stastny s.r.o."
    assert a.state == "lead" and a.state_changed_on == date.today()
    created = {h.field: h for h in history_of(db, a, "created")}
    assert created["number"].after == "1" and created["last_name"].after == "Novák"
    assert {h.user_id for h in created.values()} == {world.admin_a.id}
    assert all(h.location_id == world.loc_a.id for h in created.values())


def test_numbers_are_per_location(db, world, app):
    with app.app_context():
        with location_scope(world.loc_a.id):
            service.create_customer(db, **person())
            service.create_customer(db, **person())
        with location_scope(world.loc_b.id):
            assert service.create_customer(db, **person()).number == 1


@pytest.mark.parametrize(("data", "field"), [
    (person(last_name=""), "last_name"),
    (company(company_name=" "), "company_name"),
    (company(ico="27082441"), "ico"),
    (company(dic="CZ12"), "dic"),
    (person(birth_number="7103192746"), "birth_number"),
    (person(birth_number="7103192745", birth_date="1971-03-20"), "birth_date"),
    (person(birth_date="2999-01-01"), "birth_date"),
    (person(variable_symbol="12345678901"), "variable_symbol"),
    (person(variable_symbol="12a"), "variable_symbol"),
    ({"kind": "alien", "last_name": "X"}, "kind"),
])
def test_bad_input_changes_nothing(db, in_a, data, field):
    before = count(db), count(db, HistoryEntry)
    with pytest.raises(service.CustomerError) as exc:
        service.create_customer(db, **data)
    assert exc.value.field == field
    assert (count(db), count(db, HistoryEntry)) == before
    assert isinstance(exc.value, ValueError)


def test_variable_symbol_is_unique_and_a_refused_number_is_reused(db, in_a):
    service.create_customer(db, **person(variable_symbol="2"))  # number 1, VS 2
    with pytest.raises(service.CustomerError) as exc:
        service.create_customer(db, **person())  # number 2 would get VS 2: refused
    assert exc.value.field == "variable_symbol"
    third = service.create_customer(db, **person(variable_symbol="777"))
    assert third.number == 2  # the refused number was given back: no gap


def test_error_messages_are_czech_in_a_czech_request(app, db, world):
    with app.test_request_context(), location_scope(world.loc_a.id):
        with pytest.raises(service.CustomerError) as exc:
            service.create_customer(db, **company(ico="27082441"))
        assert "kontrolní číslici" in str(exc.value)


def test_update_records_each_changed_field_with_author(db, in_a, world):
    c = service.create_customer(db, **person())
    changes = service.update_customer(db, c, actor=world.admin_a.id, reason="oprava", last_name="Nováková",
                                      first_name="Jana", marketing_consent=True)
    assert changes["last_name"] == ("Novák", "Nováková")
    assert c.marketing_consent_at is not None
    rows = {h.field: h for h in history_of(db, c, "updated")}
    assert set(rows) == {"last_name", "first_name", "display_name", "marketing_consent"}
    assert rows["last_name"].before == "Novák" and rows["last_name"].after == "Nováková"
    assert rows["marketing_consent"].after == "true" and rows["last_name"].reason == "oprava"
    assert rows["last_name"].user_id == world.admin_a.id
    assert service.update_customer(db, c, last_name="Nováková") == {}
    with pytest.raises(service.CustomerError):
        service.update_customer(db, c, ico="123")
    db.refresh(c)
    assert c.ico is None and c.last_name == "Nováková"


def test_state_changes(db, in_a):
    c = service.create_customer(db, **person())
    with pytest.raises(service.CustomerError):
        service.change_state(db, c, "lead")
    service.change_state(db, c, "active", on=date(2025, 1, 1), reason="smlouva")
    assert (c.state, c.activated_on, c.state_changed_on) == ("active", date(2025, 1, 1), date(2025, 1, 1))
    service.change_state(db, c, "former", on=date(2025, 6, 30))
    assert c.terminated_on == date(2025, 6, 30)
    service.change_state(db, c, "active", on=date(2025, 9, 1))
    assert c.terminated_on is None and c.activated_on == date(2025, 9, 1)
    rows = history_of(db, c, "state_changed")
    states = [(h.before, h.after, h.effective_date) for h in rows if h.field == "state"]
    assert states == [("lead", "active", date(2025, 1, 1)), ("active", "former", date(2025, 6, 30)),
                      ("former", "active", date(2025, 9, 1))]


def test_parent_structure_refuses_cycles_and_other_locations(db, world, app):
    with app.app_context():
        with location_scope(world.loc_b.id):
            foreign = service.create_customer(db, **company())
        with location_scope(world.loc_a.id):
            firm = service.create_customer(db, **company())
            branch = service.create_customer(db, **company(company_name="Pobočka Brno"))
            shop = service.create_customer(db, **company(company_name="Prodejna"))
            service.set_parent(db, branch, firm.id, bill_to_parent=True)
            service.set_parent(db, shop, branch.id)
            assert branch.parent is firm and firm.children == [branch]
            with pytest.raises(service.CustomerError):
                service.set_parent(db, firm, shop.id)  # firm -> shop -> branch -> firm
            with pytest.raises(service.CustomerError):
                service.set_parent(db, firm, firm.id)
            with pytest.raises(service.CustomerError):
                service.set_parent(db, firm, foreign.id)
            with pytest.raises(service.CustomerError):
                service.set_parent(db, firm, None, bill_to_parent=True)
            assert firm.parent_id is None
            rows = history_of(db, branch, "parent_changed")
            assert {(h.field, h.after) for h in rows} == {("parent", str(firm.number)), ("bill_to_parent", "true")}
            service.set_parent(db, branch, None)
            assert branch.parent_id is None and branch.bill_to_parent is False


def test_contacts_and_addresses(db, in_a):
    c = service.create_customer(db, **person())
    contact = service.add_contact(db, c, name="Jan Novák", roles=["billing", "owner"],
                                  emails=["Jan.Novak@Seznam.CZ", "jan@firma.cz"], phones=["+420 777 123 456"])
    assert contact.roles == ["billing", "owner"]
    assert [e.value for e in contact.emails] == ["Jan.Novak@seznam.cz", "jan@firma.cz"]
    assert contact.emails[0].is_primary and not contact.emails[1].is_primary
    assert contact.phones[0].value == "+420777123456" and contact.phones[0].search_value == "777123456"
    with pytest.raises(service.CustomerError):
        service.add_contact(db, c, name="X", emails=["not-an-email"])
    with pytest.raises(service.CustomerError):
        service.add_contact(db, c, name="X", phones=["12345"])
    with pytest.raises(service.CustomerError):
        service.add_contact(db, c, name="X")  # no channel at all
    changes = service.update_contact(db, contact, name="Jan Novák", roles=["technical"], phones=["00420 602 000 111"])
    assert set(changes) == {"roles", "emails", "phones"}
    assert db.scalar(select(func.count()).select_from(CustomerContactChannel)) == 1
    address = service.add_address(db, c, kind="service_place", street="Dlouhá 5", city="Praha 1",
                                  postal_code="110 00", latitude="50,0875", longitude="14.4213")
    assert (address.postal_code, address.latitude) == ("11000", 50.0875)
    assert address.one_line == "Dlouhá 5, 110 00 Praha 1"
    for bad in ({"postal_code": "1100"}, {"latitude": "95", "longitude": "14"}, {"latitude": "50"},
                {"kind": "moon"}, {"street": ""}):
        with pytest.raises(service.CustomerError):
            service.add_address(db, c, **{"street": "A 1", "city": "B", **bad})
    service.update_address(db, address, city="Praha 2")
    service.remove_address(db, address)
    service.remove_contact(db, contact)
    actions = [h.action for h in history_of(db, c)]
    for action in ("contact_added", "contact_changed", "address_added", "address_changed", "address_removed",
                   "contact_removed"):
        assert action in actions
    assert c.contacts == [] and c.addresses == []


def test_tags_and_notes(db, in_a, world):
    a = service.create_customer(db, **person())
    b = service.create_customer(db, **person())
    vip = service.add_tag(db, a, " VIP ")
    assert service.add_tag(db, b, "vip").id == vip.id  # tags are unique per location, case-insensitive
    service.add_tag(db, a, "Dlužník")
    assert [t.name for t in a.tags] == ["Dlužník", "VIP"]
    service.remove_tag(db, a, vip.id)
    assert [t.name for t in a.tags] == ["Dlužník"]
    with pytest.raises(service.CustomerError):
        service.remove_tag(db, a, vip.id)
    with pytest.raises(service.CustomerError):
        service.add_tag(db, a, "x" * 51)
    service.add_note(db, a, "Volal kvůli faktuře", actor=world.admin_a.id)
    assert [n.text for n in service.list_notes(db, a)] == ["Volal kvůli faktuře"]
    tag_rows = [(h.before, h.after) for h in history_of(db, a) if h.field == "tags"]
    assert tag_rows[-1] == ('["Dlužník", "VIP"]', '["Dlužník"]')


def test_anonymise_keeps_number_and_history(db, in_a, world):
    c = service.create_customer(db, **person(birth_number="7103192745", note="tajné"))
    service.add_contact(db, c, name="Jan Novák", emails=["jan@novak.cz"])
    service.add_address(db, c, street="Dlouhá 5", city="Praha")
    service.add_note(db, c, "osobní poznámka")
    service.change_state(db, c, "active")
    with pytest.raises(service.CustomerError):
        service.anonymise(db, c)  # an active customer is still served
    service.change_state(db, c, "former")
    history_before = len(history_of(db, c))
    service.anonymise(db, c, actor=world.admin_a.id, reason="žádost zákazníka")
    assert (c.number, c.variable_symbol, c.state) == (1, "1", "former")
    assert c.first_name is None and c.last_name is None and c.birth_number is None and c.note is None
    assert c.contacts == [] and c.addresses == [] and c.display_name == "#1"
    assert count(db, CustomerNote) == 0
    rows = history_of(db, c)
    assert len(rows) == history_before + 1 and rows[-1].action == "anonymised" and rows[-1].after is None
    with pytest.raises(service.CustomerError):
        service.update_customer(db, c, last_name="Zpět")


def test_events_reach_only_plugins_enabled_in_the_location(db, world, app):
    """The example plugin is enabled in PRG (loc_a) only."""
    with app.app_context():
        with location_scope(world.loc_a.id):
            a = service.create_customer(db, **person())
            service.update_customer(db, a, last_name="Dvořák")
        with location_scope(world.loc_a2.id):
            service.create_customer(db, **person())
        with location_scope(world.loc_b.id):
            b = service.create_customer(db, **person())
            service.change_state(db, b, "active")
    events = example_plugin.CUSTOMER_EVENTS
    assert [(e["event"], e["location_id"]) for e in events] == [("created", world.loc_a.id),
                                                                ("changed", world.loc_a.id)]
    assert events[1]["changes"]["last_name"] == ("Novák", "Dvořák")
