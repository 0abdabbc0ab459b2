"""Which core devices are Linux routers that Mango provisions, and which router serves a service.

A router is a core device of the code-defined type ``isp.linux_router``; its parameters say how to
reach it (the network namespace, empty = this host) and what Mango manages there (the
subscriber-facing interfaces, the gateway addresses, where blocked subscribers are sent). A service
is served by the first such router on its way up (:func:`mango_isp.topology.service.path_up` from
each device it depends on or has linked); a dependency on one of the router's own interfaces names
the interface its subscriber sits behind.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.devices.models import Device
from mango_core.devices.types import DeviceTypeDef
from mango_core.params import DefinitionSet, ParamDef
from mango_core.services.models import Service, ServiceDevice
from mango_isp.provisioning import BlockPolicy, InvalidDesiredState
from mango_isp.provisioning.linux import LinuxRouterDriver
from mango_isp.topology.models import Interface, ServiceDependency
from mango_isp.topology.service import path_up

LINUX_ROUTER = "isp.linux_router"

ROUTER_PARAMS = DefinitionSet((
    ParamDef("netns", "Network namespace", "text", max=64, regex=r"[A-Za-z0-9_.-]*",
             help="Empty: the router is the host Mango's worker runs on."),
    ParamDef("interfaces", "Subscriber-facing interfaces", "text", required=True, max=200,
             regex=r"[^\s,/:]{1,15}(,\s*[^\s,/:]{1,15})*", help="Comma-separated, the first is the default."),
    ParamDef("gateway4", "IPv4 gateway (address/length)", "text", max=50),
    ParamDef("gateway6", "IPv6 gateway (address/length)", "text", max=60),
    ParamDef("notice_ipv4", "Notice server for blocked subscribers (IPv4)", "ipv4"),
    ParamDef("notice_ipv6", "Notice server for blocked subscribers (IPv6)", "ipv6"),
    ParamDef("allowed", "Reachable when blocked (networks, comma-separated)", "text", max=500),
), version=1)


def device_types() -> list[DeviceTypeDef]:
    return [DeviceTypeDef(LINUX_ROUTER, _l("Linux router (provisioned by Mango)"), ROUTER_PARAMS,
                          description=_l("Shaping, routes and blocking set up by the provisioning queue"),
                          icon="router")]


@dataclass(frozen=True)
class RouterConfig:
    """A router device's parameters, checked: what the driver and the desired state need."""

    device_id: int
    name: str
    netns: str | None
    interfaces: tuple[str, ...]
    gateways: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...]
    block_policy: BlockPolicy

    def driver(self) -> LinuxRouterDriver:
        return LinuxRouterDriver(self.netns, name=self.name)


def router_config(device: Device) -> RouterConfig:
    """The router's configuration; :class:`InvalidDesiredState` names a parameter that is unusable."""
    if device.type_code != LINUX_ROUTER:
        raise InvalidDesiredState(f"device {device.name} is not a Linux router provisioned by Mango")
    params = device.params or {}
    interfaces = tuple(p.strip() for p in str(params.get("interfaces") or "").split(",") if p.strip())
    if not interfaces:
        raise InvalidDesiredState(f"router {device.name} has no subscriber-facing interface")
    gateways = []
    for key in ("gateway4", "gateway6"):
        if params.get(key):
            try:
                gateways.append(ipaddress.ip_interface(str(params[key]).strip()))
            except ValueError:
                raise InvalidDesiredState(f"router {device.name}: {key} is not an address/length") from None
    allowed = [a.strip() for a in str(params.get("allowed") or "").split(",") if a.strip()]
    policy = BlockPolicy(notice_ipv4=params.get("notice_ipv4") or None, notice_ipv6=params.get("notice_ipv6") or None,
                         allowed=tuple(allowed))
    return RouterConfig(device.id, device.name, str(params.get("netns") or "").strip() or None, interfaces,
                        tuple(gateways), policy)


def routers(session: Session) -> list[Device]:
    """The location's Linux routers (any state but retired: a planned router may be prepared)."""
    return list(session.scalars(select(Device).where(Device.type_code == LINUX_ROUTER).order_by(Device.id)))


@dataclass(frozen=True)
class Placement:
    router_id: int
    interface: str | None  # None: the router's default (first) interface


class RouterFinder:
    """Resolves services to routers, remembering each device's way up (one walk per device).

    ``device_ids`` are the devices that may serve (default: the Linux routers); the NETCONF devices
    are found by the same walk with their own set (:mod:`mango_isp.queue.netconf_devices`).
    """

    def __init__(self, session: Session, device_ids: set[int] | None = None) -> None:
        self.session = session
        self.router_ids = device_ids if device_ids is not None else {d.id for d in routers(session)}
        self._up: dict[int, int | None] = {}

    def router_above(self, device_id: int) -> int | None:
        if device_id not in self._up:
            self._up[device_id] = next((d for d in path_up(self.session, device_id) if d in self.router_ids), None)
        return self._up[device_id]

    def placements(self, service_ids: list[int]) -> dict[int, Placement]:
        """Service id -> where it is served; services with no router above are left out."""
        if not self.router_ids or not service_ids:
            return {}
        starts: dict[int, list[tuple[int, int | None]]] = {}
        deps = self.session.execute(
            select(ServiceDependency.service_id, ServiceDependency.device_id, Interface.name)
            .outerjoin(Interface, Interface.id == ServiceDependency.interface_id)
            .where(ServiceDependency.service_id.in_(service_ids)).order_by(ServiceDependency.id))
        for service_id, device_id, if_name in deps:
            starts.setdefault(service_id, []).append((device_id, if_name))
        links = self.session.execute(select(ServiceDevice.service_id, ServiceDevice.device_id)
                                     .where(ServiceDevice.service_id.in_(service_ids)).order_by(ServiceDevice.id))
        for service_id, device_id in links:
            starts.setdefault(service_id, []).append((device_id, None))
        found = {}
        for service_id, candidates in starts.items():
            for device_id, if_name in candidates:
                router = self.router_above(device_id)
                if router is not None:
                    found[service_id] = Placement(router, if_name if router == device_id else None)
                    break
        return found


def router_of(session: Session, service: Service) -> int | None:
    placement = RouterFinder(session).placements([service.id]).get(service.id)
    return placement.router_id if placement else None
