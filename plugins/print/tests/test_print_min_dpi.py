"""The product's lowest image resolution (print_spec.min_dpi) decides the preflight of an order."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

from mango_core.customers.models import Customer
from mango_print.shop import orders as svc
from mango_print.shop import products
from mango_print.shop.models import PREFLIGHT_FAILED, RECEIVED
from mango_print.shop.products import PrintError
from mango_print.testing import GOOD_PARAMS, RULES, pt


def two_pages_with_a_200_dpi_image() -> bytes:
    """A5 with 3 mm bleed, two CMYK pages, each with a 200 × 200 px image placed one inch square."""
    writer = PdfWriter()
    for _ in range(2):
        page = writer.add_blank_page(width=pt(154), height=pt(216))
        image = DecodedStreamObject()
        image.set_data(bytes(200 * 200 * 4))
        image.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                      NameObject("/Width"): NumberObject(200), NameObject("/Height"): NumberObject(200),
                      NameObject("/BitsPerComponent"): NumberObject(8),
                      NameObject("/ColorSpace"): NameObject("/DeviceCMYK")})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): DictionaryObject(
            {NameObject("/Photo"): writer._add_object(image)})})
        content = DecodedStreamObject()
        content.set_data(b"0 0.5 1 0 k 10 10 100 100 re f\nq 72 0 0 72 50 50 cm /Photo Do Q")
        page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def place(db, shop):  # noqa: ANN001, ANN201
    return svc.place_order(db, db.get(Customer, shop.customer_id), shop.product_id, dict(GOOD_PARAMS),
                           filename="foto.pdf", data=two_pages_with_a_200_dpi_image())


def test_the_product_minimum_decides_between_a_warning_and_a_failure(db, shop, in_loc):
    with in_loc(shop.location_id):
        _the_product_minimum_decides(db, shop)


def _the_product_minimum_decides(db, shop):  # noqa: ANN001
    assert products.spec_of(db, shop.product_id).min_dpi == 150  # the default
    warned = place(db, shop)
    assert warned.state == RECEIVED
    assert [c["result"] for c in warned.files[-1].report["checks"] if c["code"] == "images"] == ["warning"]
    products.save_spec(db, shop.product_id, rules=RULES, pages=2, bleed_mm="3", min_dpi="250")
    failed = place(db, shop)
    assert failed.state == PREFLIGHT_FAILED
    [check] = [c for c in failed.files[-1].report["checks"] if c["code"] == "images"]
    assert (check["result"], check["params"]["dpi"], check["params"]["min"]) == ("fail", 200, 250)


@pytest.mark.parametrize("value", ["0", "1201", "abc", ""])
def test_a_bad_minimum_is_refused_and_changes_nothing(db, shop, in_loc, value):
    with in_loc(shop.location_id):
        with pytest.raises(PrintError) as caught:
            products.save_spec(db, shop.product_id, rules=RULES, pages=5, bleed_mm="3", min_dpi=value)
        assert caught.value.field == "min_dpi"
        db.rollback()
        spec = products.spec_of(db, shop.product_id)
        assert (spec.min_dpi, spec.pages) == (150, 2)
