"""Reading a router's actual state back into the objects of objects.py.

What counts as Mango's: everything under the root HTB and the ingress qdisc of a managed interface
and of its IFB; routes, permanent neighbours and addresses carrying Mango's protocol number
(``LinuxOptions.route_protocol``; addresses need Linux 6.1+ for that tag); the nftables table.
Anything else on the router is never read into the state, so it is never deleted.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass, field

from mango_isp.provisioning.linux import netlink as nl
from mango_isp.provisioning.linux.objects import (
    ETH_P_ALL,
    IFA_ADDRESS,
    IFA_LOCAL,
    IFA_PROTO,
    INGRESS_HANDLE,
    NDA_DST,
    NDA_LLADDR,
    NDA_PROTOCOL,
    NUD_PERMANENT,
    PLANE_LIST,
    ROOT_MAJOR,
    RTA_DST,
    RTA_GATEWAY,
    RTA_OIF,
    RTA_PRIORITY,
    RTA_TABLE,
    TC_H_INGRESS,
    TC_H_ROOT,
    TCA_ACT_KIND,
    TCA_ACT_OPTIONS,
    TCA_HTB_CEIL64,
    TCA_HTB_PARMS,
    TCA_HTB_RATE64,
    TCA_KIND,
    TCA_MIRRED_PARMS,
    TCA_OPTIONS,
    TCA_U32_ACT,
    TCA_U32_CLASSID,
    TCA_U32_DIVISOR,
    TCA_U32_LINK,
    TCA_U32_SEL,
    Address,
    ForeignFilter,
    HtbClass,
    IfbLink,
    IngressQdisc,
    KernelObject,
    LeafQdisc,
    Neighbour,
    Redirect,
    RootQdisc,
    Route,
    U32Bucket,
    U32Leaf,
    U32Plane,
    keys_prefix,
    plane_by_prio,
    plane_for,
)

IFLA_IFNAME, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 18, 1
_IFINFO = struct.Struct("=BxHiII")
_TCMSG = struct.Struct("=BxxxiIII")
_RTMSG = struct.Struct("=BBBBBBBBI")
_NDMSG = struct.Struct("=BxxxiHBB")
_IFADDR = struct.Struct("=BBBBI")
_RATESPEC = struct.Struct("=BBHhHI")
_HTB_TAIL = struct.Struct("=IIIII")
_SEL_HEAD = struct.Struct("=BBBx")
_KEY_MV = struct.Struct(">II")
_KEY_OFF = struct.Struct("=i")


@dataclass
class Link:
    index: int
    name: str
    kind: str | None
    up: bool


@dataclass
class ActualState:
    """What the router has, by object key; u32 filters also by (device, table, bucket) -> node -> key,
    to place new filters. ``dirty`` is set when an apply failed part-way (read again before trusting it).
    """

    objects: dict[tuple, KernelObject] = field(default_factory=dict)
    leaves: dict[tuple[str, int, int], dict[int, tuple]] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    dirty: bool = False

    def add(self, obj: KernelObject) -> None:
        self.objects[obj.key] = obj
        if isinstance(obj, U32Leaf) and obj.handle:
            slot = (obj.dev, obj.handle >> 20, (obj.handle >> 12) & 0xFF)
            self.leaves.setdefault(slot, {})[obj.handle & 0xFFF] = obj.key

    def remove(self, obj: KernelObject) -> None:
        self.objects.pop(obj.key, None)
        if isinstance(obj, U32Leaf) and obj.handle:
            nodes = self.leaves.get((obj.dev, obj.handle >> 20, (obj.handle >> 12) & 0xFF))
            if nodes is not None and nodes.get(obj.handle & 0xFFF) == obj.key:
                del nodes[obj.handle & 0xFFF]


def read_links(ch: nl.Channel) -> dict[str, Link]:
    links = {}
    for _t, payload in ch.dump(nl.RTM_GETLINK, _IFINFO.pack(0, 0, 0, 0, 0)):
        _fam, _type, index, flags, _change = _IFINFO.unpack_from(payload)
        attrs = nl.parse_attrs(payload, _IFINFO.size)
        name = nl.cstr(attrs.get(IFLA_IFNAME))
        kind = None
        if IFLA_LINKINFO in attrs:
            kind = nl.cstr(nl.parse_attrs(attrs[IFLA_LINKINFO]).get(IFLA_INFO_KIND))
        if name:
            links[name] = Link(index, name, kind, bool(flags & 1))
    return links


def read_state(ch: nl.Channel, devices: dict[str, str], options, nft_reader=None) -> ActualState:  # noqa: ANN001
    """Read everything Mango manages. ``devices`` maps each managed interface to its IFB's name."""
    state = ActualState(links=read_links(ch))
    by_index = {link.index: link.name for link in state.links.values()}
    for dev, ifb in devices.items():
        if dev not in state.links:
            continue
        ifb_link = state.links.get(ifb)
        if ifb_link is not None and ifb_link.kind == "ifb":
            state.add(IfbLink(ifb, dev))
        for name, direction in ((dev, "dst"), (ifb, "src")):
            link = state.links.get(name)
            if link is None or (name == ifb and link.kind != "ifb"):
                continue
            if _read_qdiscs(ch, state, link, ingress=name == dev):
                _read_classes(ch, state, link)
                _read_filters(ch, state, link, direction)
            if name == dev and ("qdisc", dev, TC_H_INGRESS) in state.objects:
                _read_ingress_filters(ch, state, link, by_index)
    _read_routes(ch, state, options, by_index)
    _read_neighbours(ch, state, options, by_index)
    _read_addresses(ch, state, options, by_index)
    if nft_reader is not None:
        nft_reader(state)
    return state


