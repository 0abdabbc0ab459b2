"""The network map and the topology graph: the layout, the monitoring states they are drawn in,
the data (scoped to the location), the pages (permissions, CSP, the path of a customer)."""

from __future__ import annotations

import re

import pytest

from mango_core.devices import service as devices
from mango_core.devices.models import Device
from mango_core.services import service as services
from mango_core.tenancy import operator_scope
from mango_core.tenancy.models import LocationModule
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post
from mango_isp.maps import layout, states
from mango_isp.maps import service as maps
from mango_isp.maps.views import tile_origin
from mango_isp.topology import service as topology

# --- layout -------------------------------------------------------------------------------------


def test_layout_puts_the_core_on_top_and_each_device_below_its_feeder():
    #   1 ─ 2 ─ 4
    #     └ 3 ─ 5, and 3 ─ 4 (a second uplink of 4)
    edges = [(1, 2), (1, 3), (2, 4), (3, 5), (3, 4)]
    drawn = layout.layered_layout([1, 2, 3, 4, 5], edges, sort_key={1: "core", 2: "a", 3: "b", 4: "x", 5: "y"})
    assert drawn.depth == {1: 0, 2: 1, 3: 1, 4: 2, 5: 2}
    y = {n: drawn.positions[n][1] for n in drawn.positions}
    assert y[1] < y[2] == y[3] < y[4] == y[5]
    x = {n: drawn.positions[n][0] for n in drawn.positions}
    assert x[2] < x[3]  # ordered by name among roots' children
    assert x[4] < x[5]  # 4 hangs under 2 and 3 (mean left of 5's feeder 3)
    assert len(set(drawn.positions.values())) == 5  # no two devices on one spot
    assert all(layout.MARGIN <= px <= drawn.width - layout.MARGIN + 1e-9 for px, _ in drawn.positions.values())
    assert drawn.height == 2 * layout.MARGIN + 2 * layout.V_GAP
    # the same input in another order draws the same picture
    again = layout.layered_layout([5, 4, 3, 2, 1], list(reversed(edges)),
                                  sort_key={1: "core", 2: "a", 3: "b", 4: "x", 5: "y"})
    assert again.positions == drawn.positions


def test_layout_copes_with_loops_self_edges_strangers_and_nothing():
    drawn = layout.layered_layout([7, 8, 9, 10], [(7, 8), (8, 9), (9, 7), (10, 10), (10, 99)])
    # a loop nothing feeds starts at its first device; 10 stands alone; the edge to 99 is ignored
    assert drawn.depth == {7: 0, 8: 1, 9: 2, 10: 0}
    assert set(drawn.positions) == {7, 8, 9, 10}
    assert len(set(drawn.positions.values())) == 4
    empty = layout.layered_layout([], [])
    assert empty.positions == {} and empty.width == 2 * layout.MARGIN


# --- monitoring state ---------------------------------------------------------------------------


def test_states_outside_what_the_map_knows_are_unknown(monkeypatch):
    asked = []

    def current_states(session, ids):  # noqa: ANN001, ANN202
        asked.append(ids)
        return {1: "up", 2: "down", 3: "on fire"}

    monkeypatch.setattr(states, "current_states", current_states)
    assert states.device_states(None, [4, 1, 2, 3, 1]) == {1: "up", 2: "down", 3: "unknown", 4: "unknown"}
    assert asked == [[1, 2, 3, 4]]
    assert states.device_states(None, []) == {} and asked == [[1, 2, 3, 4]]  # nothing to ask about


# --- the tile server ----------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "origin"), [
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.tile.example.net:8443/{z}/{x}/{y}.png", "https://*.tile.example.net:8443"),
    ("http://tiles.isp.local/{z}/{x}/{y}.png", "http://tiles.isp.local"),
    ("/tiles/{z}/{x}/{y}.png", None),
    ("javascript:alert(1)", None),
    ("https://evil.example; script-src *", None),
    ("", None),
])
def test_tile_origin_for_the_content_security_policy(template, origin):
    assert tile_origin(template) == origin


# --- the data -----------------------------------------------------------------------------------


@pytest.fixture
def networks(db, world, in_loc, make_service):  # noqa: ANN001, ANN201
    """In PRG: core ─(fibre) dist ─ ap ─(radio) cpe, core and dist at one site; the customer's
    service on cpe. In BRN: one device "brn-core" at a site of its own."""
    made = {}
    service = make_service(world.loc_a)
    with in_loc(world.loc_a):
        hill = devices.create_site(db, name="Kopec", latitude="50.1", longitude="14.4")
        field = devices.create_site(db, name="Pole", latitude="50.2", longitude="14.5")
        nodes = {name: make_row(db, Device, name=name, sort_name=name, site_id=site.id if site else None)
                 for name, site in (("core", hill), ("dist", hill), ("ap", field), ("cpe", None))}
        nodes["dist"].parent_id = nodes["core"].id
        db.flush()

        def port(device: str, name: str):  # noqa: ANN202
            return topology.add_interface(db, nodes[device], name=name)

        topology.connect(db, port("core", "sfp1"), port("dist", "sfp1"), kind="fiber")
        topology.connect(db, port("dist", "ether2"), port("ap", "ether1"))
        topology.connect(db, port("ap", "wlan1"), port("cpe", "wlan1"), kind="wireless")
        services.link_device(db, service, nodes["cpe"].id)
        db.commit()
    made["PRG"] = (nodes, service)
    other = make_service(world.loc_b)
    with in_loc(world.loc_b):
        site = devices.create_site(db, name="Brno mast", latitude="49.2", longitude="16.6")
        brn = make_row(db, Device, name="brn-core", sort_name="brn-core", site_id=site.id)
        services.link_device(db, other, brn.id)
        db.commit()
    made["BRN"] = ({"core": brn}, other)
    return made


