"""Rules of sites, device types and devices; the only writer of their tables.

Every function works in the caller's transaction and location scope (the tenant guard limits
what it sees and writes) and raises :class:`~mango_core.tenancy.validators.InvalidValue`
subclasses with the field they belong to, so forms and the API show them where they fit.
Parameter values go through :func:`mango_core.params.validate_values` against the type's
current definitions, device references in them through :func:`param_resolvers`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_core.devices import types as dtypes
from mango_core.devices.models import STATES, Device, DeviceType, DeviceTypeVersion, Site
from mango_core.devices.search import fold
from mango_core.params import (
    DefinitionSet,
    ParamDef,
    ParamValueError,
    get_type,
    invalid_values,
    validate_values,
)
from mango_core.tenancy.context import current_scope, scope_or_none
from mango_core.tenancy.validators import N_, InvalidValue

MAX_DEPTH = 64  # a topology deeper than this is a data error, not a network


class DeviceError(InvalidValue):
    default_message = N_("The device cannot be saved.")


class NotFound(DeviceError):
    default_message = N_("Not found.")


class InUse(DeviceError):
    default_message = N_("It is still in use.")


# --- small validators ----------------------------------------------------------------------------


def _text(value: Any, field: str, max_length: int, *, required: bool = False) -> str | None:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        if required:
            raise DeviceError(N_("This field is required."), field=field)
        return None
    if len(text) > max_length:
        raise DeviceError(N_("At most %(max)d characters."), field=field, max=max_length)
    return text


def normalize_mac(value: Any) -> str | None:
    """``00:1a:2b:3c:4d:5e`` from any common notation; None for nothing entered."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return get_type("mac").convert(value, "mac")


def normalize_ip(value: Any, field: str = "management_ip") -> str | None:
    """An IPv4 or IPv6 address in its compressed form; None for nothing entered."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        address = ipaddress.ip_address(value.strip() if isinstance(value, str) else value)
    except ValueError:
        address = None
    if address is None or "%" in str(address):
        raise DeviceError(N_("Enter an IPv4 or IPv6 address, e.g. 192.0.2.1."), field=field)
    return address.compressed


_COORD_RE = re.compile(r"[+-]?[0-9]{1,3}(?:[.,][0-9]{1,10})?")


def _coordinate(value: Any, field: str, limit: int) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = Decimal(str(value))
    elif isinstance(value, str) and _COORD_RE.fullmatch(value.strip()):
        try:
            number = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            number = None
    else:
        number = None
    if number is None or not number.is_finite():
        raise DeviceError(N_("Enter a number in degrees, e.g. 50.0755."), field=field)
    if not -limit <= number <= limit:
        raise DeviceError(N_("Enter a number from -%(limit)d to %(limit)d."), field=field, limit=limit)
    return float(round(number, 7))


def coordinates(latitude: Any, longitude: Any) -> tuple[float | None, float | None]:
    """Validated GPS latitude and longitude (WGS 84 degrees): both or neither."""
    lat = _coordinate(latitude, "latitude", 90)
    lon = _coordinate(longitude, "longitude", 180)
    if (lat is None) != (lon is None):
        raise DeviceError(N_("Enter both the latitude and the longitude, or neither."),
                          field="longitude" if lon is None else "latitude")
    return lat, lon


def _state(value: Any) -> str:
    if value not in STATES:
        raise DeviceError(N_("Unknown state."), field="state")
    return value


# --- sites ---------------------------------------------------------------------------------------


SITE_FIELDS = ("name", "address", "latitude", "longitude", "note")


def get_site(session: Session, site_id: int) -> Site:
    site = session.scalar(select(Site).where(Site.id == site_id))
    if site is None:
        raise NotFound(N_("Site not found."), field="site_id")
    return site


def list_sites(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.name, Site.id)))


def _site_values(session: Session, site: Site | None, data: Mapping[str, Any]) -> dict[str, Any]:
    name = _text(data.get("name"), "name", 200, required=True)
    taken = select(Site.id).where(func.lower(Site.name) == name.lower())
    if site is not None:
        taken = taken.where(Site.id != site.id)
    if session.scalar(taken) is not None:
        raise DeviceError(N_("A site of this name exists already."), field="name")
    latitude, longitude = coordinates(data.get("latitude"), data.get("longitude"))
    return {"name": name, "address": _text(data.get("address"), "address", 300) or "",
            "latitude": latitude, "longitude": longitude, "note": _text(data.get("note"), "note", 5000)}


def create_site(session: Session, **data: Any) -> Site:
    site = Site(**_site_values(session, None, data))
    session.add(site)
    session.flush()
    return site


def update_site(session: Session, site: Site, **data: Any) -> bool:
    values = _site_values(session, site, data)
    changed = any(getattr(site, k) != v for k, v in values.items())
    for key, value in values.items():
        setattr(site, key, value)
    session.flush()
    return changed


def delete_site(session: Session, site: Site) -> None:
    if session.scalar(select(Device.id).where(Device.site_id == site.id).limit(1)) is not None:
        raise InUse(N_("Devices stand at this site; move them first."))
    session.delete(site)
    session.flush()


# --- device types ------------------------------------------------------------------------------


def _active_plugins() -> set[str] | None:
    """Plugins enabled in the scope's location (None outside an application: every loaded one)."""
    from flask import has_app_context

    from mango_core.kernel import current_mango

    if not has_app_context():
        return None
    scope = scope_or_none()
    location_id = scope.write_location_id if scope is not None else None
    return current_mango().plugins.active_names(location_id)


