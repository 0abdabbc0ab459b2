"""Invoices as a kind of the core's document templates: a location's own layout is used for its PDFs."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from test_billing_engine_run import product, service

from mango_billing.delivery import render_files
from mango_billing.models import Invoice
from mango_billing.outputs.document import sample_document
from mango_billing.outputs.html import (
    INVOICE_KIND,
    InvoiceRenderError,
    location_template,
    render_invoice_html,
    render_invoice_pdf,
)
from mango_billing.run import run_billing
from mango_core.customers.models import Customer
from mango_core.documents import service as documents
from mango_core.tenancy.context import location_scope
from mango_core.testing.factories import make_row

MARK = "Naše vlastní hlavička"


def _own(db, css: str = "") -> None:  # noqa: ANN001
    kind = documents.kind_of(INVOICE_KIND)
    body = kind.default_body.replace("<main", f"<p class='own'>{MARK}</p><main", 1)
    documents.create_template(db, kind=INVOICE_KIND, name="Faktura PRG", body=body, css=css or kind.default_css)


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_kind_starts_from_the_built_in_layout_and_previews_a_sample(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        kind = documents.kind_of(INVOICE_KIND)
        assert "document.number" in kind.default_body and kind.default_css
        assert kind.subject == INVOICE_KIND  # not offered on the customer card
        rendered = documents.preview(db, kind=INVOICE_KIND, body=kind.default_body, css=kind.default_css)
        assert rendered.pdf.startswith(b"%PDF") and sample_document().number in rendered.html


def test_a_locations_own_template_is_used_for_its_invoices_only(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        assert location_template(db) is None
        _own(db, css=".own { color: #c00 }")
        own = location_template(db)
        assert own is not None and own.css == ".own { color: #c00 }"
        doc = sample_document()
        assert MARK in render_invoice_html(doc, template=own) and MARK not in render_invoice_html(doc)
        assert MARK in _text(render_invoice_pdf(doc, template=own))
    with app.app_context(), location_scope(world.loc_b.id):
        assert location_template(db) is None  # another location keeps the built-in layout


def test_issued_invoices_are_mailed_and_exported_in_the_locations_layout(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        world.loc_a.dic = "CZ27082440"
        service(db, make_row(db, Customer), product(db, "100.00"))
        db.commit()
        run_billing(db, world.loc_a, "2025-03", issued_on=date(2025, 3, 1))
        invoice = db.scalar(select(Invoice))
        [before] = render_files(db, invoice, ["pdf"])
        assert MARK not in _text(before.content)
        _own(db)
        [after] = render_files(db, invoice, ["pdf"])
        assert MARK in _text(after.content) and invoice.number in _text(after.content)


def test_a_template_that_fails_while_rendering_says_so(app, db, world):
    with app.app_context(), location_scope(world.loc_a.id):
        documents.create_template(db, kind=INVOICE_KIND, name="Rozbitá", body="<p>{{ document.number.nope() }}</p>")
        with pytest.raises(InvoiceRenderError, match="invoice template"):
            render_invoice_html(sample_document(), template=location_template(db))
