"""Orders of print products: placing, uploads with preflight, the state machine, billing, notices.

States and who moves them (:data:`TRANSITIONS`)::

    received ──staff──> proof_sent ──customer approves──> approved ──staff──> in_production
       ^  │                 │ customer rejects (back to received)              │
       │  └─> cancelled     └─> cancelled                                      v
    preflight_failed ──a new file that passes──> received            finished ──> shipped | picked_up

A placed order's file is preflighted at once: a failing file leaves the order in
``preflight_failed`` until the customer uploads one that passes. Every change is a
:class:`PrintEvent` and queues an e-mail to the customer (the core's outbox, one per event).

Billing (the billing plugin's own tables and functions): on approval the price becomes a
one-off :class:`~mango_billing.models.Charge`, billed by the customer's next billing run. A
product with ``advance`` gets instead an advance invoice on approval (zálohová faktura,
:mod:`mango_billing.advances`: not a tax document, paid by QR Platba on its own variable symbol);
production may start only when it is paid. Finishing the order (or shipping / pick-up, should
the final invoice be missing) makes the charge and issues the final invoice of it, which deducts
the paid advance. Orders approved before advances existed keep their ordinary invoice
(``invoice_id`` without ``advance_invoice_id``) and its open-item check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import force_locale, gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_billing import advances, ledger
from mango_billing.invoices import InvoiceError
from mango_billing.models import Advance, Charge, Invoice
from mango_billing.periods import RatedLine
from mango_core.customers.models import Customer
from mango_core.mail import service as mail
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_
from mango_print.shop import preflight as pf
from mango_print.shop.models import (
    APPROVED,
    CANCELLED,
    FINISHED,
    IN_PRODUCTION,
    PICKED_UP,
    PREFLIGHT_FAILED,
    PROOF_SENT,
    RECEIVED,
    SHIPPED,
    PrintEvent,
    PrintFile,
    PrintOrder,
)
from mango_print.shop.products import PrintError, PrintProduct, configure, format_size, load, product_of

STAFF, CUSTOMER, SYSTEM = "staff", "customer", "system"
# (from, to) -> who may make the change
TRANSITIONS: dict[tuple[str, str], str] = {
    (RECEIVED, PROOF_SENT): STAFF,
    (RECEIVED, CANCELLED): STAFF,
    (PREFLIGHT_FAILED, RECEIVED): SYSTEM,  # a new file passed preflight
    (PREFLIGHT_FAILED, CANCELLED): STAFF,
    (PROOF_SENT, APPROVED): CUSTOMER,
    (PROOF_SENT, RECEIVED): CUSTOMER,  # the customer rejects the proof
    (PROOF_SENT, CANCELLED): STAFF,
    (APPROVED, IN_PRODUCTION): STAFF,
    (IN_PRODUCTION, FINISHED): STAFF,
    (FINISHED, SHIPPED): STAFF,
    (FINISHED, PICKED_UP): STAFF,
}
MAX_FILENAME = 200
STATE_LABELS = {  # msgids of their own: a bare "received" means something else elsewhere in Mango
    RECEIVED: N_("order received"), PREFLIGHT_FAILED: N_("file failed the check"), PROOF_SENT: N_("proof sent"),
    APPROVED: N_("proof approved"), IN_PRODUCTION: N_("in production"), FINISHED: N_("order printed"),
    SHIPPED: N_("order shipped"), PICKED_UP: N_("order picked up"), CANCELLED: N_("order cancelled"),
}


def _label(state: str) -> Any:
    """A state's words for a message (translated when the message is shown)."""
    return lazy_gettext(STATE_LABELS[state]) if state in STATE_LABELS else state


def next_states(state: str, who: str) -> list[str]:
    return [to for (frm, to), by in TRANSITIONS.items() if frm == state and by == who]