def _registry() -> dict[str, tuple[str, dtypes.DeviceTypeDef]]:
    from mango_core.kernel import current_mango

    return dtypes.collect(current_mango().plugins)


def code_types(*, only_active: bool = True) -> list[dtypes.TypeInfo]:
    """Code-defined types, of plugins enabled here unless ``only_active`` is false."""
    active = _active_plugins() if only_active else None
    return sorted((dtypes.info_of_code(plugin, item) for plugin, item in _registry().values()
                   if active is None or plugin in active), key=lambda t: t.label.lower())


def definitions_of(session: Session, device_type: DeviceType, version: int | None = None) -> DefinitionSet:
    """The parameter definitions of a UI-defined type (its current version by default)."""
    wanted = version or device_type.version
    row = session.scalar(select(DeviceTypeVersion).where(DeviceTypeVersion.device_type_id == device_type.id,
                                                         DeviceTypeVersion.version == wanted))
    if row is None:
        return DefinitionSet((), wanted)
    return DefinitionSet(tuple(ParamDef.from_dict(d) for d in row.definitions), row.version)


def info_of(session: Session, device_type: DeviceType) -> dtypes.TypeInfo:
    return dtypes.TypeInfo(key=dtypes.ui_key(device_type.id), label=device_type.name,
                           definitions=definitions_of(session, device_type),
                           description=device_type.description or "", type_id=device_type.id)


def list_ui_types(session: Session) -> list[DeviceType]:
    return list(session.scalars(select(DeviceType).order_by(DeviceType.name, DeviceType.id)))


def available_types(session: Session) -> list[dtypes.TypeInfo]:
    """Types a new device may have here: code-defined ones of enabled plugins, then the partner's."""
    return code_types() + [info_of(session, t) for t in list_ui_types(session)]


def get_device_type(session: Session, type_id: int) -> DeviceType:
    row = session.scalar(select(DeviceType).where(DeviceType.id == type_id))
    if row is None:
        raise NotFound(N_("Device type not found."), field="type_key")
    return row


def resolve_type(session: Session, key: str | None, *, only_active: bool = True) -> dtypes.TypeInfo:
    """A type by its key (``code:…``/``ui:…``): one offered here, else :class:`NotFound`."""
    parsed = dtypes.parse_key(key)
    if parsed is None:
        raise NotFound(N_("Device type not found."), field="type_key")
    kind, ident = parsed
    if kind == "ui":
        return info_of(session, get_device_type(session, int(ident)))
    for info in code_types(only_active=only_active):
        if info.type_code == ident:
            return info
    raise NotFound(N_("Device type not found."), field="type_key")


def type_of(session: Session, device: Device) -> dtypes.TypeInfo | None:
    """The device's type now (None: a code-defined type whose plugin is not installed any more)."""
    if device.type_id is not None:
        return info_of(session, device.device_type)
    try:
        return resolve_type(session, dtypes.code_key(device.type_code or ""), only_active=False)
    except NotFound:
        return None


def _type_name(session: Session, device_type: DeviceType | None, name: Any) -> str:
    text = _text(name, "name", 100, required=True)
    taken = select(DeviceType.id).where(func.lower(DeviceType.name) == text.lower())
    if device_type is not None:
        taken = taken.where(DeviceType.id != device_type.id)
    if session.scalar(taken) is not None:
        raise DeviceError(N_("A device type of this name exists already."), field="name")
    return text


def create_device_type(session: Session, *, name: str, description: str | None = None,
                       params: Iterable[ParamDef] = ()) -> DeviceType:
    """A partner's new device type (shared by all its locations) with version 1 of its parameters."""
    defs = DefinitionSet(tuple(params), 1)
    row = DeviceType(name=_type_name(session, None, name), description=_text(description, "description", 2000) or "",
                     version=defs.version)
    row.versions.append(DeviceTypeVersion(version=defs.version, definitions=[p.to_dict() for p in defs]))
    session.add(row)
    session.flush()
    return row


