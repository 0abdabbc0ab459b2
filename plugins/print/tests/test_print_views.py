"""Web pages: the portal shop (configure with the live price, upload, order, proof), the Opcare board,
order page, state changes, job ticket and print product settings; permissions and locations."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from mango_core.customers.models import Customer
from mango_core.selfcare.testing import add_account, portal_login, portal_post
from mango_core.testing.fixtures import login, post
from mango_print.shop import orders as svc
from mango_print.shop.models import PrintOrder, PrintSpec
from mango_print.testing import GOOD_PARAMS, build_shop, pypdf_pdf


def enter(client, world, user=None) -> None:  # noqa: ANN001
    """Log in to Opcare and choose PRG, where the print module is enabled."""
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


def form_params(**changes):  # noqa: ANN003, ANN201
    return {f"p_{k}": v for k, v in {**GOOD_PARAMS, **changes}.items()}


def test_portal_price_is_json_and_explains_errors(client, shop):
    portal_login(client, shop.code, shop.email)
    page = client.get(f"/selfcare/print/products/{shop.product_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="configure-form"' in html and "Formát" in html and "510,00" in html  # first options: 4/0 -> 150 + 100 x 3.60
    answer = client.get(f"/selfcare/print/products/{shop.product_id}/price", query_string=form_params(quantity="1000"))
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["ok"] and data["quote"]["total"] == "3270.00" and data["quote"]["factor"] == "0.65"
    assert "3\u00a0270,00" in data["total_text"]
    bad = client.get(f"/selfcare/print/products/{shop.product_id}/price", query_string=form_params(quantity="0",
                                                                                                    paper="gold"))
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"quantity", "paper"}


def test_portal_order_with_upload_preflight_and_proof(client, db, shop, in_loc, good_pdf):
    portal_login(client, shop.code, shop.email)
    shop_page = client.get("/selfcare/print/").get_data(as_text=True)
    assert f'data-product="{shop.product_id}"' in shop_page and "Tiskárna" in shop_page
    token_from = f"/selfcare/print/products/{shop.product_id}"
    bad = portal_post(client, f"/selfcare/print/products/{shop.product_id}/order", token_from=token_from,
                      data={**form_params(), "file": (io.BytesIO(pypdf_pdf(148, 210, pages=2)), "letak.pdf")},
                      content_type="multipart/form-data")
    assert bad.status_code == 302
    order_page = client.get(bad.headers["Location"]).get_data(as_text=True)
    assert 'data-verdict="fail"' in order_page and "chybí spadávka" in order_page
    assert 'id="upload-form"' in order_page
    with in_loc(shop.location_id):
        order = db.scalar(select(PrintOrder).order_by(PrintOrder.id.desc()))
        assert order.state == "preflight_failed" and order.customer_id == shop.customer_id
        order_id = order.id
    fixed = portal_post(client, f"/selfcare/print/orders/{order_id}/upload", token_from=f"/selfcare/print/orders/{order_id}",
                        data={"file": (io.BytesIO(good_pdf), "oprava.pdf")}, content_type="multipart/form-data")
    assert fixed.status_code == 302
    page = client.get(f"/selfcare/print/orders/{order_id}").get_data(as_text=True)
    assert 'data-state="received"' in page and 'data-verdict="ok"' in page
    assert client.get(f"/selfcare/print/orders/{order_id}/proof.pdf").status_code == 404  # no proof yet
    with in_loc(shop.location_id):
        db.expire_all()  # the portal changed the order in its own session
        svc.change_state(db, db.get(PrintOrder, order_id), "proof_sent", svc.Actor(svc.STAFF))
        db.commit()
    proof = client.get(f"/selfcare/print/orders/{order_id}/proof.pdf")
    assert proof.status_code == 200 and proof.data.startswith(b"%PDF")
    approved = portal_post(client, f"/selfcare/print/orders/{order_id}/approve",
                           token_from=f"/selfcare/print/orders/{order_id}")
    assert approved.status_code == 302
    assert 'data-state="approved"' in client.get(f"/selfcare/print/orders/{order_id}").get_data(as_text=True)


def test_portal_refuses_a_bad_order_and_keeps_the_form(client, db, shop, in_loc, good_pdf):
    portal_login(client, shop.code, shop.email)
    answer = portal_post(client, f"/selfcare/print/products/{shop.product_id}/order",
                         token_from=f"/selfcare/print/products/{shop.product_id}",
                         data={**form_params(quantity="abc"), "file": (io.BytesIO(good_pdf), "a.pdf")},
                         content_type="multipart/form-data")
    assert answer.status_code == 400
    assert "is-invalid" in answer.get_data(as_text=True)
    without_file = portal_post(client, f"/selfcare/print/products/{shop.product_id}/order",
                               token_from=f"/selfcare/print/products/{shop.product_id}", data=form_params())
    assert without_file.status_code == 400 and "Vyberte soubor PDF" in without_file.get_data(as_text=True)
    with in_loc(shop.location_id):
        assert db.scalar(select(PrintOrder.id)) is None


def test_portal_customer_sees_only_own_orders(client, db, shop, in_loc, good_pdf):
    from mango_core.customers import service as customers

    with in_loc(shop.location_id):
        order = svc.place_order(db, db.get(Customer, shop.customer_id), shop.product_id, GOOD_PARAMS,
                                filename="a.pdf", data=good_pdf)
        other = customers.create_customer(db, kind="person", first_name="Eva", last_name="Jiná", state="active")
        db.commit()
        order_id = order.id
        add_account(db, other, "eva@example.test")
    portal_login(client, shop.code, "eva@example.test")
    assert client.get(f"/selfcare/print/orders/{order_id}").status_code == 404
    assert f'data-order="{order_id}"' not in client.get("/selfcare/print/").get_data(as_text=True)
    assert portal_post(client, f"/selfcare/print/orders/{order_id}/approve").status_code == 404


def test_opcare_board_order_state_and_ticket(client, db, world, shop, in_loc, good_pdf):
    with in_loc(shop.location_id):
        order = svc.place_order(db, db.get(Customer, shop.customer_id), shop.product_id, GOOD_PARAMS,
                                filename="a.pdf", data=good_pdf)
        db.commit()
        order_id = order.id
    enter(client, world)
    board = client.get("/print/").get_data(as_text=True)
    assert f'data-order="{order_id}"' in board and "Tisková výroba" in board
    page = client.get(f"/print/orders/{order_id}").get_data(as_text=True)
    assert 'data-state="received"' in page and 'value="proof_sent"' in page
    changed = post(client, f"/print/orders/{order_id}/state", {"to": "proof_sent", "note": "Náhled v příloze."},
                   token_from=f"/print/orders/{order_id}")
    assert changed.status_code == 302
    assert 'data-state="proof_sent"' in client.get(f"/print/orders/{order_id}").get_data(as_text=True)
    refused = post(client, f"/print/orders/{order_id}/state", {"to": "approved"}, token_from=f"/print/orders/{order_id}",
                   follow_redirects=True)
    assert "ve stavu náhled odeslán nemůže přejít do stavu náhled schválen" in refused.get_data(as_text=True)
    ticket = client.get(f"/print/orders/{order_id}/ticket.pdf")
    assert ticket.status_code == 200 and ticket.mimetype == "application/pdf"
    assert client.get(f"/print/orders/{order_id}/file").data == good_pdf
    tab = client.get(f"/customers/{shop.customer_id}?tab=print_orders").get_data(as_text=True)
    assert 'id="print-card-orders"' in tab and f'data-order="{order_id}"' in tab


def test_opcare_permissions_and_locations(app, client, db, world, shop, in_loc, good_pdf):
    other = build_shop(db, world.loc_b, tag="b")
    with in_loc(other.location_id):
        order = svc.place_order(db, db.get(Customer, other.customer_id), other.product_id, GOOD_PARAMS,
                                filename="b.pdf", data=good_pdf)
        db.commit()
        foreign_id = order.id
    assert client.get("/print/").status_code == 302  # to the login
    clerk = app.test_client()
    enter(clerk, world, world.clerk_a)
    assert clerk.get("/print/").status_code == 403
    assert clerk.get("/print/products").status_code == 403
    enter(client, world)
    assert client.get(f"/print/orders/{foreign_id}").status_code == 404
    assert client.get(f"/print/orders/{foreign_id}/ticket.pdf").status_code == 404
    assert f'data-order="{foreign_id}"' not in client.get("/print/").get_data(as_text=True)


def test_opcare_print_product_settings(client, db, world, shop, in_loc):
    enter(client, world)
    listing = client.get("/print/products").get_data(as_text=True)
    assert f'data-product="{shop.product_id}"' in listing
    path = f"/print/products/{shop.product_id}"
    assert "&#34;formula&#34;" in client.get(path).get_data(as_text=True) or "formula" in client.get(path).get_data(
        as_text=True)
    bad = post(client, path, {"pages": "2", "bleed_mm": "3", "rules": "{not json"}, token_from=path)
    assert bad.status_code == 400 and "platný JSON" in bad.get_data(as_text=True)
    unknown = post(client, path, {"pages": "2", "bleed_mm": "3",
                                  "rules": json.dumps({"formula": "paper * nonsense"})}, token_from=path)
    assert unknown.status_code == 400 and "neznámé názvy" in unknown.get_data(as_text=True)
    low = post(client, path, {"pages": "4", "bleed_mm": "2", "min_dpi": "0",
                              "rules": json.dumps({"formula": "grammage / 100"})}, token_from=path)
    assert low.status_code == 400 and "Nejnižší rozlišení obrázků musí být" in low.get_data(as_text=True)
    good = post(client, path, {"pages": "4", "bleed_mm": "2", "advance": "y", "min_dpi": "300",
                               "rules": json.dumps({"formula": "grammage / 100", "minimum": "99"})}, token_from=path)
    assert good.status_code == 302
    with in_loc(shop.location_id):
        spec = db.scalar(select(PrintSpec).where(PrintSpec.product_id == shop.product_id))
        db.refresh(spec)
        assert spec.pages == 4 and str(spec.bleed_mm) == "2.0" and spec.advance and spec.min_dpi == 300
        assert spec.rules["minimum"] == "99"
    assert 'value="300"' in client.get(path).get_data(as_text=True)


def test_portal_links_the_advance_invoice_with_its_qr_platba(client, db, shop, in_loc, good_pdf):
    from mango_core.tenancy.models import Location
    from mango_core.tenancy.service import add_bank_account

    add_bank_account(db, shop.location_id, label="Provozní účet", account="2400000009/2010", is_default=True)
    db.commit()
    with in_loc(shop.location_id):
        db.get(Location, shop.location_id).dic = "CZ27082440"
        order = svc.place_order(db, db.get(Customer, shop.customer_id), shop.advance_product_id, GOOD_PARAMS,
                                filename="a.pdf", data=good_pdf)
        svc.change_state(db, order, "proof_sent", svc.Actor(svc.STAFF))
        svc.change_state(db, order, "approved", svc.Actor(svc.CUSTOMER, customer_id=shop.customer_id))
        db.commit()
        order_id, invoice_id = order.id, order.advance_invoice_id
    portal_login(client, shop.code, shop.email)
    page = client.get(f"/selfcare/print/orders/{order_id}").get_data(as_text=True)
    assert f'href="/selfcare/billing/invoices/{invoice_id}"' in page
    invoice = client.get(f"/selfcare/billing/invoices/{invoice_id}")
    assert invoice.status_code == 200 and "<svg" in invoice.get_data(as_text=True)  # billing's QR Platba