def _tc_kind(attrs: dict) -> str | None:
    return nl.cstr(attrs.get(TCA_KIND))


def _read_qdiscs(ch: nl.Channel, state: ActualState, link: Link, *, ingress: bool) -> bool:
    """Record our root HTB, ingress qdisc and subscriber leaves; True if the root is our HTB."""
    ours = False
    for _t, payload in ch.dump(nl.RTM_GETQDISC, _TCMSG.pack(0, link.index, 0, 0, 0)):
        _fam, ifindex, handle, parent, _info = _TCMSG.unpack_from(payload)
        if ifindex != link.index:
            continue
        kind = _tc_kind(nl.parse_attrs(payload, _TCMSG.size))
        if parent == TC_H_ROOT and handle == ROOT_MAJOR and kind == "htb":
            state.add(RootQdisc(link.name))
            ours = True
        elif parent == TC_H_INGRESS and ingress and kind == "ingress":
            state.add(IngressQdisc(link.name))
        elif parent >> 16 == 1 and parent & 0xFFFF > 1 and handle == (parent & 0xFFFF) << 16 and kind:
            state.add(LeafQdisc(link.name, parent & 0xFFFF, kind))
    return ours


def _read_classes(ch: nl.Channel, state: ActualState, link: Link) -> None:
    for _t, payload in ch.dump(nl.RTM_GETTCLASS, _TCMSG.pack(0, link.index, 0, 0, 0)):
        _fam, ifindex, handle, _parent, _info = _TCMSG.unpack_from(payload)
        attrs = nl.parse_attrs(payload, _TCMSG.size)
        if ifindex != link.index or handle >> 16 != 1 or _tc_kind(attrs) != "htb" or TCA_OPTIONS not in attrs:
            continue
        opts = nl.parse_attrs(attrs[TCA_OPTIONS])
        parms = opts.get(TCA_HTB_PARMS)
        if parms is None:
            continue
        rate = _RATESPEC.unpack_from(parms, 0)[5]
        ceil = _RATESPEC.unpack_from(parms, 12)[5]
        if TCA_HTB_RATE64 in opts:
            rate = struct.unpack_from("=Q", opts[TCA_HTB_RATE64])[0]
        if TCA_HTB_CEIL64 in opts:
            ceil = struct.unpack_from("=Q", opts[TCA_HTB_CEIL64])[0]
        state.add(HtbClass(link.name, handle & 0xFFFF, rate, ceil))


