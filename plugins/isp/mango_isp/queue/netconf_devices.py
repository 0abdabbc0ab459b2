"""NETCONF devices in the provisioning pipeline: which services each one serves and the configuration
Mango wants on it.

A device whose NETCONF access (:class:`mango_isp.backup.models.NetconfAccess`) has ``provision``
set and that is not a Linux router serves a service when it is the first such device on the service's way up — the same walk as
for Linux routers (:class:`RouterFinder`: dependencies, linked devices, ``path_up``). The two kinds
are found independently: a service behind an OLT or access switch (NETCONF) behind a Linux router
(the BRAS) is on both; the switch gets its subscriber entry, the router its routes and shaping.

Per service the device gets a subscriber ``service-<id>`` with its open addresses, ``blocked`` (the
rule of :mod:`mango_isp.queue.desired`) and ``download_kbit``/``upload_kbit`` from the service's
parameters in their class unit. The device's whole configuration is rendered from its template
(:func:`mango_isp.backup.service.render_for`); Mango owns the subtrees the template renders (the
generic one replaces ``<device>``), so one transactional push brings every subscriber of the device
to the data, and one push covers all of the device's queued tasks.

The subscribers as last pushed are kept in :class:`RouterSubscriber` (``applied``), as for Linux
routers, so a service that left the device still finds it to be told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.services.models import BLOCKED, Service, ServiceBlock
from mango_isp.ipam import addresses as ad
from mango_isp.ipam.models import Assignment
from mango_isp.provisioning import InvalidDesiredState
from mango_isp.queue import desired
from mango_isp.queue.routers import LINUX_ROUTER, RouterFinder


@dataclass
class DeviceBuild:
    """One NETCONF device's subscribers and rendered configuration."""

    device: Device
    config: str
    subscribers: list[dict[str, Any]]                           # in service order, as rendered
    by_service: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)        # service id -> why it was left out


@dataclass
class NetconfBuild:
    devices: dict[int, DeviceBuild] = field(default_factory=dict)
    device_errors: dict[int, str] = field(default_factory=dict)  # device id -> cannot be rendered


def device_ids(session: Session) -> set[int]:
    """The location's devices provisioned over NETCONF (a Linux router keeps its own driver)."""
    from mango_isp.backup.models import NetconfAccess

    linux = select(Device.id).where(Device.type_code == LINUX_ROUTER)
    return set(session.scalars(select(NetconfAccess.device_id).where(NetconfAccess.provision.is_(True),
                                                                     NetconfAccess.device_id.not_in(linux))))


def is_netconf_device(session: Session, device_id: int) -> bool:
    return device_id in device_ids(session)


def device_of(session: Session, service: Service) -> int | None:
    """The NETCONF device serving the service now, if any."""
    ids = device_ids(session)
    if not ids:
        return None
    placement = RouterFinder(session, ids).placements([service.id]).get(service.id)
    return placement.router_id if placement else None


def subscriber_name(service_id: int) -> str:
    return f"service-{service_id}"


def _speed(service: Service, key: str, units: dict[str, str]) -> int | None:
    value = (service.params or {}).get(key)
    if value in (None, ""):
        return None
    return desired.kbit(value, units.get(key))


def _subscriber(service: Service, assignments: list[Assignment], blocks: list[ServiceBlock],
                units: dict[str, str]) -> dict[str, Any]:
    addresses = sorted(str(ad.to_network(a.family, a.network, a.prefixlen)) for a in assignments)
    return {"name": subscriber_name(service.id), "addresses": addresses,
            "blocked": bool(blocks) or service.state == BLOCKED,
            "download_kbit": _speed(service, "download", units), "upload_kbit": _speed(service, "upload", units)}


def build(session: Session, now: datetime | None = None, *, only: set[int] | None = None,
          today: date | None = None) -> NetconfBuild:
    """Subscribers and configuration of the location's NETCONF devices (or only those in ``only``)."""
    from mango_isp.backup import service as backup

    now = now or utcnow()
    today = today or now.date()
    result = NetconfBuild()
    ids = device_ids(session)
    wanted = ids if only is None else ids & set(only)
    if not wanted:
        return result
    placements = RouterFinder(session, ids).placements(desired.live_service_ids(session, now))
    by_device: dict[int, list[int]] = {device_id: [] for device_id in wanted}
    for service_id, placement in placements.items():
        if placement.router_id in by_device:
            by_device[placement.router_id].append(service_id)
    units = desired.Units(session)
    for device_id in sorted(wanted):
        service_ids = by_device[device_id]
        services = {s.id: s for s in session.scalars(select(Service).where(Service.id.in_(service_ids)))}
        assignments = desired.group_by_service(session.scalars(
            select(Assignment).where(Assignment.service_id.in_(service_ids), desired.open_at(Assignment, now))
            .order_by(Assignment.id))) if service_ids else {}
        blocks = desired.group_by_service(session.scalars(
            select(ServiceBlock).where(ServiceBlock.service_id.in_(service_ids))
            .order_by(ServiceBlock.id))) if service_ids else {}
        try:  # a row per served service: it remembers the device carries the service (routers_to_tell)
            desired.numbers_for(session, device_id, service_ids)
        except InvalidDesiredState as exc:
            result.device_errors[device_id] = str(exc)
            continue
        by_service, errors = {}, {}
        for service_id in service_ids:
            service = services[service_id]
            try:
                by_service[service_id] = _subscriber(service, assignments.get(service_id, []),
                                                     [b for b in blocks.get(service_id, []) if b.is_open(today)],
                                                     units.of(service))
            except InvalidDesiredState as exc:
                errors[service_id] = str(exc)
        subscribers = [by_service[sid] for sid in sorted(by_service)]
        try:
            config = backup.render_for(session, device_id, subscribers=subscribers)
        except backup.BackupError as exc:
            result.device_errors[device_id] = str(exc)
            continue
        result.devices[device_id] = DeviceBuild(backup.get_device(session, device_id), config, subscribers,
                                                by_service, errors)
    return result


def subscribers_of(session: Session, device_id: int) -> list[dict[str, Any]] | None:
    """The subscribers the data puts on a NETCONF device (None: not a provisioned NETCONF device)."""
    found = build(session, only={device_id}).devices.get(device_id)
    return found.subscribers if found is not None else None


def enqueue_device(session: Session, device_id: int, *, actor: int | None = None) -> int:
    """A ``sync`` task for every service the device serves now (it was just handed to the queue)."""
    from mango_isp.queue.tasks import enqueue

    ids = device_ids(session)
    if device_id not in ids:
        return 0
    placements = RouterFinder(session, ids).placements(desired.live_service_ids(session, utcnow()))
    served = sorted(sid for sid, p in placements.items() if p.router_id == device_id)
    for service_id in served:
        enqueue(session, service_id, device_id, "sync", actor=actor)
    return len(served)
