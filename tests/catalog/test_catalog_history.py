"""Catalogue edits in the history: every create/change/deactivation of a class (new parameter versions
included) and of a product, with author and before → after; shown and exported on the pages,
shared by the partner's locations, never shown to another partner."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mango_core.catalog import service as catalog
from mango_core.history.models import HistoryEntry
from mango_core.params import ParamDef
from mango_core.tenancy import location_scope, operator_scope
from mango_core.testing.fixtures import login, post

SPEED = ParamDef("download", "Download", "integer", required=True, min=1, unit="Mbit/s")


def entries(db, entity: str, entity_id: int, action: str | None = None) -> list[HistoryEntry]:
    with operator_scope():
        stmt = select(HistoryEntry).where(HistoryEntry.entity == entity, HistoryEntry.entity_id == entity_id)
        if action:
            stmt = stmt.where(HistoryEntry.action == action)
        return list(db.scalars(stmt.order_by(HistoryEntry.id)))


def by_field(rows: list[HistoryEntry]) -> dict[str | None, tuple[str | None, str | None]]:
    return {r.field: (r.before, r.after) for r in rows}


def test_class_create_change_and_deactivate(db, in_a, world):
    cls = catalog.create_class(db, name="Internet", description="Pevné", params=[SPEED], actor=world.admin_a.id)
    created = entries(db, "service_class", cls.id, "created")
    assert {r.user_id for r in created} == {world.admin_a.id}
    assert {r.customer_id for r in created} == {None} and {r.location_id for r in created} == {world.loc_a.id}
    fields = by_field(created)
    assert fields["name"] == (None, "Internet") and fields["version"] == (None, "1")
    assert json.loads(fields["params.download"][1])["unit"] == "Mbit/s"

    catalog.update_class(db, cls, name="Internet FTTH", kind="other", description="Pevné", actor=world.admin_a.id)
    assert by_field(entries(db, "service_class", cls.id, "updated")) == {"name": ("Internet", "Internet FTTH")}
    catalog.update_class(db, cls, name="Internet FTTH", kind="other", description="Pevné", is_active=False,
                         actor=world.admin_a.id)
    assert by_field(entries(db, "service_class", cls.id, "deactivated")) == {"is_active": ("true", "false")}
    catalog.update_class(db, cls, name="Internet FTTH", kind="other", description="Pevné", is_active=True)
    assert by_field(entries(db, "service_class", cls.id, "reactivated")) == {"is_active": ("false", "true")}
    # nothing changed: nothing recorded
    count = len(entries(db, "service_class", cls.id))
    assert catalog.update_class(db, cls, name="Internet FTTH", kind="other", description="Pevné") == {}
    assert len(entries(db, "service_class", cls.id)) == count


def test_new_class_versions_record_the_changed_definitions(db, in_a, world):
    cls = catalog.create_class(db, name="Internet", params=[SPEED])
    catalog.set_param(db, cls, ParamDef("ipv4", "IPv4", "ipv4"), actor=world.admin_a.id)
    catalog.set_param(db, cls, ParamDef("download", "Download", "integer", required=True, min=10, unit="Mbit/s"),
                      actor=world.admin_a.id)
    catalog.remove_param(db, cls, "ipv4", actor=world.admin_a.id)
    catalog.save_definitions(db, cls, list(catalog.definitions(db, cls)))  # the same: no version, no entry
    versions = entries(db, "service_class", cls.id, "version_created")
    assert [by_field([r for r in versions if r.after == str(v) and r.field == "version"])["version"]
            for v in (2, 3, 4)] == [("1", "2"), ("2", "3"), ("3", "4")]
    added = next(r for r in versions if r.field == "params.ipv4" and r.before is None)
    assert json.loads(added.after)["type"] == "ipv4" and added.user_id == world.admin_a.id
    changed = next(r for r in versions if r.field == "params.download")
    assert json.loads(changed.before)["min"] == 1 and json.loads(changed.after)["min"] == 10
    removed = next(r for r in versions if r.field == "params.ipv4" and r.after is None)
    assert json.loads(removed.before)["key"] == "ipv4"
    assert len([r for r in versions if r.field == "version"]) == 3


def test_product_create_change_and_withdraw(db, in_a, world):
    cls = catalog.create_class(db, name="Internet", params=[SPEED])
    product = catalog.create_product(db, class_id=cls.id, name="Net 100", code="NET100", price="499.00",
                                     vat_rate="21", defaults={"download": "100"}, valid_from=date(2024, 1, 1),
                                     location_ids=[world.loc_a.id], actor=world.admin_a.id)
    created = by_field(entries(db, "product", product.id, "created"))
    assert created["price"] == (None, "499.00") and created["vat_rate"] == (None, "21.00")
    assert created["defaults.download"] == (None, "100") and created["locations"] == (None, '["PRG"]')
    assert created["class"] == (None, "Internet") and created["valid_from"] == (None, "2024-01-01")

    catalog.update_product(db, product, name="Net 100+", price="549.90", vat_rate="12", second_price="1000.00",
                           second_price_label="Zřízení", billing_plan={"plan": "monthly"},
                           defaults={"download": "150"}, location_ids=[world.loc_a.id, world.loc_a2.id],
                           valid_until=date.today() + timedelta(days=100), actor=world.admin_a.id)
    updated = entries(db, "product", product.id, "updated")
    changes = by_field(updated)
    assert changes["name"] == ("Net 100", "Net 100+") and changes["price"] == ("499.00", "549.90")
    assert changes["vat_rate"] == ("21.00", "12.00") and changes["second_price"] == (None, "1000.00")
    assert changes["billing_plan"] == (None, '{"plan": "monthly"}')
    assert changes["defaults.download"] == ("100", "150")
    assert changes["locations"] == ('["PRG"]', '["KLA", "PRG"]')
    assert changes["valid_until"][0] is None
    assert {r.user_id for r in updated} == {world.admin_a.id}
    assert "code" not in changes  # unchanged fields are left out

    catalog.update_product(db, product, valid_until=date.today() - timedelta(days=1), actor=world.admin_a.id)
    withdrawn = entries(db, "product", product.id, "withdrawn")
    assert [r.field for r in withdrawn] == ["valid_until"]
    catalog.update_product(db, product, valid_until=None)
    catalog.set_availability(db, product, [], actor=world.admin_a.id)
    assert by_field(entries(db, "product", product.id, "withdrawn"))["locations"] == ('["KLA", "PRG"]', "[]")


def test_refused_change_records_nothing(db, in_a):
    cls = catalog.create_class(db, name="Internet", params=[SPEED])
    product = catalog.create_product(db, class_id=cls.id, name="Net", code="NET", price="1.00")
    before = len(entries(db, "product", product.id))
    with pytest.raises(catalog.CatalogError):
        catalog.update_product(db, product, price="-1")
    assert len(entries(db, "product", product.id)) == before


# --- the pages --------------------------------------------------------------------------------------------


@pytest.fixture
def data(app, db, world):
    ids = {}
    with app.test_request_context(), location_scope(world.loc_a.id):
        cls = catalog.create_class(db, name="VoIP", params=[ParamDef("number", "Phone number", "text")],
                                   actor=world.admin_a.id)
        product = catalog.create_product(db, class_id=cls.id, name="Hlas", code="VOIP1", price="99.00",
                                         location_ids=[world.loc_a.id, world.loc_a2.id], actor=world.admin_a.id)
        ids["class"], ids["product"] = cls.id, product.id
    with app.test_request_context(), location_scope(world.loc_a2.id):  # a change made in KLA
        catalog.update_product(db, catalog.get_product(db, ids["product"]), price="109.00", actor=world.admin_a.id)
    with app.test_request_context(), location_scope(world.loc_b.id):
        other = catalog.create_class(db, name="Beta TV")
        ids["foreign_product"] = catalog.create_product(db, class_id=other.id, name="TV", code="TV", price="7.77").id
    db.commit()
    return ids


@pytest.fixture
def admin(client, world, data):  # noqa: ANN001, ANN201
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    return client


def history_section(client, url: str) -> str:  # noqa: ANN001
    page = client.get(url).get_data(as_text=True)
    assert 'id="object-history"' in page
    return page.split('id="object-history"', 1)[1]


def test_product_page_shows_the_partners_history(admin, data, world):
    section = history_section(admin, f"/catalog/products/{data['product']}")
    assert "99.00" in section and "109.00" in section  # made in PRG and in KLA
    assert "KLA" in section and "PRG" in section and "Adam Alfa" in section
    assert "7.77" not in section
    filtered = history_section(admin, f"/catalog/products/{data['product']}?action=created")
    assert "109.00" not in filtered and "99.00" in filtered
    assert "action=created" in filtered  # the export keeps the filter
    assert admin.get(f"/catalog/products/{data['foreign_product']}/history.csv").status_code == 404


def test_product_history_csv(admin, data):
    response = admin.get(f"/catalog/products/{data['product']}/history.csv?action=updated")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][-1] == "location" and rows[0][:3] == ["id", "at", "effective_date"]
    assert [(r[6], r[7], r[8], r[9], r[11]) for r in rows[1:]] == [("updated", "price", "99.00", "109.00", "KLA")]


def test_class_page_shows_history_and_edits_are_recorded(admin, data, db, world):
    url = f"/catalog/classes/{data['class']}"
    response = post(admin, url, {"name": "Hlas", "kind": "other", "description": "", "is_active": ""}, token_from=url)
    assert response.status_code == 302
    page = admin.get(url).get_data(as_text=True)
    assert 'id="object-history"' in page and "deactivated" in page
    rows = entries(db, "service_class", data["class"], "deactivated")
    assert {r.user_id for r in rows} == {world.admin_a.id}
    assert by_field(rows) == {"name": ("VoIP", "Hlas"), "is_active": ("true", "false")}
    csv_body = admin.get(f"{url}/history.csv").get_data(as_text=True)
    assert "deactivated" in csv_body and "params.number" in csv_body


def test_history_needs_the_catalogue_permission(client, world, data):
    login(client, world.clerk_a.email)
    assert client.get(f"/catalog/products/{data['product']}/history.csv").status_code == 403
    assert client.get(f"/catalog/classes/{data['class']}/history.csv").status_code == 403
