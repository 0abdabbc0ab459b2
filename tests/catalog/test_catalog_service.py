"""Service classes (versioned parameters, kinds) and products (prices, validity, availability)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from mango_core.catalog import service as catalog
from mango_core.catalog.kinds import class_kinds
from mango_core.catalog.models import Product, ServiceClass
from mango_core.params import ParamDef, ParamValidationError
from mango_core.tenancy import location_scope

SPEED = ParamDef("download", "Download", "integer", required=True, min=1, unit="Mbit/s")


def test_kinds_come_from_plugins_enabled_in_the_location(app, world):
    with app.app_context():
        assert {"other", "example"} <= set(class_kinds(world.loc_a.id))
        assert set(class_kinds(world.loc_b.id)) == {"other"}  # the example plugin is off in BRN
        assert class_kinds(world.loc_a.id)["example"].plugin == "example"


def test_class_versions_are_kept(db, in_a, world):
    cls = catalog.create_class(db, name="Internet", params=[SPEED], actor=world.admin_a.id)
    assert (cls.version, len(cls.versions)) == (1, 1)
    same = catalog.save_definitions(db, cls, [SPEED])
    assert not same.changed and cls.version == 1
    report = catalog.set_param(db, cls, ParamDef("ipv4", "IPv4", "ipv4"))
    assert report.changed and cls.version == 2
    assert catalog.definitions(db, cls, 1).keys() == ["download"]
    assert catalog.definitions(db, cls).keys() == ["download", "ipv4"]
    catalog.remove_param(db, cls, "ipv4")
    assert cls.version == 3 and [v.version for v in cls.versions] == [1, 2, 3]
    with pytest.raises(catalog.NotFound):
        catalog.remove_param(db, cls, "ipv4")


def test_class_names_and_kinds_are_checked(db, in_a):
    catalog.create_class(db, name="VoIP")
    with pytest.raises(catalog.CatalogError):
        catalog.create_class(db, name="VoIP")
    with pytest.raises(catalog.CatalogError):
        catalog.create_class(db, name="TV", kind="Bad Kind")
    with pytest.raises(catalog.CatalogError):
        catalog.create_class(db, name="TV", kind="tv", known_kinds=["other"])
    assert catalog.create_class(db, name="TV", kind="tv").kind == "tv"


def _product(db, cls, **kw):  # noqa: ANN001, ANN202
    data = {"name": "Internet 100", "code": "NET100", "price": "499.90", "vat_rate": "21",
            "valid_from": date(2024, 1, 1)}
    return catalog.create_product(db, class_id=cls.id, **{**data, **kw})


def test_product_money_is_exact(db, in_a, world):
    cls = catalog.create_class(db, name="Internet", params=[SPEED])
    product = _product(db, cls, second_price="1 500,50", location_ids=[world.loc_a.id])
    db.commit()
    db.expire_all()
    fresh = db.get(Product, product.id)
    assert (fresh.price, fresh.second_price, fresh.vat_rate) == (Decimal("499.90"), Decimal("1500.50"), Decimal("21.00"))
    for bad in ("499.999", "-1", "abc", "NaN", 499.9):
        with pytest.raises(catalog.CatalogError):
            catalog.update_product(db, fresh, price=bad)
    for bad_rate in ("15", "x", "21.5"):
        with pytest.raises(catalog.CatalogError):
            catalog.update_product(db, fresh, vat_rate=bad_rate)
    assert catalog.update_product(db, fresh, vat_rate="12 %")["vat_rate"] == (Decimal("21.00"), Decimal("12.00"))


@given(st.decimals(min_value=0, max_value=Decimal("9999999999"), places=2))
def test_money_round_trips_without_loss(amount):
    assert catalog.money(str(amount), "price") == amount
    assert catalog.money(format(amount, "f").replace(".", ","), "price") == amount


def test_product_defaults_and_validity(db, in_a):
    cls = catalog.create_class(db, name="Internet", params=[SPEED])
    product = _product(db, cls, defaults={"download": "100"})
    assert product.defaults == {"download": 100} and product.defaults_version == 1
    with pytest.raises(ParamValidationError):
        _product(db, cls, code="BAD", defaults={"download": "0"})
    with pytest.raises(catalog.CatalogError):
        _product(db, cls, code="NET100")  # code taken
    with pytest.raises(catalog.CatalogError):
        _product(db, cls, code="X", valid_from=date(2024, 2, 1), valid_until=date(2024, 1, 1))
    assert product.valid_on(date(2024, 1, 1)) and not product.valid_on(date(2023, 12, 31))


def test_availability_is_per_location_of_the_partner(db, in_a, world):
    cls = catalog.create_class(db, name="Internet", params=[SPEED])
    product = _product(db, cls, location_ids=[world.loc_a2.id])
    assert catalog.products_for_sale(db, world.loc_a.id) == []
    assert catalog.products_for_sale(db, world.loc_a2.id) == [product]
    with pytest.raises(catalog.CatalogError):
        catalog.update_product(db, product, location_ids=[world.loc_b.id])  # another partner's location
    catalog.update_product(db, product, location_ids=[world.loc_a.id, world.loc_a2.id])
    assert product.location_ids == {world.loc_a.id, world.loc_a2.id}
    assert catalog.products_for_sale(db, world.loc_a.id, on=date(2023, 1, 1)) == []  # not valid yet
    catalog.update_product(db, product, valid_until=date.today() - timedelta(days=1))
    assert catalog.products_for_sale(db, world.loc_a.id) == []
    with pytest.raises(catalog.CatalogError) as info:
        catalog.check_sellable(product, world.loc_a.id, date.today())
    assert "not valid" in info.value.message


def test_catalogue_is_shared_by_the_partners_locations_only(db, in_a, world):
    cls = catalog.create_class(db, name="Internet", params=[SPEED])
    product = _product(db, cls)
    db.commit()
    with location_scope(world.loc_a2.id):
        assert db.scalar(select(ServiceClass.id).where(ServiceClass.id == cls.id)) == cls.id
    db.expunge_all()
    with location_scope(world.loc_b.id):
        assert db.get(Product, product.id) is None and catalog.list_classes(db) == []


def test_class_change_reports_values_that_no_longer_fit(db, in_a, world):
    from mango_core.customers import service as customers
    from mango_core.services import service as svc

    cls = catalog.create_class(db, name="Internet", params=[SPEED, ParamDef("plan", "Plan", "choice",
                                                                             choices=[("a", "A"), ("b", "B")])])
    product = _product(db, cls, defaults={"download": "100", "plan": "b"}, location_ids=[world.loc_a.id])
    customer = customers.create_customer(db, kind="person", last_name="Nový")
    service = svc.create_service(db, customer_id=customer.id, product_id=product.id, params={"plan": "b"})
    report = catalog.set_param(db, cls, ParamDef("plan", "Plan", "choice", choices=[("a", "A")]))
    assert set(report.services) == {service.id} and set(report.products) == {product.id}
    assert service.class_version == 1 and service.params["plan"] == "b"  # untouched, valid under version 1
    assert catalog.definitions(db, cls, service.class_version).get("plan").choices == (("a", "A"), ("b", "B"))
