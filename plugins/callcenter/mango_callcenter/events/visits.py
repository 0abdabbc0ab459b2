"""Technician visits: scheduled in the calendar (a time window for one technician), linked to a
customer, service, device, ticket or event; finished with a recorded outcome; printed as a work order
through the core documents (kind ``callcenter_work_order``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_callcenter.events.models import DONE, FAILED, SCHEDULED, VISIT_CANCELLED, ServiceEvent, Visit
from mango_callcenter.helpdesk.models import Ticket
from mango_callcenter.helpdesk.service import staff_in_location
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.services.models import Service
from mango_core.tenancy.validators import N_, InvalidValue

WORK_ORDER = "callcenter_work_order"
MAX_HOURS = 24
OUTCOMES = (DONE, FAILED, VISIT_CANCELLED)


def _id(value: object, field: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidValue(N_("Choose one of the offered values."), field=field) from None


def _row(session: Session, model: type, value: object, field: str):  # noqa: ANN202
    row_id = _id(value, field)
    if row_id is None:
        return None
    row = session.scalar(select(model).where(model.id == row_id))
    if row is None:
        raise InvalidValue(N_("Choose one of the offered values."), field=field)
    return row


def schedule(session: Session, *, technician_id: object, starts_at: datetime | None, ends_at: datetime | None,
             title: object, note: object = "", place: object = "", customer_id: object = None,
             service_id: object = None, device_id: object = None, ticket_number: object = None,
             event_id: object = None, actor: int | None = None) -> Visit:
    """Put a visit into the calendar; the technician must not have another visit in the window."""
    tech_id = _id(technician_id, "technician_id")
    if tech_id is None:
        raise InvalidValue(N_("This field is required."), field="technician_id")
    try:
        technician = staff_in_location(session, tech_id)
    except InvalidValue:
        raise InvalidValue(N_("Choose one of the offered values."), field="technician_id") from None
    if starts_at is None or ends_at is None:
        raise InvalidValue(N_("This field is required."), field="starts_at" if starts_at is None else "ends_at")
    if ends_at <= starts_at or ends_at - starts_at > timedelta(hours=MAX_HOURS):
        raise InvalidValue(N_("The end must be after the start, within %(hours)d hours."), field="ends_at",
                           hours=MAX_HOURS)
    text = " ".join(str(title or "").split())
    if not text:
        raise InvalidValue(N_("This field is required."), field="title")
    customer = _row(session, Customer, customer_id, "customer_id")
    service = _row(session, Service, service_id, "service_id")
    if service is not None:
        if customer is None:
            customer = session.get(Customer, service.customer_id)
        elif service.customer_id != customer.id:
            raise InvalidValue(N_("The service belongs to another customer."), field="service_id")
    device = _row(session, Device, device_id, "device_id")
    ticket = None
    if _id(ticket_number, "ticket_number") is not None:
        ticket = session.scalar(select(Ticket).where(Ticket.number == _id(ticket_number, "ticket_number")))
        if ticket is None:
            raise InvalidValue(N_("Choose one of the offered values."), field="ticket_number")
        if customer is None and ticket.customer_id:
            customer = session.get(Customer, ticket.customer_id)
    event = _row(session, ServiceEvent, event_id, "event_id")
    clash = session.scalar(select(Visit.id).where(Visit.technician_id == technician.id, Visit.state == SCHEDULED,
                                                  Visit.starts_at < ends_at, Visit.ends_at > starts_at))
    if clash is not None:
        raise InvalidValue(N_("The technician has another visit at that time."), field="starts_at")
    visit = Visit(technician_id=technician.id, starts_at=starts_at, ends_at=ends_at, title=text[:200],
                  note=str(note or "").strip()[:10_000], place=str(place or "").strip()[:300], state=SCHEDULED,
                  customer_id=customer.id if customer else None, service_id=service.id if service else None,
                  device_id=device.id if device else None, ticket_id=ticket.id if ticket else None,
                  event_id=event.id if event else None, created_by_id=actor)
    session.add(visit)
    session.flush()
    return visit


def finish(session: Session, visit: Visit, *, state: object, outcome: object, now: datetime | None = None) -> None:
    """Record how the visit ended (done, failed, cancelled) and what was done; once."""
    if visit.state != SCHEDULED:
        raise InvalidValue(N_("The visit's outcome is recorded already."), field="state")
    if state not in OUTCOMES:
        raise InvalidValue(N_("Choose one of the offered values."), field="state")
    text = str(outcome or "").strip()
    if not text:
        raise InvalidValue(N_("This field is required."), field="outcome")
    visit.state = str(state)
    visit.outcome = text[:10_000]
    visit.finished_at = now or utcnow()
    session.flush()


def get_visit(session: Session, visit_id: int) -> Visit | None:
    return session.scalar(select(Visit).where(Visit.id == visit_id))


def between(session: Session, start: datetime, end: datetime, *, technician_id: int | None = None) -> list[Visit]:
    """Visits overlapping ``[start, end)`` (the calendar's week)."""
    stmt = select(Visit).where(Visit.starts_at < end, Visit.ends_at > start).order_by(Visit.starts_at, Visit.id)
    if technician_id:
        stmt = stmt.where(Visit.technician_id == technician_id)
    return list(session.scalars(stmt))


# --- the work order ---------------------------------------------------------------------------------------


def work_order_context(session: Session, visit: Visit) -> dict[str, Any]:
    """Plain values for the work order template (the customer context of the core, plus the visit)."""
    from mango_core.documents.kinds import customer_context, sample_context

    ctx = customer_context(session, visit.customer) if visit.customer is not None else sample_context()
    if visit.customer is None:
        ctx["customer"] = None
    ctx["visit"] = {
        "id": visit.id, "title": visit.title, "starts_at": visit.starts_at, "ends_at": visit.ends_at,
        "technician": visit.technician.name if visit.technician else "", "place": visit.place, "note": visit.note,
        "state": visit.state, "outcome": visit.outcome,
        "service": f"{visit.service.product.name} #{visit.service.id}" if visit.service else "",
        "device": visit.device.name if visit.device else "",
        "ticket": f"#{visit.ticket.number} {visit.ticket.subject}" if visit.ticket else "",
        "event": visit.event.title if visit.event else "",
    }
    return ctx


def sample_work_order_context() -> dict[str, Any]:
    from mango_core.documents.kinds import sample_context

    ctx = sample_context()
    now = utcnow()
    ctx["visit"] = {"id": 1, "title": "Instalace přípojky", "starts_at": now, "ends_at": now + timedelta(hours=2),
                    "technician": "Petr Technik", "place": "Dlouhá 1, Praha", "note": "Zvonit u vrat.",
                    "state": SCHEDULED, "outcome": "", "service": "Internet 100 #1", "device": "ap1",
                    "ticket": "#12 Nejde internet", "event": ""}
    return ctx


def work_order_kind():  # noqa: ANN201 - a DocumentKind; the import stays lazy (documents need the app)
    from pathlib import Path

    from flask_babel import lazy_gettext as _l

    from mango_core.documents.kinds import DocumentKind, customer_context, default_text

    body = (Path(__file__).resolve().parent.parent / "templates" / "callcenter" / "events" / "work_order.html"
            ).read_text(encoding="utf-8")
    # made from a visit, not offered on the customer card
    return DocumentKind(WORK_ORDER, _l("Work order"), customer_context, body, default_text("document.css"),
                        subject="callcenter_visit", sample=sample_work_order_context)


def work_order_pdf(session: Session, visit: Visit, *, actor: int | None = None) -> tuple[str, bytes]:
    """Render the location's work order template for the visit; archived on the customer's documents when
    the visit has a customer. Returns (file name, PDF)."""
    from mango_core.documents import service as documents

    template = documents.default_template(session, WORK_ORDER, actor=actor)
    version = template.current
    title = f"{documents.kind_of(WORK_ORDER).label} {visit.id}"
    rendered = documents.render(session, version.body, version.css, work_order_context(session, visit), title=title,
                                location_id=visit.location_id)
    if visit.customer is not None:
        document = documents.archive(session, customer=visit.customer, kind=WORK_ORDER, title=title,
                                     content=rendered.pdf, template=template, template_version=version.version,
                                     actor=actor)
        return document.file_name, rendered.pdf
    return f"work-order-{visit.id}.pdf", rendered.pdf
