"""The Linux router driver: pyroute2/netlink for addresses, routes, neighbours and tc; nft for blocking.

Two ways in:

- ``reconcile(desired)`` (the scheduled job): read everything, diff, apply. Cost grows with the router
  (a full read of 10,000 subscribers takes a few seconds), and a second run changes nothing.
- ``session(desired)`` (the queue worker): read once, then ``put``/``remove`` one subscriber at a time.
  Only that subscriber's objects (and shared ones whose use count reaches or leaves zero) are compared
  and sent, so Mango's part of a change costs the same with 10 or 10,000 subscribers on the router
  (the kernel's part of creating/deleting an HTB class still grows with the classes: README.md).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from mango_isp.provisioning.driver import (
    CREATE,
    DELETE,
    UPDATE,
    ApplyResult,
    Change,
    Driver,
    Failure,
    InvalidDesiredState,
    Plan,
    ProvisioningError,
)
from mango_isp.provisioning.linux import netlink as nl
from mango_isp.provisioning.linux import nft
from mango_isp.provisioning.linux.objects import (
    INGRESS_HANDLE,
    MAX_NODE,
    PLANE_LIST,
    ROOT_MAJOR,
    TC_H_ROOT,
    TCA_KIND,
    Address,
    Ctx,
    ForeignFilter,
    HtbClass,
    IfbLink,
    IngressQdisc,
    KernelObject,
    LeafQdisc,
    NftElement,
    NftTable,
    Redirect,
    RootQdisc,
    U32Bucket,
    U32Leaf,
    U32Plane,
    tcmsg,
)
from mango_isp.provisioning.linux.readback import ActualState, read_links, read_state
from mango_isp.provisioning.linux.render import DesiredIndex, build_index, ifb_name, subscriber_objects
from mango_isp.provisioning.state import RouterState, Subscriber

T = TypeVar("T")

LEAF_PREFERENCE = ("fq_codel", "sfq", "pfifo")
# Skeleton objects serve every subscriber of an interface: a change to them names no subscriber.
_SHARED = (IfbLink, RootQdisc, IngressQdisc, Redirect, U32Plane, U32Bucket, NftTable, Address)


@dataclass(frozen=True)
class LinuxOptions:
    """Router-wide settings.

    ``route_protocol`` tags Mango's routes, neighbours and addresses (``ip route show proto 77``) so that
    nothing else on the router is ever taken for ours. ``link_kbit`` is the rate of each interface's root
    class (subscribers borrow up to their ceil from it). ``leaf_qdisc`` is the queue inside each
    subscriber class; "auto" takes the first of fq_codel, sfq, pfifo that the kernel has.
    """

    route_table: int = 254
    route_protocol: int = 77
    route_metric: int = 1024
    link_kbit: int = 10_000_000
    leaf_qdisc: str = "auto"
    nft_table: str = "mango"

    def __post_init__(self) -> None:
        if not 1 <= self.route_protocol <= 255 or self.route_protocol in (1, 2, 3, 4):
            raise InvalidDesiredState("route_protocol must be 5..255 (1-4 belong to the kernel)")
        if self.leaf_qdisc not in ("auto", *LEAF_PREFERENCE, "bfifo"):
            raise InvalidDesiredState(f"unknown leaf qdisc {self.leaf_qdisc!r}")


class LinuxRouterDriver(Driver):
    """Provisions one Linux router (its network namespace ``netns``; None = this process's namespace)."""

    def __init__(self, netns: str | None = None, options: LinuxOptions | None = None, *,
                 name: str | None = None) -> None:
        self.netns = netns
        self.options = options or LinuxOptions()
        self.name = name or netns or "localhost"
        self._channel: nl.Channel | None = None
        self._leaf: str | None = None if self.options.leaf_qdisc == "auto" else self.options.leaf_qdisc
        self.nft = nft.Nft(netns)

    # --- plumbing -------------------------------------------------------------------------------

    @property
    def channel(self) -> nl.Channel:
        if self._channel is None:
            try:
                self._channel = nl.Channel(self.netns)
            except OSError as exc:
                raise ProvisioningError(f"cannot open netlink in the router's namespace: {exc.strerror or exc}",
                                        router=self.name) from None
        return self._channel

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def __enter__(self) -> LinuxRouterDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _with_iproute(self, work: Callable[[IPRoute], T]) -> T:
        """``work(ipr)`` with an IPRoute of the router's namespace, in a thread of its own.

        pyroute2's synchronous API drives an asyncio loop, which cannot run in a thread where another
        loop is running (an async server's, the browser tests' Playwright); a fresh thread has none.
        Used for the few link operations only: everything per subscriber goes through ``channel``.
        """
        def run() -> T:
            with IPRoute(netns=self.netns, flags=0) if self.netns else IPRoute() as ipr:
                return work(ipr)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mango-netlink") as pool:
            return pool.submit(run).result()

    def leaf_kind(self) -> str:
        """The subscriber leaf qdisc; with "auto" the first the kernel accepts, probed once on a scratch IFB."""
        if self._leaf is None:
            probe = f"mgprobe{os.getpid() % 100000}"

            def probe_leaf(ipr: IPRoute) -> str | None:
                ipr.link("add", ifname=probe, kind="ifb")
                index = ipr.link_lookup(ifname=probe)[0]
                try:
                    for kind in LEAF_PREFERENCE:
                        req = nl.Request(nl.RTM_NEWQDISC, nl.NLM_F_CREATE | nl.NLM_F_REPLACE,
                                         tcmsg(index, ROOT_MAJOR, TC_H_ROOT) + nl.attr_str(TCA_KIND, kind))
                        if not self.channel.execute([req]):
                            return kind
                    return None
                finally:
                    ipr.link("del", index=index)

            try:
                self._leaf = self._with_iproute(probe_leaf)
            except (NetlinkError, OSError) as exc:  # OSError: the router's namespace is not there
                raise ProvisioningError(f"cannot probe the kernel's qdiscs: {exc}", router=self.name) from None
            if self._leaf is None:
                raise ProvisioningError(f"the kernel has none of the leaf qdiscs {LEAF_PREFERENCE}",
                                        router=self.name)
        return self._leaf

    # --- the Driver interface -------------------------------------------------------------------

    def read(self, desired: RouterState) -> ActualState:
        devices = {name: ifb_name(name) for name in desired.interfaces}
        try:
            return read_state(self.channel, devices, self.options, self._read_nft)
        except nl.NetlinkIOError as exc:
            raise ProvisioningError(f"reading the router failed: {exc}", router=self.name) from None
        except nft.NftError as exc:
            raise ProvisioningError(f"reading nftables failed: {exc}", router=self.name) from None

    def _read_nft(self, state: ActualState) -> None:
        if not _have_nft():
            return
        table = self.nft.read_table(self.options.nft_table)
        if table is None:
            return
        digest, elements = table
        state.add(NftTable(digest or ""))
        for prefix, comment in elements.items():
            state.add(NftElement(prefix, comment))

    def index(self, desired: RouterState) -> DesiredIndex:
        return build_index(desired.subscribers, desired.block_policy, self.options, self._leaf_if_needed(desired))

    def _leaf_if_needed(self, desired: RouterState) -> str:
        if self._leaf is None and not any(s.shaping for s in desired.subscribers):
            return "pfifo"  # nothing shaped, nothing to probe for
        return self.leaf_kind()

    def diff(self, desired: RouterState, actual: ActualState) -> Plan:
        self._check_interfaces(desired.interfaces, actual, desired)
        return plan_changes(self.index(desired), actual)

    def _check_interfaces(self, names, actual: ActualState, desired: RouterState | None = None) -> None:  # noqa: ANN001
        for name in names:
            if name not in actual.links:
                sub = next((s.id for s in desired.subscribers if s.interface == name), None) if desired else None
                raise InvalidDesiredState("interface does not exist", router=self.name, device=name,
                                          subscriber=sub)

    def apply(self, plan: Plan, actual: ActualState) -> ApplyResult:
        start = time.perf_counter()
        if not plan:
            return ApplyResult(seconds=time.perf_counter() - start)
        failures: list[tuple[Change, Failure]] = []
        links_up = [c for c in plan if isinstance(c.obj, IfbLink) and c.action != DELETE]
        links_down = [c for c in plan if isinstance(c.obj, IfbLink) and c.action == DELETE]
        nft_changes = [c for c in plan if isinstance(c.obj, (NftTable, NftElement))]
        netlink_changes = [c for c in plan if c.obj.netlink]

        if links_up:
            failures += self._links(links_up, create=True)
            actual.links = read_links(self.channel)
        ctx = Ctx({name: link.index for name, link in actual.links.items()}, self.options)
        requests: list[nl.Request] = []
        for change in netlink_changes:
            try:
                if change.action == CREATE:
                    msgs = change.desired.create(ctx)
                elif change.action == UPDATE:
                    msgs = change.desired.update(ctx, change.actual)
                else:
                    msgs = change.actual.delete(ctx)
            except LookupError as exc:
                failures.append((change, Failure(str(change), device=str(exc.args[0]), subscriber=change.subscriber,
                                                 error="interface does not exist")))
                continue
            for msg in msgs:
                msg.context = change
            requests += msgs
        for failure in self.channel.execute(requests):
            change = failure.request.context
            failures.append((change, Failure(str(change), device=change.obj.device, subscriber=change.subscriber,
                                             errno=failure.errno, error=failure.text)))
        if nft_changes:
            failures += self._nft(nft_changes)
        if links_down:
            failures += self._links(links_down, create=False)
            actual.links = read_links(self.channel)

        failed = {id(c) for c, _f in failures}
        for change in plan:
            if id(change) in failed:
                actual.dirty = True
                if change.action == CREATE:
                    actual.objects.pop(change.key, None)
                continue
            if change.action == DELETE:
                actual.remove(change.actual)
            else:
                if change.actual is not None:
                    actual.remove(change.actual)
                actual.add(change.desired)
        for key in plan.implied:
            obj = actual.objects.get(key)
            if obj is not None:
                actual.remove(obj)
        counts = plan.counts()
        result = ApplyResult(created=counts.get(CREATE, 0), updated=counts.get(UPDATE, 0),
                             deleted=counts.get(DELETE, 0), seconds=time.perf_counter() - start)
        if failures:
            raise ProvisioningError(f"{len(failed)} of {len(plan)} changes failed", router=self.name,
                                    failures=[f for _c, f in failures], applied=len(plan) - len(failed))
        return result

    def _links(self, changes: list[Change], *, create: bool) -> list[tuple[Change, Failure]]:
        def change_links(ipr: IPRoute) -> list[tuple[Change, Failure]]:
            failures = []
            for change in changes:
                link = change.obj
                try:
                    if create:
                        if not ipr.link_lookup(ifname=link.dev):
                            ipr.link("add", ifname=link.dev, kind="ifb")
                        index = ipr.link_lookup(ifname=link.dev)[0]
                        ipr.link("set", index=index, state="up", txqlen=1000)
                    else:
                        found = ipr.link_lookup(ifname=link.dev)
                        if found:
                            ipr.link("del", index=found[0])
                except NetlinkError as exc:
                    failures.append((change, Failure(str(change), device=link.dev, errno=exc.code,
                                                     error=str(exc))))
            return failures

        try:
            return self._with_iproute(change_links)
        except (OSError, NetlinkError) as exc:
            return [(c, Failure(str(c), device=c.obj.device, error=f"cannot reach the router: {exc}"))
                    for c in changes]

    def _nft(self, changes: list[Change]) -> list[tuple[Change, Failure]]:
        table = self.options.nft_table
        lines = []
        drop_table = False
        for c in changes:  # the plan's order: element deletes, table, element adds
            obj = c.obj
            if isinstance(obj, NftTable):
                if c.action == DELETE:
                    drop_table = True
                else:
                    lines.append(nft.table_script(table, c.desired.digest, c.desired.script))
            elif c.action == DELETE:
                lines.append(nft.element_script(table, "delete", obj.prefix))
            else:
                if c.action == UPDATE:
                    lines.append(nft.element_script(table, "delete", obj.prefix))
                lines.append(nft.element_script(table, "add", obj.prefix, c.desired.comment))
        if drop_table:  # the whole table goes, elements with it
            lines = [nft.delete_table_script(table)]
        try:
            self.nft.run_script("\n".join(lines) + "\n")
        except (nft.NftError, OSError) as exc:
            text = str(exc)
            return [(c, Failure(str(c), subscriber=c.subscriber, error=text)) for c in changes]
        return []

    # --- the per-subscriber path ----------------------------------------------------------------

    def session(self, desired: RouterState, actual: ActualState | None = None) -> RouterSession:
        return RouterSession(self, desired, actual)


def _have_nft() -> bool:
    return shutil.which("nft") is not None


def plan_changes(index: DesiredIndex, actual: ActualState, keys=None) -> Plan:  # noqa: ANN001
    """Compare desired and actual objects (all of them, or only ``keys``) into an ordered plan."""
    if keys is None:
        keys = set(index.objects) | set(actual.objects)
    creates: list[Change] = []
    deletes: list[Change] = []
    for key in keys:
        d = index.objects.get(key)
        a = actual.objects.get(key)
        if d is None:
            if a is not None:
                deletes.append(Change(DELETE, key, None, a, _who(index, key, a)))
        elif a is None:
            creates.append(Change(CREATE, key, d, None, _who(index, key, d)))
        elif type(a) is not type(d) and not (isinstance(a, HtbClass) and isinstance(d, HtbClass)):
            deletes.append(Change(DELETE, key, None, a, _who(index, key, a)))
            creates.append(Change(CREATE, key, d, None, _who(index, key, d)))
        elif a.state() != d.state():
            creates.append(Change(UPDATE, key, d, a, _who(index, key, d)))

    vanished = _cascade(deletes, actual) if deletes else set()
    if vanished:
        deletes = [c for c in deletes if c.key not in vanished]
        # an object that goes with its container but is still desired has to be made again
        creates = [c if not (c.action == UPDATE and c.key in vanished)
                   else Change(CREATE, c.key, c.desired, None, c.subscriber) for c in creates]
        planned = {c.key for c in creates}
        for key in vanished:
            d = index.objects.get(key)
            if d is not None and key not in planned:
                creates.append(Change(CREATE, key, d, None, _who(index, key, d)))

    creates = _place_leaves(creates, actual, vanished)
    deletes.sort(key=lambda c: -c.obj.order())
    creates.sort(key=lambda c: c.obj.order())
    return Plan(deletes + creates, frozenset(vanished))


def _who(index: DesiredIndex, key: tuple, obj: KernelObject) -> int | None:
    if isinstance(obj, _SHARED) or (isinstance(obj, HtbClass) and obj.minor == 1):
        return None
    owner = index.owner_of(key)
    if owner is not None:
        return owner
    minor = getattr(obj, "minor", None)
    return minor if isinstance(minor, int) and minor > 1 else None


def _cascade(deletes: list[Change], actual: ActualState) -> set[tuple]:
    """Keys of actual objects that disappear with a deleted container (qdisc, class, table, link)."""
    gone: set[tuple] = set()
    devices = {c.actual.dev for c in deletes if isinstance(c.actual, (RootQdisc, IfbLink))}
    ingress = {c.actual.dev for c in deletes if isinstance(c.actual, IngressQdisc)}
    if devices or ingress:
        for key, obj in actual.objects.items():
            dev = getattr(obj, "dev", None)
            if isinstance(obj, (HtbClass, LeafQdisc, U32Plane, U32Bucket, U32Leaf)) and dev in devices:
                gone.add(key)
            elif isinstance(obj, ForeignFilter) and ((obj.parent == ROOT_MAJOR and dev in devices)
                                                     or (obj.parent == INGRESS_HANDLE and dev in ingress)):
                gone.add(key)
            elif isinstance(obj, Redirect) and dev in ingress:
                gone.add(key)
            elif isinstance(obj, RootQdisc) and isinstance(actual.objects.get(("link", dev)), IfbLink) \
                    and ("link", dev) in {c.key for c in deletes}:
                gone.add(key)
    for c in deletes:
        obj = c.actual
        if isinstance(obj, HtbClass):
            gone.add(("qdisc", obj.dev, ROOT_MAJOR | obj.minor))
        elif isinstance(obj, U32Plane):
            plane = PLANE_LIST[obj.plane]
            for b1 in range(256):
                bucket_key = ("u32-bucket", obj.dev, obj.plane, b1)
                if bucket_key in actual.objects:
                    gone.add(bucket_key)
                    gone |= _bucket_leaves(actual, obj.dev, plane.l2_htid(b1))
        elif isinstance(obj, U32Bucket):
            gone |= _bucket_leaves(actual, obj.dev, PLANE_LIST[obj.plane].l2_htid(obj.b1))
    return {k for k in gone if k in actual.objects}


def _bucket_leaves(actual: ActualState, dev: str, htid: int) -> set[tuple]:
    out = set()
    for b2 in range(256):
        for leaf_key in actual.leaves.get((dev, htid, b2), {}).values():
            out.add(leaf_key)
    return out


def _place_leaves(creates: list[Change], actual: ActualState, vanished: set[tuple]) -> list[Change]:
    """Give each new u32 filter the lowest free node id of its bucket."""
    taken: dict[tuple[str, int, int], set[int]] = {}
    out = []
    for c in creates:
        leaf = c.desired
        if c.action != CREATE or not isinstance(leaf, U32Leaf):
            out.append(c)
            continue
        htid, b2 = leaf.bucket
        slot = (leaf.dev, htid, b2)
        used = taken.get(slot)
        if used is None:
            used = {node for node, key in actual.leaves.get(slot, {}).items() if key not in vanished}
            taken[slot] = used
        node = next((n for n in range(1, MAX_NODE + 1) if n not in used), None)
        if node is None:
            raise ProvisioningError(f"u32 bucket {htid:x}:{b2:x} is full", device=leaf.dev,
                                    subscriber=c.subscriber)
        used.add(node)
        out.append(Change(CREATE, c.key, leaf.with_handle((htid << 20) | (b2 << 12) | node), None, c.subscriber))
    return out


class RouterSession:
    """A router held open for a stream of per-subscriber changes (the provisioning queue worker).

    Keeps the desired objects with use counts and the actual objects as last read and changed, so
    ``put``/``remove`` compare and send only one subscriber's objects. After a failed change the
    session reads the router again before the next one.
    """

    def __init__(self, driver: LinuxRouterDriver, desired: RouterState, actual: ActualState | None = None) -> None:
        self.driver = driver
        self.interfaces = desired.interfaces
        self.policy = desired.block_policy
        self.subscribers: dict[int, Subscriber] = {s.id: s for s in desired.subscribers}
        self.index = driver.index(desired)
        self.actual = actual if actual is not None else driver.read(desired)

    @property
    def desired(self) -> RouterState:
        return RouterState(self.interfaces, tuple(self.subscribers.values()), self.policy)

    def _fresh(self) -> None:
        if getattr(self.actual, "dirty", False):
            self.actual = self.driver.read(self.desired)

    def reconcile(self) -> tuple[Plan, ApplyResult]:
        self._fresh()
        self.driver._check_interfaces(self.interfaces, self.actual)
        plan = plan_changes(self.index, self.actual)
        return plan, self.driver.apply(plan, self.actual)

    def plan_put(self, sub: Subscriber) -> Plan:
        """What ``put`` would change (and does change the session's desired state accordingly)."""
        if sub.interface not in self.interfaces:
            raise InvalidDesiredState(f"interface {sub.interface} is not managed on this router",
                                      router=self.driver.name, subscriber=sub.id)
        if sub.interface not in self.actual.links:
            raise InvalidDesiredState("interface does not exist", router=self.driver.name,
                                      device=sub.interface, subscriber=sub.id)
        leaf = self.driver.leaf_kind() if sub.shaping else (self.driver._leaf or "pfifo")
        objects = subscriber_objects(sub, self.policy, self.driver.options, leaf)
        old = self.index.remove(sub.id)
        try:
            new = self.index.add(sub.id, objects)
        except InvalidDesiredState:
            previous = self.subscribers.get(sub.id)
            if previous is not None:
                self.index.add(previous.id, subscriber_objects(previous, self.policy, self.driver.options, leaf))
            raise
        self.subscribers[sub.id] = sub
        return plan_changes(self.index, self.actual, set(old) | set(new))

    def put(self, sub: Subscriber) -> ApplyResult:
        """Create or change one subscriber."""
        self._fresh()
        return self.driver.apply(self.plan_put(sub), self.actual)

    def remove(self, sub_id: int) -> ApplyResult:
        """Remove everything of one subscriber (and what only it needed)."""
        self._fresh()
        old = self.index.remove(sub_id)
        self.subscribers.pop(sub_id, None)
        return self.driver.apply(plan_changes(self.index, self.actual, set(old)), self.actual)
