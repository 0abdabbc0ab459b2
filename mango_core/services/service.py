"""Creating services and reading them; linking devices. Lifecycle operations: :mod:`.lifecycle`.

Each function checks all its input before it changes anything (a :class:`ServiceError` leaves
the data as it was), writes the history with its author (``actor``: a user id, None for the
system) and tells the plugins enabled in the location (``mango_service_changed``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core import history
from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.customers.models import SERVICE_PLACE, Customer, CustomerAddress
from mango_core.devices.models import Device
from mango_core.params import ParamValidationError, Resolvers, validate_values
from mango_core.services.errors import NotFound, ServiceError
from mango_core.services.events import ServiceChangeInfo, emit_changed
from mango_core.services.models import PENDING, TERMINATED, Service, ServiceChange, ServiceDevice
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.validators import N_, InvalidValue

PAYMENT_PERIODS = (1, 2, 3, 4, 6, 12)


def today() -> date:
    return date.today()


def resolvers(session: Session) -> Resolvers:
    """Reference checks of parameter values: a device must exist in this location."""
    write = current_scope().write_location_id

    def exists(device_id: Any) -> bool:
        device = session.get(Device, device_id)
        return device is not None and device.location_id == write

    return {"device": exists}


def get_service(session: Session, service_id: int) -> Service:
    """A service of the current location (the tenant guard hides all others): else NotFound."""
    found = session.get(Service, service_id)
    if found is None:
        raise NotFound()
    return found


def services_of_customer(session: Session, customer_id: int) -> list[Service]:
    return list(session.scalars(select(Service).where(Service.customer_id == customer_id)
                                .order_by(Service.state == TERMINATED, Service.id)))


def services_of_class(session: Session, class_id: int) -> list[Service]:
    """Services of a class in the locations of the scope (not terminated)."""
    return list(session.scalars(select(Service).where(Service.class_id == class_id, Service.state != TERMINATED)
                                .order_by(Service.id)))


def scheduled_changes(session: Session, service: Service) -> list[ServiceChange]:
    from mango_core.services.models import SCHEDULED

    return list(session.scalars(select(ServiceChange).where(ServiceChange.service_id == service.id,
                                                            ServiceChange.state == SCHEDULED)
                                .order_by(ServiceChange.effective, ServiceChange.id)))


def change_log(session: Session, service: Service, limit: int = 100) -> list[ServiceChange]:
    return list(session.scalars(select(ServiceChange).where(ServiceChange.service_id == service.id)
                                .order_by(ServiceChange.id.desc()).limit(limit)))


def customer_of(session: Session, customer_id: Any, field: str = "customer") -> Customer:
    customer = session.get(Customer, customer_id) if isinstance(customer_id, int) else None
    if customer is None or not current_scope().writable(customer.location_id):  # the identity map is not filtered
        raise ServiceError(N_("The customer was not found in this location."), field=field)
    if customer.anonymised_at is not None:
        raise ServiceError(N_("An anonymised customer cannot be changed."), field=field)
    return customer


def service_place(session: Session, customer: Customer, address_id: Any) -> CustomerAddress | None:
    """The service place must be a service-place address of the customer (or none)."""
    if address_id in (None, "", 0):
        return None
    try:
        address = session.get(CustomerAddress, int(address_id))
    except (TypeError, ValueError):
        address = None
    if address is None or address.customer_id != customer.id or address.kind != SERVICE_PLACE:
        raise ServiceError(N_("Choose a service place of the customer."), field="service_place_id")
    return address


def product_of(session: Session, product_id: Any, field: str = "product_id") -> Product:
    product = session.get(Product, product_id) if isinstance(product_id, int) else None
    if product is None:
        raise ServiceError(N_("Product not found."), field=field)
    return product


def money(value: Any, field: str = "price") -> Any:
    try:
        return catalog.money(value, field)
    except InvalidValue as exc:
        raise ServiceError(exc.message, field=field, **exc.params) from exc


def payment_period(value: Any) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        months = int(value)
    except (TypeError, ValueError):
        months = -1
    if months not in PAYMENT_PERIODS:
        raise ServiceError(N_("Choose a payment period of 1, 2, 3, 4, 6 or 12 months."), field="payment_period")
    return months


def validated_params(session: Session, product: Product, raw: dict[str, Any] | None,
                     base: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
    """Values for a service of ``product``: ``base`` (stored values carried over), then the product's
    defaults, then ``raw``; checked against the class's current version (every error at once)."""
    defs = catalog.definitions(session, product.service_class)
    merged = {k: v for k, v in (base or {}).items() if k in defs}
    merged.update({k: v for k, v in (product.defaults or {}).items() if k in defs and v is not None})
    merged.update(raw or {})
    return validate_values(defs, merged, resolvers=resolvers(session)), defs.version


