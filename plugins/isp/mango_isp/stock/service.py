"""Warehouses, articles and every movement of stock; the only writer of the stock tables.

A serialised item (one CPE) moves as a whole: received into a warehouse, issued to a customer
(installed for one of their services) or to a technician, returned into a warehouse, moved
between warehouses, written off. A counted article (cables, PoE injectors) moves by quantity and
cannot go below zero in a warehouse. Each call checks everything first, writes one append-only
:class:`StockMovement` and, for an item, its new place, in the caller's transaction. Concurrent
movements of one item or out of one warehouse serialise on a row lock (PostgreSQL).

An item issued for a service is linked to it while installed; when it is registered as a
network device (a core device of type ``isp.cpe``/``isp.ont``/``isp.stb``), that device is
linked to the service through the core too, and unlinked when the item comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mango_core.auth.access import allowed_location_ids
from mango_core.auth.models import User
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.devices.service import normalize_mac
from mango_core.params import ParamValueError
from mango_core.services.models import TERMINATED, Service
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.validators import N_, InvalidValue
from mango_isp.stock.models import (
    AT_CUSTOMER,
    AT_TECHNICIAN,
    CATEGORIES,
    DEVICE_TYPES,
    IN_STOCK,
    ISSUED_CUSTOMER,
    ISSUED_TECHNICIAN,
    RECEIVED,
    RETURNED,
    TRANSFERRED,
    WRITTEN_OFF,
    WRITTEN_OFF_KIND,
    Article,
    StockItem,
    StockMovement,
    Warehouse,
)

MAX_QUANTITY = 1_000_000


class StockError(InvalidValue):
    default_message = N_("The stock movement cannot be recorded.")


class NotFound(StockError):
    default_message = N_("Not found.")


# --- validators --------------------------------------------------------------------------------


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str | None:
    text = str(value or "").strip()
    if required and not text:
        raise StockError(N_("This field is required."), field=field)
    if len(text) > limit:
        raise StockError(N_("At most %(max)d characters."), field=field, max=limit)
    return text or None


def _code(value: Any, field: str, limit: int) -> str:
    text = str(value or "").strip().upper()
    if not text or len(text) > limit or any(c.isspace() for c in text):
        raise StockError(N_("A code has 1 to %(max)d characters without spaces."), field=field, max=limit)
    return text


def _quantity(value: Any) -> int:
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 7 or not 0 < int(text) <= MAX_QUANTITY:
        raise StockError(N_("Enter a whole number of pieces from 1 to %(max)d."), field="quantity", max=MAX_QUANTITY)
    return int(text)


def _mac(value: Any) -> str | None:
    try:
        return normalize_mac(value)
    except ParamValueError:
        raise StockError(N_("Enter a MAC address, e.g. 00:1a:2b:3c:4d:5e."), field="mac") from None


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "y", "yes", "on", "true", "ano")


def _id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 1 << 62 else None


def _moment(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    if value.tzinfo is None:
        raise StockError(N_("Enter a time with its time zone."), field="at")
    return value


# --- warehouses and articles -------------------------------------------------------------------


def list_warehouses(session: Session, *, active_only: bool = False) -> list[Warehouse]:
    query = select(Warehouse).order_by(Warehouse.code)
    if active_only:
        query = query.where(Warehouse.is_active.is_(True))
    return list(session.scalars(query))


def get_warehouse(session: Session, warehouse_id: Any, field: str = "warehouse_id") -> Warehouse:
    wanted = _id(warehouse_id)
    row = session.scalar(select(Warehouse).where(Warehouse.id == wanted)) if wanted else None
    if row is None:
        raise NotFound(N_("Warehouse not found."), field=field)
    return row


def find_warehouse(session: Session, code: Any) -> Warehouse | None:
    return session.scalar(select(Warehouse).where(Warehouse.code == str(code or "").strip().upper()))


def _site(session: Session, site_id: Any) -> int | None:
    if site_id in (None, "", 0, "0"):
        return None
    from mango_core.devices import service as devices

    try:
        return devices.get_site(session, int(site_id)).id
    except (devices.NotFound, TypeError, ValueError):
        raise StockError(N_("The site does not exist here."), field="site_id") from None


def save_warehouse(session: Session, warehouse: Warehouse | None, *, code: Any, name: Any, site_id: Any = None,
                   note: Any = None, is_active: Any = True) -> Warehouse:
    """Create (``warehouse`` None) or change a warehouse."""
    values = {"code": _code(code, "code", 20), "name": _text(name, "name", 100, required=True),
              "site_id": _site(session, site_id), "note": _text(note, "note", 2000),
              "is_active": _flag(is_active)}
    other = find_warehouse(session, values["code"])
    if other is not None and other is not warehouse:
        raise StockError(N_("Code %(code)s belongs to another warehouse."), field="code", code=values["code"])
    if warehouse is not None and not values["is_active"] and warehouse.is_active and _holds_anything(session, warehouse):
        raise StockError(N_("The warehouse holds stock; move it out first."), field="is_active")
    if warehouse is None:
        warehouse = Warehouse(**values)
        session.add(warehouse)
    else:
        for key, value in values.items():
            setattr(warehouse, key, value)
    session.flush()
    return warehouse


def _holds_anything(session: Session, warehouse: Warehouse) -> bool:
    return any(level.quantity for level in levels(session, warehouse_id=warehouse.id))


def list_articles(session: Session, *, active_only: bool = False) -> list[Article]:
    query = select(Article).order_by(Article.code)
    if active_only:
        query = query.where(Article.is_active.is_(True))
    return list(session.scalars(query))


def get_article(session: Session, article_id: Any, field: str = "article_id") -> Article:
    wanted = _id(article_id)
    row = session.scalar(select(Article).where(Article.id == wanted)) if wanted else None
    if row is None:
        raise NotFound(N_("Article not found."), field=field)
    return row


def find_article(session: Session, code: Any) -> Article | None:
    return session.scalar(select(Article).where(Article.code == str(code or "").strip().upper()))


def save_article(session: Session, article: Article | None, *, code: Any, name: Any, category: Any = "other",
                 serialised: Any = False, unit: Any = "ks", is_active: Any = True) -> Article:
    """Create (``article`` None) or change an article; whether it is serialised is fixed once it moved."""
    if category not in CATEGORIES:
        raise StockError(N_("Choose one of the offered values."), field="category")
    values = {"code": _code(code, "code", 30), "name": _text(name, "name", 200, required=True),
              "category": category, "serialised": _flag(serialised),
              "unit": _text(unit, "unit", 10) or "ks", "is_active": _flag(is_active)}
    other = find_article(session, values["code"])
    if other is not None and other is not article:
        raise StockError(N_("Code %(code)s belongs to another article."), field="code", code=values["code"])
    if article is not None and values["serialised"] != article.serialised and session.scalar(
            select(StockMovement.id).where(StockMovement.article_id == article.id).limit(1)) is not None:
        raise StockError(N_("The article has moved already; whether it is serialised cannot change."),
                         field="serialised")
    if article is None:
        article = Article(**values)
        session.add(article)
    else:
        for key, value in values.items():
            setattr(article, key, value)
    session.flush()
    return article


# --- items -------------------------------------------------------------------------------------


def get_item(session: Session, item_id: Any) -> StockItem:
    wanted = _id(item_id)
    row = session.scalar(select(StockItem).where(StockItem.id == wanted)) if wanted else None
    if row is None:
        raise NotFound(N_("Item not found."), field="item_id")
    return row


def find_items(session: Session, *, query: str = "", warehouse_id: int | None = None, state: str | None = None,
               limit: int = 200) -> list[StockItem]:
    """Items by serial number or MAC (beginning), warehouse and state."""
    stmt = select(StockItem)
    text = (query or "").strip()
    if text:
        pattern = text.upper()
        mac = None
        try:
            mac = normalize_mac(text)
        except ParamValueError:
            mac = None
        clauses = [StockItem.serial_number.startswith(pattern, autoescape=True),
                   StockItem.serial_number.startswith(text, autoescape=True)]
        if mac:
            clauses.append(StockItem.mac == mac)
        stmt = stmt.where(or_(*clauses))
    if warehouse_id is not None:
        stmt = stmt.where(StockItem.warehouse_id == warehouse_id)
    if state is not None:
        stmt = stmt.where(StockItem.state == state)
    return list(session.scalars(stmt.order_by(StockItem.serial_number, StockItem.id).limit(limit)))


def items_of_customer(session: Session, customer_id: int) -> list[StockItem]:
    return list(session.scalars(select(StockItem).where(StockItem.customer_id == customer_id,
                                                        StockItem.state == AT_CUSTOMER)
                                .order_by(StockItem.id)))


def movements_of(session: Session, item: StockItem) -> list[StockMovement]:
    return list(session.scalars(select(StockMovement).where(StockMovement.item_id == item.id)
                                .order_by(StockMovement.at, StockMovement.id)))


def recent_movements(session: Session, *, warehouse_id: int | None = None, limit: int = 100) -> list[StockMovement]:
    stmt = select(StockMovement)
    if warehouse_id is not None:
        stmt = stmt.where(or_(StockMovement.from_warehouse_id == warehouse_id,
                              StockMovement.to_warehouse_id == warehouse_id))
    return list(session.scalars(stmt.order_by(StockMovement.at.desc(), StockMovement.id.desc()).limit(limit)))


def _lock_item(session: Session, item: StockItem) -> StockItem:
    session.execute(select(StockItem.id).where(StockItem.id == item.id).with_for_update())
    session.refresh(item)
    return item


def _lock_warehouse(session: Session, warehouse: Warehouse) -> None:
    session.execute(select(Warehouse.id).where(Warehouse.id == warehouse.id).with_for_update())


def _movement(session: Session, kind: str, article: Article, *, item: StockItem | None = None, quantity: int = 1,
              source: Warehouse | None = None, target: Warehouse | None = None, customer: Customer | None = None,
              service: Service | None = None, technician: User | None = None, reference: str | None = None,
              note: str | None = None, at: datetime | None = None, actor: int | None = None) -> StockMovement:
    row = StockMovement(kind=kind, article_id=article.id, item_id=item.id if item else None, quantity=quantity,
                        from_warehouse_id=source.id if source else None, to_warehouse_id=target.id if target else None,
                        customer_id=customer.id if customer else None, service_id=service.id if service else None,
                        technician_id=technician.id if technician else None, reference=reference, note=note,
                        at=_moment(at), created_by_id=actor)
    session.add(row)
    session.flush()
    return row


def _active_warehouse(warehouse: Warehouse) -> None:
    if not warehouse.is_active:
        raise StockError(N_("Warehouse %(code)s is not in use."), field="warehouse_id", code=warehouse.code)


def _counted(article: Article) -> None:
    if article.serialised:
        raise StockError(N_("Pieces of %(code)s have serial numbers; move them one by one."), field="article_id",
                         code=article.code)


# --- receiving ---------------------------------------------------------------------------------


def receive(session: Session, warehouse: Warehouse, article: Article, *, serial_number: Any = None, mac: Any = None,
            quantity: Any = 1, configured_by_mango: Any = False, reference: Any = None, note: Any = None,
            at: datetime | None = None, actor: int | None = None) -> StockMovement:
    """Pieces arrive in ``warehouse``: one item with its serial number (and MAC), or a quantity."""
    _active_warehouse(warehouse)
    if not article.is_active:
        raise StockError(N_("Article %(code)s is not in use."), field="article_id", code=article.code)
    ref, text = _text(reference, "reference", 100), _text(note, "note", 2000)
    if not article.serialised:
        if serial_number not in (None, "") or mac not in (None, ""):
            raise StockError(N_("Article %(code)s is counted, not serialised."), field="serial_number",
                             code=article.code)
        return _movement(session, RECEIVED, article, quantity=_quantity(quantity), target=warehouse, reference=ref,
                         note=text, at=at, actor=actor)
    serial = _text(serial_number, "serial_number", 100, required=True)
    if str(quantity or "1").strip() != "1":
        raise StockError(N_("A serialised piece is received one at a time."), field="quantity")
    clean_mac = _mac(mac)
    if session.scalar(select(StockItem.id).where(StockItem.article_id == article.id,
                                                 StockItem.serial_number == serial)) is not None:
        raise StockError(N_("Serial number %(serial)s of %(code)s is recorded already."), field="serial_number",
                         serial=serial, code=article.code)
    if clean_mac and session.scalar(select(StockItem.id).where(StockItem.mac == clean_mac)) is not None:
        raise StockError(N_("MAC address %(mac)s belongs to another item."), field="mac", mac=clean_mac)
    item = StockItem(article_id=article.id, serial_number=serial, mac=clean_mac,
                     configured_by_mango=_flag(configured_by_mango), state=IN_STOCK, warehouse_id=warehouse.id)
    session.add(item)
    session.flush()
    return _movement(session, RECEIVED, article, item=item, target=warehouse, reference=ref, note=text, at=at,
                     actor=actor)


# --- issuing, returning, moving, writing off ---------------------------------------------------


def _customer(session: Session, customer_id: Any) -> Customer:
    wanted = _id(customer_id)
    customer = session.scalar(select(Customer).where(Customer.id == wanted)) if wanted else None
    if customer is None:
        raise StockError(N_("The customer was not found in this location."), field="customer_id")
    return customer


def _service(session: Session, customer: Customer, service_id: Any) -> Service | None:
    if service_id in (None, "", 0, "0"):
        return None
    wanted = _id(service_id)
    service = session.scalar(select(Service).where(Service.id == wanted)) if wanted else None
    if service is None or service.customer_id != customer.id:
        raise StockError(N_("Choose a service of the customer."), field="service_id")
    if service.state == TERMINATED:
        raise StockError(N_("The service has ended."), field="service_id")
    return service


def technician_of(session: Session, user_id: Any) -> User:
    """A user who may work in the current location (a technician to hand equipment to)."""
    wanted = _id(user_id)
    user = session.get(User, wanted) if wanted else None
    location_id = current_scope().write_location_id
    if user is None or not user.is_active or location_id not in allowed_location_ids(session, user):
        raise StockError(N_("Choose a user who works in this location."), field="technician_id")
    return user


def technicians(session: Session) -> list[User]:
    """Active users with a role in the current location."""
    from mango_core.auth.models import RoleAssignment

    location_id = current_scope().write_location_id
    return list(session.scalars(select(User).where(
        User.is_active.is_(True), User.id.in_(select(RoleAssignment.user_id)
                                              .where(RoleAssignment.location_id == location_id)))
        .order_by(User.name)))


def _register_device(session: Session, item: StockItem, customer: Customer) -> None:
    """A core device for the item (type by category), so topology and provisioning see it."""
    if item.device_id is not None or item.article.category not in DEVICE_TYPES:
        return
    from mango_core.devices import service as devices
    from mango_core.devices.types import code_key

    device = devices.create_device(session, type_key=code_key(DEVICE_TYPES[item.article.category]), params={},
                                   name=f"{item.article.name} – {customer.display_name}"[:200],
                                   serial_number=item.serial_number, mac=item.mac, state="active")
    item.device_id = device.id


def _link_device(session: Session, item: StockItem, service: Service | None, actor: int | None) -> None:
    if service is None or item.device_id is None:
        return
    from mango_core.services import service as services

    if item.device_id not in {link.device_id for link in service.device_links}:
        services.link_device(session, service, item.device_id, actor=actor, note=f"CPE {item.serial_number}")


def _unlink_device(session: Session, item: StockItem, actor: int | None) -> None:
    if item.service_id is None or item.device_id is None:
        return
    from mango_core.services import service as services

    service = session.get(Service, item.service_id)
    if service is not None and item.device_id in {link.device_id for link in service.device_links}:
        services.unlink_device(session, service, item.device_id, actor=actor)


def issue_to_customer(session: Session, *, customer_id: Any, service_id: Any = None, item: StockItem | None = None,
                      article: Article | None = None, quantity: Any = 1, warehouse: Warehouse | None = None,
                      register_device: bool = False, configured_by_mango: Any = None, note: Any = None,
                      at: datetime | None = None, actor: int | None = None) -> StockMovement:
    """Install an item (or hand out a quantity) at a customer, for one of their services."""
    customer = _customer(session, customer_id)
    service = _service(session, customer, service_id)
    text = _text(note, "note", 2000)
    if item is None:
        return _take_quantity(session, ISSUED_CUSTOMER, article, warehouse, quantity, customer=customer,
                              service=service, note=text, at=at, actor=actor)
    _lock_item(session, item)
    if item.state not in (IN_STOCK, AT_TECHNICIAN):
        raise StockError(N_("Item %(serial)s is not in stock nor with a technician."), field="item_id",
                         serial=item.serial_number)
    source = item.warehouse if item.state == IN_STOCK else None
    if register_device:
        _register_device(session, item, customer)
    item.state, item.warehouse_id, item.technician_id = AT_CUSTOMER, None, None
    item.customer_id, item.service_id = customer.id, service.id if service else None
    if configured_by_mango is not None:
        item.configured_by_mango = _flag(configured_by_mango)
    session.flush()
    _link_device(session, item, service, actor)
    return _movement(session, ISSUED_CUSTOMER, item.article, item=item, source=source, customer=customer,
                     service=service, note=text, at=at, actor=actor)


def issue_to_technician(session: Session, *, technician_id: Any, item: StockItem | None = None,
                        article: Article | None = None, quantity: Any = 1, warehouse: Warehouse | None = None,
                        note: Any = None, at: datetime | None = None, actor: int | None = None) -> StockMovement:
    """Hand an item (or a quantity) out of a warehouse to a technician."""
    technician = technician_of(session, technician_id)
    text = _text(note, "note", 2000)
    if item is None:
        return _take_quantity(session, ISSUED_TECHNICIAN, article, warehouse, quantity, technician=technician,
                              note=text, at=at, actor=actor)
    _lock_item(session, item)
    if item.state != IN_STOCK:
        raise StockError(N_("Item %(serial)s is not in stock."), field="item_id", serial=item.serial_number)
    source = item.warehouse
    item.state, item.warehouse_id, item.technician_id = AT_TECHNICIAN, None, technician.id
    session.flush()
    return _movement(session, ISSUED_TECHNICIAN, item.article, item=item, source=source, technician=technician,
                     note=text, at=at, actor=actor)


def return_item(session: Session, item: StockItem, warehouse: Warehouse, *, note: Any = None,
                at: datetime | None = None, actor: int | None = None) -> StockMovement:
    """An item comes back (from a customer or a technician) into ``warehouse``."""
    _active_warehouse(warehouse)
    text = _text(note, "note", 2000)
    _lock_item(session, item)
    if item.state not in (AT_CUSTOMER, AT_TECHNICIAN):
        raise StockError(N_("Item %(serial)s is not out of stock."), field="item_id", serial=item.serial_number)
    customer = session.get(Customer, item.customer_id) if item.state == AT_CUSTOMER else None
    service = session.get(Service, item.service_id) if item.service_id else None
    technician = session.get(User, item.technician_id) if item.state == AT_TECHNICIAN else None
    _unlink_device(session, item, actor)
    item.state, item.warehouse_id = IN_STOCK, warehouse.id
    item.customer_id = item.service_id = item.technician_id = None
    session.flush()
    return _movement(session, RETURNED, item.article, item=item, target=warehouse, customer=customer,
                     service=service, technician=technician, note=text, at=at, actor=actor)


def return_quantity(session: Session, article: Article, warehouse: Warehouse, quantity: Any, *,
                    customer_id: Any = None, technician_id: Any = None, note: Any = None,
                    at: datetime | None = None, actor: int | None = None) -> StockMovement:
    """Counted pieces come back into ``warehouse`` (from a customer or a technician)."""
    _counted(article)
    _active_warehouse(warehouse)
    customer = _customer(session, customer_id) if customer_id not in (None, "") else None
    technician = technician_of(session, technician_id) if technician_id not in (None, "") else None
    return _movement(session, RETURNED, article, quantity=_quantity(quantity), target=warehouse, customer=customer,
                     technician=technician, note=_text(note, "note", 2000), at=at, actor=actor)


def transfer(session: Session, *, source: Warehouse, target: Warehouse, item: StockItem | None = None,
             article: Article | None = None, quantity: Any = 1, note: Any = None, at: datetime | None = None,
             actor: int | None = None) -> StockMovement:
    """Move an item or a quantity from one warehouse to another."""
    if source.id == target.id:
        raise StockError(N_("Choose another warehouse."), field="to_warehouse_id")
    _active_warehouse(target)
    text = _text(note, "note", 2000)
    if item is None:
        return _take_quantity(session, TRANSFERRED, article, source, quantity, target=target, note=text, at=at,
                              actor=actor)
    _lock_item(session, item)
    if item.state != IN_STOCK or item.warehouse_id != source.id:
        raise StockError(N_("Item %(serial)s is not in warehouse %(code)s."), field="item_id",
                         serial=item.serial_number, code=source.code)
    item.warehouse_id = target.id
    session.flush()
    return _movement(session, TRANSFERRED, item.article, item=item, source=source, target=target, note=text, at=at,
                     actor=actor)


def write_off(session: Session, *, note: Any, item: StockItem | None = None, article: Article | None = None,
              quantity: Any = 1, warehouse: Warehouse | None = None, at: datetime | None = None,
              actor: int | None = None) -> StockMovement:
    """An item (wherever it is) or a quantity of a warehouse is lost or broken; the reason is required."""
    text = _text(note, "note", 2000, required=True)
    if item is None:
        return _take_quantity(session, WRITTEN_OFF_KIND, article, warehouse, quantity, note=text, at=at, actor=actor)
    _lock_item(session, item)
    if item.state == WRITTEN_OFF:
        raise StockError(N_("Item %(serial)s is written off already."), field="item_id", serial=item.serial_number)
    source = item.warehouse if item.state == IN_STOCK else None
    customer = session.get(Customer, item.customer_id) if item.customer_id else None
    _unlink_device(session, item, actor)
    item.state, item.warehouse_id = WRITTEN_OFF, None
    item.customer_id = item.service_id = item.technician_id = None
    session.flush()
    return _movement(session, WRITTEN_OFF_KIND, item.article, item=item, source=source, customer=customer,
                     note=text, at=at, actor=actor)


def _take_quantity(session: Session, kind: str, article: Article | None, warehouse: Warehouse | None, quantity: Any,
                   **kwargs: Any) -> StockMovement:
    if article is None:
        raise StockError(N_("Choose an article."), field="article_id")
    if warehouse is None:
        raise StockError(N_("Choose a warehouse."), field="warehouse_id")
    _counted(article)
    count = _quantity(quantity)
    _lock_warehouse(session, warehouse)
    have = level(session, warehouse, article)
    if count > have:
        raise StockError(N_("Warehouse %(code)s has only %(have)d of %(article)s."), field="quantity",
                         code=warehouse.code, have=have, article=article.code)
    return _movement(session, kind, article, quantity=count, source=warehouse, **kwargs)


SERVICE_TRANSFER = "service-transfer:"  # reference prefix of a movement made by a service transfer


def follow_service_transfer(session: Session, old: Service, new: Service, *, at: datetime | None = None,
                            actor: int | None = None) -> list[StockMovement]:
    """Items installed for ``old`` go with it to the new customer's service ``new``.

    The piece does not move physically, but it now belongs to another customer: each item gets
    one ``issued_customer`` movement to the new customer and service (no warehouse on either
    side, so no level changes), referenced ``service-transfer:<old service id>``, and its place
    names the new customer and service. The core has moved the device links already; a device
    not linked to the new service is linked here. Safe to call twice: an item already following
    ``new`` is not moved again.
    """
    customer = session.get(Customer, new.customer_id)
    session.expire(new, ["device_links"])
    moved = []
    for item in session.scalars(select(StockItem).where(StockItem.service_id == old.id,
                                                        StockItem.state == AT_CUSTOMER).order_by(StockItem.id)).all():
        _lock_item(session, item)
        if item.state != AT_CUSTOMER or item.service_id != old.id:
            continue
        item.customer_id, item.service_id = new.customer_id, new.id
        session.flush()
        _link_device(session, item, new, actor)
        # from the transfer on, but never before the item's last movement nor in the future
        last = session.scalar(select(func.max(StockMovement.at)).where(StockMovement.item_id == item.id))
        when = min(max(at or utcnow(), last or at or utcnow()), utcnow())
        moved.append(_movement(session, ISSUED_CUSTOMER, item.article, item=item, customer=customer, service=new,
                               reference=f"{SERVICE_TRANSFER}{old.id}", at=when, actor=actor))
    return moved


def set_configured(session: Session, item: StockItem, configured: bool) -> None:
    """Mark whether Mango configures the piece (its provisioning) or the customer does."""
    item.configured_by_mango = bool(configured)
    session.flush()


# --- levels ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    warehouse_id: int
    article_id: int
    quantity: int


def levels(session: Session, *, warehouse_id: int | None = None, article_id: int | None = None) -> list[Level]:
    """Stock of each article in each warehouse: what moved in less what moved out (no zero rows).

    Two grouped queries over the movements' warehouse indexes.
    """
    totals: dict[tuple[int, int], int] = {}
    for column, sign in ((StockMovement.to_warehouse_id, 1), (StockMovement.from_warehouse_id, -1)):
        stmt = (select(column, StockMovement.article_id, func.sum(StockMovement.quantity))
                .where(column.is_not(None)).group_by(column, StockMovement.article_id))
        if warehouse_id is not None:
            stmt = stmt.where(column == warehouse_id)
        if article_id is not None:
            stmt = stmt.where(StockMovement.article_id == article_id)
        for warehouse, article, quantity in session.execute(stmt):
            totals[(warehouse, article)] = totals.get((warehouse, article), 0) + sign * int(quantity)
    return [Level(w, a, q) for (w, a), q in sorted(totals.items()) if q]


def level(session: Session, warehouse: Warehouse, article: Article) -> int:
    found = levels(session, warehouse_id=warehouse.id, article_id=article.id)
    return found[0].quantity if found else 0


def items_count(session: Session) -> dict[tuple[int, int], int]:
    """Serialised items in stock per (warehouse, article): must equal their levels."""
    rows = session.execute(select(StockItem.warehouse_id, StockItem.article_id, func.count())
                           .where(StockItem.state == IN_STOCK)
                           .group_by(StockItem.warehouse_id, StockItem.article_id))
    return {(w, a): int(n) for w, a, n in rows}

