"""Service events: planned works and outages, the services and customers they affect, notices.

Affected services are found by the event's ``scope``:

* ``topology`` — the ISP plugin's impact analysis (:func:`mango_isp.topology.service.impact`) of each
  of the event's devices; only where the ISP plugin is installed *and* active in the location;
* ``manual`` — services picked by hand; ``product`` — live services of one product; ``all`` — every
  live service of the location.

The ISP plugin is imported lazily: the call centre works without it. Telling the customers (e-mail,
SMS, automatically for outages from alerts) is :mod:`.notices`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from flask import has_app_context
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from mango_callcenter.events.models import (  # noqa: F401 - ANNOUNCE, END: the stages, re-exported
    ALL,
    ANNOUNCE,
    CANCELLED,
    CURRENT_STATES,
    END,
    FINISHED,
    KINDS,
    MANUAL,
    ONGOING,
    OUTAGE,
    PLANNED,
    PRODUCT,
    SOURCES,
    STATES,
    TOPOLOGY,
    EventCustomer,
    EventDevice,
    EventService,
    ServiceEvent,
)
from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.services.models import ACTIVE, BLOCKED, PENDING, Service
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.validators import N_, InvalidValue

log = logging.getLogger(__name__)
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
LIVE = (PENDING, ACTIVE, BLOCKED)
TRANSITIONS: dict[str, frozenset[str]] = {
    PLANNED: frozenset({ONGOING, FINISHED, CANCELLED}),
    ONGOING: frozenset({FINISHED, CANCELLED}),
    FINISHED: frozenset(),
    CANCELLED: frozenset(),
}


# --- the ISP plugin, when it is there -------------------------------------------------------------


def isp_active(location_id: int | None = None) -> bool:
    """Is the ISP plugin installed and active in the location (the topology can be asked)?"""
    if not has_app_context():
        return False
    try:
        import mango_isp.topology.service  # noqa: F401
    except ImportError:
        return False
    from mango_core.kernel import current_mango

    location_id = location_id if location_id is not None else current_scope().write_location_id
    return current_mango().is_active("isp", location_id)


def topology_impact(session: Session, device_ids: Iterable[int]) -> list[Service]:
    """Live services cut off when any of the devices fails (the union of their impacts)."""
    from mango_isp.topology import service as topology

    found: dict[int, Service] = {}
    for device_id in device_ids:
        for service in topology.impact(session, device_id).services:
            found[service.id] = service
    return [found[k] for k in sorted(found)]


# --- checks ------------------------------------------------------------------------------------------


def _text(value: object, field: str, limit: int, *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise InvalidValue(N_("This field is required."), field=field)
    if len(text) > limit:
        raise InvalidValue(N_("At most %(max)d characters."), field=field, max=limit)
    return text


def _ids(values: Iterable[object] | None, field: str) -> list[int]:
    out: list[int] = []
    for value in values or ():
        if value in (None, ""):
            continue
        try:
            out.append(int(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidValue(N_("Choose one of the offered values."), field=field) from None
    return sorted(set(out))


def _datetime(value: object, field: str, *, required: bool = True) -> datetime | None:
    if value in (None, ""):
        if required:
            raise InvalidValue(N_("This field is required."), field=field)
        return None
    if isinstance(value, datetime):
        return value
    raise InvalidValue(N_("Enter a date and time."), field=field)


# --- events --------------------------------------------------------------------------------------------


def create_event(session: Session, *, kind: object, title: object, description: object = "",
                 starts_at: object, ends_at: object = None, scope: object = MANUAL, device_ids: Iterable[object] = (),
                 service_ids: Iterable[object] = (), product_id: object = None, state: object = PLANNED,
                 actor: int | None = None, alert_id: int | None = None) -> ServiceEvent:
    """A new event with its devices; its affected services and customers are computed at once."""
    if kind not in KINDS:
        raise InvalidValue(N_("Choose one of the offered values."), field="kind")
    if state not in (PLANNED, ONGOING):
        raise InvalidValue(N_("Choose one of the offered values."), field="state")
    if scope not in SOURCES:
        raise InvalidValue(N_("Choose one of the offered values."), field="scope")
    start = _datetime(starts_at, "starts_at")
    end = _datetime(ends_at, "ends_at", required=False)
    if end is not None and end < start:
        raise InvalidValue(N_("The end must not be before the start."), field="ends_at")
    devices = _ids(device_ids, "device_ids")
    found = set(session.scalars(select(Device.id).where(Device.id.in_(devices)))) if devices else set()
    if found != set(devices):
        raise InvalidValue(N_("Choose one of the offered values."), field="device_ids")
    if scope == TOPOLOGY:
        if not devices:
            raise InvalidValue(N_("Choose the devices the event is about."), field="device_ids")
        if not isp_active():
            raise InvalidValue(N_("The network topology is not available here: pick the services."), field="scope")
    product = None
    if scope == PRODUCT:
        from mango_core.catalog.models import Product

        pid = _ids([product_id], "product_id")
        product = session.get(Product, pid[0]) if pid else None
        if product is None:
            raise InvalidValue(N_("Choose one of the offered values."), field="product_id")
    event = ServiceEvent(kind=kind, title=" ".join(_text(title, "title", MAX_TITLE).split()),
                         description=_text(description, "description", MAX_DESCRIPTION, required=False),
                         state=state, starts_at=start, ends_at=end, scope=scope,
                         product_id=product.id if product else None, alert_id=alert_id, created_by_id=actor)
    session.add(event)
    session.flush()
    for device_id in devices:
        session.add(EventDevice(event_id=event.id, device_id=device_id))
    session.flush()
    session.refresh(event, ["devices"])
    recompute(session, event, service_ids=service_ids)
    return event


def get_event(session: Session, event_id: int) -> ServiceEvent | None:
    return session.scalar(select(ServiceEvent).where(ServiceEvent.id == event_id))


def _chosen_services(session: Session, event: ServiceEvent, service_ids: Iterable[object] | None) -> list[Service]:
    if event.scope == TOPOLOGY:
        return topology_impact(session, [d.device_id for d in event.devices])
    stmt = select(Service).where(Service.state.in_(LIVE)).order_by(Service.id)
    if event.scope == PRODUCT:
        return list(session.scalars(stmt.where(Service.product_id == event.product_id)))
    if event.scope == ALL:
        return list(session.scalars(stmt))
    if service_ids is None:  # manual: keep what was picked
        kept = select(EventService.service_id).where(EventService.event_id == event.id)
        return list(session.scalars(select(Service).where(Service.id.in_(kept)).order_by(Service.id)))
    ids = _ids(service_ids, "service_ids")
    services = list(session.scalars(select(Service).where(Service.id.in_(ids)).order_by(Service.id))) if ids else []
    if len(services) != len(ids):
        raise InvalidValue(N_("Choose one of the offered values."), field="service_ids")
    return services


def recompute(session: Session, event: ServiceEvent, *, service_ids: Iterable[object] | None = None) -> int:
    """Store the affected services and customers again (the topology may have changed); returns the customers.

    Customers already told stay listed (they were told; the end notice must reach them too).
    """
    services = _chosen_services(session, event, service_ids)
    session.execute(delete(EventService).where(EventService.event_id == event.id))
    for service in services:
        session.add(EventService(event_id=event.id, service_id=service.id, customer_id=service.customer_id,
                                 source=event.scope))
    wanted = {s.customer_id for s in services}
    rows = {r.customer_id: r for r in session.scalars(select(EventCustomer).where(EventCustomer.event_id == event.id))}
    for customer_id, row in rows.items():
        if customer_id not in wanted and row.notified_at is None:
            session.delete(row)
    for customer_id in sorted(wanted - set(rows)):
        session.add(EventCustomer(event_id=event.id, customer_id=customer_id))
    session.flush()
    return len(wanted | {c for c, r in rows.items() if r.notified_at is not None})


def change_state(session: Session, event: ServiceEvent, state: object, *, now: datetime | None = None) -> None:
    if state not in STATES:
        raise InvalidValue(N_("Choose one of the offered values."), field="state")
    if state == event.state:
        return
    if state not in TRANSITIONS[event.state]:
        raise InvalidValue(N_("The event cannot go from %(old)s to %(new)s."), field="state", old=event.state,
                           new=state)
    now = now or utcnow()
    event.state = state
    if state == ONGOING and event.starts_at > now:
        event.starts_at = now
    if state in (FINISHED, CANCELLED) and (event.ends_at is None or event.ends_at > now):
        event.ends_at = max(now, event.starts_at)
    session.flush()


def affected_services(session: Session, event: ServiceEvent) -> list[EventService]:
    return list(session.scalars(select(EventService).where(EventService.event_id == event.id)
                                .options(selectinload(EventService.service)).order_by(EventService.service_id)))


def affected_customers(session: Session, event: ServiceEvent) -> list[EventCustomer]:
    return list(session.scalars(select(EventCustomer).where(EventCustomer.event_id == event.id)
                                .options(selectinload(EventCustomer.customer)).order_by(EventCustomer.customer_id)))


def list_events(session: Session, *, current_only: bool = False, limit: int = 300) -> list[ServiceEvent]:
    stmt = select(ServiceEvent).order_by(ServiceEvent.starts_at.desc(), ServiceEvent.id.desc()).limit(limit)
    if current_only:
        stmt = stmt.where(ServiceEvent.state.in_(CURRENT_STATES))
    return list(session.scalars(stmt))


def current_events_of_customer(session: Session, customer_id: int) -> list[ServiceEvent]:
    """Planned and ongoing events that affect the customer (the Selfcare notice)."""
    mine = select(EventCustomer.event_id).where(EventCustomer.customer_id == customer_id)
    return list(session.scalars(select(ServiceEvent).where(ServiceEvent.id.in_(mine),
                                                           ServiceEvent.state.in_(CURRENT_STATES))
                                .order_by(ServiceEvent.starts_at)))


def events_of_customer(session: Session, customer_id: int, limit: int = 50) -> list[ServiceEvent]:
    mine = select(EventCustomer.event_id).where(EventCustomer.customer_id == customer_id)
    return list(session.scalars(select(ServiceEvent).where(ServiceEvent.id.in_(mine))
                                .order_by(ServiceEvent.starts_at.desc()).limit(limit)))


# --- the ISP monitoring's open alerts ----------------------------------------------------------------------


def sync_alerts(session: Session, location_id: int, *, now: datetime | None = None) -> str:
    """Open an outage event for each open ISP alert that has none; finish those whose alert resolved.

    Safe to re-run: an event remembers its alert (unique per location), and only ongoing ones are finished.
    """
    if not isp_active(location_id):
        return "ISP plugin not active: nothing to do"
    from mango_isp.monitoring.models import Alert

    now = now or utcnow()
    opened = finished = 0
    known = {e.alert_id: e for e in session.scalars(select(ServiceEvent).where(ServiceEvent.alert_id.is_not(None)))}
    for alert in session.scalars(select(Alert).where(Alert.state == "open").order_by(Alert.id)):
        if alert.id in known:
            continue
        device = session.get(Device, alert.device_id)
        name = device.name if device is not None else f"#{alert.device_id}"
        with session.begin_nested():
            create_event(session, kind=OUTAGE, title=_("Outage of %(device)s", device=name),
                         description=alert.message or "", starts_at=alert.down_since or alert.opened_at,
                         scope=TOPOLOGY, device_ids=[alert.device_id], state=ONGOING, alert_id=alert.id)
        opened += 1
    for alert_id, event in known.items():
        if event.state != ONGOING:
            continue
        alert = session.get(Alert, alert_id)
        if alert is None or alert.state != "open":
            change_state(session, event, FINISHED, now=(alert.resolved_at if alert is not None and alert.resolved_at
                                                        else now))
            finished += 1
    session.flush()
    return f"{opened} opened, {finished} finished"
