"""The search box (every key, diacritics, plugins) and the list (filters, sorting, keyset pages)."""

from __future__ import annotations

import pytest
from customer_data import company, person

from mango_core.customers import search, service
from mango_core.customers.search import Filters, list_customers
from mango_core.tenancy import location_scope


@pytest.fixture
def people(db, in_a):
    jan = service.create_customer(db, **person(first_name="Jiří", last_name="Šťastný", variable_symbol="9876543"))
    service.add_contact(db, jan, name="Jiří Šťastný", emails=["jiri.stastny@seznam.cz"], phones=["+420 777 123 456"])
    service.add_address(db, jan, street="Vinohradská 1234/56", city="Praha 2", postal_code="12000")
    firm = service.create_customer(db, **company(company_name="Stavby Horák s.r.o."))
    other = service.create_customer(db, **person(first_name="Eva", last_name="Malá"))
    service.add_contact(db, other, name="Eva", phones=["602 000 111"], emails=["eva@example.cz"])
    return jan, firm, other


def found(db, query):
    return {c.id for c in list_customers(db, Filters(query=query)).items}


@pytest.mark.parametrize(("query", "who"), [
    ("stastny", "jan"), ("Šťastný", "jan"), ("jiri st", "jan"), ("ŠŤASTNÝ JIŘÍ", "jan"),
    ("1", "jan"),  # customer number (prefix: also VS/phones starting with 1 — none here)
    ("9876543", "jan"), ("98765", "jan"),  # variable symbol
    ("27082440", "firm"), ("CZ27082440", "firm"),  # IČO, DIČ
    ("jiri.stastny@seznam.cz", "jan"), ("Jiri.Stastny@", "jan"),  # e-mail
    ("+420 777 123 456", "jan"), ("777123456", "jan"), ("00420777123", "jan"), ("777 123", "jan"),  # phone
    ("602000111", "other"),
    ("vinohradska", "jan"), ("praha", "jan"), ("12000", "jan"),  # address
    ("stavby", "firm"),
])
def test_search_finds_by_every_key(db, people, query, who):
    jan, firm, other = people
    assert found(db, query) == {{"jan": jan, "firm": firm, "other": other}[who].id}


def test_search_is_scoped_and_plugins_extend_it(db, people, world, app):
    jan, _firm, _other = people
    assert found(db, "neexistuje") == set()
    assert found(db, f"EX-{jan.number}") == {jan.id}  # the example plugin's key
    with location_scope(world.loc_b.id):
        assert found(db, "stastny") == set()
        assert found(db, f"EX-{jan.number}") == set()  # example is not enabled in BRN


def test_index_follows_changes(db, people):
    jan, _firm, _other = people
    service.update_customer(db, jan, last_name="Veselý")
    assert found(db, "stastny") == {jan.id}  # the contact is still named Šťastný
    service.remove_contact(db, jan.contacts[0])
    assert found(db, "stastny") == set() and found(db, "vesely") == {jan.id}
    assert found(db, "777123456") == set()


def test_keyset_pages_cover_everything_once(db, in_a):
    made = [service.create_customer(db, **person(first_name="Jan", last_name=name))
            for name in ["Černý", "Adam", "Bílý", "Čapek", "adam", "Žák", "Zíka", "Dvořák", "Chalupa", "Eliáš", "Adam"]]
    tag = service.add_tag(db, made[0], "VIP")
    service.add_tag(db, made[5], "VIP")
    for sort, key in [("name", lambda c: (c.sort_name, c.id)), ("number", lambda c: c.number),
                      ("created", lambda c: -c.id)]:
        seen, cursor = [], None
        for _ in range(10):
            page = list_customers(db, Filters(sort=sort), after=cursor, limit=3)
            seen.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert [c.id for c in seen] == [c.id for c in sorted(made, key=key)], sort
    assert {c.id for c in list_customers(db, Filters(tag_id=tag.id)).items} == {made[0].id, made[5].id}
    service.change_state(db, made[1], "active")
    assert [c.id for c in list_customers(db, Filters(state="active")).items] == [made[1].id]
    service.set_parent(db, made[2], made[3].id)
    assert [c.id for c in list_customers(db, Filters(structure="children")).items] == [made[2].id]
    assert [c.id for c in list_customers(db, Filters(structure="parents")).items] == [made[3].id]
    assert len(list_customers(db, Filters(structure="top")).items) == len(made) - 1
    # a garbled cursor starts again from the first page
    assert list_customers(db, Filters(), after="garbage!!").items[0].id == sorted(made, key=lambda c: (c.sort_name, c.id))[0].id
    assert search.decode_cursor(search.encode_cursor(["x", True]), "name") is None
