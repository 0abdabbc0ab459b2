"""Interfaces, links and service dependencies; the impact of a device and the path of a customer.

The graph: devices of the location are nodes; an edge goes from upstream to downstream for
every link between their interfaces and for every uplink of the core's device tree
(``Device.parent_id``). Devices nothing feeds are the roots (the core). A device's failure cuts
off the devices reachable from it that no root reaches any more once it is gone: a device with a
second, redundant uplink is not affected. Services depend on devices through the core's service
devices (the customer's CPE) and through :class:`ServiceDependency` (the access point serving
them); a service is affected when a device it depends on is.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from mango_core.customers.models import Customer
from mango_core.devices.models import Device
from mango_core.devices.service import normalize_mac
from mango_core.params import ParamValueError
from mango_core.services.models import TERMINATED, Service, ServiceDevice
from mango_core.tenancy.validators import N_, InvalidValue
from mango_isp.topology.models import INTERFACE_KINDS, LINK_KINDS, Interface, Link, ServiceDependency


class TopologyError(InvalidValue):
    default_message = N_("The topology cannot be saved.")


class NotFound(TopologyError):
    default_message = N_("Not found.")


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise TopologyError(N_("This field is required."), field=field)
    if len(text) > limit:
        raise TopologyError(N_("At most %(max)d characters."), field=field, max=limit)
    return text


def _id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 1 << 62 else None


def get_device(session: Session, device_id: Any, field: str = "device_id") -> Device:
    wanted = _id(device_id)
    device = session.scalar(select(Device).where(Device.id == wanted)) if wanted else None
    if device is None:
        raise NotFound(N_("Device not found."), field=field)
    return device


def get_interface(session: Session, interface_id: Any, field: str = "interface_id") -> Interface:
    wanted = _id(interface_id)
    row = session.scalar(select(Interface).where(Interface.id == wanted)) if wanted else None
    if row is None:
        raise NotFound(N_("Interface not found."), field=field)
    return row


# --- interfaces and links ----------------------------------------------------------------------


def interfaces_of(session: Session, device_id: int) -> list[Interface]:
    return list(session.scalars(select(Interface).where(Interface.device_id == device_id)
                                .order_by(Interface.name, Interface.id)))


def add_interface(session: Session, device: Device, *, name: Any, kind: Any = "ethernet", mac: Any = None,
                  speed_mbps: Any = None, description: Any = "") -> Interface:
    clean = _text(name, "name", 64, required=True)
    if kind not in INTERFACE_KINDS:
        raise TopologyError(N_("Choose one of the offered values."), field="kind")
    try:
        clean_mac = normalize_mac(mac)
    except ParamValueError:
        raise TopologyError(N_("Enter a MAC address, e.g. 00:1a:2b:3c:4d:5e."), field="mac") from None
    speed = None
    if speed_mbps not in (None, ""):
        speed = _id(speed_mbps)
        if speed is None or speed > 10_000_000:
            raise TopologyError(N_("Enter the speed in Mbit/s, a whole number above zero."), field="speed_mbps")
    if session.scalar(select(Interface.id).where(Interface.device_id == device.id, Interface.name == clean)):
        raise TopologyError(N_("The device has an interface of this name already."), field="name")
    row = Interface(device_id=device.id, name=clean, kind=kind, mac=clean_mac, speed_mbps=speed,
                    description=_text(description, "description", 200))
    session.add(row)
    session.flush()
    return row


def delete_interface(session: Session, interface: Interface) -> None:
    """Delete an interface; its links and the dependencies naming it go with it."""
    for link in session.scalars(select(Link).where((Link.upstream_id == interface.id)
                                                   | (Link.downstream_id == interface.id))):
        session.delete(link)
    for dep in session.scalars(select(ServiceDependency).where(ServiceDependency.interface_id == interface.id)):
        session.delete(dep)
    session.delete(interface)
    session.flush()


def connect(session: Session, upstream: Interface, downstream: Interface, *, kind: Any = "copper",
            note: Any = "") -> Link:
    """A link from ``upstream`` (towards the core) to ``downstream``; loops are refused."""
    if kind not in LINK_KINDS:
        raise TopologyError(N_("Choose one of the offered values."), field="kind")
    if upstream.device_id == downstream.device_id:
        raise TopologyError(N_("A link joins two different devices."), field="downstream_id")
    if session.scalar(select(Link.id).where(Link.upstream_id == upstream.id, Link.downstream_id == downstream.id)):
        raise TopologyError(N_("These interfaces are linked already."), field="downstream_id")
    graph = Graph.load(session)
    if upstream.device_id in graph.below(downstream.device_id):
        raise TopologyError(N_("The link would make a loop: the upstream device is fed by the downstream one."),
                            field="downstream_id")
    row = Link(upstream_id=upstream.id, downstream_id=downstream.id, kind=kind, note=_text(note, "note", 200))
    session.add(row)
    session.flush()
    return row


def get_link(session: Session, link_id: Any) -> Link:
    wanted = _id(link_id)
    row = session.scalar(select(Link).where(Link.id == wanted)) if wanted else None
    if row is None:
        raise NotFound(N_("Link not found."))
    return row


def disconnect(session: Session, link: Link) -> None:
    session.delete(link)
    session.flush()


def links_of(session: Session, device_id: int) -> list[Link]:
    """Links touching any interface of the device, upstream side first."""
    up, down = aliased(Interface), aliased(Interface)
    return list(session.scalars(select(Link).join(up, Link.upstream_id == up.id).join(down, Link.downstream_id == down.id)
                                .where((up.device_id == device_id) | (down.device_id == device_id))
                                .order_by(Link.id)))


# --- service dependencies ---------------------------------------------------------------------


def depend(session: Session, service: Service, device: Device, *, interface: Interface | None = None,
           note: Any = "", actor: int | None = None) -> ServiceDependency:
    """Record that ``service`` is served through ``device`` (and the interface, when given)."""
    if service.state == TERMINATED:
        raise TopologyError(N_("A terminated service cannot be changed."), field="service_id")
    if interface is not None and interface.device_id != device.id:
        raise TopologyError(N_("The interface belongs to another device."), field="interface_id")
    existing = select(ServiceDependency.id).where(ServiceDependency.service_id == service.id,
                                                  ServiceDependency.device_id == device.id)
    existing = existing.where(ServiceDependency.interface_id == interface.id if interface is not None
                              else ServiceDependency.interface_id.is_(None))
    if session.scalar(existing) is not None:
        raise TopologyError(N_("The service depends on it already."), field="device_id")
    row = ServiceDependency(service_id=service.id, device_id=device.id,
                            interface_id=interface.id if interface is not None else None,
                            note=_text(note, "note", 200), created_by_id=actor)
    session.add(row)
    session.flush()
    _reprovision(session, service)
    return row


def _reprovision(session: Session, service: Service) -> None:
    """The router serving the service may have changed: the provisioning queue learns of it."""
    from mango_isp.queue.tasks import enqueue_service

    enqueue_service(session, service, "devices")


def dependencies_of(session: Session, service_id: int) -> list[ServiceDependency]:
    return list(session.scalars(select(ServiceDependency).where(ServiceDependency.service_id == service_id)
                                .order_by(ServiceDependency.id)))


def get_dependency(session: Session, dependency_id: Any) -> ServiceDependency:
    wanted = _id(dependency_id)
    row = session.scalar(select(ServiceDependency).where(ServiceDependency.id == wanted)) if wanted else None
    if row is None:
        raise NotFound(N_("Dependency not found."))
    return row


def remove_dependency(session: Session, dependency: ServiceDependency) -> None:
    service = dependency.service
    session.delete(dependency)
    session.flush()
    _reprovision(session, service)


# --- the graph ---------------------------------------------------------------------------------


@dataclass
class Graph:
    """Devices of the scope and upstream → downstream edges (links and the core's uplinks)."""

    nodes: set[int] = field(default_factory=set)
    down: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    up: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def load(cls, session: Session) -> Graph:
        graph = cls()
        for device_id, parent_id in session.execute(select(Device.id, Device.parent_id)):
            graph.nodes.add(device_id)
            if parent_id is not None:
                graph.add(parent_id, device_id)
        up_if, down_if = aliased(Interface), aliased(Interface)
        rows = session.execute(select(up_if.device_id, down_if.device_id)
                               .select_from(Link).join(up_if, Link.upstream_id == up_if.id)
                               .join(down_if, Link.downstream_id == down_if.id))
        for upstream, downstream in rows:
            graph.add(upstream, downstream)
        return graph

    def add(self, upstream: int, downstream: int) -> None:
        if upstream == downstream:
            return
        self.nodes |= {upstream, downstream}
        self.down[upstream].add(downstream)
        self.up[downstream].add(upstream)

    @property
    def roots(self) -> set[int]:
        return {n for n in self.nodes if not self.up.get(n)}

    def _walk(self, starts: set[int], edges: dict[int, set[int]], without: int | None = None) -> set[int]:
        seen = {s for s in starts if s != without}
        queue = deque(seen)
        while queue:
            node = queue.popleft()
            for nxt in edges.get(node, ()):
                if nxt != without and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    def below(self, device_id: int) -> set[int]:
        """Devices fed (directly or not) by ``device_id``, itself included."""
        return self._walk({device_id}, self.down)

    def cut_off(self, device_id: int) -> set[int]:
        """Devices that lose their connection when ``device_id`` fails (itself included).

        Of the devices below it, those that some root still reaches without it stay up.
        """
        below = self.below(device_id)
        still_up = self._walk(self.roots, self.down, without=device_id)
        return {device_id} | (below - still_up)

@dataclass
class Impact:
    """What depends on a device: devices cut off with it, and the live services and customers on them."""

    device_ids: set[int]
    services: list[Service]
    customers: list[Customer]


def impact(session: Session, device_id: int) -> Impact:
    """Devices, services and customers affected when ``device_id`` fails (see the module doc)."""
    device = get_device(session, device_id)
    graph = Graph.load(session)
    cut = graph.cut_off(device.id)
    ids = sorted(cut)
    service_ids: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        service_ids |= set(session.scalars(select(ServiceDevice.service_id).where(ServiceDevice.device_id.in_(chunk))))
        service_ids |= set(session.scalars(select(ServiceDependency.service_id)
                                           .where(ServiceDependency.device_id.in_(chunk))))
    services: list[Service] = []
    found = sorted(service_ids)
    for start in range(0, len(found), 500):
        services += list(session.scalars(select(Service).where(Service.id.in_(found[start:start + 500]),
                                                               Service.state != TERMINATED)))
    services.sort(key=lambda s: s.id)
    customer_ids = sorted({s.customer_id for s in services})
    customers: list[Customer] = []
    for start in range(0, len(customer_ids), 500):
        customers += list(session.scalars(select(Customer).where(Customer.id.in_(customer_ids[start:start + 500]))))
    customers.sort(key=lambda c: (c.sort_name, c.id))
    return Impact(cut, services, customers)


MAX_DEPTH = 64  # a path longer than this is a data error, not a network


def _uplinks(session: Session, device_ids: set[int]) -> dict[int, set[int]]:
    """The devices feeding each of ``device_ids`` (core uplinks and links), two queries."""
    found: dict[int, set[int]] = defaultdict(set)
    ids = sorted(device_ids)
    for device_id, parent_id in session.execute(select(Device.id, Device.parent_id)
                                                .where(Device.id.in_(ids), Device.parent_id.is_not(None))):
        found[device_id].add(parent_id)
    up_if, down_if = aliased(Interface), aliased(Interface)
    rows = session.execute(select(down_if.device_id, up_if.device_id).select_from(Link)
                           .join(up_if, Link.upstream_id == up_if.id).join(down_if, Link.downstream_id == down_if.id)
                           .where(down_if.device_id.in_(ids)))
    for downstream, upstream in rows:
        if downstream != upstream:
            found[downstream].add(upstream)
    return found


def path_up(session: Session, device_id: int) -> list[int]:
    """The shortest way from ``device_id`` up to a device nothing feeds (the core), itself first.

    Walks upwards one level per step (a path has a handful of hops), never loading the network.
    A loop with no root above it ends the path at the device itself.
    """
    previous: dict[int, int | None] = {device_id: None}
    frontier = [device_id]
    for _ in range(MAX_DEPTH):
        feeds = _uplinks(session, set(frontier))
        root = next((node for node in frontier if not feeds.get(node)), None)
        if root is not None:
            chain = [root]
            while previous[chain[-1]] is not None:
                chain.append(previous[chain[-1]])
            return list(reversed(chain))
        following = []
        for node in frontier:
            for upstream in sorted(feeds[node]):
                if upstream not in previous:
                    previous[upstream] = node
                    following.append(upstream)
        if not following:
            break
        frontier = following
    return [device_id]


def path_of_service(session: Session, service: Service) -> list[Device]:
    """The way a service reaches the core: its first device (CPE, or the access point it depends
    on), then the uplinks up to a root."""
    starts = [link.device_id for link in service.device_links]
    starts += [d.device_id for d in dependencies_of(session, service.id)]
    if not starts:
        return []
    chain = path_up(session, starts[0])
    devices = {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(chain)))}
    return [devices[i] for i in chain if i in devices]
