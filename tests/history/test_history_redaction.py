"""GDPR erasure against the append-only history: anonymising a customer really erases the personal
values from its history, and the database still refuses every other UPDATE and every DELETE."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from mango_core.customers import fields
from mango_core.customers import service as customers
from mango_core.history.models import REDACTED, HistoryEntry
from mango_core.params import ParamDef
from mango_core.services import service as svc
from mango_core.tenancy import location_scope, operator_scope
from tests.services.conftest import make_shop

PERSONAL = ("Novák", "Jan", "jan.novak@example.cz", "+420 601 123 456", "601123456", "Dlouhá 5", "Kladno",
            "7103192745", "1971-03-19", "tajná poznámka", "osobní poznámka", "modrá", "Sokolská 12")


@pytest.fixture
def in_a(app, world):
    with app.test_request_context(), location_scope(world.loc_a.id):
        yield world.loc_a


@pytest.fixture
def jan(db, in_a, world):
    """A former customer with every kind of personal data in the history, and a service."""
    fields.save_definitions(db, [ParamDef("colour", "Oblíbená barva", "text")])
    jan = customers.create_customer(db, first_name="Jan", last_name="Novák", birth_number="7103192745",
                                    note="tajná poznámka", actor=world.admin_a.id)
    customers.update_customer(db, jan, last_name="Nováček", actor=world.admin_a.id)
    customers.update_customer(db, jan, last_name="Novák", actor=world.admin_a.id)
    customers.add_contact(db, jan, name="Jan Novák", roles=["billing"], emails=["jan.novak@example.cz"],
                          phones=["+420 601 123 456"])
    customers.add_address(db, jan, street="Dlouhá 5", city="Kladno", postal_code="27201")
    place = customers.add_address(db, jan, kind="service_place", street="Sokolská 12", city="Kladno",
                                  postal_code="27201")
    customers.add_note(db, jan, "osobní poznámka")
    fields.set_custom_fields(db, jan, {"colour": "modrá"})
    shop = make_shop(db, [world.loc_a.id])
    service = svc.create_service(db, customer_id=jan.id, product_id=shop.net100.id, service_place_id=place.id,
                                 price="450.00", start_date=date(2024, 1, 1))
    customers.change_state(db, jan, "active")
    customers.change_state(db, jan, "former")
    db.flush()
    jan.service_id = service.id
    return jan


def rows_of(db, customer_id: int) -> list[HistoryEntry]:
    db.expire_all()
    return list(db.scalars(select(HistoryEntry).where(HistoryEntry.customer_id == customer_id)
                           .order_by(HistoryEntry.id)))


def values(rows: list[HistoryEntry]) -> str:
    return " | ".join(f"{r.before} {r.after}" for r in rows)


def test_anonymising_erases_personal_values_from_the_history(db, in_a, world, jan):
    other = customers.create_customer(db, first_name="Eva", last_name="Dvořáková")
    before = rows_of(db, jan.id)
    assert all(word in values(before) for word in ("Novák", "jan.novak@example.cz", "Dlouhá 5", "modrá",
                                                   "Sokolská 12", "7103192745", "osobní poznámka"))
    customers.anonymise(db, jan, actor=world.admin_a.id, reason="žádost o výmaz")
    db.flush()
    after = rows_of(db, jan.id)
    text_after = values(after)
    for word in PERSONAL:
        assert word not in text_after, word
    # the same entries, plus one "anonymised" entry; who, when, what and why stay
    assert [r.id for r in after[:-1]] == [r.id for r in before]
    assert after[-1].action == "anonymised" and after[-1].after is None and after[-1].redacted_at is None
    assert after[-1].user_id == world.admin_a.id and after[-1].reason == "žádost o výmaz"
    for old, new in zip(before, after[:-1], strict=True):
        assert (old.at, old.user_id, old.entity, old.action, old.field) == (new.at, new.user_id, new.entity,
                                                                            new.action, new.field)
    redacted = [r for r in after if r.redacted_at is not None]
    assert redacted and all(r.redacted_at == jan.anonymised_at for r in redacted)
    assert all(r.before in (None, REDACTED) and r.after in (None, REDACTED) for r in redacted)
    fields_redacted = {(r.entity, r.field) for r in redacted}
    assert {("customer", "last_name"), ("customer", "birth_number"), ("contact", "emails"), ("contact", "phones"),
            ("address", "street"), ("note", "text"), ("customer", "custom.colour"),
            ("service", "service_place")} <= fields_redacted
    # not personal: state, tariff and price stay readable
    kept = {(r.entity, r.field): (r.before, r.after) for r in after if r.redacted_at is None and r.field}
    assert kept[("customer", "state")] == ("active", "former")
    assert kept[("service", "product")] == (None, "NET100")
    assert kept[("service", "price")] == (None, "450.00")
    assert ("contact", "roles") in kept
    # another customer's history is untouched
    assert "Dvořáková" in values(rows_of(db, other.id))
    assert all(r.redacted_at is None for r in rows_of(db, other.id))


def _refused(db, statement: str, **params) -> None:  # noqa: ANN003
    nested = db.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement), params)
    nested.rollback()


REDACT = ("UPDATE core_history SET before = CASE WHEN before IS NULL THEN NULL ELSE '[redacted]' END, "
          "after = CASE WHEN after IS NULL THEN NULL ELSE '[redacted]' END, "
          "redacted_at = (SELECT anonymised_at FROM core_customer WHERE id = :anonymised)")


def test_the_database_refuses_every_other_change(db, in_a, world, jan):
    other = customers.create_customer(db, first_name="Eva", last_name="Dvořáková")
    customers.anonymise(db, jan, actor=world.admin_a.id)
    db.commit()
    with operator_scope():
        state_row = [r for r in rows_of(db, jan.id) if r.field == "state"][-1]
        redacted_row = next(r for r in rows_of(db, jan.id) if r.redacted_at is not None)
        other_row = next(r for r in rows_of(db, other.id) if r.field == "last_name")
    ids = {"anonymised": jan.id, "row": state_row.id}
    # the redaction's own form, but with another column changed as well
    _refused(db, REDACT + ", reason = 'x' WHERE id = :row", **ids)
    _refused(db, REDACT + ", action = 'x' WHERE id = :row", **ids)
    _refused(db, REDACT + ", user_id = :user WHERE id = :row", user=world.admin_b.id, **ids)
    _refused(db, REDACT + ", at = effective_date WHERE id = :row", **ids)
    _refused(db, REDACT + ", field = 'x' WHERE id = :row", **ids)
    _refused(db, REDACT + ", customer_id = :other WHERE id = :row", other=other.id, **ids)
    # a value other than the marker, or the marker without the stamp
    _refused(db, "UPDATE core_history SET after = 'hello', redacted_at = "
                 "(SELECT anonymised_at FROM core_customer WHERE id = :anonymised) WHERE id = :row", **ids)
    _refused(db, "UPDATE core_history SET after = '[redacted]' WHERE id = :row", row=state_row.id)
    # a stamp that is not the customer's anonymisation time
    _refused(db, "UPDATE core_history SET after = '[redacted]', redacted_at = at WHERE id = :row", row=state_row.id)
    # another (not anonymised) customer's row, even in the exact form of the redaction
    _refused(db, REDACT + " WHERE id = :row", anonymised=jan.id, row=other_row.id)
    # a row redacted once stays as it is
    _refused(db, REDACT + " WHERE id = :row", anonymised=jan.id, row=redacted_row.id)
    _refused(db, "UPDATE core_history SET redacted_at = NULL WHERE id = :row", row=redacted_row.id)
    # plain changes and deletes, as before
    _refused(db, "UPDATE core_history SET reason = 'x' WHERE id = :row", row=other_row.id)
    _refused(db, "DELETE FROM core_history WHERE id = :row", row=redacted_row.id)
    _refused(db, "DELETE FROM core_history WHERE customer_id = :c", c=other.id)
    with operator_scope():
        assert "Dvořáková" in values(rows_of(db, other.id))
        assert next(r for r in rows_of(db, jan.id) if r.id == state_row.id).after == "former"


def test_only_the_anonymisation_redacts(db, in_a, world, jan):
    """Before the customer is anonymised even the exact redaction is refused."""
    row = next(r for r in rows_of(db, jan.id) if r.field == "last_name")
    db.commit()
    _refused(db, "UPDATE core_history SET after = '[redacted]', redacted_at = at WHERE id = :row", row=row.id)
    _refused(db, REDACT + " WHERE customer_id = :anonymised", anonymised=jan.id)


def test_the_card_and_the_export_show_erased_values(client, db, in_a, world, jan):
    from mango_core.testing.fixtures import login, post

    customers.anonymise(db, jan, actor=world.admin_a.id)
    db.commit()
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    tab = client.get(f"/customers/{jan.id}?tab=history").get_data(as_text=True)
    assert "vymazáno" in tab and 'data-action="anonymised"' in tab
    for word in ("Novák", "jan.novak@example.cz", "Dlouhá 5"):
        assert word not in tab
    exported = client.get(f"/customers/{jan.id}/history.csv").get_data(as_text=True)
    assert REDACTED in exported and "Novák" not in exported and "former" in exported
