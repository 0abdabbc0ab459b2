"""The billing plugin's REST API resources: invoices (read, PDF) and payments (record by hand, read).

Issued documents are immutable, so invoices are read-only here; a payment is recorded through
:func:`mango_billing.payments.service.record_payment` exactly as the Opcare form does (matched
at once, booked in the ledger, ``mango_payments_matched`` emitted).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mango_billing.invoices import to_document
from mango_billing.models import DOCUMENT_KINDS, PAYMENT_METHODS, PAYMENT_STATES, Invoice, Payment
from mango_billing.payments import service as payments
from mango_billing.payments.matching import PREPAID, RECEIVABLE
from mango_core.api.fields import CREATE, Field
from mango_core.api.resources import ApiCall, ApiResource, Download
from mango_core.customers import service as customers
from mango_core.customers.models import Customer

LINE = Field("line", "object", schema={
    "type": "object", "additionalProperties": False,
    "required": ["position", "kind", "description", "period_from", "period_to", "quantity", "unit", "unit_price",
                 "vat_rate", "base", "vat", "total"],
    "properties": {
        "position": {"type": "integer"}, "kind": {"type": "string"}, "description": {"type": "string"},
        "period_from": {"type": ["string", "null"], "format": "date"},
        "period_to": {"type": ["string", "null"], "format": "date"},
        "quantity": {"type": "string", "format": "decimal"}, "unit": {"type": "string"},
        "unit_price": {"type": "string", "format": "decimal"}, "vat_rate": {"type": "string", "format": "decimal"},
        "base": {"type": "string", "format": "decimal"}, "vat": {"type": "string", "format": "decimal"},
        "total": {"type": "string", "format": "decimal"},
    },
})
PARTY = {"type": "object", "description": "The party as written on the document when it was issued."}


def _money(value: Any) -> str:
    return Field("m", "money").to_json(value)


def _decimal(value: Any) -> str:
    return Field("d", "decimal").to_json(value)


def _lines(invoice: Invoice) -> list[dict[str, Any]]:
    return [{"position": ln.position, "kind": ln.kind, "description": ln.description,
             "period_from": ln.period_from.isoformat() if ln.period_from else None,
             "period_to": ln.period_to.isoformat() if ln.period_to else None,
             "quantity": _decimal(ln.quantity), "unit": ln.unit, "unit_price": _decimal(ln.unit_price),
             "vat_rate": _decimal(ln.vat_rate), "base": _money(ln.base), "vat": _money(ln.vat),
             "total": _money(ln.total)} for ln in invoice.lines]


def _pdf(call: ApiCall, invoice: Invoice) -> tuple[bytes, str]:
    from mango_billing.outputs.html import location_template, render_invoice_pdf

    return render_invoice_pdf(to_document(invoice), template=location_template(call.session)), f"{invoice.number}.pdf"


INVOICES = ApiResource(
    name="invoices",
    model=Invoice,
    title="invoices",
    description="Issued invoices and credit notes (immutable), with their lines; the PDF at /pdf.",
    read_permission="billing.invoices.view",
    options=(selectinload(Invoice.lines), selectinload(Invoice.series)),
    default_sort="-issued_on",
    fields=(
        Field("kind", enum=DOCUMENT_KINDS, filter=("eq",)),
        Field("number", filter=("eq",), sort=True),
        Field("series", value=lambda inv: inv.series.code if inv.series else ""),
        Field("customer_id", "integer", filter=("eq",)),
        Field("original_id", "integer", nullable=True, description="The invoice a credit note corrects."),
        Field("reason", nullable=True),
        Field("issued_on", "date", filter=("eq", "gte", "lte"), sort=True),
        Field("taxable_supply_date", "date", nullable=True, description="DUZP; null on an advance invoice."),
        Field("due_date", "date", filter=("gte", "lte"), sort=True),
        Field("period_from", "date", nullable=True),
        Field("period_to", "date", nullable=True),
        Field("variable_symbol", filter=("eq",)),
        Field("currency"),
        Field("vat_payer", "boolean"),
        Field("payment_method"),
        Field("seller", "object", schema=PARTY),
        Field("buyer", "object", schema=PARTY),
        Field("total_base", "money"),
        Field("total_vat", "money"),
        Field("rounding", "money"),
        Field("total", "money", sort=True, description="What the customer owes (negative for a credit note)."),
        Field("uuid"),
        Field("lines", "array", items=LINE, value=_lines),
        Field("created_at", "datetime", sort=True),
    ),
    downloads=(Download("pdf", "application/pdf", _pdf, summary="The invoice as PDF"),),
)


def _customer_here(call: ApiCall, customer_id: int) -> Customer:
    customer = call.session.scalar(select(Customer).where(Customer.id == customer_id))
    if customer is None or customer.location_id != call.location_id:
        raise customers.NotFound(field="customer_id")
    return customer


def _billing_key(call: ApiCall) -> str:
    """The payment's own idempotency key: from the request's Idempotency-Key, or a fresh one."""
    if call.idempotency_key is None:
        return f"api:{uuid.uuid4().hex}"
    digest = hashlib.sha256(f"{call.token.id}:{call.idempotency_key}".encode()).hexdigest()[:40]
    return f"api:{digest}"


def _record(call: ApiCall, data: dict[str, Any]) -> Payment:
    customer = _customer_here(call, data["customer_id"])
    recorded = payments.record_payment(
        call.session, location_id=call.location_id, customer_id=customer.id, amount=data["amount"],
        method=data["method"], received_on=data.get("received_on") or date.today(),
        idempotency_key=_billing_key(call), actor_id=call.actor, target=data.get("target") or RECEIVABLE,
        variable_symbol=data.get("variable_symbol"), note=data.get("note"))
    return recorded.payment


PAYMENTS = ApiResource(
    name="payments",
    model=Payment,
    title="payments",
    description="Money received or paid back: bank movements, cash, card. POST records a payment taken by hand, "
                "matched to the customer at once.",
    read_permission="billing.payments.view",
    write_permission="billing.payments.manage",
    default_sort="-received_on",
    errors=(payments.PaymentError,),
    fields=(
        Field("customer_id", "integer", nullable=True, required=True, minimum=1, input=CREATE, filter=("eq",),
              description="The customer it is matched to (null: not matched yet)."),
        Field("amount", "money", required=True, input=CREATE, sort=True,
              description="Positive; a refund paid out is negative."),
        Field("method", enum=payments.MANUAL_METHODS, required=True, input=CREATE,
              output_schema={"type": "string", "enum": sorted({*PAYMENT_METHODS, "bank"})},
              description="How it was paid; a person records cash, card or bank."),
        Field("received_on", "date", input=CREATE, filter=("eq", "gte", "lte"), sort=True,
              description="Default today."),
        Field("currency"),
        Field("state", enum=PAYMENT_STATES, filter=("eq",)),
        Field("target", enum=(RECEIVABLE, PREPAID), input=CREATE,
              description="receivable (invoices) or prepaid (uniCredit); default receivable."),
        Field("variable_symbol", nullable=True, max_length=10, pattern=r"^[0-9]{1,10}$", input=CREATE,
              filter=("eq",)),
        Field("constant_symbol", nullable=True),
        Field("specific_symbol", nullable=True),
        Field("counter_account", nullable=True),
        Field("counter_name", nullable=True),
        Field("message", nullable=True),
        Field("note", nullable=True, max_length=300, input=CREATE, output=False,
              description="A note kept as the payment's message."),
        Field("created_at", "datetime", sort=True),
    ),
    create=_record,
)

RESOURCES = [INVOICES, PAYMENTS]
