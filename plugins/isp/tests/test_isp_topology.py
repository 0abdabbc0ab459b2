"""Topology data: interfaces, links, service dependencies; impact of a device through the links (with
redundant uplinks) and the path of a customer."""

from __future__ import annotations

import pytest

from mango_core.devices import service as devices
from mango_core.devices.models import Device
from mango_core.services import lifecycle
from mango_core.services import service as services
from mango_core.testing.factories import make_row
from mango_isp.topology import service as topology
from mango_isp.topology.service import Graph, TopologyError


@pytest.fixture
def network(db, world, in_loc):  # noqa: ANN001, ANN201
    """core ─ dist1 ─ ap1 ─ cpe1
                   └ ap2 ─ cpe2
            dist2 ─ ap2   (ap2 has a second uplink through dist2: redundant)
    core ─ dist2 (a cable); dist1 is under core by the core's uplink tree (parent_id)."""
    with in_loc(world.loc_a):
        site = devices.create_site(db, name="Stožár Žižkov", latitude="50.0842", longitude="14.4512")
        nodes = {}
        for name in ("core", "dist1", "dist2", "ap1", "ap2", "cpe1", "cpe2"):
            nodes[name] = make_row(db, Device, name=name, sort_name=name, site_id=site.id)
        nodes["dist1"].parent_id = nodes["core"].id
        db.flush()
        ports = {}

        def port(device: str, name: str, kind: str = "ethernet"):  # noqa: ANN202
            ports[(device, name)] = topology.add_interface(db, nodes[device], name=name, kind=kind)
            return ports[(device, name)]

        topology.connect(db, port("core", "sfp2", "sfp"), port("dist2", "sfp1", "sfp"), kind="fiber")
        topology.connect(db, port("dist1", "ether2"), port("ap1", "ether1"))
        topology.connect(db, port("dist1", "ether3"), port("ap2", "ether1"))
        topology.connect(db, port("dist2", "ether2"), port("ap2", "ether2"))
        topology.connect(db, port("ap1", "wlan1", "wireless"), port("cpe1", "wlan1", "wireless"), kind="wireless")
        topology.connect(db, port("ap2", "wlan1", "wireless"), port("cpe2", "wlan1", "wireless"), kind="wireless")
        db.commit()
    return nodes, ports


def test_interfaces_and_links_are_checked(db, world, in_loc, network):
    nodes, ports = network
    with in_loc(world.loc_a):
        with pytest.raises(TopologyError, match="name already"):
            topology.add_interface(db, nodes["core"], name="sfp2")
        with pytest.raises(TopologyError, match="MAC"):
            topology.add_interface(db, nodes["core"], name="ether9", mac="nope")
        with pytest.raises(TopologyError, match="Mbit"):
            topology.add_interface(db, nodes["core"], name="ether9", speed_mbps="-5")
        with pytest.raises(TopologyError, match="loop"):  # cpe1 is fed by ap1: it cannot feed it
            topology.connect(db, ports[("cpe1", "wlan1")], ports[("ap1", "ether1")])
        with pytest.raises(TopologyError, match="loop"):  # nor can dist1 be fed by what its tree feeds
            topology.connect(db, ports[("ap1", "wlan1")], topology.add_interface(db, nodes["core"], name="x1"))
        with pytest.raises(TopologyError, match="two different devices"):
            topology.connect(db, ports[("ap1", "wlan1")], ports[("ap1", "ether1")])
        with pytest.raises(TopologyError, match="linked already"):
            topology.connect(db, ports[("dist1", "ether2")], ports[("ap1", "ether1")])
        assert [(lk.upstream.name, lk.downstream.device.name) for lk in topology.links_of(db, nodes["ap1"].id)] == [
            ("ether2", "ap1"), ("wlan1", "cpe1")]


def test_impact_follows_links_and_spares_devices_with_another_uplink(db, world, in_loc, network, make_service):
    nodes, ports = network
    one, two, three = make_service(), make_service(), make_service()
    with in_loc(world.loc_a):
        services.link_device(db, one, nodes["cpe1"].id)  # the core's service devices count
        topology.depend(db, two, nodes["ap2"], interface=ports[("ap2", "wlan1")])
        topology.depend(db, three, nodes["dist2"])
        with pytest.raises(TopologyError, match="depends on it already"):
            topology.depend(db, three, nodes["dist2"])
        with pytest.raises(TopologyError, match="another device"):
            topology.depend(db, three, nodes["ap1"], interface=ports[("ap2", "wlan1")])

        def cut(name: str) -> set[str]:
            found = topology.impact(db, nodes[name].id)
            names = {n.name for n in db.query(Device).filter(Device.id.in_(found.device_ids))}
            return names, {s.id for s in found.services}, {c.id for c in found.customers}

        # dist1 down: ap1 and cpe1 are cut off; ap2 still has its uplink through dist2
        names, service_ids, customer_ids = cut("dist1")
        assert names == {"dist1", "ap1", "cpe1"}
        assert service_ids == {one.id} and customer_ids == {one.customer_id}
        # dist2 down: ap2 survives through dist1; only dist2's own dependants are hit
        assert cut("dist2")[0] == {"dist2"} and cut("dist2")[1] == {three.id}
        # the core down: everything
        assert cut("core")[0] == {"core", "dist1", "dist2", "ap1", "ap2", "cpe1", "cpe2"}
        assert cut("core")[1] == {one.id, two.id, three.id}
        # a terminated service is not affected any more
        lifecycle.terminate(db, one, effective=one.start_date, reason="Konec")
        assert cut("dist1")[1] == set()
        # the path of a customer: from the CPE up to the core
        assert [d.name for d in topology.path_of_service(db, two)] == ["ap2", "dist1", "core"]
        assert topology.path_of_service(db, make_service()) == []


def test_the_graph_walks(network, db, world, in_loc):
    nodes, _ports = network
    with in_loc(world.loc_a):
        graph = Graph.load(db)
    ids = {name: d.id for name, d in nodes.items()}
    assert graph.roots == {ids["core"]}
    assert graph.below(ids["dist1"]) == {ids["dist1"], ids["ap1"], ids["ap2"], ids["cpe1"], ids["cpe2"]}
    with in_loc(world.loc_a):
        assert topology.path_up(db, ids["cpe2"]) == [ids["cpe2"], ids["ap2"], ids["dist1"], ids["core"]]
        assert topology.path_up(db, ids["core"]) == [ids["core"]]
    # a loop with no root above it: the device's own subtree is cut off, and a path stops
    graph.add(ids["cpe1"], 10**9)
    graph.add(10**9, 10**9 + 1)
    graph.add(10**9 + 1, 10**9)
    assert graph.cut_off(ids["cpe1"]) == {ids["cpe1"], 10**9, 10**9 + 1}


def test_deleting_a_device_takes_its_interfaces_and_links(db, world, in_loc, network):
    nodes, ports = network
    with in_loc(world.loc_a):
        topology.delete_interface(db, ports[("cpe2", "wlan1")])
        devices.delete_device(db, nodes["cpe2"])
        db.expire_all()
        assert [lk.downstream.device.name for lk in topology.links_of(db, nodes["ap2"].id)] == ["ap2", "ap2"]
        devices.delete_device(db, nodes["cpe1"])  # the database removes its interface and link with it
        db.expire_all()
        assert [lk.downstream.device.name for lk in topology.links_of(db, nodes["ap1"].id)] == ["ap1"]
        assert topology.interfaces_of(db, nodes["cpe1"].id) == []
