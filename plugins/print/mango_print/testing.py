"""Test data and helpers of the Mango Print plugin (import from tests only): real PDFs made with pypdf
and WeasyPrint, a print class, products and specs in a location, a customer with a portal account;
the fixtures ``in_loc``, ``shop`` and ``good_pdf`` (a conftest imports them by name)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, RectangleObject

from mango_core.tenancy import location_scope

MM = Decimal("72") / Decimal("25.4")
RULES = {
    "tables": {"paper": {"matt": "0.80", "gloss": "0.95"}, "colours": {"4/0": "1.00", "4/4": "1.60"},
               "finishing": {"none": "0", "matt_lam": "0.50", "gloss_lam": "0.60"},
               "format": {"A4": "4", "A5": "2", "A6": "1", "85x55": "0.5"}},
    "formula": "format * (paper * grammage / 170 + colours) + finishing",
    "setup": "150",
    "breaks": [[1, "1"], [500, "0.8"], [1000, "0.65"]],
    "minimum": "400",
}


def pt(mm: float | Decimal) -> float:
    return float(Decimal(str(mm)) * MM)


def pypdf_pdf(width_mm: float, height_mm: float, *, pages: int = 1, font: str | None = None, rgb: bool = False,
              trim: tuple[float, float] | None = None) -> bytes:
    """A PDF made with pypdf: CMYK (or RGB) rectangles, optionally text in a font that is NOT embedded
    (``font="Helvetica"``), optionally a TrimBox/BleedBox (``trim`` = bleed on each side in mm)."""
    writer = PdfWriter()
    for _ in range(pages):
        page = writer.add_blank_page(width=pt(width_mm), height=pt(height_mm))
        colour = b"1 0 0 rg" if rgb else b"0 0.5 1 0 k"
        ops = [colour, b"10 10 100 100 re f"]
        resources = DictionaryObject()
        if font:
            font_dict = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                          NameObject("/Subtype"): NameObject("/Type1"),
                                          NameObject("/BaseFont"): NameObject(f"/{font}")})
            resources[NameObject("/Font")] = DictionaryObject({NameObject("/F1"): writer._add_object(font_dict)})
            ops.append(b"BT /F1 12 Tf 20 20 Td (Mango) Tj ET")
        page[NameObject("/Resources")] = resources
        stream = DecodedStreamObject()
        stream.set_data(b"\n".join(ops))
        page[NameObject("/Contents")] = writer._add_object(stream)
        if trim is not None:
            bleed = trim[0]
            page[NameObject("/TrimBox")] = RectangleObject([pt(bleed), pt(bleed), pt(width_mm - bleed),
                                                            pt(height_mm - bleed)])
            page[NameObject("/BleedBox")] = RectangleObject([0, 0, pt(width_mm), pt(height_mm)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def weasy_pdf(width_mm: float, height_mm: float, *, pages: int = 1, bleed_mm: float = 0) -> bytes:
    """A PDF made with WeasyPrint: text in an embedded (subset) font, colours in RGB; ``bleed_mm`` makes
    WeasyPrint write the page of ``width × height`` as TrimBox inside a larger MediaBox/BleedBox."""
    import weasyprint

    body = "".join(f'<section style="page-break-after: always"><h1>Mango {n}</h1><p>Tiskový podklad.</p></section>'
                   for n in range(1, pages + 1))
    html = (f"<html><head><style>@page {{ size: {width_mm}mm {height_mm}mm; margin: 5mm; bleed: {bleed_mm}mm; }} "
            f"section:last-child {{ page-break-after: auto; }} body {{ color: #c00; }}</style></head>"
            f"<body>{body}</body></html>")
    return weasyprint.HTML(string=html).write_pdf()


@dataclass(frozen=True)
class Shop:
    location_id: int
    code: str
    class_id: int
    product_id: int  # A-formats, 2 pages, 3 mm bleed, billed by the next run
    advance_product_id: int  # the same with an advance invoice
    customer_id: int
    email: str


@pytest.fixture
def in_loc(app):  # noqa: ANN001, ANN201
    """``with in_loc(location_id): ...``: service calls in the location's scope inside an app context."""
    from contextlib import contextmanager

    @contextmanager
    def enter(location_id: int):  # noqa: ANN202
        with app.app_context(), location_scope(location_id):
            yield

    return enter


def build_shop(db, location, *, tag: str = "a") -> Shop:  # noqa: ANN001
    from mango_core.catalog import service as catalog
    from mango_core.customers import service as customers
    from mango_core.selfcare.models import SelfcareAccount
    from mango_core.selfcare.testing import password_hash
    from mango_print.shop import products

    with location_scope(location.id):
        cls = catalog.create_class(db, name="Letáky", kind="print", params=products.standard_params())
        product = catalog.create_product(db, class_id=cls.id, name="Leták A-formáty", code="LETAK",
                                         price="0.00", vat_rate="21", defaults={"format": "A5"},
                                         valid_from=date(2020, 1, 1), location_ids=[location.id])
        advance = catalog.create_product(db, class_id=cls.id, name="Leták se zálohou", code="LETAKZ",
                                         price="0.00", vat_rate="21", valid_from=date(2020, 1, 1),
                                         location_ids=[location.id])
        products.save_spec(db, product.id, rules=RULES, pages=2, bleed_mm="3")
        products.save_spec(db, advance.id, rules=RULES, pages=2, bleed_mm="3", advance=True)
        customer = customers.create_customer(db, kind="person", first_name="Petr", last_name="Tiskař", state="active")
        email = f"petr.{tag}@example.test"
        customers.add_contact(db, customer, name="Petr Tiskař", roles=["owner"], emails=[email])
        db.add(SelfcareAccount(customer_id=customer.id, email=email, password_hash=password_hash(), is_active=True))
        db.commit()
        return Shop(location.id, location.code, cls.id, product.id, advance.id, customer.id, email)


@pytest.fixture
def shop(db, world):  # noqa: ANN001, ANN201
    return build_shop(db, world.loc_a)


GOOD_PARAMS = {"format": "A5", "paper": "matt", "grammage": "170", "colours": "4/4", "finishing": "none",
               "quantity": "100"}


@pytest.fixture
def good_pdf() -> bytes:
    """A5 with 3 mm bleed, two pages, CMYK, no fonts: passes preflight without a warning."""
    return pypdf_pdf(154, 216, pages=2)