def _sel(value: memoryview) -> tuple[int, int, int, list[tuple[int, int, int]]]:
    flags, _offshift, nkeys = _SEL_HEAD.unpack_from(value)
    hoff = struct.unpack_from("=h", value, 10)[0]
    hmask = struct.unpack_from(">I", value, 12)[0]
    keys = []
    for i in range(nkeys):
        mask, val = _KEY_MV.unpack_from(value, 16 + 16 * i)
        off = _KEY_OFF.unpack_from(value, 16 + 16 * i + 8)[0]
        keys.append((off, mask, val))
    return flags, hoff, hmask, keys


def _read_filters(ch: nl.Channel, state: ActualState, link: Link, direction: str) -> None:
    tables: dict[tuple[int, int], bool] = {}  # (prio, htid) -> seen
    planes: dict[int, bool] = {}  # plane index -> root link seen
    bucket_links: set[tuple[int, int]] = set()
    leaves = []
    foreign = []
    for _t, payload in ch.dump(nl.RTM_GETTFILTER, _TCMSG.pack(0, link.index, 0, ROOT_MAJOR, 0)):
        _fam, ifindex, handle, _parent, info = _TCMSG.unpack_from(payload)
        if ifindex != link.index or handle == 0:
            continue
        prio, protocol = info >> 16, socket.ntohs(info & 0xFFFF)
        attrs = nl.parse_attrs(payload, _TCMSG.size)
        plane = plane_by_prio(prio)
        if _tc_kind(attrs) != "u32" or TCA_OPTIONS not in attrs or plane is None \
                or protocol != plane.protocol:
            foreign.append(ForeignFilter(link.name, ROOT_MAJOR, prio, protocol, handle))
            continue
        opts = nl.parse_attrs(attrs[TCA_OPTIONS])
        htid, bucket, node = handle >> 20, (handle >> 12) & 0xFF, handle & 0xFFF
        if node == 0 and bucket == 0:  # a hash table
            if TCA_U32_DIVISOR in opts:
                tables[(prio, htid)] = True
            continue
        if TCA_U32_SEL not in opts:
            foreign.append(ForeignFilter(link.name, ROOT_MAJOR, prio, protocol, handle))
            continue
        flags, hoff, hmask, keys = _sel(opts[TCA_U32_SEL])
        link_to = nl.u32(opts.get(TCA_U32_LINK))
        classid = nl.u32(opts.get(TCA_U32_CLASSID))
        if link_to is not None:
            target = link_to >> 20
            if htid >= 0x800 and target == plane.l1_htid and (hoff, hmask) == plane.hash_word(1, direction):
                planes[plane.index] = True
                continue
            if htid == plane.l1_htid and node == 1 and target == plane.l2_htid(bucket) \
                    and (hoff, hmask) == plane.hash_word(2, direction):
                bucket_links.add((plane.index, bucket))
                continue
        elif classid is not None and classid >> 16 == 1:
            prefix = keys_prefix(plane.version, direction, keys)
            if prefix is not None:
                leaf = U32Leaf(link.name, prefix, direction, classid & 0xFFFF, handle)
                right = plane_for(prefix)
                if right is not None and right.index == plane.index and leaf.bucket == (htid, bucket):
                    leaves.append(leaf)
                    continue
        foreign.append(ForeignFilter(link.name, ROOT_MAJOR, prio, protocol, handle))
    for plane in PLANE_LIST:
        if (plane.prio, plane.l1_htid) in tables:
            state.add(U32Plane(link.name, plane.index, direction, linked=planes.get(plane.index, False)))
        for b1 in range(256):
            if (plane.prio, plane.l2_htid(b1)) in tables:
                state.add(U32Bucket(link.name, plane.index, b1, direction,
                                    linked=(plane.index, b1) in bucket_links))
    for leaf in leaves:
        state.add(leaf)
    for obj in foreign:
        state.add(obj)