def rename_device_type(session: Session, device_type: DeviceType, *, name: str, description: str | None) -> bool:
    new_name = _type_name(session, device_type, name)
    new_description = _text(description, "description", 2000) or ""
    changed = (new_name, new_description) != (device_type.name, device_type.description)
    device_type.name, device_type.description = new_name, new_description
    session.flush()
    return changed


def save_type_definitions(session: Session, device_type: DeviceType, params: Iterable[ParamDef]) -> DefinitionSet:
    """A new version of the type's parameters (when anything changed); earlier versions are kept.

    Existing devices keep their values and the version they were checked against; see
    :func:`devices_needing_attention` for those that do not fit the new version.
    """
    current = definitions_of(session, device_type)
    new = current.changed(params)
    if new is current:
        return current
    device_type.versions.append(DeviceTypeVersion(version=new.version, definitions=[p.to_dict() for p in new]))
    device_type.version = new.version
    session.flush()
    return new


def delete_device_type(session: Session, device_type: DeviceType) -> None:
    if _type_in_use(session, device_type):
        raise InUse(N_("Devices of this type exist; change or delete them first."))
    session.delete(device_type)
    session.flush()


def _type_in_use(session: Session, device_type: DeviceType) -> bool:
    """Used by a device of any location of the partner (the foreign key would refuse it anyway)."""
    table = Device.__table__
    return session.connection().execute(
        select(table.c.id).where(table.c.type_id == device_type.id).limit(1)
    ).first() is not None


# --- devices -------------------------------------------------------------------------------------


DEVICE_FIELDS = ("name", "serial_number", "mac", "management_ip", "site_id", "parent_id", "state", "note")


def device_exists(session: Session) -> Callable[[Any], bool]:
    """The ``device`` resolver: does a device of this id exist in the current location?"""

    def exists_here(device_id: Any) -> bool:
        return session.scalar(select(Device.id).where(Device.id == device_id)) is not None

    return exists_here


def param_resolvers(session: Session) -> dict[str, Callable[[Any], bool]]:
    """Resolvers for :func:`mango_core.params.validate_values` (service classes use it too)."""
    return {"device": device_exists(session)}


def get_device(session: Session, device_id: int) -> Device:
    """A device of the current location (the tenant guard hides all others): else NotFound."""
    device = session.scalar(select(Device).where(Device.id == device_id))
    if device is None:
        raise NotFound(N_("Device not found."))
    return device


def _check_parent(session: Session, device: Device | None, parent_id: Any) -> int | None:
    if parent_id in (None, ""):
        return None
    try:
        parent = get_device(session, int(parent_id))
    except (NotFound, TypeError, ValueError):
        parent = None
    if parent is None or parent.location_id != current_scope().write_location_id:
        raise DeviceError(N_("The uplink device does not exist here."), field="parent_id")
    if device is not None and device.id is not None:
        ancestor, depth = parent, 0
        while ancestor is not None:
            if ancestor.id == device.id:
                raise DeviceError(N_("A device cannot be connected below itself (the uplinks would form a loop)."),
                                  field="parent_id")
            depth += 1
            if depth > MAX_DEPTH:
                raise DeviceError(N_("The uplink chain is too long."), field="parent_id")
            ancestor = ancestor.parent
    return parent.id


def _check_site(session: Session, site_id: Any) -> int | None:
    if site_id in (None, ""):
        return None
    try:
        site = get_site(session, int(site_id))
    except (NotFound, TypeError, ValueError):
        site = None
    if site is None or site.location_id != current_scope().write_location_id:
        raise DeviceError(N_("The site does not exist here."), field="site_id")
    return site.id


def _device_values(session: Session, device: Device | None, data: Mapping[str, Any]) -> dict[str, Any]:
    name = _text(data.get("name"), "name", 200, required=True)
    try:
        mac = normalize_mac(data.get("mac"))
    except ParamValueError as exc:
        raise DeviceError(exc.message, field="mac", **exc.params) from None
    if mac is not None:
        taken = select(Device.id).where(Device.mac == mac, Device.location_id == current_scope().write_location_id)
        if device is not None and device.id is not None:
            taken = taken.where(Device.id != device.id)
        if session.scalar(taken) is not None:
            raise DeviceError(N_("Another device here has this MAC address."), field="mac")
    return {
        "name": name,
        "sort_name": fold(name)[:200],
        "serial_number": _text(data.get("serial_number"), "serial_number", 100),
        "mac": mac,
        "management_ip": normalize_ip(data.get("management_ip")),
        "site_id": _check_site(session, data.get("site_id")),
        "parent_id": _check_parent(session, device, data.get("parent_id")),
        "state": _state(data.get("state") or "planned"),
        "note": _text(data.get("note"), "note", 5000),
    }


