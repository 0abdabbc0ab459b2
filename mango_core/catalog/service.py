"""Everything that changes the catalogue: service classes, their parameter versions, products.

Views, the demo and plugins call these functions. Each checks all its input before it changes
anything; bad input raises :class:`CatalogError` (a ``ValueError`` translated in the UI) and
leaves the data as it was.

Versions: a class's definitions are never edited in place. :func:`save_definitions` writes a new
:class:`ServiceClassVersion` when something changed, so every service keeps the version its
values were validated against, and reports which services (of the locations in the scope) and
which products hold values that the new version would refuse.

History: every create, change and deactivation of a class (a new parameter version included,
one entry per added, changed or removed parameter definition) and of a product (name, code,
prices, VAT rate, billing plan, defaults, validity, availability) is written to the history
(``core_history``) with its author, before → after. The catalogue is partner-owned and the
history table tenant-owned; the entries are written in the location where the user works, with
entity ``service_class`` / ``product`` and no customer, and the class and product pages read
them from every location of the partner (:func:`history_location_ids`). Why not a partner-level
table of its own: one append-only history (one recorder, one guard, one export, one filter UI)
is what operators search and auditors trust; the location tells where the change was made,
which a partner-level row would lose; rows stay inside the partner (sharding by partner keeps
them with the catalogue); and a partner-owned table would have to be writable by every location
of the partner, which an append-only record must not be.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core import history
from mango_core.catalog.kinds import KIND_RE
from mango_core.catalog.models import Product, ProductLocation, ServiceClass, ServiceClassVersion
from mango_core.params import DefinitionSet, ParamDef, invalid_values, validate_values
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.guard import partners_of
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue

VAT_RATES = (Decimal("21"), Decimal("12"), Decimal("0"))
CENT = Decimal("0.01")
MAX_PRICE = Decimal("9999999999")


class CatalogError(InvalidValue):
    """Bad input or a broken rule of the catalogue; ``field`` names the form field."""


class NotFound(CatalogError):
    default_message = N_("Not found.")


# --- small validators (services use them too) ---------------------------------------------------


def text(value: Any, field: str, max_len: int, *, required: bool = False) -> str | None:
    result = "" if value is None else str(value).strip()
    if required and not result:
        raise CatalogError(N_("This field is required."), field=field)
    if len(result) > max_len:
        raise CatalogError(N_("At most %(max)d characters."), field=field, max=max_len)
    return result or None


def money(value: Any, field: str, *, required: bool = False) -> Decimal | None:
    """An exact amount of at most two decimal places, 0 or more; never rounded silently."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CatalogError(N_("This field is required."), field=field)
        return None
    if isinstance(value, float | bool):
        raise CatalogError(N_("Enter an amount, e.g. 499,00."), field=field)
    try:
        amount = Decimal(str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation as exc:
        raise CatalogError(N_("Enter an amount, e.g. 499,00."), field=field) from exc
    if not amount.is_finite():
        raise CatalogError(N_("Enter an amount, e.g. 499,00."), field=field)
    if amount != amount.quantize(CENT):
        raise CatalogError(N_("An amount has at most two decimal places."), field=field)
    if amount < 0 or amount > MAX_PRICE:
        raise CatalogError(N_("An amount must be between 0 and %(max)s."), field=field, max=str(MAX_PRICE))
    return amount.quantize(CENT)


def vat_rate(value: Any, field: str = "vat_rate") -> Decimal:
    try:
        rate = Decimal(str(value).strip().replace(",", ".").rstrip("%").strip())
    except InvalidOperation as exc:
        raise CatalogError(N_("Choose a VAT rate: 21, 12 or 0."), field=field) from exc
    if rate not in VAT_RATES:
        raise CatalogError(N_("Choose a VAT rate: 21, 12 or 0."), field=field)
    return rate.quantize(CENT)


def day(value: Any, field: str, *, required: bool = False) -> date | None:
    if value is None or value == "":
        if required:
            raise CatalogError(N_("This field is required."), field=field)
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise CatalogError(N_("Enter a date as YYYY-MM-DD."), field=field) from exc


def write_partner_id(session: Session) -> int:
    """The partner of the scope's write location (whose catalogue is edited)."""
    location_id = current_scope().write_location_id
    found = partners_of(session, (location_id,)) if location_id is not None else ()
    if not found:
        raise CatalogError(N_("Choose a location first."))
    return found[0]


def partner_locations(session: Session) -> list[Location]:
    """Active locations of the write location's partner (operator-level data: no guard)."""
    partner_id = write_partner_id(session)
    return list(session.scalars(select(Location).where(Location.partner_id == partner_id,
                                                       Location.is_active.is_(True)).order_by(Location.code)))


# --- history --------------------------------------------------------------------------------------

CLASS_ENTITY, PRODUCT_ENTITY = "service_class", "product"


def _record(session: Session, entity: str, entity_id: int, action: str, changes: dict[str, tuple[Any, Any]],
            actor: int | None) -> None:
    history.record(session, entity=entity, entity_id=entity_id, customer_id=None, action=action,
                   changes=changes, user_id=actor)


def history_location_ids(session: Session) -> list[int]:
    """Every location of the write location's partner, active or not: where its catalogue history is."""
    partner_id = write_partner_id(session)
    return list(session.scalars(select(Location.id).where(Location.partner_id == partner_id)))


def _definition_changes(old: DefinitionSet | None, new: DefinitionSet) -> dict[str, tuple[Any, Any]]:
    """One pair per added, changed or removed parameter (``params.<key>``: its definition) and the version."""
    before = {p.key: p.to_dict() for p in old} if old is not None else {}
    after = {p.key: p.to_dict() for p in new}
    changes: dict[str, tuple[Any, Any]] = {"version": (old.version if old is not None else None, new.version)}
    for key in [*before, *(k for k in after if k not in before)]:
        if before.get(key) != after.get(key):
            changes[f"params.{key}"] = (before.get(key), after.get(key))
    return changes


def _location_codes(session: Session, ids: Iterable[int]) -> list[str]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(session.scalars(select(Location.code).where(Location.id.in_(wanted)).order_by(Location.code)))


# --- service classes ---------------------------------------------------------------------------------


def get_class(session: Session, class_id: int) -> ServiceClass:
    found = session.get(ServiceClass, class_id)
    if found is None:
        raise NotFound(N_("Service class not found."))
    return found


def list_classes(session: Session, *, active_only: bool = False) -> list[ServiceClass]:
    stmt = select(ServiceClass).order_by(ServiceClass.name)
    if active_only:
        stmt = stmt.where(ServiceClass.is_active.is_(True))
    return list(session.scalars(stmt))


def _kind(kind: Any, known: Iterable[str] | None) -> str:
    key = str(kind or "other").strip()
    if not KIND_RE.fullmatch(key) or (known is not None and key not in set(known)):
        raise CatalogError(N_("Choose a kind of the class."), field="kind")
    return key


def _check_name_free(session: Session, name: str, class_id: int | None) -> None:
    other = session.scalar(select(ServiceClass.id).where(ServiceClass.name == name))
    if other is not None and other != class_id:
        raise CatalogError(N_("A class named %(name)s exists already."), field="name", name=name)


def create_class(session: Session, *, name: str, kind: str = "other", description: str | None = None,
                 params: Iterable[ParamDef] = (), known_kinds: Iterable[str] | None = None,
                 actor: int | None = None) -> ServiceClass:
    """A new class at version 1 with ``params``; ``known_kinds`` limits the kind (UI: the active ones)."""
    clean_name = text(name, "name", 100, required=True)
    clean_kind = _kind(kind, known_kinds)
    definitions = DefinitionSet(tuple(params), 1)
    _check_name_free(session, clean_name, None)
    cls = ServiceClass(name=clean_name, kind=clean_kind, description=text(description, "description", 2000),
                       version=1, is_active=True)
    cls.versions.append(ServiceClassVersion(version=1, definitions=[p.to_dict() for p in definitions],
                                            created_by_id=actor))
    session.add(cls)
    session.flush()
    created = {"name": (None, cls.name), "kind": (None, cls.kind), "description": (None, cls.description),
               "is_active": (None, True)}
    _record(session, CLASS_ENTITY, cls.id, "created", created | _definition_changes(None, definitions), actor)
    return cls


def update_class(session: Session, cls: ServiceClass, *, name: str, kind: str, description: str | None = None,
                 is_active: bool = True, known_kinds: Iterable[str] | None = None,
                 actor: int | None = None) -> dict[str, tuple[Any, Any]]:
    """Rename, re-describe, (de)activate a class; history action ``deactivated``/``reactivated`` when
    the class stops or starts being offered, else ``updated``."""
    values = {"name": text(name, "name", 100, required=True),
              "kind": cls.kind if kind == cls.kind else _kind(kind, known_kinds),
              "description": text(description, "description", 2000), "is_active": bool(is_active)}
    if values["name"] != cls.name:
        _check_name_free(session, values["name"], cls.id)
    changes = {k: (getattr(cls, k), v) for k, v in values.items() if getattr(cls, k) != v}
    for key, (_old, new) in changes.items():
        setattr(cls, key, new)
    session.flush()
    if changes:
        action = "updated"
        if "is_active" in changes:
            action = "reactivated" if values["is_active"] else "deactivated"
        _record(session, CLASS_ENTITY, cls.id, action, changes, actor)
    return changes


def class_version(session: Session, class_id: int, version: int | None = None) -> ServiceClassVersion:
    """A version of a class (the current one when ``version`` is None)."""
    if version is None:
        version = get_class(session, class_id).version
    row = session.scalar(select(ServiceClassVersion).where(ServiceClassVersion.class_id == class_id,
                                                           ServiceClassVersion.version == version))
    if row is None:
        raise NotFound(N_("Service class not found."))
    return row


def definitions(session: Session, cls: ServiceClass, version: int | None = None) -> DefinitionSet:
    return class_version(session, cls.id, version).definition_set()


@dataclass
class VersionReport:
    """What a new class version means for the values already stored."""

    definitions: DefinitionSet
    changed: bool
    # service id -> {key: why its stored value does not fit the new version}
    services: dict[int, dict[str, str]] = field(default_factory=dict)
    products: dict[int, dict[str, str]] = field(default_factory=dict)


def save_definitions(session: Session, cls: ServiceClass, params: Iterable[ParamDef], *,
                     actor: int | None = None) -> VersionReport:
    """Make ``params`` the class's definitions (a new version only when something changed).

    Existing services keep their version and their values; the report lists services of the
    locations in the scope, and products, whose values would need attention under the new one.
    """
    current = definitions(session, cls)
    new = current.changed(params)
    if new is current:
        return VersionReport(current, changed=False)
    cls.versions.append(ServiceClassVersion(version=new.version, definitions=[p.to_dict() for p in new],
                                            created_by_id=actor))
    cls.version = new.version
    session.flush()
    _record(session, CLASS_ENTITY, cls.id, "version_created", _definition_changes(current, new), actor)
    report = VersionReport(new, changed=True)
    for product in session.scalars(select(Product).where(Product.class_id == cls.id)):
        problems = invalid_values(product.defaults or {}, new)
        if problems:
            report.products[product.id] = problems
    from mango_core.services.service import services_of_class

    for svc in services_of_class(session, cls.id):
        problems = invalid_values(svc.params or {}, new)
        if problems:
            report.services[svc.id] = problems
    return report


def set_param(session: Session, cls: ServiceClass, pdef: ParamDef, *, actor: int | None = None) -> VersionReport:
    """Add the parameter, or replace the one with the same key (in its place)."""
    current = list(definitions(session, cls))
    replaced = [pdef if p.key == pdef.key else p for p in current]
    if pdef.key not in {p.key for p in current}:
        replaced.append(pdef)
    return save_definitions(session, cls, replaced, actor=actor)


def remove_param(session: Session, cls: ServiceClass, key: str, *, actor: int | None = None) -> VersionReport:
    current = list(definitions(session, cls))
    if key not in {p.key for p in current}:
        raise NotFound(N_("Parameter %(key)s not found."), key=key)
    return save_definitions(session, cls, [p for p in current if p.key != key], actor=actor)


# --- products ----------------------------------------------------------------------------------------


PRODUCT_FIELDS = ("name", "code", "description", "price", "vat_rate", "second_price", "second_price_label",
                  "valid_from", "valid_until", "billing_plan")


def get_product(session: Session, product_id: int) -> Product:
    found = session.get(Product, product_id)
    if found is None:
        raise NotFound(N_("Product not found."))
    return found


def list_products(session: Session, *, class_id: int | None = None) -> list[Product]:
    stmt = select(Product).order_by(Product.name, Product.code)
    if class_id is not None:
        stmt = stmt.where(Product.class_id == class_id)
    return list(session.scalars(stmt))


def products_for_sale(session: Session, location_id: int, on: date | None = None,
                      class_id: int | None = None) -> list[Product]:
    """Products available in ``location_id`` and valid on ``on`` (today), of active classes."""
    on = on or date.today()
    stmt = (select(Product).join(ProductLocation, ProductLocation.product_id == Product.id)
            .join(ServiceClass, ServiceClass.id == Product.class_id)
            .where(ProductLocation.location_id == location_id, ServiceClass.is_active.is_(True),
                   Product.valid_from <= on, (Product.valid_until.is_(None)) | (Product.valid_until >= on))
            .order_by(Product.name))
    if class_id is not None:
        stmt = stmt.where(Product.class_id == class_id)
    return list(session.scalars(stmt))


def check_sellable(product: Product, location_id: int, on: date, field: str = "product") -> None:
    """Refuse a product not available in the location or not valid on the day."""
    if location_id not in product.location_ids:
        raise CatalogError(N_("Product %(code)s is not sold in this location."), field=field, code=product.code)
    if not product.valid_on(on):
        raise CatalogError(N_("Product %(code)s is not valid on %(day)s."), field=field, code=product.code,
                           day=on.isoformat())
    if not product.service_class.is_active:
        raise CatalogError(N_("The class of product %(code)s is no longer offered."), field=field,
                           code=product.code)


def _product_values(session: Session, data: dict[str, Any], product_id: int | None) -> dict[str, Any]:
    values = {
        "name": text(data.get("name"), "name", 100, required=True),
        "code": text(data.get("code"), "code", 30, required=True),
        "description": text(data.get("description"), "description", 2000),
        "price": money(data.get("price"), "price", required=True),
        "vat_rate": vat_rate(data.get("vat_rate", "21")),
        "second_price": money(data.get("second_price"), "second_price"),
        "second_price_label": text(data.get("second_price_label"), "second_price_label", 100),
        "valid_from": day(data.get("valid_from"), "valid_from") or date.today(),
        "valid_until": day(data.get("valid_until"), "valid_until"),
        "billing_plan": data.get("billing_plan"),
    }
    if values["valid_until"] is not None and values["valid_until"] < values["valid_from"]:
        raise CatalogError(N_("A product cannot end before it starts."), field="valid_until")
    if values["second_price"] is None:
        values["second_price_label"] = None
    other = session.scalar(select(Product.id).where(Product.code == values["code"]))
    if other is not None and other != product_id:
        raise CatalogError(N_("Code %(code)s belongs to another product."), field="code", code=values["code"])
    return values


def _location_ids(session: Session, location_ids: Iterable[Any] | None) -> set[int]:
    if location_ids is None:
        return set()
    allowed = {loc.id for loc in partner_locations(session)}
    chosen: set[int] = set()
    for raw in location_ids:
        try:
            chosen.add(int(raw))
        except (TypeError, ValueError) as exc:
            raise CatalogError(N_("Choose locations of your own."), field="locations") from exc
    if not chosen <= allowed:
        raise CatalogError(N_("Choose locations of your own."), field="locations")
    return chosen


def _defaults(session: Session, cls: ServiceClass, raw: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
    defs = definitions(session, cls)
    values = validate_values(defs, raw or {}, partial=True)
    return {k: v for k, v in values.items() if v is not None}, defs.version


def _product_snapshot(session: Session, product: Product) -> dict[str, Any]:
    """What the history shows of a product: its fields, each default value, where it is sold (codes)."""
    snapshot: dict[str, Any] = {f: getattr(product, f) for f in PRODUCT_FIELDS}
    snapshot["class"] = product.service_class.name if product.service_class else None
    snapshot |= {f"defaults.{k}": v for k, v in (product.defaults or {}).items()}
    snapshot["defaults_version"] = product.defaults_version
    snapshot["locations"] = _location_codes(session, product.location_ids)
    return snapshot


def _snapshot_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    keys = [*before, *(k for k in after if k not in before)]
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}


def create_product(session: Session, *, class_id: int, defaults: dict[str, Any] | None = None,
                   location_ids: Iterable[Any] | None = None, actor: int | None = None, **data: Any) -> Product:
    """A product of class ``class_id``; ``defaults`` are validated (partially: required values may be
    left to each service); ``location_ids`` are where it is sold (locations of the partner)."""
    cls = get_class(session, class_id)
    values = _product_values(session, data, None)
    locations = _location_ids(session, location_ids)
    clean_defaults, version = _defaults(session, cls, defaults)
    product = Product(class_id=cls.id, defaults=clean_defaults, defaults_version=version, **values)
    product.availability = [ProductLocation(location_id=i) for i in sorted(locations)]
    session.add(product)
    session.flush()
    _record(session, PRODUCT_ENTITY, product.id, "created", _snapshot_changes({}, _product_snapshot(session, product)),
            actor)
    return product


def update_product(session: Session, product: Product, *, defaults: dict[str, Any] | None = None,
                   location_ids: Iterable[Any] | None = None, actor: int | None = None,
                   **data: Any) -> dict[str, tuple[Any, Any]]:
    """Change a product; services keep their own copies of values and their price overrides.

    A product's price change reaches the services that use the product's price (no override) —
    that is what a price list is; a change for one customer is a service's price change.
    History action: ``withdrawn`` when the product stops being sold (its validity ends before
    today, or it is taken out of every location), ``updated`` otherwise.
    """
    snapshot = _product_snapshot(session, product)
    current = {f: getattr(product, f) for f in PRODUCT_FIELDS}
    values = _product_values(session, {**current, **data}, product.id)
    changes = {k: (current[k], v) for k, v in values.items() if current[k] != v}
    if defaults is not None:
        clean_defaults, version = _defaults(session, product.service_class, defaults)
        if clean_defaults != product.defaults or version != product.defaults_version:
            changes["defaults"] = (product.defaults, clean_defaults)
            product.defaults, product.defaults_version = clean_defaults, version
    if location_ids is not None:
        locations = _location_ids(session, location_ids)
        if locations != product.location_ids:
            changes["locations"] = (sorted(product.location_ids), sorted(locations))
            keep = [a for a in product.availability if a.location_id in locations]
            keep += [ProductLocation(location_id=i) for i in sorted(locations - product.location_ids)]
            product.availability = keep
    for key in values:
        if key in changes:
            setattr(product, key, values[key])
    session.flush()
    recorded = _snapshot_changes(snapshot, _product_snapshot(session, product))
    if recorded:
        _record(session, PRODUCT_ENTITY, product.id, "withdrawn" if _withdrawn(snapshot, product) else "updated",
                recorded, actor)
    return changes


def _withdrawn(before: dict[str, Any], product: Product) -> bool:
    """Was the product on sale before this change and is it no longer (ended, or sold nowhere)?"""
    today = date.today()
    was_ended = before["valid_until"] is not None and before["valid_until"] < today
    now_ended = product.valid_until is not None and product.valid_until < today
    return (now_ended and not was_ended) or (bool(before["locations"]) and not product.location_ids)


def set_availability(session: Session, product: Product, location_ids: Iterable[Any], *,
                     actor: int | None = None) -> None:
    update_product(session, product, location_ids=location_ids, actor=actor)
