"""What the map and the graph draw: the location's sites, devices and the edges between them.

Read in the session's location scope (the tenant guard filters every query). The edges are those
of :class:`mango_isp.topology.service.Graph` — the links between interfaces and the core's uplink
tree (``Device.parent_id``) — with the link's medium, so the drawings and the impact analysis
agree about who feeds whom.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from mango_core.devices.models import Device, Site
from mango_isp.maps.states import device_states
from mango_isp.topology.models import Interface, Link

UPLINK = "uplink"  # the kind of an edge from the core's device tree (not a recorded link)
MAX_DEVICES = 5000  # a drawing of more devices is unreadable and slow; the page says it is cut


@dataclass(frozen=True)
class Node:
    id: int
    name: str
    state: str  # monitoring state, see mango_isp.maps.states
    device_state: str  # the core's lifecycle state (planned, active, broken, retired)
    site_id: int | None
    lat: float | None  # the site's coordinates (None: not on the map)
    lon: float | None
    slot: int  # the devices of one site stand on a ring around it: this one's place, of ``slots``
    slots: int


@dataclass(frozen=True)
class Edge:
    upstream: int
    downstream: int
    kind: str


@dataclass(frozen=True)
class Network:
    sites: list[Site]
    nodes: list[Node]
    edges: list[Edge]
    truncated: bool


def network(session: Session, limit: int = MAX_DEVICES) -> Network:
    """The location's devices (first ``limit`` by name), their sites and the edges among them."""
    rows = list(session.scalars(select(Device).order_by(Device.sort_name, Device.id).limit(limit + 1)))
    truncated = len(rows) > limit
    rows = rows[:limit]
    ids = {d.id for d in rows}
    sites = {s.id: s for s in session.scalars(select(Site).order_by(Site.name, Site.id))}
    states = device_states(session, ids)
    at_site: dict[int, int] = {}
    place: dict[int, int] = {}
    for device in rows:
        if device.site_id is not None:
            place[device.id] = at_site.get(device.site_id, 0)
            at_site[device.site_id] = place[device.id] + 1
    nodes = []
    for device in rows:
        site = sites.get(device.site_id) if device.site_id is not None else None
        lat, lon = (site.latitude, site.longitude) if site is not None else (None, None)
        nodes.append(Node(device.id, device.name, states[device.id], device.state, device.site_id, lat, lon,
                          place.get(device.id, 0), at_site.get(device.site_id, 1)))
    edges: dict[tuple[int, int], Edge] = {}
    for device in rows:
        if device.parent_id in ids:
            edges[(device.parent_id, device.id)] = Edge(device.parent_id, device.id, UPLINK)
    up_if, down_if = aliased(Interface), aliased(Interface)
    for upstream, downstream, kind in session.execute(
            select(up_if.device_id, down_if.device_id, Link.kind).select_from(Link)
            .join(up_if, Link.upstream_id == up_if.id).join(down_if, Link.downstream_id == down_if.id)
            .order_by(Link.id)):
        if upstream in ids and downstream in ids and upstream != downstream:
            edges[(upstream, downstream)] = Edge(upstream, downstream, kind)  # a recorded link says more
    return Network(list(sites.values()), nodes, sorted(edges.values(), key=lambda e: (e.upstream, e.downstream)),
                   truncated)
