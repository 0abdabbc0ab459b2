"""The job ticket of an order (PDF, WeasyPrint through the core's renderer): what the press room needs —
the product and every parameter, quantity, the file with its preflight verdict, the customer, the
price and the history. The customer's proof sheet is the same page without the internal notes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.customers.models import Customer
from mango_print.shop.labels import render
from mango_print.shop.models import PrintOrder
from mango_print.shop.products import order_rows, product_of, spec_of

CSS = """
@page { size: A4; margin: 15mm; }
body { font-family: sans-serif; font-size: 10pt; }
h1 { font-size: 16pt; margin: 0 0 4mm; }
table { border-collapse: collapse; width: 100%; margin-bottom: 5mm; }
th, td { border: 0.3pt solid #999; padding: 1.5mm; text-align: left; vertical-align: top; }
th { width: 35%; background: #f2f2f2; }
.fail { color: #b00; font-weight: bold; } .warning { color: #a60; } .ok { color: #060; }
"""


def ticket_html(session: Session, order: PrintOrder, *, internal: bool = True) -> str:
    product = product_of(session, order.product_id)
    customer = session.scalar(select(Customer).where(Customer.id == order.customer_id))
    rows = order_rows(session, product, order.params, order.class_version)
    return render("print/ticket.html", order=order, product=product, spec=spec_of(session, product.id), rows=rows,
                           customer=customer, file=order.file, internal=internal)


def ticket_pdf(session: Session, order: PrintOrder, *, internal: bool = True) -> bytes:
    """Raises the core's ``PdfUnavailable`` where WeasyPrint cannot load its libraries."""
    html = ticket_html(session, order, internal=internal)
    try:  # imported here: WeasyPrint needs Pango, and Mango must start without it
        from mango_core.documents import pdf
    except (ImportError, OSError) as exc:
        from mango_core.documents.service import PdfUnavailable

        raise PdfUnavailable() from exc
    return pdf.to_pdf(html, CSS)
