"""The Linux driver's pure parts: desired-state validation, u32 hashing maths, rendering with use counts,
planning (order, cascades, filter placement), nft scripts, error texts. No root needed."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mango_isp.provisioning import (
    Block,
    BlockPolicy,
    Failure,
    InvalidDesiredState,
    Neighbour,
    Network,
    ProvisioningError,
    RouterState,
    Shaping,
    Subscriber,
)
from mango_isp.provisioning.driver import CREATE, DELETE, UPDATE
from mango_isp.provisioning.linux import LinuxOptions
from mango_isp.provisioning.linux import netlink as nl
from mango_isp.provisioning.linux.driver import plan_changes
from mango_isp.provisioning.linux.nft import parse_table, rules_script, sanitize_comment
from mango_isp.provisioning.linux.objects import (
    PLANE_LIST,
    HtbClass,
    LeafQdisc,
    RootQdisc,
    Route,
    U32Bucket,
    U32Leaf,
    U32Plane,
    htb_burst,
    keys_prefix,
    plane_for,
    prefix_keys,
)
from mango_isp.provisioning.linux.readback import ActualState
from mango_isp.provisioning.linux.render import DesiredIndex, build_index, ifb_name, subscriber_objects

OPTIONS = LinuxOptions()


def sub(n: int, **kw) -> Subscriber:  # noqa: ANN003
    return Subscriber(n, "sub0", networks=(f"100.64.0.{n}/32",), gateways=("100.64.0.1/24",), **kw)


# --- desired state ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [1, 0, 0xFFFF, -3, True, "5"])
def test_subscriber_id_must_fit_a_tc_class_minor(bad) -> None:  # noqa: ANN001
    with pytest.raises(InvalidDesiredState, match="subscriber id"):
        Subscriber(bad, "sub0")


def test_state_validation_names_what_is_wrong() -> None:
    with pytest.raises(InvalidDesiredState, match="MAC"):
        Neighbour("100.64.0.5", "02:00:00:00:05")
    with pytest.raises(InvalidDesiredState, match="interface name"):
        Subscriber(5, "eth 0")
    with pytest.raises(InvalidDesiredState, match="ceil below"):
        Shaping(2000, 1000, download_ceil_kbit=1500)
    with pytest.raises(InvalidDesiredState, match="kbit"):
        Shaping(0, 1000)
    with pytest.raises(InvalidDesiredState, match="not a network"):
        Subscriber(5, "sub0", networks=("100.64.0.5/33",))
    with pytest.raises(InvalidDesiredState, match="next hop"):
        Network("2001:db8::/56", via="100.64.0.1")
    with pytest.raises(InvalidDesiredState, match="reason"):
        Block("  ")
    with pytest.raises(InvalidDesiredState, match="twice") as exc:
        RouterState(("sub0",), (sub(5), sub(5)))
    assert exc.value.subscriber == 5
    with pytest.raises(InvalidDesiredState, match="not one of the router's managed"):
        RouterState(("eth1",), (sub(5),))
    assert Neighbour("100.64.0.5", "02-00-00-00-00-AB").mac == "02:00:00:00:00:ab"


# --- u32 hashing maths ----------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "plane"), [
    ("100.64.0.5/32", (4, 32)), ("100.64.0.4/30", (4, 24)), ("100.64.0.0/24", (4, 24)), ("100.64.0.0/20", None),
    ("2001:db8::5/128", (6, 128)), ("2001:db8::/64", (6, 64)), ("2001:db8::/60", (6, 56)),
    ("2001:db8:100::/56", (6, 56)), ("2001:db8::/48", (6, 48)), ("2001:db8::/47", None),
])
def test_each_prefix_length_has_its_hash_plane(prefix: str, plane) -> None:  # noqa: ANN001
    found = plane_for(ipaddress.ip_network(prefix))
    assert (found.version, found.length) == plane if plane else found is None


def test_hash_words_pick_the_last_two_bytes_of_the_prefix() -> None:
    v4 = PLANE_LIST[0]  # IPv4 /32: bytes 2 and 3 of the address
    assert v4.hash_word(1, "dst") == (16, 0x0000FF00) and v4.hash_word(2, "dst") == (16, 0x000000FF)
    assert v4.hash_word(1, "src") == (12, 0x0000FF00)
    v6_56 = next(p for p in PLANE_LIST if (p.version, p.length) == (6, 56))  # bytes 5 and 6
    assert v6_56.hash_word(1, "dst") == (28, 0x00FF0000) and v6_56.hash_word(2, "dst") == (28, 0x0000FF00)
    assert v6_56.buckets(ipaddress.ip_network("2001:db8:12:3400::/56")) == (0x12, 0x34)
    assert len({p.l1_htid for p in PLANE_LIST} | {p.l2_htid(b) for p in PLANE_LIST for b in range(256)}) \
        == len(PLANE_LIST) * 257
    assert max(p.l2_htid(255) for p in PLANE_LIST) < 0x800  # below the kernel's own table ids


def test_prefix_keys_match_tc_notation() -> None:
    assert prefix_keys(ipaddress.ip_network("100.64.0.11/32"), "dst") == ((16, 0xFFFFFFFF, 0x6440000B),)
    assert prefix_keys(ipaddress.ip_network("2001:db8:100::/56"), "src") == (
        (8, 0xFFFFFFFF, 0x20010DB8), (12, 0xFFFFFF00, 0x01000000))


@given(st.one_of(
    st.builds(lambda a, n: ipaddress.IPv4Network((a, n), strict=False), st.integers(0, 2**32 - 1), st.integers(24, 32)),
    st.builds(lambda a, n: ipaddress.IPv6Network((a, n), strict=False), st.integers(0, 2**128 - 1),
              st.integers(48, 128))), st.sampled_from(["dst", "src"]))
def test_prefix_keys_read_back_to_the_same_prefix(prefix, direction: str) -> None:  # noqa: ANN001
    assert keys_prefix(prefix.version, direction, list(prefix_keys(prefix, direction))) == prefix


def test_keys_that_are_no_prefix_are_not_read_as_one() -> None:
    assert keys_prefix(4, "dst", [(16, 0xFF00FF00, 0x64000B00)]) is None  # holes in the mask
    assert keys_prefix(4, "dst", [(12, 0xFFFFFFFF, 1)]) is None  # the source field


def test_htb_burst_is_what_tc_would_compute() -> None:
    ticks, quantum = htb_burst(125_000)  # 1 Mbit/s: 125 + 1600 bytes, 64 ns ticks
    assert ticks == 1725 * 1_000_000_000 // 125_000 // 64 and quantum == 12_500
    assert htb_burst(1_250_000_000)[1] == 200_000


def test_ifb_names_fit_the_kernel_limit() -> None:
    assert ifb_name("sub0") == "ifb-sub0"
    long = ifb_name("vlan-subs-1234")
    assert len(long) <= 15 and long != ifb_name("vlan-subs-1235")


# --- rendering with use counts ----------------------------------------------------------------


def test_shared_objects_stay_while_anyone_needs_them() -> None:
    index = DesiredIndex()
    shaped = Shaping(1000, 1000)
    index.add(5, subscriber_objects(sub(5, shaping=shaped), BlockPolicy(), OPTIONS, "pfifo"))
    index.add(6, subscriber_objects(sub(6, shaping=shaped), BlockPolicy(), OPTIONS, "pfifo"))
    root = RootQdisc("sub0").key
    gateway = next(k for k in index.objects if k[0] == "addr")
    assert index.refs[root] == 2 and index.refs[gateway] == 2
    index.remove(5)
    assert root in index.objects and gateway in index.objects and ("class", "sub0", 5) not in index.objects
    index.remove(6)
    assert index.objects == {} and index.refs == {}


def test_two_subscribers_cannot_claim_one_network() -> None:
    a = Subscriber(5, "sub0", networks=("100.64.0.5/32",))
    b = Subscriber(6, "sub0", networks=(Network("100.64.0.5/32", via="100.64.0.1"),))
    with pytest.raises(InvalidDesiredState, match="conflicts with subscriber 5") as exc:
        build_index((a, b), BlockPolicy(), OPTIONS, "pfifo")
    assert exc.value.subscriber == 6


def test_a_failed_add_leaves_the_index_as_it_was() -> None:
    index = build_index((sub(5),), BlockPolicy(), OPTIONS, "pfifo")
    before = dict(index.refs)
    clash = Subscriber(6, "sub0", networks=(Network("100.64.0.5/32", via="100.64.0.9"),), gateways=("100.64.0.1/24",))
    with pytest.raises(InvalidDesiredState):
        index.add(6, subscriber_objects(clash, BlockPolicy(), OPTIONS, "pfifo"))
    assert index.refs == before and 6 not in index.by_subscriber


def test_a_network_too_short_to_shape_is_refused() -> None:
    wide = Subscriber(5, "sub0", networks=("100.64.0.0/20",), shaping=Shaping(1000, 1000))
    with pytest.raises(InvalidDesiredState, match="too short") as exc:
        subscriber_objects(wide, BlockPolicy(), OPTIONS, "pfifo")
    assert exc.value.subscriber == 5 and exc.value.device == "sub0"
    subscriber_objects(Subscriber(5, "sub0", networks=("100.64.0.0/20",)), BlockPolicy(), OPTIONS, "pfifo")


# --- planning -------------------------------------------------------------------------------------


def test_a_plan_creates_containers_first_and_places_filters_in_free_nodes() -> None:
    index = build_index((sub(5, shaping=Shaping(1000, 1000)),), BlockPolicy(), OPTIONS, "pfifo")
    actual = ActualState()
    taken = U32Leaf("sub0", ipaddress.ip_network("100.66.0.5/32"), "dst", 9, handle=(0x100 << 20) | (5 << 12) | 1)
    actual.add(taken)  # a filter of another subscriber already sits in the same bucket
    plan = plan_changes(index, actual)
    kinds = [type(c.obj).__name__ for c in plan if c.action == CREATE]
    assert kinds.index("RootQdisc") < kinds.index("HtbClass") < kinds.index("LeafQdisc") < kinds.index("U32Plane") \
        < kinds.index("U32Bucket") < kinds.index("U32Leaf")
    classes = [c.obj.minor for c in plan if isinstance(c.obj, HtbClass) and c.obj.dev == "sub0"]
    assert classes == [1, 5]  # HTB would make 1:5 a root class if 1:1 were not there yet
    leaf = next(c.desired for c in plan if c.action == CREATE and isinstance(c.obj, U32Leaf) and c.obj.dev == "sub0")
    assert leaf.handle == (0x100 << 20) | (5 << 12) | 2
    assert [c for c in plan if c.action == DELETE] == [next(c for c in plan if c.key == taken.key)]
    assert next(c for c in plan if isinstance(c.obj, HtbClass) and c.obj.minor == 5).subscriber == 5
    assert next(c for c in plan if isinstance(c.obj, RootQdisc)).subscriber is None


def test_deleting_a_qdisc_takes_its_classes_and_filters_along() -> None:
    actual = ActualState()
    for obj in (RootQdisc("sub0"), HtbClass("sub0", 1, 10, 10), HtbClass("sub0", 5, 10, 10), LeafQdisc("sub0", 5, "pfifo"),
                U32Plane("sub0", 0, "dst"), U32Bucket("sub0", 0, 0, "dst"),
                U32Leaf("sub0", ipaddress.ip_network("100.64.0.5/32"), "dst", 5, handle=(0x100 << 20) | (5 << 12) | 1),
                Route(ipaddress.ip_network("100.64.0.5/32"), "sub0")):
        actual.add(obj)
    plan = plan_changes(DesiredIndex(), actual)
    assert [type(c.obj).__name__ for c in plan] == ["Route", "RootQdisc"]  # the rest goes with the qdisc
    assert len(plan.implied) == 6


def test_a_changed_class_is_an_update_and_a_filter_keeps_its_handle() -> None:
    index = build_index((sub(5, shaping=Shaping(2000, 1000)),), BlockPolicy(), OPTIONS, "pfifo")
    actual = ActualState()
    for obj in index.objects.values():
        if isinstance(obj, U32Leaf):
            htid, b2 = obj.bucket
            obj = obj.with_handle((htid << 20) | (b2 << 12) | 7)
        actual.add(obj)
    assert not plan_changes(index, actual)
    actual.add(HtbClass("sub0", 5, 1000 * 125, 1000 * 125))
    plan = plan_changes(index, actual)
    assert [(c.action, c.obj.describe()) for c in plan] == [
        (UPDATE, "class htb 1:5 on sub0 rate 2000kbit ceil 2000kbit")]


# --- nftables -------------------------------------------------------------------------------------


def test_nft_rules_deny_both_ways_and_redirect_web_to_the_notice() -> None:
    policy = BlockPolicy(notice_ipv4="198.51.100.80", allowed=("192.0.2.53/32",))
    rules = rules_script("mango", policy)
    assert "ip saddr @blocked4 ip daddr { 192.0.2.53/32, 198.51.100.80/32 } accept" in rules
    assert "ip saddr @blocked4 reject with icmp admin-prohibited" in rules
    assert "ip daddr @blocked4 drop" in rules and "ip6 daddr @blocked6 drop" in rules
    assert "tcp dport 80 dnat ip to 198.51.100.80:80" in rules
    assert "dnat ip6" not in rules  # no IPv6 notice server: IPv6 is only denied
    assert sanitize_comment('unpaid "2024"\n\\x') == "unpaid '2024' 'x"
    assert len(sanitize_comment("ř" * 200).encode()) <= 100


def test_nft_listing_is_read_into_networks_and_reasons() -> None:
    doc = {"nftables": [
        {"rule": {"chain": "forward", "comment": "mango-rules abcd"}},
        {"set": {"name": "blocked4", "elem": [{"elem": {"val": "100.64.0.5", "comment": "unpaid"}},
                                              {"elem": {"val": {"prefix": {"addr": "100.64.1.0", "len": 29}},
                                                        "comment": "x"}}]}},
        {"set": {"name": "blocked6", "elem": [{"prefix": {"addr": "2001:db8::", "len": 56}}]}},
    ]}
    digest, elements = parse_table(doc)
    assert digest == "abcd"
    assert elements == {ipaddress.ip_network("100.64.0.5/32"): "unpaid", ipaddress.ip_network("100.64.1.0/29"): "x",
                        ipaddress.ip_network("2001:db8::/56"): ""}


# --- errors and the netlink codec -----------------------------------------------------------------


def test_provisioning_error_lists_failures_with_device_subscriber_and_kernel_text() -> None:
    err = ProvisioningError("2 of 9 changes failed", router="r1", failures=[
        Failure("create route 10.0.0.0/8 dev sub0 [subscriber 5]", device="sub0", subscriber=5, errno=22,
                error="Invalid argument: Nexthop has invalid gateway")] * 12, applied=7)
    text = str(err)
    assert text.startswith("2 of 9 changes failed; router r1\n  create route 10.0.0.0/8")
    assert "(device sub0, subscriber 5): [errno 22] Invalid argument: Nexthop has invalid gateway" in text
    assert "... and 2 more" in text and err.applied == 7


def test_netlink_attributes_round_trip() -> None:
    packed = nl.attr_u32(1, 7) + nl.attr_str(2, "htb") + nl.nested(3, nl.attr_u8(1, 5), nl.attr(2, b"\x01\x02\x03"))
    attrs = nl.parse_attrs(packed)
    assert nl.u32(attrs[1]) == 7 and nl.cstr(attrs[2]) == "htb"
    inner = nl.parse_attrs(attrs[3])
    assert nl.u8(inner[1]) == 5 and bytes(inner[2]) == b"\x01\x02\x03"
    assert len(nl.attr(9, b"abcde")) == 12  # padded to 4 bytes
