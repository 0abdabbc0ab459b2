"""The desired state of each router, built from the data: who is served where, with which addresses,
speeds, static neighbours and blocks.

* A service is on a router while it is active or blocked, holds an address now (IPAM) and has a
  router above it (:mod:`mango_isp.queue.routers`).
* Networks are its open assignments; the gateway of a pool the address came from is the gateway
  for it (with the pool's length), else the router's ``gateway4``/``gateway6``.
* Static neighbours are its open MAC bindings: to the bound assignment's address, or, unbound, to
  each of its single addresses.
* Speeds are the service's ``download``/``upload`` parameters in the unit of the class parameter
  (kbit/s, Mbit/s or Gbit/s; none given = Mbit/s); without both there is no shaping.
* Blocked: the service is in state blocked or has a block open today (the reason is the block's).

Subscriber numbers (tc class minors) are kept per router in :class:`RouterSubscriber`, so the same
service keeps its number across builds. A service whose data the driver refuses (a speed out of
range, say) is left out of its router's state and reported in ``errors``; the rest go on.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mango_core.catalog.service import class_version
from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.services.models import ACTIVE, BLOCKED, Service, ServiceBlock
from mango_isp.ipam import addresses as ad
from mango_isp.ipam.models import Assignment, MacBinding, Prefix
from mango_isp.provisioning import (
    Block,
    InvalidDesiredState,
    Neighbour,
    RouterState,
    Shaping,
    Subscriber,
)
from mango_isp.provisioning.state import SUBSCRIBER_ID_MAX, SUBSCRIBER_ID_MIN
from mango_isp.queue.models import RouterSubscriber
from mango_isp.queue.routers import Placement, RouterConfig, RouterFinder, router_config, routers

UNITS = {"kbit/s": 1, "kb/s": 1, "kbps": 1, "mbit/s": 1000, "mb/s": 1000, "mbps": 1000,
         "gbit/s": 1_000_000, "gb/s": 1_000_000, "gbps": 1_000_000, "": 1000}


class NumbersExhausted(InvalidDesiredState):
    """Every subscriber number of a router is taken."""


@dataclass
class RouterBuild:
    """One router's desired state and how services map to its subscribers."""

    config: RouterConfig
    state: RouterState
    numbers: dict[int, int] = field(default_factory=dict)         # service id -> subscriber number (desired)
    stale: dict[int, int] = field(default_factory=dict)           # numbered here but no longer desired
    errors: dict[int, str] = field(default_factory=dict)          # service id -> why it was left out


@dataclass
class Build:
    routers: dict[int, RouterBuild] = field(default_factory=dict)
    router_errors: dict[int, str] = field(default_factory=dict)   # router id -> unusable configuration
    placements: dict[int, Placement] = field(default_factory=dict)


def kbit(value: object, unit: str | None) -> int:
    """A speed parameter in kbit/s (whole numbers; a decimal of Mbit/s is rounded down)."""
    factor = UNITS.get((unit or "").strip().lower())
    if factor is None:
        raise InvalidDesiredState(f"unknown speed unit {unit!r}")
    try:
        return int(float(value) * factor)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidDesiredState(f"not a speed: {value!r}") from None


class Units:
    """The unit of each parameter of a service's class version (cached per version)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[int, int], dict[str, str]] = {}

    def of(self, service: Service) -> dict[str, str]:
        key = (service.class_id, service.class_version)
        if key not in self.cache:
            defs = class_version(self.session, service.class_id, service.class_version).definition_set()
            self.cache[key] = {p.key: p.unit for p in defs}
        return self.cache[key]


def shaping_of(service: Service, units: dict[str, str]) -> Shaping | None:
    params = service.params or {}
    if params.get("download") in (None, "") or params.get("upload") in (None, ""):
        return None
    return Shaping(kbit(params["download"], units.get("download")), kbit(params["upload"], units.get("upload")))


def open_at(model, now: datetime):  # noqa: ANN001, ANN202
    """Rows of a ``valid_from``/``valid_to`` model in force at ``now``."""
    return (model.valid_from <= now) & or_(model.valid_to.is_(None), model.valid_to > now)


def live_service_ids(session: Session, now: datetime, only: set[int] | None = None) -> list[int]:
    """Active or blocked services holding an address at ``now``."""
    query = (select(Service.id).where(Service.state.in_((ACTIVE, BLOCKED)))
             .where(select(Assignment.id).where(Assignment.service_id == Service.id, open_at(Assignment, now)).exists()))
    if only is not None:
        query = query.where(Service.id.in_(only))
    return list(session.scalars(query.order_by(Service.id)))


def numbers_for(session: Session, router_id: int, wanted: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Numbers of ``wanted`` services on a router (new ones get the lowest free), and stale ones."""
    rows = {r.service_id: r for r in session.scalars(select(RouterSubscriber)
                                                     .where(RouterSubscriber.router_id == router_id))}
    used = {r.number for r in rows.values()}
    numbers, free = {}, SUBSCRIBER_ID_MIN
    for service_id in wanted:
        row = rows.get(service_id)
        if row is None:
            while free in used:
                free += 1
            if free > SUBSCRIBER_ID_MAX:
                raise NumbersExhausted(f"router {router_id} has no free subscriber number")
            row = RouterSubscriber(router_id=router_id, service_id=service_id, number=free)
            session.add(row)
            used.add(free)
        numbers[service_id] = row.number
    stale = {sid: r.number for sid, r in rows.items() if sid not in numbers}
    session.flush()
    return numbers, stale


