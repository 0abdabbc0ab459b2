"""Opcare pages of the catalogue: classes with the parameter editor, products; permissions, 404, CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product, ServiceClass
from mango_core.params import ParamDef
from mango_core.tenancy import location_scope
from mango_core.testing.fixtures import login, post


def switch(client, location) -> None:  # noqa: ANN001
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


@pytest.fixture
def data(app, db, world):
    ids = {}
    with app.test_request_context(), location_scope(world.loc_a.id):
        cls = catalog.create_class(db, name="VoIP", params=[ParamDef("number", "Phone number", "text")])
        ids["class"] = cls.id
        ids["product"] = catalog.create_product(db, class_id=cls.id, name="Hlas", code="VOIP1", price="99.00",
                                                location_ids=[world.loc_a.id]).id
    with app.test_request_context(), location_scope(world.loc_b.id):
        other = catalog.create_class(db, name="Beta TV")
        ids["foreign_class"] = other.id
        ids["foreign_product"] = catalog.create_product(db, class_id=other.id, name="TV", code="TV", price="1").id
    db.commit()
    return ids


@pytest.fixture
def admin(client, world, data):  # noqa: ANN001, ANN201
    login(client, world.admin_a.email)
    switch(client, world.loc_a)
    return client


def read(db, world, model, ident):  # noqa: ANN001, ANN201
    db.expire_all()
    with location_scope(world.loc_a.id):
        return db.get(model, ident)


def test_pages_need_permissions(client, world, data):
    login(client, world.clerk_a.email)
    for path in ("/catalog/classes", "/catalog/products", f"/catalog/classes/{data['class']}", "/catalog/classes/new"):
        assert client.get(path).status_code == 403, path


def test_another_partners_catalogue_is_404(admin, data):
    assert admin.get(f"/catalog/classes/{data['foreign_class']}").status_code == 404
    assert admin.get(f"/catalog/products/{data['foreign_product']}").status_code == 404
    page = admin.get("/catalog/products").get_data(as_text=True)
    assert "VOIP1" in page and "Beta TV" not in page


def test_the_catalogue_is_shared_with_the_partners_other_location(admin, world, data):
    switch(admin, world.loc_a2)
    assert admin.get(f"/catalog/classes/{data['class']}").status_code == 200


def test_class_and_parameter_editor(admin, db, world, data):
    created = post(admin, "/catalog/classes/new", {"name": "IPTV", "kind": "example"}, token_from="/catalog/classes/new")
    assert created.status_code == 302
    with location_scope(world.loc_a.id):
        cls_id = db.scalar(select(ServiceClass.id).where(ServiceClass.name == "IPTV"))
    path = f"/catalog/classes/{cls_id}"
    assert post(admin, f"{path}/params", {"key": "channels", "label": "Channels", "type": "integer", "min": "1",
                                          "default": "80", "on_invoice": "y"}, token_from=path).status_code == 302
    bad = post(admin, f"{path}/params", {"key": "Bad Key", "label": "x", "type": "integer"}, token_from=path)
    assert bad.status_code == 400
    cls = read(db, world, ServiceClass, cls_id)
    assert cls.version == 2 and cls.kind == "example"
    with location_scope(world.loc_a.id):
        pdef = catalog.definitions(db, cls).get("channels")
    assert (pdef.default, pdef.on_invoice, pdef.min) == (80, True, 1)
    html = admin.get(path).get_data(as_text=True)
    assert 'id="class-versions"' in html and "data-confirm" in html  # removing asks first
    assert post(admin, f"{path}/params/channels/remove", {}, token_from=path).status_code == 302
    assert read(db, world, ServiceClass, cls_id).version == 3


def test_product_form(admin, db, world, data):
    path = f"/catalog/products/new?class_id={data['class']}"
    assert "product-defaults" in admin.get(path).get_data(as_text=True)
    bad = post(admin, path, {"name": "Hlas+", "code": "VOIP2", "price": "12.345", "vat_rate": "21.00",
                             "locations": str(world.loc_a.id)}, token_from=path)
    assert bad.status_code == 400
    good = post(admin, path, {"name": "Hlas+", "code": "VOIP2", "price": "149,50", "vat_rate": "12.00",
                              "second_price": "500", "second_price_label": "Aktivace",
                              "locations": [str(world.loc_a.id), str(world.loc_a2.id)], "p-number": "+420 777 123 456"},
                token_from=path)
    assert good.status_code == 302
    with location_scope(world.loc_a.id):
        product = db.scalar(select(Product).where(Product.code == "VOIP2"))
        assert (str(product.price), str(product.vat_rate), str(product.second_price)) == ("149.50", "12.00", "500.00")
        assert product.location_ids == {world.loc_a.id, world.loc_a2.id}
        assert product.defaults == {"number": "+420 777 123 456"}
    foreign = post(admin, f"/catalog/products/{data['product']}", {
        "name": "Hlas", "code": "VOIP1", "price": "99.00", "vat_rate": "21.00", "locations": str(world.loc_b.id)},
        token_from=f"/catalog/products/{data['product']}")
    assert foreign.status_code == 400  # a location of another partner


def test_changes_need_csrf(admin, db, world, data):
    response = admin.post(f"/catalog/classes/{data['class']}/params", data={"key": "x", "label": "X", "type": "text"})
    assert response.status_code == 400
    assert read(db, world, ServiceClass, data["class"]).version == 1
