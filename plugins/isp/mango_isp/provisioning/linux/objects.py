"""The kernel objects a Linux router gets for its subscribers, with their netlink encodings.

Each object has a ``key`` (its identity: what a read-back object is matched by), a ``state()`` (what
must be equal for "in sync") and ``create``/``delete`` encoders. Rendering the desired state
(render.py) and reading the kernel (readback.py) both produce these, so a diff is a dictionary
comparison.

Shaping layout per subscriber-facing interface ``dev`` (download) and its IFB (upload)::

    htb 1: (default 0: unclassified traffic is not shaped)
     └ class 1:1 (the link rate) ── class 1:<id> per subscriber (rate/ceil) ── leaf <id>: fq_codel|sfq|pfifo
    filters, u32, one priority per "plane" (address family + hashed prefix length):
     root table ── hash on the prefix's next-to-last byte ──> level-1 table (256 buckets)
       bucket b1 ── hash on the prefix's last byte ──> level-2 table (256 buckets)
         bucket b2: the subscriber's filter (full prefix match) -> flowid 1:<id>

So a packet costs two hash steps and one short bucket walk, and adding or removing a subscriber's
filter touches one bucket. Upload: ``dev``'s ingress qdisc redirects everything (mirred) to the IFB,
whose HTB has the same tree keyed on source addresses; an IFB keeps a real queue per subscriber, where
ingress policing would only drop what is over the rate.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import struct
from dataclasses import dataclass, field
from typing import ClassVar

from mango_isp.provisioning.linux import netlink as nl
from mango_isp.provisioning.state import IPAddress, IPInterface, IPNetwork

TC_H_ROOT = 0xFFFFFFFF
TC_H_INGRESS = 0xFFFFFFF1
INGRESS_HANDLE = 0xFFFF0000
ROOT_MAJOR = 0x10000  # handle 1:
ROOT_CLASS = ROOT_MAJOR | 1
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
TC_U32_TERMINAL = 1
TC_ACT_STOLEN = 4
TCA_EGRESS_REDIR = 1

TCA_KIND, TCA_OPTIONS = 1, 2
TCA_HTB_PARMS, TCA_HTB_INIT, TCA_HTB_RATE64, TCA_HTB_CEIL64 = 1, 2, 6, 7
TCA_U32_CLASSID, TCA_U32_HASH, TCA_U32_LINK, TCA_U32_DIVISOR, TCA_U32_SEL, TCA_U32_ACT = 1, 2, 3, 4, 5, 7
TCA_ACT_KIND, TCA_ACT_OPTIONS = 1, 2
TCA_MIRRED_PARMS = 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255
RTN_UNICAST = 1
NDA_DST, NDA_LLADDR, NDA_PROTOCOL = 1, 2, 12
NUD_PERMANENT = 0x80
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS, IFA_PROTO = 1, 2, 8, 11
IFA_F_NODAD = 0x02

_TCMSG = struct.Struct("=BxxxiIII")
_RTMSG = struct.Struct("=BBBBBBBBI")
_NDMSG = struct.Struct("=BxxxiHBB")
_IFADDRMSG = struct.Struct("=BBBBI")
_RATESPEC = struct.Struct("=BBHhHI")
_HTB_TAIL = struct.Struct("=IIIII")
PSCHED_TICK_NS = 64  # the kernel keeps HTB bursts in ns and reports them in 64 ns ticks

# Hash planes: (family, prefix length) -> the prefix's last two whole bytes are hashed. A network goes
# to the plane with the longest length <= its own; shorter networks cannot be shaped per subscriber.
PLANES: tuple[tuple[int, int], ...] = ((4, 32), (4, 24), (6, 128), (6, 64), (6, 56), (6, 48))
PLANE_PRIO_BASE = 10
DIVISOR = 256
MAX_NODE = 0xFFF
# u32 table ids are 12 bits and the kernel numbers root tables from 0x800: level-1 tables take
# 0x001.., level-2 tables 0x100 * (plane + 1) + b1, so at most 7 planes fit under 0x800.
assert len(PLANES) <= 7


@dataclass(frozen=True)
class Plane:
    index: int
    version: int
    length: int

    @property
    def prio(self) -> int:
        return PLANE_PRIO_BASE + self.index

    @property
    def protocol(self) -> int:
        return ETH_P_IP if self.version == 4 else ETH_P_IPV6

    @property
    def l1_htid(self) -> int:
        return 0x001 + self.index

    def l2_htid(self, b1: int) -> int:
        return 0x100 * (self.index + 1) + b1

    def buckets(self, prefix: IPNetwork) -> tuple[int, int]:
        packed = prefix.network_address.packed
        return packed[self.length // 8 - 2], packed[self.length // 8 - 1]

    def hash_word(self, level: int, direction: str) -> tuple[int, int]:
        """(hoff, hmask) of the 32-bit word holding the byte hashed at ``level`` (1 or 2)."""
        byte = address_offset(self.version, direction) + self.length // 8 - 3 + level
        return byte & ~3, 0xFF << (8 * (3 - (byte & 3)))


PLANE_LIST = tuple(Plane(i, v, length) for i, (v, length) in enumerate(PLANES))


def plane_for(prefix: IPNetwork) -> Plane | None:
    best = None
    for plane in PLANE_LIST:
        if plane.version == prefix.version and plane.length <= prefix.prefixlen \
                and (best is None or plane.length > best.length):
            best = plane
    return best


def plane_by_prio(prio: int) -> Plane | None:
    index = prio - PLANE_PRIO_BASE
    return PLANE_LIST[index] if 0 <= index < len(PLANE_LIST) else None


def address_offset(version: int, direction: str) -> int:
    """Offset of the destination ("dst", download) or source ("src", upload) address in the IP header."""
    if version == 4:
        return 16 if direction == "dst" else 12
    return 24 if direction == "dst" else 8


def prefix_keys(prefix: IPNetwork, direction: str) -> tuple[tuple[int, int, int], ...]:
    """u32 keys (off, mask, value) matching ``prefix`` as destination or source address."""
    base = address_offset(prefix.version, direction)
    width = prefix.max_prefixlen
    mask_int = ((1 << prefix.prefixlen) - 1) << (width - prefix.prefixlen)
    value_int = int(prefix.network_address)
    keys = []
    for word in range(width // 32):
        shift = width - 32 * (word + 1)
        mask = (mask_int >> shift) & 0xFFFFFFFF
        if mask:
            keys.append((base + 4 * word, mask, (value_int >> shift) & mask))
    return tuple(keys)


def keys_prefix(version: int, direction: str, keys: list[tuple[int, int, int]]) -> IPNetwork | None:
    """The prefix a leaf filter's keys match, or None if they are not exactly one address prefix."""
    base = address_offset(version, direction)
    width = 32 if version == 4 else 128
    mask_int = value_int = 0
    for off, mask, value in keys:
        word = (off - base) // 4
        if (off - base) % 4 or not 0 <= word < width // 32:
            return None
        shift = width - 32 * (word + 1)
        mask_int |= mask << shift
        value_int |= (value & mask) << shift
    length = bin(mask_int).count("1")
    if mask_int != ((1 << length) - 1) << (width - length):
        return None
    try:
        return ipaddress.ip_network((value_int, length)) if version == 4 else \
            ipaddress.IPv6Network((value_int, length))
    except ValueError:
        return None