def test_network_of_a_location(db, world, in_loc, networks):
    nodes, _service = networks["PRG"]
    ids = {name: d.id for name, d in nodes.items()}
    with in_loc(world.loc_a):
        net = maps.network(db)
    assert sorted(n.name for n in net.nodes) == ["ap", "core", "cpe", "dist"]
    assert {(e.upstream, e.downstream, e.kind) for e in net.edges} == {
        (ids["core"], ids["dist"], "fiber"),  # the recorded link wins over the core's uplink
        (ids["dist"], ids["ap"], "copper"), (ids["ap"], ids["cpe"], "wireless")}
    by_name = {n.name: n for n in net.nodes}
    assert by_name["cpe"].lat is None and by_name["ap"].lat == 50.2 and by_name["ap"].lon == 14.5
    core, dist = by_name["core"], by_name["dist"]
    assert (core.lat, core.lon) == (dist.lat, dist.lon) == (50.1, 14.4)  # one site: the map spreads them …
    assert (core.slot, core.slots, dist.slot, dist.slots) == (0, 2, 1, 2)  # … on a ring, in these places
    assert (by_name["ap"].slot, by_name["ap"].slots) == (0, 1)
    assert {n.state for n in net.nodes} == {"unknown"}
    assert [s.name for s in net.sites] == ["Kopec", "Pole"]
    with in_loc(world.loc_a):
        cut = maps.network(db, limit=2)
    assert cut.truncated and [n.name for n in cut.nodes] == ["ap", "core"]
    assert all({e.upstream, e.downstream} <= {n.id for n in cut.nodes} for e in cut.edges)


# --- the pages ----------------------------------------------------------------------------------


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def test_map_data_is_scoped_to_the_location(client, db, world, networks):
    nodes, _service = networks["PRG"]
    brn = networks["BRN"][0]["core"]
    enter(client, world, world.loc_a)
    data = client.get("/isp/maps/data.json").get_json()
    assert sorted(d["name"] for d in data["devices"]) == ["ap", "core", "dist"]
    assert data["unplaced"] == 1  # the CPE has no site
    assert [s["name"] for s in data["sites"]] == ["Kopec", "Pole"]
    assert brn.id not in {d["id"] for d in data["devices"]}
    assert "brn-core" not in str(data) and "Brno mast" not in str(data)
    assert {(k["from"], k["to"], k["kind"]) for k in data["links"]} == {
        (nodes["core"].id, nodes["dist"].id, "fiber"), (nodes["dist"].id, nodes["ap"].id, "copper")}
    core = next(d for d in data["devices"] if d["name"] == "core")
    assert core["state"] == "unknown" and core["state_label"] == "neznámý"
    assert core["url"] == f"/devices/{core['id']}"
    assert core["impact_url"] == f"/isp/topology/devices/{core['id']}/impact"
    assert client.get(core["impact_url"]).status_code == 200

    other = client.application.test_client()
    enter(other, world, world.loc_b, world.admin_b)
    assert other.get("/isp/maps/data.json").status_code == 404  # the module is not enabled in BRN yet
    with operator_scope():
        db.add(LocationModule(location_id=world.loc_b.id, module="isp"))
        db.commit()
    data_b = other.get("/isp/maps/data.json").get_json()
    assert [d["name"] for d in data_b["devices"]] == ["brn-core"]
    assert [s["name"] for s in data_b["sites"]] == ["Brno mast"]


def test_pages_need_the_topology_permission(client, world, networks):
    enter(client, world, world.loc_a, world.clerk_a)
    for path in ("/isp/maps/", "/isp/maps/data.json", "/isp/maps/graph"):
        assert client.get(path).status_code == 403, path
    anonymous = client.application.test_client()
    assert anonymous.get("/isp/maps/data.json").status_code == 302  # to the login


