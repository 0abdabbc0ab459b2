"""Exporters of a location (the web pages and the CLI call these) and the collector's address map.

An address belongs to one exporter in the whole installation: the collector knows only the
source address of a packet. Tenant tables may only have per-location unique constraints, so the
other locations are checked here (in an operator scope, telling nothing about them but "taken").
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_core.devices.models import Device
from mango_core.tenancy.context import operator_scope
from mango_core.tenancy.validators import N_, InvalidValue
from mango_netflow.collector.models import Exporter, UnknownSource


class InvalidExporter(InvalidValue):
    default_message = N_("Invalid exporter.")


@dataclass(frozen=True)
class Target:
    """Where the flows of one source address go."""

    exporter_id: int
    location_id: int
    name: str


def normalize_address(text: str | None) -> str:
    """The stored form of an exporter address (IPv4-mapped IPv6 becomes IPv4)."""
    try:
        ip = ipaddress.ip_address((text or "").strip())
    except ValueError:
        raise InvalidExporter(N_("Enter an IPv4 or IPv6 address, e.g. 192.0.2.1."), field="address") from None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.compressed


def exporters(session: Session) -> list[Exporter]:
    return list(session.scalars(select(Exporter).order_by(Exporter.name, Exporter.id)))


def get(session: Session, exporter_id: int) -> Exporter | None:
    return session.scalar(select(Exporter).where(Exporter.id == exporter_id))


def save(session: Session, exporter: Exporter | None, *, name: str, address: str, device_id: int | None = None,
         active: bool = True) -> Exporter:
    """Create (``exporter`` None) or change an exporter of the current location; flushes."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidExporter(N_("A name has 1 to 100 characters."), field="name")
    address = normalize_address(address)
    own_id = exporter.id if exporter is not None else None
    if _taken(session, Exporter.name == name, own_id, same_location=True):
        raise InvalidExporter(N_("An exporter named %(name)s already exists."), field="name", name=name)
    if _taken(session, Exporter.address == address, own_id, same_location=False):
        raise InvalidExporter(N_("Address %(address)s is already registered as an exporter."), field="address",
                              address=address)
    if device_id is not None and session.scalar(select(Device.id).where(Device.id == device_id)) is None:
        raise InvalidExporter(N_("No such device."), field="device_id")
    if exporter is None:
        exporter = Exporter(name=name, address=address, device_id=device_id, active=active)
        session.add(exporter)
    else:
        exporter.name, exporter.address, exporter.device_id, exporter.active = name, address, device_id, active
    session.flush()
    return exporter


def delete(session: Session, exporter: Exporter) -> None:
    session.delete(exporter)
    session.flush()


def _taken(session: Session, condition, own_id: int | None, *, same_location: bool) -> bool:  # noqa: ANN001
    query = select(func.count()).select_from(Exporter).where(condition)
    if own_id is not None:
        query = query.where(Exporter.id != own_id)
    if same_location:
        return bool(session.scalar(query))
    with operator_scope():
        return bool(session.scalar(query))


def address_map(session: Session) -> dict[str, Target]:
    """Active exporters of every location by address (the collector's view; operator scope)."""
    with operator_scope():
        rows = session.execute(select(Exporter.address, Exporter.id, Exporter.location_id, Exporter.name)
                               .where(Exporter.active.is_(True)).order_by(Exporter.id)).all()
    found: dict[str, Target] = {}
    for address, exporter_id, location_id, name in rows:
        found.setdefault(address, Target(exporter_id, location_id, name))  # the oldest wins a (raced) duplicate
    return found


def unknown_sources(session: Session, limit: int = 100) -> list[UnknownSource]:
    """Recent packets from unregistered addresses (operator-level data, no location)."""
    return list(session.scalars(select(UnknownSource).order_by(UnknownSource.last_seen_at.desc()).limit(limit)))