def build(session: Session, now: datetime | None = None, *, router_ids: set[int] | None = None,
          today: date | None = None) -> Build:
    """Desired states of the location's routers (or only ``router_ids``) at ``now``."""
    now = now or utcnow()
    today = today or now.date()
    result = Build()
    configs: dict[int, RouterConfig] = {}
    for device in routers(session):
        if router_ids is not None and device.id not in router_ids:
            continue
        try:
            configs[device.id] = router_config(device)
        except InvalidDesiredState as exc:
            result.router_errors[device.id] = str(exc)
    service_ids = live_service_ids(session, now)
    finder = RouterFinder(session)
    placements = finder.placements(service_ids)
    result.placements = placements
    by_router: dict[int, list[int]] = {rid: [] for rid in configs}
    for service_id, placement in placements.items():
        if placement.router_id in by_router:
            by_router[placement.router_id].append(service_id)

    units = Units(session)
    for router_id, config in configs.items():
        ids = by_router[router_id]
        services = {s.id: s for s in session.scalars(select(Service).where(Service.id.in_(ids)))} if ids else {}
        assignments = group_by_service(session.scalars(
            select(Assignment).where(Assignment.service_id.in_(ids), open_at(Assignment, now))
            .order_by(Assignment.id))) if ids else {}
        bindings = group_by_service(session.scalars(
            select(MacBinding).where(MacBinding.service_id.in_(ids), open_at(MacBinding, now))
            .order_by(MacBinding.id))) if ids else {}
        blocks = group_by_service(session.scalars(
            select(ServiceBlock).where(ServiceBlock.service_id.in_(ids)).order_by(ServiceBlock.id))) if ids else {}
        pools = _pools(session, [a for rows in assignments.values() for a in rows])
        numbers, stale = numbers_for(session, router_id, ids)
        subscribers, errors = [], {}
        for service_id in ids:
            service = services[service_id]
            try:
                subscribers.append(_subscriber(service, numbers[service_id], config, placements[service_id],
                                               assignments.get(service_id, []), bindings.get(service_id, []),
                                               [b for b in blocks.get(service_id, []) if b.is_open(today)],
                                               pools, units.of(service)))
            except InvalidDesiredState as exc:
                errors[service_id] = str(exc)
        for service_id in errors:
            stale[service_id] = numbers.pop(service_id)
        result.routers[router_id] = RouterBuild(config, RouterState(config.interfaces, tuple(subscribers),
                                                                    config.block_policy), numbers, stale, errors)
    return result


def group_by_service(rows) -> dict[int, list]:  # noqa: ANN001
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.service_id, []).append(row)
    return grouped


def _pools(session: Session, assignments: list[Assignment]) -> dict[int, Prefix]:
    ids = {a.pool_id for a in assignments if a.pool_id is not None}
    return {p.id: p for p in session.scalars(select(Prefix).where(Prefix.id.in_(ids)))} if ids else {}


def _subscriber(service: Service, number: int, config: RouterConfig, placement: Placement,
                assignments: list[Assignment], bindings: list[MacBinding], blocks: list[ServiceBlock],
                pools: dict[int, Prefix], units: dict[str, str]) -> Subscriber:
    interface = placement.interface if placement.interface in config.interfaces else config.interfaces[0]
    networks, gateways = [], []
    by_id = {}
    for a in assignments:
        net = ad.to_network(a.family, a.network, a.prefixlen)
        networks.append(net)
        by_id[a.id] = net
        pool = pools.get(a.pool_id) if a.pool_id else None
        if pool is not None and pool.gateway:
            gateways.append(ipaddress.ip_interface(f"{ad.to_address(pool.family, pool.gateway)}/{pool.prefixlen}"))
    families = {n.version for n in networks}
    gateways += [g for g in config.gateways if g.version in families and g.version not in {x.version for x in gateways}]
    neighbours: dict[object, Neighbour] = {}
    for b in bindings:
        targets = [by_id[b.assignment_id]] if b.assignment_id in by_id else list(by_id.values())
        for net in targets:
            if net.num_addresses == 1 and net.network_address not in neighbours:
                neighbours[net.network_address] = Neighbour(net.network_address, b.mac)
    block = None
    if blocks or service.state == BLOCKED:
        reason = next((b.reason or b.kind for b in blocks), None) or "blocked"
        block = Block(reason[:200])
    return Subscriber(number, interface, networks=tuple(networks), gateways=tuple(dict.fromkeys(gateways)),
                      neighbours=tuple(neighbours.values()), shaping=shaping_of(service, units), block=block)


def device_name(session: Session, device_id: int) -> str:
    device = session.get(Device, device_id)
    return device.name if device is not None else f"#{device_id}"