def _read_ingress_filters(ch: nl.Channel, state: ActualState, link: Link, by_index: dict[int, str]) -> None:
    for _t, payload in ch.dump(nl.RTM_GETTFILTER, _TCMSG.pack(0, link.index, 0, INGRESS_HANDLE, 0)):
        _fam, ifindex, handle, _parent, info = _TCMSG.unpack_from(payload)
        if ifindex != link.index or handle == 0:
            continue
        prio, protocol = info >> 16, socket.ntohs(info & 0xFFFF)
        attrs = nl.parse_attrs(payload, _TCMSG.size)
        opts = nl.parse_attrs(attrs[TCA_OPTIONS]) if TCA_OPTIONS in attrs else {}
        if (handle >> 12) & 0xFF == 0 and handle & 0xFFF == 0:
            continue  # the root hash table
        target = _mirred_target(opts.get(TCA_U32_ACT)) if _tc_kind(attrs) == "u32" else None
        if prio == Redirect.prio and protocol == ETH_P_ALL and target in by_index:
            state.add(Redirect(link.name, by_index[target]))
        else:
            state.add(ForeignFilter(link.name, INGRESS_HANDLE, prio, protocol, handle))


def _mirred_target(acts: memoryview | None) -> int | None:
    if acts is None:
        return None
    for act in nl.parse_attrs(acts).values():
        a = nl.parse_attrs(act)
        if nl.cstr(a.get(TCA_ACT_KIND)) == "mirred" and TCA_ACT_OPTIONS in a:
            parms = nl.parse_attrs(a[TCA_ACT_OPTIONS]).get(TCA_MIRRED_PARMS)
            if parms is not None and len(parms) >= 28:
                return struct.unpack_from("=I", parms, 24)[0]
    return None


def _ip(raw: memoryview) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(bytes(raw))


def _read_routes(ch: nl.Channel, state: ActualState, options, by_index: dict[int, str]) -> None:  # noqa: ANN001
    table = options.route_table
    for family in (socket.AF_INET, socket.AF_INET6):
        body = _RTMSG.pack(family, 0, 0, 0, table if table < 256 else 0, options.route_protocol, 0, 0, 0) \
            + nl.attr_u32(RTA_TABLE, table)
        for _t, payload in ch.dump(nl.RTM_GETROUTE, body):
            fam, dst_len, _src, _tos, _tbl, proto, _scope, _type, _flags = _RTMSG.unpack_from(payload)
            attrs = nl.parse_attrs(payload, _RTMSG.size)
            if proto != options.route_protocol or nl.u32(attrs.get(RTA_TABLE)) != table:
                continue
            if nl.u32(attrs.get(RTA_PRIORITY)) != options.route_metric or RTA_DST not in attrs:
                continue
            dev = by_index.get(nl.u32(attrs.get(RTA_OIF)) or -1, "?")
            via = _ip(attrs[RTA_GATEWAY]) if RTA_GATEWAY in attrs else None
            prefix = ipaddress.ip_network((bytes(attrs[RTA_DST]), dst_len))
            state.add(Route(prefix, dev, via))


def _read_neighbours(ch: nl.Channel, state: ActualState, options, by_index: dict[int, str]) -> None:  # noqa: ANN001
    for family in (socket.AF_INET, socket.AF_INET6):
        for _t, payload in ch.dump(nl.RTM_GETNEIGH, _NDMSG.pack(family, 0, 0, 0, 0)):
            _fam, ifindex, nud, _flags, _type = _NDMSG.unpack_from(payload)
            attrs = nl.parse_attrs(payload, _NDMSG.size)
            if not nud & NUD_PERMANENT or nl.u8(attrs.get(NDA_PROTOCOL)) != options.route_protocol:
                continue
            if NDA_DST not in attrs or ifindex not in by_index:
                continue
            mac = bytes(attrs[NDA_LLADDR]).hex(":") if NDA_LLADDR in attrs else ""
            state.add(Neighbour(by_index[ifindex], _ip(attrs[NDA_DST]), mac))


def _read_addresses(ch: nl.Channel, state: ActualState, options, by_index: dict[int, str]) -> None:  # noqa: ANN001
    for _t, payload in ch.dump(nl.RTM_GETADDR, _IFADDR.pack(0, 0, 0, 0, 0)):
        _fam, prefixlen, _flags, _scope, ifindex = _IFADDR.unpack_from(payload)
        attrs = nl.parse_attrs(payload, _IFADDR.size)
        if nl.u8(attrs.get(IFA_PROTO)) != options.route_protocol or ifindex not in by_index:
            continue
        raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
        if raw is None:
            continue
        state.add(Address(by_index[ifindex], ipaddress.ip_interface((bytes(raw), prefixlen))))