def net_key(prefix: IPNetwork) -> tuple[int, int, int]:
    """A network as plain ints for object keys (hashing ``ipaddress`` objects is slow)."""
    return prefix.version, int(prefix.network_address), prefix.prefixlen


def kbit_to_bytes(kbit: int) -> int:
    return kbit * 125


def htb_burst(rate_bytes: int) -> tuple[int, int]:
    """(buffer in ticks, quantum) as tc computes them by default: rate/HZ + MTU bytes of burst."""
    burst = rate_bytes // 1000 + 1600
    ticks = burst * 1_000_000_000 // rate_bytes // PSCHED_TICK_NS
    quantum = max(1600, min(rate_bytes // 10, 200_000))
    return ticks, quantum


def tcmsg(ifindex: int, handle: int, parent: int, info: int = 0) -> bytes:
    return _TCMSG.pack(0, ifindex, handle, parent, info)


def filter_info(prio: int, protocol: int) -> int:
    return (prio << 16) | socket.htons(protocol)


def u32_sel(keys: tuple[tuple[int, int, int], ...], *, terminal: bool, hoff: int = 0, hmask: int = 0) -> bytes:
    keys = keys or ((0, 0, 0),)
    head = struct.pack("=BBBx", TC_U32_TERMINAL if terminal else 0, 0, len(keys)) + struct.pack(">H", 0) \
        + struct.pack("=Hhh", 0, 0, hoff) + struct.pack(">I", hmask)
    return head + b"".join(struct.pack(">II", mask, value) + struct.pack("=ii", off, 0)
                           for off, mask, value in keys)


class Ctx:
    """What encoders need: interface indexes and the driver's options."""

    def __init__(self, ifindex: dict[str, int], options) -> None:  # noqa: ANN001
        self.ifindexes = ifindex
        self.options = options

    def ifindex(self, name: str) -> int:
        try:
            return self.ifindexes[name]
        except KeyError:
            raise LookupError(name) from None


@dataclass(frozen=True)
class KernelObject:
    """Keys are computed once per object and hold addresses as ints: tuples of ``ipaddress`` objects
    hash in Python code, which dominated planning 10,000 subscribers."""

    phase: ClassVar[int] = 0
    netlink: ClassVar[bool] = True

    @property
    def key(self) -> tuple:
        cache = self.__dict__
        key = cache.get("_key")
        if key is None:
            key = cache["_key"] = self.make_key()
        return key

    def make_key(self) -> tuple:
        raise NotImplementedError

    @property
    def device(self) -> str | None:
        return getattr(self, "dev", None)

    def state(self) -> tuple:
        return ()

    def order(self) -> int:
        """Creation order (deletion runs backwards): containers before what they contain."""
        return self.phase

    def describe(self) -> str:
        raise NotImplementedError

    def create(self, ctx: Ctx) -> list[nl.Request]:
        raise NotImplementedError

    def update(self, ctx: Ctx, actual: KernelObject) -> list[nl.Request]:
        return self.create(ctx)

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        raise NotImplementedError


@dataclass(frozen=True)
class IfbLink(KernelObject):
    """The IFB that carries ``parent``'s ingress (upload) traffic through an HTB; made with pyroute2."""

    phase: ClassVar[int] = 10
    netlink: ClassVar[bool] = False
    dev: str
    parent: str

    def make_key(self) -> tuple:
        return ("link", self.dev)

    def describe(self) -> str:
        return f"IFB {self.dev} for {self.parent}'s upload"


@dataclass(frozen=True)
class RootQdisc(KernelObject):
    phase: ClassVar[int] = 20
    dev: str

    def make_key(self) -> tuple:
        return ("qdisc", self.dev, TC_H_ROOT)

    def describe(self) -> str:
        return f"qdisc htb 1: root on {self.dev}"

    def create(self, ctx: Ctx) -> list[nl.Request]:
        init = struct.pack("=IIIII", 3, 10, 0, 0, 0)  # version 3, r2q 10, default 0 (unshaped), debug, direct
        body = tcmsg(ctx.ifindex(self.dev), ROOT_MAJOR, TC_H_ROOT) + nl.attr_str(TCA_KIND, "htb") \
            + nl.nested(TCA_OPTIONS, nl.attr(TCA_HTB_INIT, init))
        return [nl.Request(nl.RTM_NEWQDISC, nl.NLM_F_CREATE | nl.NLM_F_REPLACE, body)]

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        return [nl.Request(nl.RTM_DELQDISC, 0, tcmsg(ctx.ifindex(self.dev), ROOT_MAJOR, TC_H_ROOT))]


@dataclass(frozen=True)
class IngressQdisc(KernelObject):
    phase: ClassVar[int] = 21
    dev: str

    def make_key(self) -> tuple:
        return ("qdisc", self.dev, TC_H_INGRESS)

    def describe(self) -> str:
        return f"qdisc ingress on {self.dev}"

    def create(self, ctx: Ctx) -> list[nl.Request]:
        body = tcmsg(ctx.ifindex(self.dev), INGRESS_HANDLE, TC_H_INGRESS) + nl.attr_str(TCA_KIND, "ingress")
        return [nl.Request(nl.RTM_NEWQDISC, nl.NLM_F_CREATE | nl.NLM_F_REPLACE, body)]

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        return [nl.Request(nl.RTM_DELQDISC, 0, tcmsg(ctx.ifindex(self.dev), INGRESS_HANDLE, TC_H_INGRESS))]


@dataclass(frozen=True)
class HtbClass(KernelObject):
    """An HTB class ``1:<minor>``: minor 1 is the interface's root class, others are subscribers.

    Rates are bytes/s, the kernel's unit (kbit/s x 125, so whole kbit/s survive the round trip).
    """

    phase: ClassVar[int] = 30
    dev: str
    minor: int
    rate: int
    ceil: int

    def make_key(self) -> tuple:
        return ("class", self.dev, self.minor)

    @property
    def parent(self) -> int:
        return ROOT_MAJOR if self.minor == 1 else ROOT_CLASS

    def order(self) -> int:
        # HTB quietly makes a class whose parent is missing a root class: the root class goes first
        return self.phase - 1 if self.minor == 1 else self.phase

    def state(self) -> tuple:
        return (self.rate, self.ceil)

    def describe(self) -> str:
        return (f"class htb 1:{self.minor:x} on {self.dev} rate {self.rate * 8 / 1000:g}kbit "
                f"ceil {self.ceil * 8 / 1000:g}kbit")

    def create(self, ctx: Ctx) -> list[nl.Request]:
        rate, ceil = self.rate, self.ceil
        buffer, quantum = htb_burst(rate)
        cbuffer, _ = htb_burst(ceil)
        parms = _RATESPEC.pack(0, 1, 0, -1, 0, min(rate, 0xFFFFFFFF)) \
            + _RATESPEC.pack(0, 1, 0, -1, 0, min(ceil, 0xFFFFFFFF)) + _HTB_TAIL.pack(buffer, cbuffer, quantum, 0, 0)
        opts = nl.attr(TCA_HTB_PARMS, parms)
        if rate > 0xFFFFFFFF:
            opts += nl.attr_u64(TCA_HTB_RATE64, rate)
        if ceil > 0xFFFFFFFF:
            opts += nl.attr_u64(TCA_HTB_CEIL64, ceil)
        body = tcmsg(ctx.ifindex(self.dev), ROOT_MAJOR | self.minor, self.parent) \
            + nl.attr_str(TCA_KIND, "htb") + nl.nested(TCA_OPTIONS, opts)
        return [nl.Request(nl.RTM_NEWTCLASS, nl.NLM_F_CREATE, body)]

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        return [nl.Request(nl.RTM_DELTCLASS, 0, tcmsg(ctx.ifindex(self.dev), ROOT_MAJOR | self.minor, 0))]


@dataclass(frozen=True)
class LeafQdisc(KernelObject):
    """The queue inside a subscriber's class (handle ``<id>:``); goes away with its class."""

    phase: ClassVar[int] = 31
    dev: str
    minor: int
    kind: str

    def make_key(self) -> tuple:
        return ("qdisc", self.dev, ROOT_MAJOR | self.minor)

    def state(self) -> tuple:
        return (self.kind,)

    def describe(self) -> str:
        return f"qdisc {self.kind} {self.minor:x}: parent 1:{self.minor:x} on {self.dev}"

    def create(self, ctx: Ctx) -> list[nl.Request]:
        body = tcmsg(ctx.ifindex(self.dev), self.minor << 16, ROOT_MAJOR | self.minor) \
            + nl.attr_str(TCA_KIND, self.kind)
        if self.kind == "sfq":
            body += nl.attr(TCA_OPTIONS, struct.pack("=IiIII", 0, 0, 0, 0, 0))
        elif self.kind in ("pfifo", "bfifo"):
            body += nl.attr(TCA_OPTIONS, struct.pack("=I", 1000 if self.kind == "pfifo" else 1_500_000))
        return [nl.Request(nl.RTM_NEWQDISC, nl.NLM_F_CREATE | nl.NLM_F_REPLACE, body)]

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        body = tcmsg(ctx.ifindex(self.dev), self.minor << 16, ROOT_MAJOR | self.minor)
        return [nl.Request(nl.RTM_DELQDISC, 0, body)]


@dataclass(frozen=True)
class Redirect(KernelObject):
    """``dev``'s ingress filter (u32 prio 1, all protocols) that moves upload traffic to its IFB."""

    phase: ClassVar[int] = 32
    prio: ClassVar[int] = 1
    dev: str
    ifb: str

    def make_key(self) -> tuple:
        return ("redirect", self.dev)

    def state(self) -> tuple:
        return (self.ifb,)

    def describe(self) -> str:
        return f"ingress filter on {self.dev} redirecting to {self.ifb}"

    def create(self, ctx: Ctx) -> list[nl.Request]:
        mirred = struct.pack("=IIiiiiI", 0, 0, TC_ACT_STOLEN, 0, 0, TCA_EGRESS_REDIR, ctx.ifindex(self.ifb))
        action = nl.nested(1, nl.attr_str(TCA_ACT_KIND, "mirred"),
                           nl.nested(TCA_ACT_OPTIONS, nl.attr(TCA_MIRRED_PARMS, mirred)))
        opts = nl.attr(TCA_U32_SEL, u32_sel((), terminal=True)) + nl.nested(TCA_U32_ACT, action)
        body = tcmsg(ctx.ifindex(self.dev), 0, INGRESS_HANDLE, filter_info(self.prio, ETH_P_ALL)) \
            + nl.attr_str(TCA_KIND, "u32") + nl.nested(TCA_OPTIONS, opts)
        return [nl.Request(nl.RTM_NEWTFILTER, nl.NLM_F_CREATE | nl.NLM_F_EXCL, body)]

    def update(self, ctx: Ctx, actual: KernelObject) -> list[nl.Request]:
        return actual.delete(ctx) + self.create(ctx)

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        body = tcmsg(ctx.ifindex(self.dev), 0, INGRESS_HANDLE, filter_info(self.prio, ETH_P_ALL))
        return [nl.Request(nl.RTM_DELTFILTER, 0, body)]


@dataclass(frozen=True)
class U32Plane(KernelObject):
    """One plane's filter priority on ``dev``: its level-1 hash table and the root filter hashing into it.

    Deleting it deletes the whole priority, and with it every bucket and subscriber filter of the plane.
    """

    phase: ClassVar[int] = 40
    dev: str
    plane: int
    direction: str
    linked: bool = True

    def make_key(self) -> tuple:
        return ("u32-plane", self.dev, self.plane)

    def state(self) -> tuple:
        return (self.direction, self.linked)

    def describe(self) -> str:
        p = PLANE_LIST[self.plane]
        return f"u32 hash plane IPv{p.version}/{p.length} ({self.direction}) prio {p.prio} on {self.dev}"

    def _link(self, ctx: Ctx) -> nl.Request:
        p = PLANE_LIST[self.plane]
        hoff, hmask = p.hash_word(1, self.direction)
        opts = nl.attr_u32(TCA_U32_LINK, p.l1_htid << 20) + nl.attr(TCA_U32_SEL, u32_sel((), terminal=False,
                                                                                        hoff=hoff, hmask=hmask))
        body = tcmsg(ctx.ifindex(self.dev), 0, ROOT_MAJOR, filter_info(p.prio, p.protocol)) \
            + nl.attr_str(TCA_KIND, "u32") + nl.nested(TCA_OPTIONS, opts)
        return nl.Request(nl.RTM_NEWTFILTER, nl.NLM_F_CREATE | nl.NLM_F_EXCL, body)

    def create(self, ctx: Ctx) -> list[nl.Request]:
        p = PLANE_LIST[self.plane]
        body = tcmsg(ctx.ifindex(self.dev), p.l1_htid << 20, ROOT_MAJOR, filter_info(p.prio, p.protocol)) \
            + nl.attr_str(TCA_KIND, "u32") + nl.nested(TCA_OPTIONS, nl.attr_u32(TCA_U32_DIVISOR, DIVISOR))
        return [nl.Request(nl.RTM_NEWTFILTER, nl.NLM_F_CREATE | nl.NLM_F_EXCL, body), self._link(ctx)]

    def update(self, ctx: Ctx, actual: KernelObject) -> list[nl.Request]:
        assert isinstance(actual, U32Plane)
        if actual.direction != self.direction:
            return actual.delete(ctx) + self.create(ctx)
        return [self._link(ctx)]  # the table is there, the root filter hashing into it is not

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        p = PLANE_LIST[self.plane]
        body = tcmsg(ctx.ifindex(self.dev), 0, ROOT_MAJOR, filter_info(p.prio, p.protocol))
        return [nl.Request(nl.RTM_DELTFILTER, 0, body)]


@dataclass(frozen=True)
class U32Bucket(KernelObject):
    """A level-2 hash table of a plane and the level-1 filter (bucket ``b1``) that links to it."""

    phase: ClassVar[int] = 41
    dev: str
    plane: int
    b1: int
    direction: str
    linked: bool = True

    def make_key(self) -> tuple:
        return ("u32-bucket", self.dev, self.plane, self.b1)

    def state(self) -> tuple:
        return (self.direction, self.linked)

    def describe(self) -> str:
        p = PLANE_LIST[self.plane]
        return f"u32 table {p.l2_htid(self.b1):x}: (IPv{p.version}/{p.length} bucket {self.b1:#04x}) on {self.dev}"

    def _link_handle(self) -> int:
        p = PLANE_LIST[self.plane]
        return (p.l1_htid << 20) | (self.b1 << 12) | 1

    def _link(self, ctx: Ctx) -> nl.Request:
        p = PLANE_LIST[self.plane]
        hoff, hmask = p.hash_word(2, self.direction)
        opts = nl.attr_u32(TCA_U32_HASH, (p.l1_htid << 20) | (self.b1 << 12)) \
            + nl.attr_u32(TCA_U32_LINK, p.l2_htid(self.b1) << 20) \
            + nl.attr(TCA_U32_SEL, u32_sel((), terminal=False, hoff=hoff, hmask=hmask))
        body = tcmsg(ctx.ifindex(self.dev), self._link_handle(), ROOT_MAJOR, filter_info(p.prio, p.protocol)) \
            + nl.attr_str(TCA_KIND, "u32") + nl.nested(TCA_OPTIONS, opts)
        return nl.Request(nl.RTM_NEWTFILTER, nl.NLM_F_CREATE | nl.NLM_F_EXCL, body)

    def create(self, ctx: Ctx) -> list[nl.Request]:
        p = PLANE_LIST[self.plane]
        body = tcmsg(ctx.ifindex(self.dev), p.l2_htid(self.b1) << 20, ROOT_MAJOR, filter_info(p.prio, p.protocol)) \
            + nl.attr_str(TCA_KIND, "u32") + nl.nested(TCA_OPTIONS, nl.attr_u32(TCA_U32_DIVISOR, DIVISOR))
        return [nl.Request(nl.RTM_NEWTFILTER, nl.NLM_F_CREATE | nl.NLM_F_EXCL, body), self._link(ctx)]

    def update(self, ctx: Ctx, actual: KernelObject) -> list[nl.Request]:
        assert isinstance(actual, U32Bucket)
        if actual.direction != self.direction:
            return actual.delete(ctx) + self.create(ctx)
        return [self._link(ctx)]

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        p = PLANE_LIST[self.plane]
        ifindex, info = ctx.ifindex(self.dev), filter_info(p.prio, p.protocol)
        out = []
        if self.linked:
            out.append(nl.Request(nl.RTM_DELTFILTER, 0, tcmsg(ifindex, self._link_handle(), ROOT_MAJOR, info)
                                  + nl.attr_str(TCA_KIND, "u32")))
        out.append(nl.Request(nl.RTM_DELTFILTER, 0, tcmsg(ifindex, p.l2_htid(self.b1) << 20, ROOT_MAJOR, info)
                              + nl.attr_str(TCA_KIND, "u32")))
        return out


@dataclass(frozen=True)
class U32Leaf(KernelObject):
    """A subscriber's filter: its prefix as destination (download) or source (upload) -> ``1:<minor>``.

    ``handle`` is the kernel's (table:bucket:node); a desired leaf gets one when it is created.
    """

    phase: ClassVar[int] = 42
    dev: str
    prefix: IPNetwork
    direction: str
    minor: int
    handle: int | None = field(default=None, compare=False)

    def make_key(self) -> tuple:
        return ("u32", self.dev, *net_key(self.prefix))

    @property
    def plane(self) -> Plane:
        plane = self.__dict__.get("_plane")
        if plane is None:
            plane = self.__dict__["_plane"] = plane_for(self.prefix)
            assert plane is not None
        return plane

    @property
    def bucket(self) -> tuple[int, int]:
        """(level-2 table id, bucket) the filter lives in."""
        b1, b2 = self.plane.buckets(self.prefix)
        return self.plane.l2_htid(b1), b2

    def state(self) -> tuple:
        return (self.direction, self.minor)

    def describe(self) -> str:
        where = f" handle {self.handle >> 20:x}:{(self.handle >> 12) & 0xFF:x}:{self.handle & 0xFFF:x}" \
            if self.handle else ""
        return f"u32 filter {self.direction} {self.prefix} -> 1:{self.minor:x} on {self.dev}{where}"

    def with_handle(self, handle: int) -> U32Leaf:
        return U32Leaf(self.dev, self.prefix, self.direction, self.minor, handle)

    def _body(self, ctx: Ctx, handle: int, *, options: bool) -> bytes:
        p = self.plane
        body = tcmsg(ctx.ifindex(self.dev), handle, ROOT_MAJOR, filter_info(p.prio, p.protocol)) \
            + nl.attr_str(TCA_KIND, "u32")
        if options:
            opts = nl.attr_u32(TCA_U32_HASH, handle & 0xFFFFF000) + nl.attr_u32(TCA_U32_CLASSID, ROOT_MAJOR | self.minor) \
                + nl.attr(TCA_U32_SEL, u32_sel(prefix_keys(self.prefix, self.direction), terminal=True))
            body += nl.nested(TCA_OPTIONS, opts)
        return body

    def create(self, ctx: Ctx) -> list[nl.Request]:
        assert self.handle is not None, "a leaf gets its handle from the plan"
        return [nl.Request(nl.RTM_NEWTFILTER, nl.NLM_F_CREATE | nl.NLM_F_EXCL, self._body(ctx, self.handle,
                                                                                        options=True))]

    def update(self, ctx: Ctx, actual: KernelObject) -> list[nl.Request]:
        assert isinstance(actual, U32Leaf) and actual.handle is not None
        if actual.direction != self.direction:
            return actual.delete(ctx) + self.create(ctx)
        # u32 keeps a node's keys on change; only the class it points to changes
        return [nl.Request(nl.RTM_NEWTFILTER, 0, self._body(ctx, actual.handle, options=True))]

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        assert self.handle is not None
        return [nl.Request(nl.RTM_DELTFILTER, 0, self._body(ctx, self.handle, options=False))]


@dataclass(frozen=True)
class ForeignFilter(KernelObject):
    """A filter under one of our qdiscs that Mango did not make (or cannot read); it is removed."""

    phase: ClassVar[int] = 43
    dev: str
    parent: int
    prio: int
    protocol: int
    handle: int

    def make_key(self) -> tuple:
        return ("foreign-filter", self.dev, self.parent, self.prio, self.protocol, self.handle)

    def describe(self) -> str:
        return f"unknown filter prio {self.prio} handle {self.handle:#x} on {self.dev}"

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        body = tcmsg(ctx.ifindex(self.dev), self.handle, self.parent, filter_info(self.prio, self.protocol))
        return [nl.Request(nl.RTM_DELTFILTER, 0, body)]


@dataclass(frozen=True)
class Address(KernelObject):
    phase: ClassVar[int] = 50
    dev: str
    interface: IPInterface

    def make_key(self) -> tuple:
        return ("addr", self.dev, *net_key(self.interface.network), int(self.interface.ip))

    def describe(self) -> str:
        return f"address {self.interface} on {self.dev}"

    def _body(self, ctx: Ctx, *, create: bool) -> bytes:
        ip = self.interface.ip
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        flags = IFA_F_NODAD if ip.version == 6 else 0
        body = _IFADDRMSG.pack(family, self.interface.network.prefixlen, flags, 0, ctx.ifindex(self.dev)) \
            + nl.attr(IFA_LOCAL, ip.packed) + nl.attr(IFA_ADDRESS, ip.packed)
        if create:
            body += nl.attr_u32(IFA_FLAGS, flags) + nl.attr_u8(IFA_PROTO, ctx.options.route_protocol)
        return body

    def create(self, ctx: Ctx) -> list[nl.Request]:
        return [nl.Request(nl.RTM_NEWADDR, nl.NLM_F_CREATE | nl.NLM_F_REPLACE, self._body(ctx, create=True))]

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        return [nl.Request(nl.RTM_DELADDR, 0, self._body(ctx, create=False))]


@dataclass(frozen=True)
class Route(KernelObject):
    phase: ClassVar[int] = 51
    prefix: IPNetwork
    dev: str
    via: IPAddress | None = None

    def make_key(self) -> tuple:
        return ("route", *net_key(self.prefix))

    def state(self) -> tuple:
        return (self.dev, self.via)

    def describe(self) -> str:
        via = f" via {self.via}" if self.via else ""
        return f"route {self.prefix}{via} dev {self.dev}"

    def _body(self, ctx: Ctx, *, create: bool) -> bytes:
        o = ctx.options
        family = socket.AF_INET if self.prefix.version == 4 else socket.AF_INET6
        if create:
            scope = RT_SCOPE_LINK if self.via is None and self.prefix.version == 4 else RT_SCOPE_UNIVERSE
            rtype = RTN_UNICAST
        else:
            scope, rtype = RT_SCOPE_NOWHERE, 0
        body = _RTMSG.pack(family, self.prefix.prefixlen, 0, 0, o.route_table if o.route_table < 256 else 0,
                           o.route_protocol, scope, rtype, 0) \
            + nl.attr(RTA_DST, self.prefix.network_address.packed) + nl.attr_u32(RTA_PRIORITY, o.route_metric) \
            + nl.attr_u32(RTA_TABLE, o.route_table) + nl.attr_u32(RTA_OIF, ctx.ifindex(self.dev))
        if self.via is not None:
            body += nl.attr(RTA_GATEWAY, self.via.packed)
        return body

    def create(self, ctx: Ctx) -> list[nl.Request]:
        return [nl.Request(nl.RTM_NEWROUTE, nl.NLM_F_CREATE | nl.NLM_F_REPLACE, self._body(ctx, create=True))]

    def update(self, ctx: Ctx, actual: KernelObject) -> list[nl.Request]:
        # IPv6 "replace" of a route with another next hop appends a path; delete the old one first
        if self.prefix.version == 6:
            return actual.delete(ctx) + self.create(ctx)
        return self.create(ctx)

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        return [nl.Request(nl.RTM_DELROUTE, 0, self._body(ctx, create=False))]


@dataclass(frozen=True)
class Neighbour(KernelObject):
    phase: ClassVar[int] = 52
    dev: str
    address: IPAddress
    mac: str

    def make_key(self) -> tuple:
        return ("neigh", self.dev, self.address.version, int(self.address))

    def state(self) -> tuple:
        return (self.mac,)

    def describe(self) -> str:
        return f"neighbour {self.address} lladdr {self.mac} on {self.dev}"

    def _body(self, ctx: Ctx, state: int) -> bytes:
        family = socket.AF_INET if self.address.version == 4 else socket.AF_INET6
        return _NDMSG.pack(family, ctx.ifindex(self.dev), state, 0, 0) + nl.attr(NDA_DST, self.address.packed)

    def create(self, ctx: Ctx) -> list[nl.Request]:
        body = self._body(ctx, NUD_PERMANENT) + nl.attr(NDA_LLADDR, bytes.fromhex(self.mac.replace(":", ""))) \
            + nl.attr_u8(NDA_PROTOCOL, ctx.options.route_protocol)
        return [nl.Request(nl.RTM_NEWNEIGH, nl.NLM_F_CREATE | nl.NLM_F_REPLACE, body)]

    def delete(self, ctx: Ctx) -> list[nl.Request]:
        return [nl.Request(nl.RTM_DELNEIGH, 0, self._body(ctx, 0))]


@dataclass(frozen=True)
class NftTable(KernelObject):
    """The nftables table with the blocked sets and the deny/redirect rules (see nft.py)."""

    phase: ClassVar[int] = 60
    netlink: ClassVar[bool] = False
    digest: str
    script: str = field(compare=False, default="")

    def make_key(self) -> tuple:
        return ("nft-table",)

    def state(self) -> tuple:
        return (self.digest,)

    def describe(self) -> str:
        return f"nftables table with the blocked sets (rules {self.digest})"


@dataclass(frozen=True)
class NftElement(KernelObject):
    """A blocked subscriber's network in the blocked set, the block's reason as its comment."""

    phase: ClassVar[int] = 61
    netlink: ClassVar[bool] = False
    prefix: IPNetwork
    comment: str

    def make_key(self) -> tuple:
        return ("nft-elem", *net_key(self.prefix))

    def state(self) -> tuple:
        return (self.comment,)

    def describe(self) -> str:
        return f"blocked {self.prefix} ({self.comment})"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
