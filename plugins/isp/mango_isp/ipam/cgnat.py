"""Deterministic CGNAT: each inside address owns one public address and one block of its ports.

The mapping is a pure function of the configuration, so nothing per subscriber is stored and a
NAT box can be configured from the same numbers (RFC 7422). Subscribers are striped across the
public addresses first (inside number ``i`` gets public ``i mod P`` and block ``i div P``), so a
half-used pool still spreads its customers over every public address.

Data retention asks the other way round, "who used public address A, port p, at time T": the
configuration valid at T (kept in history) maps ``(A, p)`` back to exactly one inside address,
whose holder at T the assignment history knows.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from mango_core.tenancy.validators import N_
from mango_isp.ipam.errors import IpamError

PORT_MIN, PORT_MAX = 1, 65535


class CgnatError(IpamError):
    default_message = N_("The CGNAT configuration is not valid.")


@dataclass(frozen=True)
class PortBlock:
    inside: ipaddress.IPv4Address
    public: ipaddress.IPv4Address
    first_port: int
    last_port: int


@dataclass(frozen=True)
class CgnatPlan:
    """Inside prefix (the subscribers' shared address space), public prefix, usable port range
    ``[port_first, port_last]`` and ports per subscriber (``block_size``)."""

    inside: ipaddress.IPv4Network
    public: ipaddress.IPv4Network
    port_first: int
    port_last: int
    block_size: int

    def __post_init__(self) -> None:
        if self.inside.version != 4 or self.public.version != 4:
            raise CgnatError(N_("CGNAT maps IPv4 addresses only."), field="public")
        if not (PORT_MIN <= self.port_first <= self.port_last <= PORT_MAX):
            raise CgnatError(N_("Ports go from %(low)d to %(high)d, the first not above the last."),
                             field="port_first", low=PORT_MIN, high=PORT_MAX)
        if self.block_size < 1 or self.block_size > self.port_last - self.port_first + 1:
            raise CgnatError(N_("A block has at least one port and at most the whole port range."),
                             field="block_size")
        if self.inside.overlaps(self.public):
            raise CgnatError(N_("The public prefix may not overlap the inside prefix."), field="public")
        if self.capacity < self.inside.num_addresses:
            raise CgnatError(
                N_("%(public)s with %(blocks)d blocks per address serves %(capacity)d subscribers; the inside "
                   "prefix has %(inside)d addresses. Take a larger public prefix or smaller blocks."),
                field="block_size", public=str(self.public), blocks=self.blocks_per_address,
                capacity=self.capacity, inside=self.inside.num_addresses)

    @property
    def blocks_per_address(self) -> int:
        return (self.port_last - self.port_first + 1) // self.block_size

    @property
    def capacity(self) -> int:
        return self.public.num_addresses * self.blocks_per_address

    def _block(self, index: int) -> PortBlock:
        count = self.public.num_addresses
        public = self.public.network_address + index % count
        first = self.port_first + (index // count) * self.block_size
        return PortBlock(self.inside.network_address + index, public, first, first + self.block_size - 1)

    def forward(self, inside: ipaddress.IPv4Address) -> PortBlock:
        """The public address and port block of an inside address (ValueError outside the prefix)."""
        if inside not in self.inside:
            raise ValueError(f"{inside} is not in {self.inside}")
        return self._block(int(inside) - int(self.inside.network_address))

    def reverse(self, public: ipaddress.IPv4Address, port: int) -> PortBlock | None:
        """The inside address that used ``public``:``port`` (None: no subscriber has that port)."""
        if public not in self.public or not isinstance(port, int):
            return None
        offset = port - self.port_first
        block = offset // self.block_size if offset >= 0 else -1
        if not 0 <= block < self.blocks_per_address:
            return None
        index = block * self.public.num_addresses + (int(public) - int(self.public.network_address))
        if index >= self.inside.num_addresses:
            return None
        return self._block(index)

    def sharing(self, public: ipaddress.IPv4Address) -> list[PortBlock]:
        """Every inside address that shares ``public`` (with its port block), in port order."""
        if public not in self.public:
            return []
        offset = int(public) - int(self.public.network_address)
        count = self.public.num_addresses
        indexes = range(offset, self.inside.num_addresses, count)
        return [self._block(i) for i in indexes[:self.blocks_per_address]]
