"""IDOR: a token of location A gets 404 for every object of location B — every resource, every method,
every action and download — generated from the registered resources, so a new resource is covered
without touching this file.

B's object of each resource is the seeded one, or (for a resource the seed does not know yet) a row
made by the generic factory. Location B's own token reading the same object gets 200: the 404 is the
location boundary, not a missing module or a broken object. Nothing of B changes on the way.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mango_core.db.base import TenantMixin
from mango_core.history.models import HistoryEntry
from mango_core.tenancy import location_scope, operator_scope
from mango_core.testing.factories import make_row
from tests.api.conftest import make_token


def _registry(app):  # noqa: ANN001, ANN202
    return app.extensions["mango_api"]


def _object_of(db, resource, seed, location) -> int:  # noqa: ANN001
    """The seeded object of the resource in the location, else one made by the generic factory."""
    known = seed.ids().get(resource.name)
    if known is not None:
        return known
    with location_scope(location.id):
        found = db.scalar(select(resource.model.id).order_by(resource.model.id).limit(1))
        if found is None:
            found = make_row(db, resource.model).id
    db.commit()
    return found


def _requests(resource, object_id: int) -> list[tuple[str, str, dict | None]]:  # noqa: ANN001
    base = f"/api/v1/{resource.name}/{object_id}"
    cases: list[tuple[str, str, dict | None]] = [("GET", base, None), ("HEAD", base, None)]
    if resource.update is not None:
        cases += [("PATCH", base, {}), ("PATCH", base, {"note": "x", "name": "x"})]
    if resource.delete is not None:
        cases.append(("DELETE", base, None))
    for action in resource.actions:
        cases += [("POST", f"{base}/actions/{action.name}", {}),
                  ("POST", f"{base}/actions/{action.name}", {f.name: None for f in action.fields})]
    for download in resource.downloads:
        cases.append(("GET", f"{base}/{download.name}", None))
    return cases


def _fingerprint(db, location) -> tuple:  # noqa: ANN001
    """What B has: history entries (every change of the domain writes one) and the number of rows."""
    with location_scope(location.id):
        return (db.scalar(select(HistoryEntry.id).order_by(HistoryEntry.id.desc()).limit(1)),)


def test_every_object_of_another_location_is_404_for_every_method(app, db, world, seeded, api_client):
    a_seed, b_seed = seeded
    token_a = api_client(make_token(db, world.admin_a))
    token_b = api_client(make_token(db, world.admin_b))
    before = _fingerprint(db, world.loc_b)
    checked = 0
    for resource in _registry(app):
        object_b = _object_of(db, resource, b_seed, world.loc_b)
        own = token_b.get(f"/api/v1/{resource.name}/{object_b}")
        assert own.status_code == 200, (resource.name, own.get_json())  # the positive control
        for method, path, body in _requests(resource, object_b):
            response = token_a.request(method, path, body)
            assert response.status_code == 404, (method, path, response.status_code, response.get_data(as_text=True))
            if method != "HEAD":
                assert response.mimetype == "application/problem+json", (method, path)
                assert response.get_json()["status"] == 404
            checked += 1
        listing = token_a.get(f"/api/v1/{resource.name}?limit=200").get_json()
        assert object_b not in [item["id"] for item in listing["items"]], resource.name
    assert checked > 40
    assert _fingerprint(db, world.loc_b) == before
    with location_scope(world.loc_b.id):
        assert db.get(type(b_seed.customer), b_seed.customer.id).last_name == "Novák B"


def test_a_token_narrowed_to_one_location_sees_nothing_of_the_users_other_location(app, db, world, seeded,
                                                                                   api_client, mango):
    """admin_a works in PRG and KLA; a token narrowed to PRG answers 404 for KLA's objects."""
    from tests.api.conftest import seed_location

    kla = seed_location(db, app, mango, world.loc_a2, "K")
    narrowed = api_client(make_token(db, world.admin_a, location=world.loc_a))
    wide = api_client(make_token(db, world.admin_a))
    for resource in _registry(app):
        if not issubclass(resource.model, TenantMixin):
            continue  # the catalogue is the partner's, shared by both of its locations
        object_kla = _object_of(db, resource, kla, world.loc_a2)
        assert wide.get(f"/api/v1/{resource.name}/{object_kla}").status_code == 200, resource.name
        for method, path, body in _requests(resource, object_kla):
            assert narrowed.request(method, path, body).status_code == 404, (method, path)


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/contacts", {"customer_id": "B.customer", "name": "X", "emails": ["x@example.test"]}),
    ("/api/v1/services", {"customer_id": "B.customer", "product_id": "A.product"}),
    ("/api/v1/services", {"customer_id": "A.customer", "product_id": "B.product"}),
    ("/api/v1/payments", {"customer_id": "B.customer", "amount": "10.00", "method": "cash"}),
    ("/api/v1/devices", {"name": "x", "type_key": "code:example.switch", "parent_id": "B.device"}),
    ("/api/v1/services/A.service/actions/transfer", {"customer_id": "B.customer"}),
    ("/api/v1/services/A.service/actions/change-product", {"product_id": "B.product"}),
    ("/api/v1/services/A.service/actions/link-device", {"device_id": "B.device"}),
    ("/api/v1/customers/A.customer/actions/set-parent", {"parent_id": "B.customer"}),
])
def test_references_to_another_locations_objects_are_refused(db, world, seeded, api_client, path, body):
    a_seed, b_seed = seeded
    seeds = {"A": a_seed, "B": b_seed}

    def resolve(text):  # noqa: ANN001, ANN202
        if isinstance(text, str) and text[:2] in ("A.", "B."):
            return getattr(seeds[text[0]], text[2:]).id
        return text

    path = "/".join(str(resolve(part)) for part in path.split("/"))
    body = {key: resolve(value) for key, value in body.items()}
    before = _fingerprint(db, world.loc_a)
    token_a = api_client(make_token(db, world.admin_a, location=world.loc_a))
    response = token_a.post(path, body)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert _fingerprint(db, world.loc_a) == before  # nothing written in A either
    with operator_scope():
        assert db.get(type(b_seed.customer), b_seed.customer.id).location_id == world.loc_b.id