def get_order(session: Session, order_id: int, *, customer_id: int | None = None) -> PrintOrder:
    """An order of the scope's location (and of ``customer_id`` when given); else :class:`PrintError`."""
    # a query, not session.get: the identity map would hand out a row loaded in another scope
    order = session.scalar(select(PrintOrder).where(PrintOrder.id == order_id))
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise PrintError(N_("Order not found."))
    return order


def orders(session: Session, *, customer_id: int | None = None, states: tuple[str, ...] | None = None,
           limit: int = 500) -> list[PrintOrder]:
    stmt = select(PrintOrder).order_by(PrintOrder.id.desc()).limit(limit)
    if customer_id is not None:
        stmt = stmt.where(PrintOrder.customer_id == customer_id)
    if states:
        stmt = stmt.where(PrintOrder.state.in_(states))
    return list(session.scalars(stmt))


# --- placing and files ---------------------------------------------------------------------------


def _check_file(filename: Any, data: Any) -> tuple[str, bytes]:
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:MAX_FILENAME] or "tisk.pdf"
    if not isinstance(data, bytes | bytearray) or not data:
        raise PrintError(N_("Choose a PDF file."), field="file")
    if len(data) > pf.MAX_BYTES:
        raise PrintError(N_("The file is larger than %(max)d MB."), field="file", max=pf.MAX_BYTES // 2**20)
    return name, bytes(data)


def _preflight(item: PrintProduct, params: dict[str, Any], data: bytes) -> pf.Report:
    width, height = format_size(params.get("format"))
    return pf.preflight(data, pages=item.spec.pages, width_mm=width, height_mm=height,
                        bleed_mm=Decimal(item.spec.bleed_mm), min_dpi=item.spec.min_dpi)


def _attach(session: Session, order: PrintOrder, item: PrintProduct, filename: str, data: bytes) -> PrintFile:
    report = _preflight(item, order.params, data)
    file = PrintFile(filename=filename, size=len(data), sha256=hashlib.sha256(data).hexdigest(), content=data,
                     pages=report.pages, verdict=report.verdict, report=report.to_json())
    order.files.append(file)
    session.flush()
    return file


def place_order(session: Session, customer: Customer, product_id: int, params: dict[str, Any], *, filename: Any,
                data: Any, note: str | None = None) -> PrintOrder:
    """A customer's order with its print-ready PDF; ``received`` or ``preflight_failed`` by the file."""
    from mango_core.catalog.service import check_sellable

    item = load(session, product_id)
    check_sellable(item.product, current_scope().write_location_id, date.today())
    values, price = configure(item, params)
    name, content = _check_file(filename, data)
    order = PrintOrder(customer_id=customer.id, product_id=item.product.id, class_version=item.defs.version,
                       params=values, quantity=price.quantity, price=price.total, vat_rate=item.product.vat_rate,
                       quote=price.to_json(), advance=item.spec.advance, state=RECEIVED,
                       note=(note or "").strip()[:2000] or None)
    session.add(order)
    session.flush()
    file = _attach(session, order, item, name, content)
    order.state = PREFLIGHT_FAILED if file.verdict == pf.FAIL else RECEIVED
    _event(session, order, None, order.state, by_customer=True)
    return order


def upload(session: Session, order: PrintOrder, *, filename: Any, data: Any) -> PrintFile:
    """A new file for an order waiting for one (``preflight_failed``) or before the proof (``received``)."""
    if order.state not in (PREFLIGHT_FAILED, RECEIVED):
        raise PrintError(N_("The order is past the point where its file can change."), field="file")
    name, content = _check_file(filename, data)
    item = load(session, order.product_id)
    file = _attach(session, order, item, name, content)
    if order.state == PREFLIGHT_FAILED and file.verdict != pf.FAIL:
        _move(session, order, RECEIVED, note=None, by_customer=True)
    elif order.state == RECEIVED and file.verdict == pf.FAIL:
        order.state = PREFLIGHT_FAILED  # a worse file replaces a good one: back to waiting
        _event(session, order, RECEIVED, PREFLIGHT_FAILED, by_customer=True)
    return file


# --- the state machine ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    who: str  # STAFF or CUSTOMER
    user_id: int | None = None
    customer_id: int | None = None


def change_state(session: Session, order: PrintOrder, to: str, actor: Actor, *, note: str | None = None) -> None:
    """Move ``order`` to ``to`` if the transition exists and belongs to ``actor``; bill on approval."""
    by = TRANSITIONS.get((order.state, to))
    if by is None or by != actor.who:
        raise PrintError(N_("An order in state %(state)s cannot go to %(to)s."), state=_label(order.state),
                         to=_label(to))
    if actor.who == CUSTOMER and order.customer_id != actor.customer_id:
        raise PrintError(N_("Order not found."))
    if to == APPROVED:
        _bill(session, order, actor)
    if to == IN_PRODUCTION and order.advance and not advance_paid(session, order):
        raise PrintError(N_("The advance invoice of this order is not paid yet."))
    if to in (FINISHED, SHIPPED, PICKED_UP) and order.advance_invoice_id is not None:
        _final_invoice(session, order, actor)
    _move(session, order, to, note=note, by_customer=actor.who == CUSTOMER, actor_id=actor.user_id)


def advance_of(session: Session, order: PrintOrder) -> Advance | None:
    """The billing record of the order's advance invoice (None without one)."""
    if order.advance_invoice_id is None:
        return None
    return session.scalar(select(Advance).where(Advance.invoice_id == order.advance_invoice_id))


def advance_view(session: Session, order: PrintOrder) -> advances.AdvanceView | None:
    """The order's advance invoice as the order pages show it (state, unpaid, tax documents, final)."""
    if order.advance_invoice_id is None:
        return None
    document = session.scalar(select(Invoice).where(Invoice.id == order.advance_invoice_id))
    return advances.view(session, document) if document is not None else None


def advance_paid(session: Session, order: PrintOrder) -> bool:
    advance = advance_of(session, order)
    if advance is not None and advance.state != advances.SETTLED:
        return advance.state == advances.PAID
    if advance is not None:
        # settled (its final invoice issued from billing before production): that invoice must be paid
        unpaid = {item.invoice_id for item in ledger.open_items(session, order.customer_id)}
        return advance.final_invoice_id not in unpaid
    if order.invoice_id is None:
        return False
    # an order approved before advances existed: its ordinary invoice, paid when it is no open item
    unpaid = {item.invoice_id for item in ledger.open_items(session, order.customer_id)}
    return order.invoice_id not in unpaid


def _move(session: Session, order: PrintOrder, to: str, *, note: str | None, by_customer: bool,
          actor_id: int | None = None) -> None:
    before = order.state
    order.state = to
    _event(session, order, before, to, note=note, by_customer=by_customer, actor_id=actor_id)


def _event(session: Session, order: PrintOrder, before: str | None, to: str, *, note: str | None = None,
           by_customer: bool = False, actor_id: int | None = None) -> PrintEvent:
    event = PrintEvent(from_state=before, to_state=to, note=(note or "").strip()[:2000] or None,
                       by_customer=by_customer, actor_id=actor_id)
    order.events.append(event)
    session.flush()
    notify(session, order, event)
    return event


# --- billing ---------------------------------------------------------------------------------------


def order_label(order: PrintOrder) -> str:
    return f"Tisková zakázka č. {order.id}"


def _order_line(order: PrintOrder, product_name: str, charge_id: int | None = None) -> RatedLine:
    return RatedLine(kind="one_off", description=f"{order_label(order)}: {product_name}, {order.quantity} ks"[:300],
                     amount=Decimal(order.price), vat_rate=Decimal(order.vat_rate), customer_id=order.customer_id,
                     quantity=Decimal("1"), unit="ks", charge_id=charge_id)


def _location(session: Session, *, issuing: bool = True) -> Location:
    location = session.get(Location, current_scope().write_location_id)
    if issuing and location.vat_payer and not (location.dic or "").strip():
        raise PrintError(N_("The location is a VAT payer without a DIČ: an invoice cannot be issued."))
    return location


def _bill(session: Session, order: PrintOrder, actor: Actor) -> None:
    """On approval (once): the order's one-off charge, or with an advance its advance invoice."""
    if order.charge_id is not None or order.advance_invoice_id is not None:
        return
    product = product_of(session, order.product_id)
    location = _location(session, issuing=order.advance)
    if order.advance:
        # the charge waits for the final invoice: the billing run must not bill it meanwhile
        advance = advances.issue_advance(session, location, order.customer_id, [_order_line(order, product.name)],
                                         source=f"print:order:{order.id}", due_days=7, actor_id=actor.user_id)
        order.advance_invoice_id = advance.invoice_id
        return
    order.charge_id = _charge(session, location, order, product.name, actor).id


def _charge(session: Session, location: Location, order: PrintOrder, product_name: str, actor: Actor) -> Charge:
    vat_rate = Decimal(order.vat_rate) if location.vat_payer else Decimal("0")
    charge = Charge(customer_id=order.customer_id, description=_order_line(order, product_name).description,
                    quantity=Decimal("1"), unit_price=Decimal(order.price), vat_rate=vat_rate, charge_on=date.today(),
                    created_by_id=actor.user_id)
    session.add(charge)
    session.flush()
    return charge


def _final_invoice(session: Session, order: PrintOrder, actor: Actor) -> None:
    """The final invoice of a finished advance order (once): its charge, deducting the paid advance."""
    if order.invoice_id is not None:
        return
    advance = advance_of(session, order)
    if advance is None or advance.state == advances.CANCELLED:
        return
    if advance.final_invoice_id is not None:
        # staff issued the final invoice from billing's advance page already: it is the order's
        order.invoice_id = advance.final_invoice_id
        return
    product = product_of(session, order.product_id)
    location = _location(session)
    charge = _charge(session, location, order, product.name, actor)
    line = _order_line(order, product.name, charge.id)
    try:
        final = advances.settle(session, advance, lines=[line], actor_id=actor.user_id)
    except InvoiceError as exc:  # the location's data cannot make the invoice (shown to staff as it is)
        raise PrintError(N_("The final invoice cannot be issued: %(reason)s"), reason=str(exc)) from exc
    order.charge_id = charge.id
    order.invoice_id = final.id


# --- notifications -------------------------------------------------------------------------------


def customer_emails(customer: Customer) -> list[str]:
    """E-mails of the customer's billing contacts (any contact's when none has the billing role)."""
    contacts = [c for c in customer.contacts if c.role_billing] or list(customer.contacts)
    return sorted({ch.value for c in contacts for ch in c.channels if ch.kind == "email"})


def notify(session: Session, order: PrintOrder, event: PrintEvent) -> None:
    """Queue the customer's e-mail about ``event`` (Czech, the portal's language; once per event)."""
    customer = session.get(Customer, order.customer_id)
    to = customer_emails(customer) if customer is not None else []
    if not to:
        return
    with force_locale("cs"):
        state = gettext(STATE_LABELS[event.to_state])
        subject = gettext("Order %(id)d: %(state)s", id=order.id, state=state)
        lines = [gettext("Your order %(id)d is now: %(state)s.", id=order.id, state=state)]
        if event.to_state == PREFLIGHT_FAILED:
            lines.append(gettext("The file did not pass the check; please upload a corrected one in the portal."))
        if event.to_state == PROOF_SENT:
            lines.append(gettext("Please check the proof in the portal and approve it."))
        if event.note:
            lines.append(event.note)
    mail.queue(session, to=to, subject=subject, text="\n\n".join(lines), entity="print_order", entity_id=order.id,
               dedup_key=f"print:order:{order.location_id}:{event.id}")
