"""The append-only history: what ``record`` writes, that the database refuses changes, the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from mango_core import history
from mango_core.customers import service
from mango_core.history.models import HistoryEntry
from mango_core.history.recorder import HistoryError, as_text
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post


def login_in_prg(client, world, user=None) -> None:
    """admin_a lands in KLA (first by code); the customers of these tests live in PRG."""
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


@pytest.fixture
def customer(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        c = service.create_customer(db, actor=world.admin_a.id, kind="person", first_name="Jan", last_name="Novák")
        service.update_customer(db, c, actor=world.admin_a.id, reason="svatba", last_name="=Nováková")
        service.change_state(db, c, "active", on=date(2025, 3, 1))
        db.commit()
    return c


def test_record_writes_one_row_per_changed_field(db, world):
    with location_scope(world.loc_a.id):
        rows = history.record(db, entity="service", entity_id=7, customer_id=None, action="price_changed",
                              changes={"price": (100, 120), "note": ("a", "a"), "until": (None, date(2025, 1, 31))},
                              reason=" sleva ", effective=date(2025, 2, 1), user_id=world.admin_a.id)
        assert [(r.field, r.before, r.after) for r in rows] == [("price", "100", "120"), ("until", None, "2025-01-31")]
        assert {(r.reason, r.effective_date, r.location_id) for r in rows} == {("sleva", date(2025, 2, 1), world.loc_a.id)}
        assert history.record(db, entity="service", entity_id=7, customer_id=None, action="x",
                              changes={"a": (1, 1)}) == []
        bare = history.record(db, entity="service", entity_id=7, customer_id=None, action="activated")
        assert len(bare) == 1 and bare[0].field is None and bare[0].user_id is None
        with pytest.raises(HistoryError):
            history.record(db, entity="", entity_id=None, customer_id=None, action="x")
    assert as_text(True) == "true" and as_text(["b", "a"]) == '["b", "a"]' and as_text({"x": "č"}) == '{"x": "č"}'


def test_the_database_refuses_to_change_history(db, world, customer):
    with location_scope(world.loc_a.id):
        entry = db.scalars(select(HistoryEntry).where(HistoryEntry.customer_id == customer.id)).first()
        for statement in (update(HistoryEntry).where(HistoryEntry.id == entry.id).values(reason="přepsáno"),
                          delete(HistoryEntry).where(HistoryEntry.id == entry.id)):
            with pytest.raises(DBAPIError, match="append-only"):
                with db.begin_nested():
                    db.execute(statement)
    for sql in ("UPDATE core_history SET reason = 'x'", "DELETE FROM core_history"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.begin_nested():
                db.connection().execute(text(sql))


def test_history_tab_shows_each_step_with_its_author(client, world, customer):
    login_in_prg(client, world)
    page = client.get(f"/customers/{customer.id}?tab=history").get_data(as_text=True)
    assert 'id="history"' in page and "Adam Alfa" in page and "svatba" in page and "state_changed" in page
    filtered = client.get(f"/customers/{customer.id}?tab=history&action=state_changed").get_data(as_text=True)
    assert "state_changed" in filtered and "svatba" not in filtered
    dated = client.get(f"/customers/{customer.id}?tab=history&since=2999-01-01").get_data(as_text=True)
    assert "Žádné změny" in dated


def test_csv_export_for_czech_excel(client, world, customer):
    login_in_prg(client, world)
    resp = client.get(f"/customers/{customer.id}/history.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["id", "at", "effective_date", "user", "entity", "entity_id", "action", "field", "before",
                       "after", "reason"]
    by_field = {(r[6], r[7]): r for r in rows[1:]}
    assert by_field[("updated", "last_name")][8:] == ["Novák", "'=Nováková", "svatba"]  # no formula for Excel
    assert by_field[("updated", "last_name")][3] == "Adam Alfa"
    assert by_field[("state_changed", "state")][2] == "2025-03-01" and by_field[("state_changed", "state")][3] == "system"
    only = client.get(f"/customers/{customer.id}/history.csv?action=created").get_data().decode("utf-8-sig")
    assert all(r[6] == "created" for r in list(csv.reader(io.StringIO(only), delimiter=";"))[1:])


def test_csv_export_needs_its_permission_and_the_location(client, world, customer, db):
    login_in_prg(client, world, world.clerk_a)
    assert client.get(f"/customers/{customer.id}/history.csv").status_code == 403
    post(client, "/logout")
    login(client, world.admin_b.email)
    assert client.get(f"/customers/{customer.id}/history.csv").status_code == 404