def _validated_params(session: Session, info: dtypes.TypeInfo, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    return validate_values(list(info.definitions), dict(raw or {}), resolvers=param_resolvers(session))


def create_device(session: Session, *, type_key: str, params: Mapping[str, Any] | None = None,
                  **data: Any) -> Device:
    """A new device of a type offered here; all fields and parameter values are checked first.

    Parameter errors come together as one :class:`ParamValidationError` (every bad key at once).
    """
    info = resolve_type(session, type_key)
    values = _device_values(session, None, data)
    param_values = _validated_params(session, info, params)
    device = Device(type_id=info.type_id, type_code=info.type_code, params=param_values,
                    params_version=info.definitions.version, **values)
    session.add(device)
    session.flush()
    return device


def update_device(session: Session, device: Device, *, params: Mapping[str, Any] | None = None,
                  **data: Any) -> bool:
    """Change a device's fields and (when ``params`` is given) its parameter values.

    New values are checked against the type's current version, which the device then records.
    """
    values = _device_values(session, device, data)
    changed = any(getattr(device, k) != v for k, v in values.items())
    if params is not None:
        info = type_of(session, device)
        if info is None:
            raise DeviceError(N_("The type of this device is not available; its parameters cannot be changed."))
        param_values = _validated_params(session, info, params)
        if param_values != (device.params or {}) or device.params_version != info.definitions.version:
            changed = True
            device.params = param_values
            device.params_version = info.definitions.version
    for key, value in values.items():
        setattr(device, key, value)
    session.flush()
    return changed


def delete_device(session: Session, device: Device) -> None:
    if session.scalar(select(Device.id).where(Device.parent_id == device.id).limit(1)) is not None:
        raise InUse(N_("Other devices are connected to this one; reconnect them first."))
    session.delete(device)
    session.flush()


def stored_definitions(session: Session, device: Device) -> DefinitionSet | None:
    """The definitions the device's values were checked against (for showing them as entered)."""
    if device.type_id is not None:
        return definitions_of(session, device.device_type, device.params_version)
    info = type_of(session, device)
    return info.definitions if info is not None else None


def invalid_params(session: Session, device: Device) -> dict[str, str]:
    """Which of the device's values do not fit its type's current version, with the reason."""
    info = type_of(session, device)
    if info is None:
        return {}
    if device.params_version == info.definitions.version:
        return {}
    return invalid_values(device.params or {}, list(info.definitions), resolvers=param_resolvers(session))


def devices_needing_attention(session: Session, device_type: DeviceType,
                              limit: int = 200) -> list[tuple[Device, dict[str, str]]]:
    """Devices here of an older version of ``device_type`` whose values do not fit the current one."""
    current = definitions_of(session, device_type)
    resolvers = param_resolvers(session)
    found = []
    rows = session.scalars(select(Device).where(Device.type_id == device_type.id,
                                                Device.params_version != current.version)
                           .order_by(Device.sort_name, Device.id))
    for device in rows:
        errors = invalid_values(device.params or {}, list(current), resolvers=resolvers)
        if errors:
            found.append((device, errors))
            if len(found) >= limit:
                break
    return found


def children_of(session: Session, device: Device, limit: int = 200) -> list[Device]:
    return list(session.scalars(select(Device).where(Device.parent_id == device.id)
                                .order_by(Device.sort_name, Device.id).limit(limit)))


def uplink_chain(device: Device) -> list[Device]:
    """The uplinks from the device's parent up to the root of its tree."""
    chain, node = [], device.parent
    while node is not None and len(chain) < MAX_DEPTH:
        chain.append(node)
        node = node.parent
    return chain



def find_device_ref(session: Session, text: Any, field: str = "parent_id") -> int | None:
    """A device named by its ID or its exact name (without regard to case and diacritics)."""
    ref = (text or "").strip() if isinstance(text, str) or text is None else str(text)
    if not ref:
        return None
    if ref.isascii() and ref.isdigit() and len(ref) < 12:
        return int(ref)
    ids = list(session.scalars(select(Device.id).where(Device.sort_name == fold(ref)[:200]).limit(2)))
    if not ids:
        raise DeviceError(N_("No device of this ID or name here."), field=field)
    if len(ids) > 1:
        raise DeviceError(N_("Several devices have this name; enter the ID."), field=field)
    return ids[0]