def record(session: Session, service: Service, action: str, changes: dict | None, *, actor: int | None,
           reason: str | None = None, effective: date | None = None, customer_id: int | None = None) -> None:
    history.record(session, entity="service", entity_id=service.id, customer_id=customer_id or service.customer_id,
                   action=action, changes=changes, reason=reason, effective=effective, user_id=actor)


def create_service(session: Session, *, customer_id: int, product_id: int, params: dict[str, Any] | None = None,
                   price: Any = None, start_date: date | None = None, commitment_until: date | None = None,
                   service_place_id: Any = None, payment_period_months: Any = None, note: str | None = None,
                   activate: bool = False, actor: int | None = None, reason: str | None = None) -> Service:
    """A new (pending) service of a customer; ``activate`` activates it on ``start_date``
    (now when that is today or past, else as a scheduled change)."""
    customer = customer_of(session, customer_id)
    product = product_of(session, product_id)
    start = start_date or today()
    try:
        catalog.check_sellable(product, customer.location_id, start)
    except InvalidValue as exc:
        raise ServiceError(exc.message, field="product_id", **exc.params) from exc
    if commitment_until is not None and commitment_until < start:
        raise ServiceError(N_("The fixed term cannot end before the service starts."), field="commitment_until")
    place = service_place(session, customer, service_place_id)
    values, version = validated_params(session, product, params)
    service = Service(customer_id=customer.id, product_id=product.id, class_id=product.class_id,
                      class_version=version, params=values, price=money(price), start_date=start,
                      commitment_until=commitment_until, service_place_id=place.id if place else None,
                      payment_period=payment_period(payment_period_months), state=PENDING,
                      note=catalog.text(note, "note", 2000))
    session.add(service)
    session.flush()
    snapshot = {"product": (None, product.code), "state": (None, PENDING), "start_date": (None, start),
                "price": (None, service.price), "commitment_until": (None, commitment_until),
                "service_place": (None, place.one_line if place else None), "payment_period": (None, service.payment_period),
                **{f"params.{k}": (None, v) for k, v in values.items()}}
    record(session, service, "created", snapshot, actor=actor, reason=reason, effective=start)
    emit_changed(service, ServiceChangeInfo("created", snapshot, reason, actor), start)
    if activate:
        from mango_core.services import lifecycle

        lifecycle.activate(session, service, effective=start, actor=actor, reason=reason)
    return service


def link_device(session: Session, service: Service, device_id: Any, *, actor: int | None = None,
                note: str | None = None) -> ServiceDevice:
    """Link a device of the same location to the service."""
    if service.state == TERMINATED:
        raise ServiceError(N_("A terminated service cannot be changed."))
    device = session.get(Device, device_id) if isinstance(device_id, int) else None
    if device is None or device.location_id != service.location_id:  # the identity map is not filtered
        raise ServiceError(N_("Device not found in this location."), field="device_id")
    if device.id in {link.device_id for link in service.device_links}:
        raise ServiceError(N_("The device is linked already."), field="device_id")
    link = ServiceDevice(service=service, device_id=device.id, note=catalog.text(note, "note", 200))
    session.add(link)
    session.flush()
    changes = {"devices": (None, device.name)}
    record(session, service, "device_linked", changes, actor=actor)
    emit_changed(service, ServiceChangeInfo("devices", changes, None, actor), today())
    return link


def unlink_device(session: Session, service: Service, device_id: int, *, actor: int | None = None) -> None:
    link = next((lk for lk in service.device_links if lk.device_id == device_id), None)
    if link is None:
        raise NotFound(N_("The device is not linked to this service."))
    name = link.device.name
    service.device_links.remove(link)
    session.flush()
    changes = {"devices": (name, None)}
    record(session, service, "device_unlinked", changes, actor=actor)
    emit_changed(service, ServiceChangeInfo("devices", changes, None, actor), today())


__all__ = ["ParamValidationError", "ServiceError", "create_service", "get_service", "link_device", "unlink_device"]
