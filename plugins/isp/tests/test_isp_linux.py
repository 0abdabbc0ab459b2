"""The Linux router driver against real network namespaces: objects checked with ip/tc/nft, real traffic.

Each test builds its own router, switch, two subscribers (hosts .11 and .12) and an outside host
(see netns_helpers.Topology) and removes them again, also when it fails.
"""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest
from netns_helpers import (
    GATEWAY4,
    GATEWAY6,
    NOTICE4,
    NOTICE6,
    OUTSIDE4,
    OUTSIDE6,
    Topology,
    mac_of,
    sh,
    skip_reason,
)

from mango_isp.provisioning import (
    Block,
    BlockPolicy,
    InvalidDesiredState,
    Neighbour,
    Network,
    ProvisioningError,
    RouterState,
    Shaping,
    Subscriber,
)
from mango_isp.provisioning.linux import LinuxRouterDriver

REASON = skip_reason()
pytestmark = [pytest.mark.netns, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

POLICY = BlockPolicy(notice_ipv4=NOTICE4, notice_ipv6=NOTICE6)


def subscriber(n: int, *, shaping: Shaping | None = None, block: Block | None = None, extra=(),  # noqa: ANN001
               address4: str | None = None, sub_id: int | None = None) -> Subscriber:
    addr4 = address4 or f"100.64.0.{n}"
    return Subscriber(sub_id or n, "sub0", networks=(f"{addr4}/32", f"2001:db8:64::{n:x}/128", *extra),
                      gateways=(GATEWAY4, GATEWAY6),
                      neighbours=(Neighbour(addr4, mac_of(n)), Neighbour(f"2001:db8:64::{n:x}", mac_of(n))),
                      shaping=shaping, block=block)


def state(*subs: Subscriber) -> RouterState:
    return RouterState(("sub0",), subs, POLICY)


def sent_bytes(topo: Topology, dev: str, classid: str) -> int:
    out = topo.tc("-s", "class", "show", "dev", dev, "classid", classid)
    match = re.search(r"Sent (\d+) bytes", out)
    assert match, out
    return int(match.group(1))


@pytest.fixture
def topo():  # noqa: ANN201
    t = Topology()
    try:
        yield t
    finally:
        t.close()


@pytest.fixture
def driver(topo: Topology):  # noqa: ANN201
    d = LinuxRouterDriver(topo.router)
    try:
        yield d
    finally:
        d.close()


def test_apply_creates_addresses_routes_neighbours_and_shaping(topo: Topology, driver: LinuxRouterDriver) -> None:
    s11 = subscriber(11, shaping=Shaping(1000, 2000), extra=(Network("2001:db8:100::/56", via="2001:db8:64::b"),))
    sh("ip", "-n", topo.subs[11], "addr", "add", "2001:db8:100::1/64", "dev", "lo")
    plan, result = driver.reconcile(state(s11, subscriber(12)))
    assert result.created == len(plan) > 20 and result.deleted == result.updated == 0

    addrs = topo.ip("addr", "show", "dev", "sub0")
    assert "inet 100.64.0.1/24" in addrs and "inet6 2001:db8:64::1/64" in addrs
    routes4, routes6 = topo.ip("route", "show", "proto", "77"), topo.ip("-6", "route", "show", "proto", "77")
    assert "100.64.0.11 dev sub0 scope link metric 1024" in routes4
    assert "100.64.0.12 dev sub0 scope link metric 1024" in routes4
    assert "2001:db8:100::/56 via 2001:db8:64::b dev sub0 metric 1024" in routes6
    neigh = topo.ip("neigh", "show", "dev", "sub0")
    assert "100.64.0.11 lladdr 02:00:00:00:00:0b PERMANENT" in neigh
    assert "2001:db8:64::c lladdr 02:00:00:00:00:0c PERMANENT" in neigh

    assert "qdisc htb 1: root" in topo.tc("qdisc", "show", "dev", "sub0")
    assert "qdisc ingress ffff:" in topo.tc("qdisc", "show", "dev", "sub0")
    down, up = topo.tc("class", "show", "dev", "sub0"), topo.tc("class", "show", "dev", "ifb-sub0")
    assert "class htb 1:b parent 1:1 leaf b: prio 0 rate 1Mbit ceil 1Mbit" in down
    assert "class htb 1:b parent 1:1 leaf b: prio 0 rate 2Mbit ceil 2Mbit" in up
    assert "1:c" not in down and "1:c" not in up  # subscriber 12 is not shaped
    filters_down = topo.tc("filter", "show", "dev", "sub0")
    assert "match 6440000b/ffffffff at 16" in filters_down and "*flowid 1:b" in filters_down
    assert "match 01000000/ffffff00 at 28" in filters_down  # the delegated /56 as destination
    assert "hash mask 0000ff00 at 16" in filters_down and "hash mask 000000ff at 16" in filters_down
    filters_up = topo.tc("filter", "show", "dev", "ifb-sub0")
    assert "match 6440000b/ffffffff at 12" in filters_up and "match 01000000/ffffff00 at 12" in filters_up
    assert "Redirect to device ifb-sub0" in topo.tc("filter", "show", "dev", "sub0", "ingress")

    assert topo.ping(topo.subs[11], OUTSIDE4) and topo.ping(topo.subs[11], OUTSIDE6)
    assert topo.ping(topo.subs[12], OUTSIDE4) and topo.ping(topo.subs[12], OUTSIDE6)
    assert topo.ping(topo.outside, "2001:db8:100::1")  # routed via the CPE's address
    # the packets went through the hash tables into subscriber 11's classes, both ways
    assert sent_bytes(topo, "sub0", "1:b") > 0 and sent_bytes(topo, "ifb-sub0", "1:b") > 0


def test_a_loop_running_in_the_thread_does_not_disturb_the_driver(topo: Topology, driver: LinuxRouterDriver) -> None:
    """Playwright's sync API (the browser tests) or an async server leave a running loop in the thread;
    pyroute2's synchronous calls must not try to run on it ("This event loop is already running")."""
    loop = asyncio.new_event_loop()
    previous = asyncio._get_running_loop()  # Playwright's, when browser tests ran before: put it back
    asyncio._set_running_loop(loop)  # what a running loop looks like to code called from inside it
    try:
        changes, _result = driver.reconcile(state(subscriber(11, shaping=Shaping(1000, 1000))))
    finally:
        asyncio._set_running_loop(previous)
        loop.close()
    assert changes
    assert "1:b" in topo.tc("class", "show", "dev", "sub0")


def test_second_apply_changes_nothing(topo: Topology, driver: LinuxRouterDriver) -> None:
    desired = state(subscriber(11, shaping=Shaping(1000, 1000), block=Block("unpaid")),
                    subscriber(12, shaping=Shaping(5000, 2000, 8000, 4000)))
    first, _ = driver.reconcile(desired)
    assert first
    before = (topo.tc("class", "show", "dev", "sub0"), topo.tc("filter", "show", "dev", "ifb-sub0"),
              topo.ip("route", "show", "proto", "77"))
    second, result = driver.reconcile(desired)
    assert not second and result.changes == 0
    assert not driver.diff(desired, driver.read(desired))
    with LinuxRouterDriver(topo.router) as fresh:  # a new process's view agrees too
        assert not fresh.diff(desired, fresh.read(desired))
    after = (topo.tc("class", "show", "dev", "sub0"), topo.tc("filter", "show", "dev", "ifb-sub0"),
             topo.ip("route", "show", "proto", "77"))
    assert before == after

    # a new notice server changes the nftables rules only; the blocked set stays as it is
    moved = RouterState(desired.interfaces, desired.subscribers, BlockPolicy(notice_ipv4="198.51.100.81"))
    plan = driver.diff(moved, driver.read(moved))
    assert [c.action for c in plan] == ["update"] and "nftables table" in plan.describe()[0]
    driver.apply(plan, driver.read(moved))
    ruleset = sh("ip", "netns", "exec", topo.router, "nft", "list", "table", "inet", "mango").stdout
    assert "dnat ip to 198.51.100.81:80" in ruleset and NOTICE4 not in ruleset and "100.64.0.11" in ruleset
    assert not driver.diff(moved, driver.read(moved))


def test_block_denies_and_redirects_web_then_unblock_restores(topo: Topology, driver: LinuxRouterDriver) -> None:
    s11, s12 = topo.subs[11], topo.subs[12]
    topo.http_server(topo.outside, OUTSIDE4, "the internet")
    topo.http_server(topo.outside, NOTICE4, "selfcare notice")
    blocked = subscriber(11, block=Block('unpaid invoice 2024/0042 "final"'))
    session = driver.session(state(blocked, subscriber(12)))
    session.reconcile()

    assert topo.icmp(s11, OUTSIDE4) == "unreachable 13"  # admin-prohibited
    assert topo.icmp(s11, OUTSIDE6) == "unreachable 1"
    assert topo.icmp(topo.outside, "100.64.0.11") == "timeout"  # nothing gets in either
    assert topo.http_get(s11, f"http://{OUTSIDE4}/") == "selfcare notice"
    assert topo.http_get(s11, f"http://{NOTICE4}/") == "selfcare notice"  # the notice server is allowed
    assert topo.ping(s12, OUTSIDE4) and topo.http_get(s12, f"http://{OUTSIDE4}/") == "the internet"
    listing = sh("ip", "netns", "exec", topo.router, "nft", "list", "set", "inet", "mango", "blocked4").stdout
    assert "100.64.0.11" in listing and "unpaid invoice 2024/0042 'final'" in listing
    assert "100.64.0.12" not in listing

    result = session.put(subscriber(11))
    assert result.deleted == 3  # two set elements and the table (nobody else is blocked)
    assert topo.ping(s11, OUTSIDE4) and topo.ping(s11, OUTSIDE6) and topo.ping(topo.outside, "100.64.0.11")
    assert topo.http_get(s11, f"http://{OUTSIDE4}/") == "the internet"
    assert "mango" not in sh("ip", "netns", "exec", topo.router, "nft", "list", "tables").stdout

    session.put(subscriber(12, block=Block("abuse")))
    assert topo.icmp(s12, OUTSIDE4) == "unreachable 13" and topo.ping(s11, OUTSIDE4)
    result = session.put(subscriber(12, block=Block("abuse, second notice")))
    assert result.updated == 2 and result.created == result.deleted == 0
    listing = sh("ip", "netns", "exec", topo.router, "nft", "list", "set", "inet", "mango", "blocked6").stdout
    assert 'comment "abuse, second notice"' in listing and "2001:db8:64::c" in listing


def test_shaping_limits_a_transfer(topo: Topology, driver: LinuxRouterDriver) -> None:
    s11, s12 = topo.subs[11], topo.subs[12]
    session = driver.session(state(subscriber(11, shaping=Shaping(1000, 1000)), subscriber(12)))
    session.reconcile()
    download = topo.throughput(topo.outside, s11, "100.64.0.11")
    upload = topo.throughput(s11, topo.outside, OUTSIDE4)
    unshaped = topo.throughput(topo.outside, s12, "100.64.0.12", seconds=1.0)
    assert 0.5e6 < download < 1.3e6, download
    assert 0.5e6 < upload < 1.3e6, upload
    assert unshaped > 20e6, unshaped

    session.put(subscriber(11, shaping=Shaping(8000, 1000)))
    faster = topo.throughput(topo.outside, s11, "100.64.0.11")
    assert 5e6 < faster < 9.5e6, faster


def test_one_subscriber_change_touches_only_its_objects(topo: Topology, driver: LinuxRouterDriver) -> None:
    subs = [subscriber(n, shaping=Shaping(1000 * n, 500 * n)) for n in (11, 12, 13)]
    desired = state(*subs)
    session = driver.session(desired)
    session.reconcile()

    plan = session.plan_put(subscriber(11, shaping=Shaping(20000, 10000)))
    assert sorted(plan.describe()) == [
        "update class htb 1:b on ifb-sub0 rate 10000kbit ceil 10000kbit [subscriber 11]",
        "update class htb 1:b on sub0 rate 20000kbit ceil 20000kbit [subscriber 11]",
    ]
    driver.apply(plan, session.actual)
    assert "class htb 1:b parent 1:1 leaf b: prio 0 rate 20Mbit ceil 20Mbit" in topo.tc("class", "show", "dev", "sub0")
    assert not driver.diff(session.desired, driver.read(session.desired))

    result = session.remove(12)
    assert result.deleted > 0 and result.created == 0
    assert "6440000c" not in topo.tc("filter", "show", "dev", "sub0")
    assert "1:c" not in topo.tc("class", "show", "dev", "ifb-sub0")
    assert "100.64.0.12" not in topo.ip("route", "show", "proto", "77")
    assert "100.64.0.12" not in topo.ip("neigh", "show", "dev", "sub0")
    assert "100.64.0.1/24" in topo.ip("addr", "show", "dev", "sub0")  # still the gateway of 11 and 13
    assert not driver.diff(session.desired, driver.read(session.desired))
    assert topo.ping(topo.subs[11], OUTSIDE4)

    session.remove(11)
    session.remove(13)
    assert "htb" not in topo.tc("qdisc", "show", "dev", "sub0")
    assert "ingress" not in topo.tc("qdisc", "show", "dev", "sub0")
    assert "ifb-sub0" not in topo.ip("link", "show")
    assert topo.ip("route", "show", "proto", "77") == "" and topo.ip("-6", "route", "show", "proto", "77") == ""
    assert "PERMANENT" not in topo.ip("neigh", "show", "dev", "sub0")
    assert "100.64.0.1/24" not in topo.ip("addr", "show", "dev", "sub0")


def test_drift_is_found_and_repaired(topo: Topology, driver: LinuxRouterDriver) -> None:
    desired = state(subscriber(11, shaping=Shaping(1000, 1000)), subscriber(12, shaping=Shaping(2000, 2000)))
    driver.reconcile(desired)
    leaf = next(o for o in driver.read(desired).objects.values()
                if type(o).__name__ == "U32Leaf" and o.dev == "sub0" and str(o.prefix) == "100.64.0.12/32")
    handle = f"{leaf.handle >> 20:x}:{(leaf.handle >> 12) & 0xFF:x}:{leaf.handle & 0xFFF:x}"
    sh("tc", "-n", topo.router, "class", "change", "dev", "sub0", "parent", "1:1", "classid", "1:b", "htb",
       "rate", "5mbit")
    sh("tc", "-n", topo.router, "filter", "del", "dev", "sub0", "parent", "1:", "prio", "10", "handle", handle,
       "protocol", "ip", "u32")
    sh("ip", "-n", topo.router, "route", "del", "100.64.0.12", "dev", "sub0", "proto", "77")
    sh("ip", "-n", topo.router, "neigh", "del", "100.64.0.11", "dev", "sub0")
    sh("ip", "-n", topo.router, "route", "add", "100.64.9.9", "dev", "sub0", "proto", "77", "metric", "1024")
    sh("ip", "-n", topo.router, "route", "add", "100.64.8.8", "dev", "sub0")  # not Mango's: left alone

    plan = driver.diff(desired, driver.read(desired))
    assert sorted(plan.describe()) == sorted([
        "update class htb 1:b on sub0 rate 1000kbit ceil 1000kbit [subscriber 11]",
        f"create u32 filter dst 100.64.0.12/32 -> 1:c on sub0 handle {handle} [subscriber 12]",
        "create route 100.64.0.12/32 dev sub0 [subscriber 12]",
        "create neighbour 100.64.0.11 lladdr 02:00:00:00:00:0b on sub0 [subscriber 11]",
        "delete route 100.64.9.9/32 dev sub0",
    ])
    driver.apply(plan, driver.read(desired))
    assert not driver.diff(desired, driver.read(desired))
    assert "100.64.8.8 dev sub0" in topo.ip("route")
    assert topo.ping(topo.subs[12], OUTSIDE4)
    assert sent_bytes(topo, "sub0", "1:c") > 0


def test_colliding_hash_buckets_and_many_subscribers(topo: Topology, driver: LinuxRouterDriver) -> None:
    many = [Subscriber(100 + i, "sub0", networks=(f"100.65.{i // 200}.{i % 200 + 20}/32",
                                                  f"2001:db8:65:{i:x}::/64"),
                       shaping=Shaping(1000, 1000)) for i in range(400)]
    # same last two address bytes as subscriber 11 (0.11): the same level-1 and level-2 bucket
    twin = Subscriber(600, "sub0", networks=("100.66.0.11/32",), shaping=Shaping(1000, 1000))
    desired = state(subscriber(11, shaping=Shaping(1000, 1000)), subscriber(12, shaping=Shaping(1000, 1000)),
                    twin, *many)
    plan, result = driver.reconcile(desired)
    assert result.created == len(plan)
    assert not driver.diff(desired, driver.read(desired))
    filters = topo.tc("filter", "show", "dev", "sub0")
    assert filters.count("*flowid") == 2 * 2 + 1 + 2 * 400
    assert "fh 100:b:1 " in filters and "fh 100:b:2 " in filters  # two nodes in one bucket
    assert topo.ping(topo.subs[11], OUTSIDE4) and topo.ping(topo.subs[12], OUTSIDE6)
    assert sent_bytes(topo, "sub0", "1:b") > 0 and sent_bytes(topo, "ifb-sub0", "1:c") > 0
    assert sent_bytes(topo, "sub0", "1:258") == 0  # the twin saw none of subscriber 11's packets

    session = driver.session(desired, driver.read(desired))
    session.remove(11)  # its bucket keeps the twin's filter
    filters = topo.tc("filter", "show", "dev", "sub0")
    assert "match 6442000b/ffffffff at 16" in filters and "6440000b" not in filters
    assert not driver.diff(session.desired, driver.read(session.desired))


def test_errors_name_the_device_subscriber_and_kernel_reason(topo: Topology, driver: LinuxRouterDriver) -> None:
    missing = RouterState(("sub0", "nosuch0"), (Subscriber(7, "nosuch0", networks=("100.64.7.7/32",)),), POLICY)
    with pytest.raises(InvalidDesiredState) as exc:
        driver.reconcile(missing)
    assert "nosuch0" in str(exc.value) and exc.value.subscriber == 7
    assert topo.ip("route", "show", "proto", "77") == ""  # nothing was changed

    # a next hop that is not on the link: the kernel refuses that route, the rest goes in
    bad = subscriber(11, shaping=Shaping(1000, 1000), extra=(Network("2001:db8:100::/56", via="2001:db8:99::1"),))
    with pytest.raises(ProvisioningError) as exc:
        driver.reconcile(state(bad))
    err = exc.value
    assert len(err.failures) == 1 and err.applied > 20
    failure = err.failures[0]
    assert failure.device == "sub0" and failure.subscriber == 11 and failure.errno
    assert failure.change == "create route 2001:db8:100::/56 via 2001:db8:99::1 dev sub0 [subscriber 11]"
    assert "route 2001:db8:100::/56" in str(err) and "subscriber 11" in str(err)
    assert "100.64.0.11 dev sub0" in topo.ip("route", "show", "proto", "77")

    fixed = state(subscriber(11, shaping=Shaping(1000, 1000)))
    driver.reconcile(fixed)
    assert not driver.diff(fixed, driver.read(fixed))


def test_a_missing_namespace_is_a_clear_error() -> None:
    with LinuxRouterDriver("mango-no-such-netns") as d, pytest.raises(ProvisioningError) as exc:
        d.read(state())
    assert "mango-no-such-netns" in str(exc.value)
    assert subprocess.run(["ip", "netns", "pids", "mango-no-such-netns"], capture_output=True,
                          check=False).returncode != 0  # and it was not created by accident
