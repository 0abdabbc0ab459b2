"""Tariff change requests: a customer asks in the portal, staff approve or reject in Opcare.

A customer may ask for another product of the service's class that is sold in the location
today; one request per service waits at a time. Approval applies the change through
:func:`mango_core.services.lifecycle.change_product` on the date staff choose (today or later:
then it is scheduled), so the history, ``mango_service_changed`` and billing follow as for
any tariff change; if the lifecycle refuses (the product is no longer sold, the service is
ending), nothing changes and the request waits.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_core import history
from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.db import utcnow
from mango_core.selfcare.accounts import SelfcareError
from mango_core.selfcare.models import APPROVED, CANCELLED, PENDING, REJECTED, REQUEST_STATES, TariffRequest
from mango_core.selfcare.portal import NotFound
from mango_core.services import lifecycle
from mango_core.services.models import TERMINATED, Service, ServiceChange
from mango_core.tenancy.validators import N_

MAX_NOTE = 1000
REASON = "Selfcare request #%d"


def offered_products(session: Session, service: Service, on: date | None = None) -> list[Product]:
    """Products the service may move to: its class's, sold in its location today, not its own."""
    if service.state == TERMINATED:
        return []
    return [p for p in catalog.products_for_sale(session, service.location_id, on, class_id=service.class_id)
            if p.id != service.product_id]


def pending_for(session: Session, service_id: int) -> TariffRequest | None:
    return session.scalar(select(TariffRequest).where(TariffRequest.service_id == service_id,
                                                      TariffRequest.state == PENDING))


def requests_of_service(session: Session, service_id: int, limit: int = 20) -> list[TariffRequest]:
    return list(session.scalars(select(TariffRequest).where(TariffRequest.service_id == service_id)
                                .order_by(TariffRequest.id.desc()).limit(limit)))


def _note(value: Any, field: str = "note") -> str | None:
    text = (str(value) if value is not None else "").strip()
    if len(text) > MAX_NOTE:
        raise SelfcareError(N_("At most %(max)d characters."), field=field, max=MAX_NOTE)
    return text or None


def request_change(session: Session, service: Service, product_id: Any, note: str | None = None) -> TariffRequest:
    """The customer's request (the caller has checked that the service is the customer's)."""
    try:
        wanted = int(product_id)
    except (TypeError, ValueError):
        wanted = None
    product = next((p for p in offered_products(session, service) if p.id == wanted), None)
    if product is None:
        raise SelfcareError(N_("Choose one of the offered tariffs."), field="product_id")
    if pending_for(session, service.id) is not None:
        raise SelfcareError(N_("A request for this service is waiting already; cancel it first."),
                            field="product_id")
    found = TariffRequest(customer_id=service.customer_id, service_id=service.id,
                          from_product_id=service.product_id, product_id=product.id, note=_note(note),
                          state=PENDING, created_at=utcnow())
    session.add(found)
    session.flush()
    history.record(session, entity="service", entity_id=service.id, customer_id=service.customer_id,
                   action="tariff_requested", changes={"product": (service.product.code, product.code)})
    return found


def request_of(session: Session, request_id: int, *, customer_id: int | None = None) -> TariffRequest:
    """A request of the current location (and of ``customer_id`` when given), else NotFound."""
    found = session.get(TariffRequest, request_id)
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise NotFound()
    return found


def _decide(found: TariffRequest, state: str, actor: int | None, note: str | None) -> None:
    if found.state != PENDING:
        raise SelfcareError(N_("This request has been decided already."))
    found.state, found.decided_at, found.decided_by_id, found.decision_note = state, utcnow(), actor, note


def cancel(session: Session, found: TariffRequest) -> None:
    """The customer withdraws a waiting request."""
    _decide(found, CANCELLED, None, None)
    session.flush()


def approve(session: Session, found: TariffRequest, *, effective: Any = None, actor: int | None = None,
            note: str | None = None) -> ServiceChange:
    """Apply the tariff change (now, or scheduled for ``effective``); ``ServiceError`` when the lifecycle refuses."""
    clean = _note(note, "decision_note")
    if found.state != PENDING:
        raise SelfcareError(N_("This request has been decided already."))
    change = lifecycle.change_product(session, found.service, found.product_id, effective=effective, actor=actor,
                                      reason=REASON % found.id)
    _decide(found, APPROVED, actor, clean)
    found.effective, found.change_id = change.effective, change.id
    session.flush()
    return change


def reject(session: Session, found: TariffRequest, *, actor: int | None = None, note: str | None = None) -> None:
    clean = _note(note, "decision_note")
    _decide(found, REJECTED, actor, clean)
    history.record(session, entity="service", entity_id=found.service_id, customer_id=found.customer_id,
                   action="tariff_request_rejected", changes={"product": (found.product.code, None)},
                   user_id=actor)
    session.flush()


def list_requests(session: Session, state: str | None = PENDING, *, customer_id: int | None = None,
                  limit: int = 200) -> list[TariffRequest]:
    stmt = select(TariffRequest).order_by(TariffRequest.id.desc()).limit(limit)
    if state in REQUEST_STATES:
        stmt = stmt.where(TariffRequest.state == state)
    if customer_id is not None:
        stmt = stmt.where(TariffRequest.customer_id == customer_id)
    return list(session.scalars(stmt))


def count_pending(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(TariffRequest).where(TariffRequest.state == PENDING)) or 0
