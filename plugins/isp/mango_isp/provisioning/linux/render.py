"""Desired state -> the kernel objects it needs, with who needs each (shared objects are counted).

Pure functions: no kernel access, so the reconcile job, the per-subscriber path and the tests all
see the same objects for the same state.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from mango_isp.provisioning.driver import InvalidDesiredState
from mango_isp.provisioning.linux import nft
from mango_isp.provisioning.linux.objects import (
    ROOT_MAJOR,
    Address,
    HtbClass,
    IfbLink,
    IngressQdisc,
    KernelObject,
    LeafQdisc,
    Neighbour,
    NftElement,
    NftTable,
    Redirect,
    RootQdisc,
    Route,
    U32Bucket,
    U32Leaf,
    U32Plane,
    kbit_to_bytes,
    plane_for,
)
from mango_isp.provisioning.state import BlockPolicy, Subscriber

SHORTEST = {4: 24, 6: 48}


def ifb_name(interface: str) -> str:
    """The IFB of a subscriber-facing interface: ``ifb-<name>``, hashed when that passes 15 characters."""
    name = f"ifb-{interface}"
    if len(name) <= 15:
        return name
    return f"ifb-{interface[:3]}{zlib.crc32(interface.encode()):08x}"


def subscriber_objects(sub: Subscriber, policy: BlockPolicy, options, leaf_kind: str) -> list[KernelObject]:  # noqa: ANN001
    """Every kernel object ``sub`` needs, shared skeleton (qdiscs, IFB, hash tables, nft table) included."""
    dev = sub.interface
    out: list[KernelObject] = [Address(dev, g) for g in sub.gateways]
    out += [Route(n.prefix, dev, n.via) for n in sub.networks]
    out += [Neighbour(dev, n.address, n.mac) for n in sub.neighbours]
    if sub.shaping is not None:
        ifb = ifb_name(dev)
        s = sub.shaping
        link = kbit_to_bytes(options.link_kbit)
        out += [IfbLink(ifb, dev), RootQdisc(dev), RootQdisc(ifb), IngressQdisc(dev), Redirect(dev, ifb),
                HtbClass(dev, 1, link, link), HtbClass(ifb, 1, link, link),
                HtbClass(dev, sub.id, kbit_to_bytes(s.download_kbit), kbit_to_bytes(s.download_ceil)),
                HtbClass(ifb, sub.id, kbit_to_bytes(s.upload_kbit), kbit_to_bytes(s.upload_ceil)),
                LeafQdisc(dev, sub.id, leaf_kind), LeafQdisc(ifb, sub.id, leaf_kind)]
        for net in sub.networks:
            plane = plane_for(net.prefix)
            if plane is None:
                raise InvalidDesiredState(
                    f"{net.prefix} is too short to shape per subscriber (IPv4 from /{SHORTEST[4]}, "
                    f"IPv6 from /{SHORTEST[6]})", device=dev, subscriber=sub.id)
            b1, _b2 = plane.buckets(net.prefix)
            for where, direction in ((dev, "dst"), (ifb, "src")):
                out += [U32Plane(where, plane.index, direction), U32Bucket(where, plane.index, b1, direction),
                        U32Leaf(where, net.prefix, direction, sub.id)]
    if sub.block is not None and sub.networks:
        out.append(nft_table(policy, options))
        comment = nft.sanitize_comment(sub.block.reason)
        out += [NftElement(n.prefix, comment) for n in sub.networks]
    return out


def nft_table(policy: BlockPolicy, options) -> NftTable:  # noqa: ANN001
    script = nft.rules_script(options.nft_table, policy)
    return NftTable(nft.rules_digest(script), script)


class DesiredIndex:
    """Desired objects by key, with a reference count per key (who needs the object)."""

    def __init__(self) -> None:
        self.objects: dict[tuple, KernelObject] = {}
        self.refs: dict[tuple, int] = {}
        self.owner: dict[tuple, int] = {}
        self.by_subscriber: dict[int, list[tuple]] = {}

    def add(self, sub_id: int, objects: Iterable[KernelObject]) -> list[tuple]:
        keys: list[tuple] = []
        seen: set[tuple] = set()
        added: list[tuple] = []
        try:
            for obj in objects:
                key = obj.key
                if key in seen:
                    continue
                seen.add(key)
                have = self.objects.get(key)
                if have is not None and have.state() != obj.state():
                    other = self.owner.get(key)
                    raise InvalidDesiredState(
                        f"{obj.describe()} conflicts with subscriber {other}'s {have.describe()}",
                        device=obj.device, subscriber=sub_id)
                if have is None:
                    self.objects[key] = obj
                    self.owner[key] = sub_id
                self.refs[key] = self.refs.get(key, 0) + 1
                keys.append(key)
                added.append(key)
        except InvalidDesiredState:
            self._release(added)
            raise
        self.by_subscriber[sub_id] = keys
        return keys

    def remove(self, sub_id: int) -> list[tuple]:
        keys = self.by_subscriber.pop(sub_id, [])
        self._release(keys)
        return keys

    def _release(self, keys: list[tuple]) -> None:
        for key in keys:
            left = self.refs[key] - 1
            if left:
                self.refs[key] = left
            else:
                del self.refs[key], self.objects[key], self.owner[key]

    def owner_of(self, key: tuple) -> int | None:
        return self.owner.get(key)


def build_index(subscribers: Iterable[Subscriber], policy: BlockPolicy, options, leaf_kind: str) -> DesiredIndex:  # noqa: ANN001
    index = DesiredIndex()
    for sub in subscribers:
        index.add(sub.id, subscriber_objects(sub, policy, options, leaf_kind))
    return index


def class_handle(sub_id: int) -> str:
    """How ``tc`` prints a subscriber's class: ``1:<id in hex>``."""
    return f"{ROOT_MAJOR >> 16:x}:{sub_id:x}"
