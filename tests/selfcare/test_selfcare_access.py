"""Nobody sees anything else: another customer's or another location's ids answer 404; parents see children."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select

from mango_core.customers import service as customers
from mango_core.documents import service as documents
from mango_core.selfcare import accounts, tariffs
from mango_core.selfcare.models import SelfcareAccount, SelfcareSession
from mango_core.selfcare.testing import add_account, portal_login, portal_post
from mango_core.services import lifecycle
from mango_core.services import service as services
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import LocationModule


def _document(app, db, location_id: int, customer_id: int) -> int:
    with app.test_request_context(), location_scope(location_id):
        customer = customers.get_customer(db, customer_id)
        found = documents.archive(db, customer=customer, kind="letter", title="Dopis", content=b"%PDF-1.4 test")
        db.commit()
        return found.id


def _request(app, db, location_id: int, service_id: int, product_id: int) -> int:
    with app.test_request_context(), location_scope(location_id):
        found = tariffs.request_change(db, services.get_service(db, service_id), product_id, "prosím")
        db.commit()
        return found.id


def test_another_customers_or_locations_objects_answer_404(app, client, db, world, portal, portal_b):
    own_doc = _document(app, db, world.loc_a.id, portal.customer_id)
    other_doc = _document(app, db, world.loc_a.id, portal.other_id)
    b_doc = _document(app, db, world.loc_b.id, portal_b.customer_id)
    other_request = _request(app, db, world.loc_a.id, portal.other_service_id, portal.other_product_id)
    b_request = _request(app, db, world.loc_b.id, portal_b.service_id, portal_b.other_product_id)
    portal_login(client, "PRG", portal.email)

    assert client.get(f"/selfcare/services/{portal.service_id}").status_code == 200
    assert client.get(f"/selfcare/documents/{own_doc}").status_code == 200
    for service_id in (portal.other_service_id, portal_b.service_id, portal.child_service_id, 999999):
        assert client.get(f"/selfcare/services/{service_id}").status_code == 404, service_id
        resp = client.post(f"/selfcare/services/{service_id}/params",
                           data={"p-wifi_name": "hack", "p-csrf_token": _token(client)})
        assert resp.status_code == 404, service_id
        resp = client.post(f"/selfcare/services/{service_id}/tariff",
                           data={"t-product_id": str(portal.other_product_id), "t-csrf_token": _token(client)})
        assert resp.status_code == 404, service_id
    for document_id in (other_doc, b_doc):
        resp = client.get(f"/selfcare/documents/{document_id}")
        assert resp.status_code == 404 and "Nic takového ve vašem účtu není." in resp.get_data(as_text=True)
    for request_id in (other_request, b_request):
        assert portal_post(client, f"/selfcare/requests/{request_id}/cancel").status_code == 404
    listing = client.get("/selfcare/documents/").get_data(as_text=True)
    assert f'data-document="{own_doc}"' in listing and f'data-document="{other_doc}"' not in listing
    # nothing of theirs changed
    with location_scope(world.loc_a.id):
        assert services.get_service(db, portal.other_service_id).params["wifi_name"] == f"net-{portal.other_number}"
        assert tariffs.request_of(db, other_request).state == "pending"


def _token(client) -> str:
    from mango_core.testing.fixtures import csrf_token

    return csrf_token(client, "/selfcare/")


def test_a_parent_sees_its_children_after_switching_and_a_child_never_sees_its_parent(app, client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    page = client.get("/selfcare/").get_data(as_text=True)
    assert f'data-service="{portal.service_id}"' in page and f'data-service="{portal.child_service_id}"' not in page
    assert 'id="selfcare-switch"' in page
    assert portal_post(client, "/selfcare/switch", {"customer_id": str(portal.other_id)}).status_code == 404
    assert portal_post(client, "/selfcare/switch", {"customer_id": "nonsense"}).status_code == 400
    assert portal_post(client, "/selfcare/switch", {"customer_id": str(portal.child_id)}).status_code == 302
    page = client.get("/selfcare/").get_data(as_text=True)
    assert f'data-service="{portal.child_service_id}"' in page and f'data-service="{portal.service_id}"' not in page
    assert "pobočka vašeho účtu" in page
    assert client.get(f"/selfcare/services/{portal.child_service_id}").status_code == 200
    assert client.get(f"/selfcare/services/{portal.service_id}").status_code == 404  # looking at the child now
    assert portal_post(client, "/selfcare/switch", {"customer_id": str(portal.customer_id)}).status_code == 302
    assert client.get(f"/selfcare/services/{portal.service_id}").status_code == 200

    with location_scope(world.loc_a.id):
        child = customers.get_customer(db, portal.child_id)
    add_account(db, child, "pobocka@example.test")
    child_client = app.test_client()
    portal_login(child_client, "PRG", "pobocka@example.test")
    page = child_client.get("/selfcare/").get_data(as_text=True)
    assert 'id="selfcare-switch"' not in page and f'data-service="{portal.child_service_id}"' in page
    assert child_client.get(f"/selfcare/services/{portal.service_id}").status_code == 404
    assert portal_post(child_client, "/selfcare/switch", {"customer_id": str(portal.customer_id)}).status_code == 404


def test_a_child_that_is_moved_away_is_no_longer_shown(app, client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    portal_post(client, "/selfcare/switch", {"customer_id": str(portal.child_id)})
    with app.test_request_context(), location_scope(world.loc_a.id):
        customers.set_parent(db, customers.get_customer(db, portal.child_id), None)
        db.commit()
    page = client.get("/selfcare/").get_data(as_text=True)
    assert 'id="selfcare-switch"' not in page and f'data-service="{portal.service_id}"' in page
    assert client.get(f"/selfcare/services/{portal.child_service_id}").status_code == 404


def test_every_portal_page_needs_a_session_and_is_not_cached(client, portal):
    pages = ["/selfcare/", f"/selfcare/services/{portal.service_id}", "/selfcare/contact", "/selfcare/documents/",
             "/selfcare/billing/invoices/", "/selfcare/billing/payments/", "/selfcare/billing/credit",
             "/selfcare/example/"]
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 302 and "/selfcare/" in resp.headers["Location"], path
    portal_login(client, "PRG", portal.email)
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["Cache-Control"] == "no-store", path


def test_a_disabled_module_disappears_from_the_portal_of_that_location(client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    page = client.get("/selfcare/").get_data(as_text=True)
    assert 'data-menu="billing_selfcare.invoices"' in page and 'data-menu="example_selfcare.news"' in page
    assert 'id="selfcare-balance"' in page
    db.execute(delete(LocationModule).where(LocationModule.location_id == world.loc_a.id,
                                            LocationModule.module.in_(["billing", "example"])))
    db.commit()
    page = client.get("/selfcare/").get_data(as_text=True)
    assert "billing_selfcare" not in page and "example_selfcare" not in page and 'id="selfcare-balance"' not in page
    assert 'data-menu="core_selfcare.contact"' in page
    for path in ("/selfcare/billing/invoices/", "/selfcare/billing/credit", "/selfcare/example/"):
        resp = client.get(path)
        assert resp.status_code == 404 and 'id="selfcare-error"' in resp.get_data(as_text=True), path


def test_disabled_access_and_anonymisation_end_the_session(app, client, db, world, portal):
    portal_login(client, "PRG", portal.email)
    with app.test_request_context(), location_scope(world.loc_a.id):
        accounts.disable(db, db.get(SelfcareAccount, portal.account_id))
        db.commit()
    resp = client.get("/selfcare/")
    assert resp.status_code == 302
    assert "Váš přístup do portálu byl ukončen" in client.get(resp.headers["Location"]).get_data(as_text=True)

    with app.test_request_context(), location_scope(world.loc_a.id):
        account = db.get(SelfcareAccount, portal.account_id)
        account.is_active = True
        db.commit()
    portal_login(client, "PRG", portal.email)
    with app.test_request_context(), location_scope(world.loc_a.id):
        customer = customers.get_customer(db, portal.other_id)  # a customer that can be anonymised
        add_account(db, customer, "otto.portal@example.test")
    other = app.test_client()
    portal_login(other, "PRG", "otto.portal@example.test")
    assert other.get("/selfcare/").status_code == 200
    with app.test_request_context(), location_scope(world.loc_a.id):
        customer = customers.get_customer(db, portal.other_id)
        lifecycle.terminate(db, services.get_service(db, portal.other_service_id), effective=date.today(),
                            reason="konec")
        customers.change_state(db, customer, "former")
        customers.anonymise(db, customer, reason="žádost zákazníka")
        db.commit()
        assert accounts.account_of(db, portal.other_id) is None  # the e-mail went with it
    assert other.get("/selfcare/").status_code == 302
    assert db.scalar(select(SelfcareSession).where(SelfcareSession.customer_id == portal.other_id)) is None
    assert client.get("/selfcare/").status_code == 200  # another customer's portal goes on