def test_map_page_allows_only_the_tile_server_and_ships_leaflet(client, world, networks):
    enter(client, world, world.loc_a)
    resp = client.get("/isp/maps/?device=12")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    policy = resp.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert 'data-tile-url="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in html
    assert 'data-focus="12"' in html and "OpenStreetMap</a> contributors" in html.replace("&lt;/a&gt;", "</a>")
    assert "<script>" not in html and " style=" not in html
    other_pages = client.get("/isp/maps/graph")
    assert "tile.openstreetmap.org" not in other_pages.headers["Content-Security-Policy"]
    for name in ("leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/images/marker-icon.png",
                 "leaflet/LICENSE", "map.js", "graph.js", "maps.css"):
        assert client.get(f"/isp/maps/static/isp/{name}").status_code == 200, name
    assert "BSD 2-Clause" in client.get("/isp/maps/static/isp/leaflet/LICENSE").get_data(as_text=True)
    assert client.get("/isp/maps/static/isp/../../views.py").status_code == 404


def test_tile_server_is_configurable(client, world, networks, mango, monkeypatch):
    configured = {**mango.settings.section("plugin_settings"),
                  "isp": {"tile_url": "https://{s}.tiles.isp.test/{z}/{x}/{y}.png", "tile_attribution": "Mapy ISP"}}
    monkeypatch.setitem(mango.settings.data, "plugin_settings", configured)  # as [plugin_settings.isp] in mango.toml
    enter(client, world, world.loc_a)
    resp = client.get("/isp/maps/")
    assert "img-src 'self' data: https://*.tiles.isp.test;" in resp.headers["Content-Security-Policy"]
    assert 'data-attribution="Mapy ISP"' in resp.get_data(as_text=True)


def test_graph_draws_the_location_and_highlights_a_customers_path(client, world, networks):
    nodes, service = networks["PRG"]
    _brn, other = networks["BRN"]
    enter(client, world, world.loc_a)
    html = client.get("/isp/maps/graph").get_data(as_text=True)
    for name in ("core", "dist", "ap", "cpe"):
        assert f'data-device="{nodes[name].id}"' in html
    assert "brn-core" not in html
    assert html.count('class="isp-edge') == 3 and "isp-on-path" not in html

    html = client.get(f"/isp/maps/graph?service={service.id}").get_data(as_text=True)
    assert "cpe → ap → dist → core" in html
    assert html.count("isp-node isp-state-unknown isp-on-path") == 4
    assert html.count("isp-on-path\" data-from") == 3  # the three edges of the path

    html = client.get(f"/isp/maps/graph?device={nodes['ap'].id}").get_data(as_text=True)
    assert "ap → dist → core" in html and html.count("isp-on-path\" data-from") == 2

    assert client.get(f"/isp/maps/graph?service={other.id}").status_code == 404
    assert client.get(f"/isp/maps/graph?device={networks['BRN'][0]['core'].id}").status_code == 404
    assert client.get("/isp/maps/graph?device=x").status_code == 404


def test_links_from_the_device_card_the_customer_card_and_the_menu(client, world, networks):
    nodes, service = networks["PRG"]
    enter(client, world, world.loc_a)
    card = client.get(f"/devices/{nodes['ap'].id}").get_data(as_text=True)
    assert f'href="/isp/maps/?device={nodes["ap"].id}"' in card
    assert f'href="/isp/maps/graph?device={nodes["ap"].id}"' in card
    tab = client.get(f"/customers/{service.customer_id}?tab=isp_network").get_data(as_text=True)
    assert f"/isp/maps/graph?service={service.id}" in tab
    home = client.get("/").get_data(as_text=True)
    assert 'data-menu="isp_maps.map_page"' in home and 'data-menu="isp_maps.graph"' in home

    clerk = client.application.test_client()
    enter(clerk, world, world.loc_a, world.clerk_a)
    assert 'data-menu="isp_maps' not in clerk.get("/").get_data(as_text=True)


def test_devices_are_drawn_in_the_state_monitoring_gives(client, world, networks, monkeypatch):
    nodes, _service = networks["PRG"]
    monkeypatch.setattr(states, "current_states",
                        lambda session, ids: {nodes["core"].id: "down", nodes["ap"].id: "up"})
    enter(client, world, world.loc_a)
    data = client.get("/isp/maps/data.json").get_json()
    assert {d["name"]: (d["state"], d["state_label"]) for d in data["devices"]} == {
        "core": ("down", "nedostupný"), "ap": ("up", "v provozu"), "dist": ("unknown", "neznámý")}
    html = client.get("/isp/maps/graph").get_data(as_text=True)
    assert re.search(rf'class="isp-node isp-state-down" data-device="{nodes["core"].id}"', html)
    assert re.search(rf'class="isp-node isp-state-up" data-device="{nodes["ap"].id}"', html)
    assert re.search(rf'class="isp-node isp-state-unknown" data-device="{nodes["cpe"].id}"', html)


def test_an_empty_location_draws_nothing_and_says_so(client, world):
    enter(client, world, world.loc_a)
    assert client.get("/isp/maps/data.json").get_json() == {"sites": [], "devices": [], "links": [],
                                                           "unplaced": 0, "truncated": False}
    html = client.get("/isp/maps/graph").get_data(as_text=True)
    assert 'id="graph-empty"' in html and "<svg" not in html
    assert "Žádné stanoviště této lokace nemá souřadnice GPS." in client.get("/isp/maps/").get_data(as_text=True)
