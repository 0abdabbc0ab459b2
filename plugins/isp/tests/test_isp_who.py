""""Who had address X at time T": directly assigned addresses and prefixes, CGNAT public address and
port through the configuration valid then, the command line, and the customer search box."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import pytest

from mango_isp.ipam import assignments as asg
from mango_isp.ipam import nat
from mango_isp.ipam import prefixes as px
from mango_isp.ipam.lookup import who_had
from mango_isp.ipam.prefixes import IpamError

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


@pytest.fixture
def cgnat(db, world, in_loc, make_service):  # noqa: ANN001, ANN201
    """PRG: public 198.51.100.0/24 with a /30 for CGNAT; inside 100.64.0.0/28 (16 addresses).

    Version 1 (from day 0): public 198.51.100.192/30, ports 1024–65535, 8064 ports each (8 blocks).
    Version 2 (from day 10): public 198.51.100.192/31, 4000 ports each.
    """
    subscribers = [make_service() for _ in range(3)]
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="198.51.100.0/24", kind="public")
        inside = px.create_prefix(db, prefix="100.64.0.0/28", kind="cgnat", is_pool=True, unit_prefixlen=32)
        first = nat.configure(db, inside, public="198.51.100.192/30", port_first=1024, port_last=65535,
                              block_size=8064, at=at(0))
        held = [asg.allocate(db, s, inside, valid_from=at(0)) for s in subscribers]
        # the third subscriber leaves on day 5; a fourth gets the same inside address on day 6
        asg.release(db, held[2], at=at(5))
        newcomer = make_service()
        fourth = asg.allocate(db, newcomer, inside, valid_from=at(6))
        second = nat.configure(db, inside, public="198.51.100.192/31", port_first=1024, port_last=65535,
                               block_size=4000, at=at(10))
        db.commit()
    return {"inside": inside, "services": [*subscribers, newcomer], "held": [*held, fourth],
            "versions": (first, second)}


def test_a_public_address_and_port_of_cgnat_resolve_to_one_subscriber(db, world, in_loc, cgnat):
    first, second, third, fourth = cgnat["services"]
    with in_loc(world.loc_a):
        plan = cgnat["versions"][0].plan()
        assert [h.text for h in cgnat["held"]] == ["100.64.0.1", "100.64.0.2", "100.64.0.3", "100.64.0.3"]
        # version 1: .1 → public .193 (index 1 of 4), ports 1024–9087; .3 → .195
        block = plan.forward(ipaddress.IPv4Address("100.64.0.1"))
        assert (str(block.public), block.first_port, block.last_port) == ("198.51.100.193", 1024, 9087)
        [h] = who_had(db, "198.51.100.193", at(1), port=5000)
        assert (h.service_id, h.assigned, h.nat.inside, h.nat.public, h.nat.first_port) == (
            first.id, "100.64.0.1", "100.64.0.1", "198.51.100.193", 1024)
        # the same public address and port on day 3 and day 7 belong to the two holders of 100.64.0.3
        assert [h.service_id for h in who_had(db, "198.51.100.195", at(3), port=2000)] == [third.id]
        assert [h.service_id for h in who_had(db, "198.51.100.195", at(7), port=2000)] == [fourth.id]
        # after the change of day 10 the mapping differs: .1 is now on public .193 ports 1024–5023
        assert who_had(db, "198.51.100.195", at(11), port=2000) == []  # .195 is not public any more
        [h] = who_had(db, "198.51.100.193", at(11), port=5000)
        assert h.service_id == first.id and (h.nat.first_port, h.nat.last_port) == (1024, 5023)
        [h] = who_had(db, "198.51.100.193", at(11), port=6000)  # the next block on .193 is .3's
        assert h.service_id == fourth.id and h.nat.inside == "100.64.0.3"
        # a port nobody has (below the range) and a moment before any configuration
        assert who_had(db, "198.51.100.193", at(1), port=80) == []
        assert who_had(db, "198.51.100.193", at(-1), port=5000) == []


def test_without_a_port_everyone_sharing_the_public_address_is_listed(db, world, in_loc, cgnat):
    first, second, third, fourth = cgnat["services"]
    with in_loc(world.loc_a):
        sharing = who_had(db, "198.51.100.193", at(11))
        # version 2 stripes 16 inside addresses over 2 public ones: .193 carries the odd inside addresses
        assert [(h.nat.inside, h.service_id) for h in sharing] == [("100.64.0.1", first.id),
                                                                   ("100.64.0.3", fourth.id)]
        assert [h.nat.first_port for h in sharing] == [1024, 5024]


def test_configuration_rules(db, world, in_loc, cgnat, make_service):
    inside = cgnat["inside"]
    with in_loc(world.loc_a):
        current = nat.current(db, inside)
        assert nat.configure(db, inside, public="198.51.100.192/31", port_first=1024, port_last=65535,
                             block_size=4000, at=at(20)) is current  # nothing changed: no new version
        with pytest.raises(IpamError, match="no public prefix"):
            nat.configure(db, inside, public="203.0.113.0/30", block_size=4000, at=at(20))
        with pytest.raises(IpamError, match="before the current"):
            nat.configure(db, inside, public="198.51.100.200/30", block_size=4000, at=at(5))
        other = px.create_prefix(db, prefix="100.64.1.0/28", kind="cgnat", is_pool=True)
        with pytest.raises(IpamError, match="is used by the CGNAT"):
            nat.configure(db, other, public="198.51.100.192/30", block_size=4000, at=at(20))
        with pytest.raises(IpamError, match="Only a CGNAT"):
            nat.configure(db, px.create_prefix(db, prefix="10.0.0.0/24"), public="198.51.100.0/30",
                          block_size=100)
        with pytest.raises(IpamError):  # the capacity check of the plan
            nat.configure(db, other, public="198.51.100.200/32", block_size=30000, at=at(20))
        # a public address used for CGNAT cannot be given to a customer, nor the other way round
        with pytest.raises(IpamError, match="CGNAT"):
            asg.assign(db, make_service(), "198.51.100.192", valid_from=at(20))
        asg.assign(db, make_service(), "198.51.100.50", valid_from=at(20))
        with pytest.raises(IpamError, match="198.51.100.50"):
            nat.configure(db, other, public="198.51.100.48/30", block_size=4000, at=at(21))
        assert [v.public_cidr for v in nat.versions(db, inside)] == ["198.51.100.192/31", "198.51.100.192/30"]
        with pytest.raises(IpamError, match="CGNAT"):
            px.update_prefix(db, inside, kind="private")
        with pytest.raises(IpamError, match="CGNAT configuration uses"):
            px.delete_prefix(db, px.create_prefix(db, prefix="198.51.100.192/29", kind="public"))
        stopped = nat.stop(db, inside, at=at(30))
        assert stopped.valid_to == at(30) and nat.current(db, inside) is None


def test_prefix_assignments_hold_every_address_in_them(db, world, in_loc, make_service):
    business = make_service()
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="2001:db8::/32", kind="public")
        asg.assign(db, business, "2001:db8:10::/48", valid_from=at(0))
        [h] = who_had(db, "2001:db8:10:ffff::42", at(1))
        assert h.service_id == business.id and h.assigned == "2001:db8:10::/48" and h.nat is None
        assert who_had(db, "2001:db8:11::1", at(1)) == []
        with pytest.raises(IpamError):
            who_had(db, "not-an-ip", at(1))


def test_the_command_line_answers_in_json_and_text(app, db, world, in_loc, cgnat):
    from mango_core.cli import main

    first = cgnat["services"][0]
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["isp", "who", "--ip", "198.51.100.193", "--at", "2025-01-02T00:00:00+00:00",
                                  "--port", "5000", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["at"] == "2025-01-02T00:00:00+00:00" and payload["port"] == 5000
    [holder] = payload["holders"]
    assert (holder["service_id"], holder["location"], holder["nat"]["inside"]) == (first.id, "PRG", "100.64.0.1")
    assert holder["customer_number"] == first.customer.number
    # local time of the configured zone (Europe/Prague: UTC+1 in winter), limited to a location
    result = runner.invoke(main, ["isp", "who", "--ip", "100.64.0.1", "--at", "2025-01-02 01:00",
                                  "--location", "prg"])
    assert result.exit_code == 0, result.output
    assert f"service #{first.id}" in result.output and "PRG" in result.output
    result = runner.invoke(main, ["isp", "who", "--ip", "100.64.0.1", "--at", "2025-01-02 01:00",
                                  "--location", "BRN"])
    assert result.exit_code != 0 and "not enabled" in result.output  # the module is off in BRN
    result = runner.invoke(main, ["isp", "who", "--ip", "100.64.0.9", "--at", "2025-01-02 01:00"])
    assert result.exit_code == 0 and "Nobody had 100.64.0.9" in result.output
    for bad in (["--ip", "999.1.1.1"], ["--ip", "100.64.0.1", "--at", "včera"], ["--ip", "1.1.1.1", "--location", "XYZ"]):
        result = runner.invoke(main, ["isp", "who", *bad])
        assert result.exit_code != 0 and "Traceback" not in result.output


def test_the_search_box_finds_customers_by_address(db, world, in_loc, cgnat):
    from mango_core.customers.search import plugin_matches
    from mango_core.db import utcnow

    first = cgnat["services"][0]
    fourth = cgnat["services"][3]
    with in_loc(world.loc_a):
        assert plugin_matches(db, "100.64.0.1") == {first.customer_id}
        assert plugin_matches(db, " 100.64.0.3 ") == {fourth.customer_id}
        assert plugin_matches(db, "100.64.0.0/29") >= {first.customer_id, fourth.customer_id}
        assert plugin_matches(db, "100.64.0.9") == set()
        assert plugin_matches(db, "Novák") == set()
    assert utcnow() > at(10)
