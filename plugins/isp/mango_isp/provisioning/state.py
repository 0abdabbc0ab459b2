"""Desired state of a router: what the ISP models say each subscriber should have.

Plain, validated values with no database behind them, so that the IPAM/service models, the queue
worker, the tests and the benchmark all feed drivers the same way. Speeds are kbit/s (the services'
download/upload parameters); a subscriber's ``id`` is its per-router number (see :class:`Subscriber`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network

from mango_isp.provisioning.driver import InvalidDesiredState

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
IPInterface = IPv4Interface | IPv6Interface

# tc class minor numbers are 16 bits per qdisc: 1 is the root class, 0xffff the ingress qdisc's major.
SUBSCRIBER_ID_MIN = 2
SUBSCRIBER_ID_MAX = 0xFFFE
MAX_KBIT = 400_000_000  # 400 Gbit/s; HTB takes 64-bit rates, this only catches unit mistakes
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_IFNAME = re.compile(r"^[^\s/:]{1,15}$")


def _network(value: object, subscriber: int | None) -> IPNetwork:
    try:
        return ipaddress.ip_network(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidDesiredState(f"not a network: {value!r} ({exc})", subscriber=subscriber) from None


def _address(value: object, subscriber: int | None) -> IPAddress:
    try:
        return ipaddress.ip_address(value)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidDesiredState(f"not an IP address: {value!r}", subscriber=subscriber) from None


@dataclass(frozen=True)
class Network:
    """A subscriber's address or prefix: routed to the subscriber, shaped and blocked as theirs.

    Without ``via`` the route is on-link (``dev <interface>``); with it (an IPv6 delegated prefix
    behind the CPE's WAN address, say) the route goes through that next hop.
    """

    prefix: IPNetwork
    via: IPAddress | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", _network(self.prefix, None))
        if self.via is not None:
            via = _address(self.via, None)
            if via.version != self.prefix.version:
                raise InvalidDesiredState(f"next hop {via} is not of the family of {self.prefix}")
            object.__setattr__(self, "via", via)


@dataclass(frozen=True)
class Neighbour:
    """A static IP -> MAC binding on the subscriber-facing interface (anti-spoofing, no ARP/ND needed)."""

    address: IPAddress
    mac: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", _address(self.address, None))
        mac = str(self.mac).strip().lower().replace("-", ":")
        if not _MAC.match(mac):
            raise InvalidDesiredState(f"not a MAC address: {self.mac!r}")
        object.__setattr__(self, "mac", mac)


@dataclass(frozen=True)
class Shaping:
    """Per-subscriber speeds in kbit/s; ``rate`` is guaranteed, ``ceil`` (default = rate) the maximum."""

    download_kbit: int
    upload_kbit: int
    download_ceil_kbit: int | None = None
    upload_ceil_kbit: int | None = None

    def __post_init__(self) -> None:
        for name in ("download_kbit", "upload_kbit", "download_ceil_kbit", "upload_ceil_kbit"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 8 <= value <= MAX_KBIT:
                raise InvalidDesiredState(f"{name} must be a whole number of kbit/s in 8..{MAX_KBIT}, "
                                          f"not {value!r}")
        if self.download_ceil_kbit is not None and self.download_ceil_kbit < self.download_kbit:
            raise InvalidDesiredState("download ceil below the download rate")
        if self.upload_ceil_kbit is not None and self.upload_ceil_kbit < self.upload_kbit:
            raise InvalidDesiredState("upload ceil below the upload rate")

    @property
    def download_ceil(self) -> int:
        return self.download_ceil_kbit or self.download_kbit

    @property
    def upload_ceil(self) -> int:
        return self.upload_ceil_kbit or self.upload_kbit


@dataclass(frozen=True)
class Block:
    """The subscriber is blocked; ``reason`` is kept on the device with the block (e.g. "unpaid 2024-05")."""

    reason: str

    def __post_init__(self) -> None:
        if not str(self.reason).strip():
            raise InvalidDesiredState("a block needs a reason")


@dataclass(frozen=True)
class BlockPolicy:
    """What a blocked subscriber may still reach, and where its web requests go.

    ``allowed`` (the Selfcare notice server, DNS resolvers...) stays reachable both ways. With a notice
    address of the family, plain-HTTP requests (``notice_port``, default 80) to anywhere else are
    redirected (DNAT) there, so the browser shows the Selfcare notice instead of a timeout.
    """

    notice_ipv4: IPv4Address | None = None
    notice_ipv6: IPv6Address | None = None
    notice_port: int = 80
    allowed: tuple[IPNetwork, ...] = ()

    def __post_init__(self) -> None:
        for name, version in (("notice_ipv4", 4), ("notice_ipv6", 6)):
            value = getattr(self, name)
            if value is not None:
                addr = _address(value, None)
                if addr.version != version:
                    raise InvalidDesiredState(f"{name} must be an IPv{version} address, not {value}")
                object.__setattr__(self, name, addr)
        if not 1 <= int(self.notice_port) <= 65535:
            raise InvalidDesiredState(f"notice_port out of range: {self.notice_port}")
        object.__setattr__(self, "allowed", tuple(_network(n, None) for n in self.allowed))

    def allowed_networks(self, version: int) -> tuple[IPNetwork, ...]:
        """Allowed networks of one family, the notice server included."""
        nets = [n for n in self.allowed if n.version == version]
        notice = self.notice_ipv4 if version == 4 else self.notice_ipv6
        if notice is not None:
            nets.append(ipaddress.ip_network(notice))
        return tuple(sorted(set(nets), key=lambda n: (int(n.network_address), n.prefixlen)))


@dataclass(frozen=True)
class Subscriber:
    """Everything one subscriber (one service) needs on a router.

    ``id`` is the subscriber's number on this router, unique per router, 2..0xfffe: it is the tc class
    minor (``1:<id>``) on the subscriber-facing interface and its IFB, so one router interface carries
    at most 65,533 shaped subscribers (more need a second interface/qdisc). ``gateways`` are router-side
    addresses for this subscriber on ``interface`` (a gateway shared by many subscribers may be listed
    by each; it stays while anyone lists it).
    """

    id: int
    interface: str
    networks: tuple[Network, ...] = ()
    gateways: tuple[IPInterface, ...] = ()
    neighbours: tuple[Neighbour, ...] = ()
    shaping: Shaping | None = None
    block: Block | None = None

    def __post_init__(self) -> None:
        if isinstance(self.id, bool) or not isinstance(self.id, int) \
                or not SUBSCRIBER_ID_MIN <= self.id <= SUBSCRIBER_ID_MAX:
            raise InvalidDesiredState(f"subscriber id must be {SUBSCRIBER_ID_MIN}..{SUBSCRIBER_ID_MAX} "
                                      f"(a tc class minor), not {self.id!r}")
        if not _IFNAME.match(str(self.interface)):
            raise InvalidDesiredState(f"not an interface name: {self.interface!r}", subscriber=self.id)
        nets = tuple(n if isinstance(n, Network) else Network(_network(n, self.id)) for n in self.networks)
        if len({n.prefix for n in nets}) != len(nets):
            raise InvalidDesiredState("a network is listed twice", subscriber=self.id)
        object.__setattr__(self, "networks", nets)
        try:
            gws = tuple(ipaddress.ip_interface(g) for g in self.gateways)
        except ValueError as exc:
            raise InvalidDesiredState(f"bad gateway address: {exc}", subscriber=self.id) from None
        object.__setattr__(self, "gateways", gws)
        object.__setattr__(self, "neighbours", tuple(self.neighbours))
        if len({n.address for n in self.neighbours}) != len(self.neighbours):
            raise InvalidDesiredState("a neighbour address is listed twice", subscriber=self.id)


@dataclass(frozen=True)
class RouterState:
    """The desired state of one router: the subscriber-facing interfaces Mango manages and who is on them.

    Only ``interfaces`` get qdiscs, IFBs and filters (an interface left out is not touched at all);
    routes, neighbours and addresses are recognised as Mango's by their protocol tag wherever they are.
    """

    interfaces: tuple[str, ...]
    subscribers: tuple[Subscriber, ...] = ()
    block_policy: BlockPolicy = field(default_factory=BlockPolicy)

    def __post_init__(self) -> None:
        object.__setattr__(self, "interfaces", tuple(dict.fromkeys(self.interfaces)))
        object.__setattr__(self, "subscribers", tuple(self.subscribers))
        for name in self.interfaces:
            if not _IFNAME.match(str(name)):
                raise InvalidDesiredState(f"not an interface name: {name!r}")
        seen: set[int] = set()
        managed = set(self.interfaces)
        for sub in self.subscribers:
            if sub.id in seen:
                raise InvalidDesiredState("subscriber id used twice on one router", subscriber=sub.id)
            seen.add(sub.id)
            if sub.interface not in managed:
                raise InvalidDesiredState(f"interface {sub.interface} is not one of the router's managed "
                                          f"interfaces {list(self.interfaces)}", subscriber=sub.id)

    def subscriber(self, sub_id: int) -> Subscriber | None:
        return next((s for s in self.subscribers if s.id == sub_id), None)
