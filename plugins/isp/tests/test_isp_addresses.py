"""Pure parts of the IPAM: address keys, containing prefixes, parsers, the CGNAT mapping (hypothesis)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mango_core.tenancy.validators import InvalidValue
from mango_isp.ipam import addresses as ad
from mango_isp.ipam.cgnat import CgnatError, CgnatPlan
from mango_isp.times import MomentError, parse_moment

ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
any_address = st.one_of(ipv4, ipv6)


@given(any_address)
def test_an_address_survives_its_stored_form(address):
    stored = ad.key(int(address))
    assert len(stored) == 32 and stored == stored.lower()
    assert ad.to_address(address.version, stored) == address
    assert ad.parse_address(str(address)) == address


@given(any_address, any_address)
def test_stored_keys_sort_like_the_addresses(a, b):
    if a.version == b.version:
        assert (ad.key(int(a)) < ad.key(int(b))) == (int(a) < int(b))


@given(any_address, st.data())
def test_containing_pairs_are_exactly_the_prefixes_holding_the_address(address, data):
    bits = ad.BITS[address.version]
    pairs = ad.containing_pairs(int(address), address.version)
    assert len(pairs) == bits + 1
    for stored, length in pairs:
        network = ad.to_network(address.version, stored, length)
        assert address in network
    # a prefix of some length holding the address is among them, one that does not is not
    length = data.draw(st.integers(0, bits))
    holder = ipaddress.ip_network(f"{address}/{length}", strict=False)
    assert (ad.key(int(holder.network_address)), length) in set(pairs)
    if length > 0:
        sibling = int(holder.network_address) ^ (1 << (bits - length))  # the other half of the supernet
        assert (ad.key(sibling), length) not in set(pairs)


@given(st.text(max_size=60))
def test_parsers_reject_garbage_with_their_own_error(text):
    for parse in (ad.parse_address, ad.parse_network):
        try:
            parsed = parse(text)
        except ad.AddressError:
            continue
        assert str(parsed)  # whatever parses is a real address or prefix


@pytest.mark.parametrize("bad", ["", "   ", "10.0.0.256", "fe80::1%eth0", "not an address", None, 12, "1" * 200])
def test_bad_addresses_are_refused_clearly(bad):
    with pytest.raises(ad.AddressError):
        ad.parse_address(bad)


def test_a_prefix_with_host_bits_names_the_prefix_meant():
    with pytest.raises(ad.AddressError) as exc:
        ad.parse_network("192.0.2.5/24")
    assert "192.0.2.0/24" in str(exc.value)
    assert ad.parse_network("192.0.2.5") == ipaddress.ip_network("192.0.2.5/32")
    assert ad.compressed(4, ad.key(int(ipaddress.IPv4Address("192.0.2.5"))), 32) == "192.0.2.5"
    assert ad.compressed(6, ad.key(0x20010db8 << 96), 32) == "2001:db8::/32"


def test_moments_typed_by_people():
    from zoneinfo import ZoneInfo

    prague = ZoneInfo("Europe/Prague")
    assert parse_moment("2025-03-01 14:30", prague).isoformat() == "2025-03-01T13:30:00+00:00"
    assert parse_moment("2025-07-01T14:30:00+02:00", prague).isoformat() == "2025-07-01T12:30:00+00:00"
    assert parse_moment("2025-07-01T12:30:00Z", prague).isoformat() == "2025-07-01T12:30:00+00:00"
    assert parse_moment("2025-07-01", prague).isoformat() == "2025-06-30T22:00:00+00:00"
    for bad in ("", "yesterday", "2025-13-01", "x" * 50):
        with pytest.raises(MomentError):
            parse_moment(bad, prague)


# --- CGNAT ---------------------------------------------------------------------------------------


@st.composite
def plans(draw):
    """Valid CGNAT plans: an inside prefix, a public one big enough, a port range and a block size."""
    inside_len = draw(st.integers(20, 30))
    inside = ipaddress.ip_network(f"100.64.0.0/{inside_len}")
    public_len = draw(st.integers(max(22, inside_len - 8), 32))
    public = ipaddress.ip_network(f"198.51.{draw(st.integers(0, 3)) * 64}.0/{public_len}", strict=False)
    first = draw(st.integers(1, 4096))
    last = draw(st.integers(first, 65535))
    public_count = public.num_addresses
    needed_blocks = -(-inside.num_addresses // public_count)
    span = last - first + 1
    if needed_blocks > span:
        last = min(65535, first + needed_blocks - 1)
        span = last - first + 1
        if needed_blocks > span:
            first, last, span = 1, 65535, 65535
    block = draw(st.integers(1, max(1, span // needed_blocks)))
    return CgnatPlan(inside, public, first, last, block)


@given(plans(), st.data())
def test_the_mapping_is_in_range_and_deterministic(plan, data):
    index = data.draw(st.integers(0, plan.inside.num_addresses - 1))
    inside = plan.inside.network_address + index
    block = plan.forward(inside)
    assert block == plan.forward(inside)  # a pure function
    assert block.inside == inside and block.public in plan.public
    assert plan.port_first <= block.first_port <= block.last_port <= plan.port_last
    assert block.last_port - block.first_port + 1 == plan.block_size
    # every port of the block maps back to the same subscriber
    port = data.draw(st.integers(block.first_port, block.last_port))
    assert plan.reverse(block.public, port) == block


@given(plans())
def test_the_mapping_is_a_bijection_onto_distinct_port_blocks(plan):
    seen = {}
    limit = min(plan.inside.num_addresses, 1024)
    for index in range(limit):
        block = plan.forward(plan.inside.network_address + index)
        key = (block.public, block.first_port)
        assert key not in seen, f"{block.inside} and {seen.get(key)} share a port block"
        seen[key] = block.inside
    sharing = plan.sharing(plan.public.network_address)
    assert all(b.public == plan.public.network_address for b in sharing)
    assert [b.first_port for b in sharing] == sorted(b.first_port for b in sharing)


@given(plans(), st.integers(0, 70000))
def test_a_reverse_lookup_finds_at_most_the_one_owner(plan, port):
    public = plan.public.network_address + (port % plan.public.num_addresses)
    found = plan.reverse(public, port)
    if found is not None:
        assert found.first_port <= port <= found.last_port and found.public == public
        assert plan.forward(found.inside) == found
    else:
        owners = [b for b in plan.sharing(public) if b.first_port <= port <= b.last_port]
        assert owners == []


def test_plans_that_cannot_serve_their_inside_prefix_are_refused():
    inside = ipaddress.ip_network("100.64.0.0/22")
    with pytest.raises(CgnatError, match="1024"):
        CgnatPlan(inside, ipaddress.ip_network("198.51.100.0/28"), 1024, 65535, 4096)
    with pytest.raises(CgnatError):
        CgnatPlan(inside, ipaddress.ip_network("198.51.100.0/26"), 2000, 1000, 10)
    with pytest.raises(CgnatError):
        CgnatPlan(inside, ipaddress.ip_network("100.64.0.0/24"), 1024, 65535, 10)
    with pytest.raises(CgnatError):
        CgnatPlan(inside, ipaddress.ip_network("2001:db8::/64"), 1024, 65535, 10)
    assert issubclass(CgnatError, InvalidValue)
    plan = CgnatPlan(inside, ipaddress.ip_network("198.51.100.192/26"), 1024, 65535, 2016)
    assert plan.blocks_per_address == 32 and plan.capacity == 2048
    # the striping: the first subscribers get different public addresses
    assert [str(plan.forward(inside.network_address + i).public) for i in range(3)] == [
        "198.51.100.192", "198.51.100.193", "198.51.100.194"]
    assert plan.forward(inside.network_address + 64).first_port == 1024 + 2016
    assert plan.reverse(ipaddress.IPv4Address("198.51.100.192"), 1023) is None
    assert plan.reverse(ipaddress.IPv4Address("198.51.100.192"), 65535) is None  # a block nobody inside has
