"""The network map and the topology graph in a real browser against a real `mango serve`: Leaflet
draws the markers and links under the strict Content-Security-Policy, a popup leads to the impact
page, and the graph highlights a customer's path and opens a device card on a click."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mango_core.config import load_settings
from mango_core.devices import service as devices
from mango_core.devices.models import Device
from mango_core.kernel import Mango
from mango_core.services import service as services
from mango_core.services.models import Service
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Location
from mango_core.testing import live
from mango_core.testing.browser import log_in
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import CHROMIUM
from mango_isp.topology import service as topology

pytestmark = pytest.mark.browser

# a transparent 1×1 PNG: the tile server's answer (the machine is offline)
TILE = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def _network(url: str, instance: Path, plugins: list[str]) -> dict[str, int]:
    """In PRG: core and dist on a hill, ap on a roof, a CPE of a demo customer's service."""
    mango = Mango.start(load_settings({"database_url": url, "plugins": plugins}, instance_path=instance))
    try:
        with mango.db.session() as session:
            with operator_scope():
                prg = session.scalar(select(Location).where(Location.code == "PRG")).id
            with location_scope(prg):
                hill = devices.create_site(session, name="Kopec", latitude="50.0842", longitude="14.4512")
                roof = devices.create_site(session, name="Střecha", latitude="50.0790", longitude="14.4600")
                nodes = {name: make_row(session, Device, name=name, sort_name=name, site_id=site.id)
                         for name, site in (("core", hill), ("dist", hill), ("ap", roof), ("cpe", roof))}
                nodes["dist"].parent_id = nodes["core"].id
                session.flush()

                def port(device: str, name: str):  # noqa: ANN202
                    return topology.add_interface(session, nodes[device], name=name)

                topology.connect(session, port("core", "sfp1"), port("dist", "sfp1"), kind="fiber")
                topology.connect(session, port("dist", "ether2"), port("ap", "ether1"))
                topology.connect(session, port("ap", "wlan1"), port("cpe", "wlan1"), kind="wireless")
                service = session.scalar(select(Service).order_by(Service.id))
                services.link_device(session, service, nodes["cpe"].id)
                session.commit()
                return {**{name: d.id for name, d in nodes.items()}, "service": service.id}
    finally:
        mango.db.dispose()


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[tuple]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    instance = tmp_path_factory.mktemp("maps-live")
    url, drop = live.server_database(instance, "maps")
    try:
        live.prepare(url, instance, mango_test_plugins)
        ids = _network(url, instance, mango_test_plugins)
        port = live.free_port()
        proc = live.start([live.venv_bin("mango"), "serve", "--port", str(port)],
                          live.server_env(url, instance, mango_test_plugins), port, instance / "server.log")
        try:
            yield f"http://127.0.0.1:{port}", ids
        finally:
            live.stop(proc)
    finally:
        drop()


@pytest.fixture(scope="module")
def page_of(map_server, chromium):  # noqa: ANN001, ANN201
    base, _ids = map_server
    contexts = []

    def make():  # noqa: ANN202
        ctx = chromium.new_context(base_url=base, viewport={"width": 1366, "height": 768})
        ctx.set_default_timeout(90_000)
        ctx.set_default_navigation_timeout(90_000)
        ctx.route("https://tile.openstreetmap.org/**",
                  lambda route: route.fulfill(status=200, content_type="image/png", body=TILE))
        contexts.append(ctx)
        page = ctx.new_page()
        page.problems = []
        page.on("console", lambda msg: page.problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: page.problems.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def _enter_prg(page) -> None:  # noqa: ANN001
    """Log in as PRG's administrator and make PRG (where ISP is enabled) the current location."""
    log_in(page, "admin@alfa.test")
    if page.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with page.expect_navigation():
            page.select_option("#location_id", label="PRG – Praha")
        page.wait_for_load_state("load")


def _csp_problems(page) -> list[str]:  # noqa: ANN001
    """Console errors and script exceptions: a CSP violation ("Refused to …") is one of them."""
    return list(page.problems)


def test_map_draws_sites_devices_and_links(page_of, map_server):
    _base, ids = map_server
    page = page_of()
    _enter_prg(page)
    page.goto("/isp/maps/")
    page.wait_for_selector("#isp-map[data-ready='1']", state="attached")
    assert page.locator("h1").inner_text() == "Mapa sítě"
    assert page.locator("path.isp-map-device").count() == 4
    assert page.locator("path.isp-map-device.isp-state-unknown").count() == 4
    assert page.locator("path.isp-map-link").count() == 3
    assert page.locator("path.isp-map-link-wireless").count() == 1
    assert page.locator(".leaflet-marker-icon").count() == 2  # the two sites
    page.wait_for_selector(".leaflet-tile-loaded")  # tiles come from the configured server, CSP allows it
    assert _csp_problems(page) == []

    page.goto(f"/isp/maps/?device={ids['ap']}")  # from the device card: the device's popup opens
    popup = page.wait_for_selector(f".leaflet-popup-content .isp-popup[data-device='{ids['ap']}']")
    assert "ap" in popup.inner_text() and "neznámý" in popup.inner_text()
    assert page.get_attribute(".isp-popup-card", "href") == f"/devices/{ids['ap']}"
    with page.expect_navigation():
        page.click(".isp-popup-impact")
    assert page.url.endswith(f"/isp/topology/devices/{ids['ap']}/impact")
    assert page.locator("#impact-devices [data-device]").count() == 2  # ap and the CPE behind it
    assert _csp_problems(page) == []


def test_graph_highlights_a_customers_path_and_opens_a_device(page_of, map_server):
    _base, ids = map_server
    page = page_of()
    _enter_prg(page)
    page.goto(f"/isp/maps/graph?service={ids['service']}")
    page.wait_for_selector("#isp-graph[data-ready='1']")
    assert "cpe → ap → dist → core" in page.locator("#graph-path").inner_text()
    on_path = page.eval_on_selector_all(".isp-node.isp-on-path", "els => els.map(e => Number(e.dataset.device))")
    assert sorted(on_path) == sorted(ids[n] for n in ("core", "dist", "ap", "cpe"))

    svg = page.locator("#isp-graph")
    before = svg.get_attribute("viewBox")
    page.click("#graph-zoom-out")
    zoomed = svg.get_attribute("viewBox")
    assert zoomed != before and float(zoomed.split()[2]) > float(before.split()[2])
    box = svg.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 80, steps=5)
    page.mouse.up()
    assert svg.get_attribute("viewBox") != zoomed and "/isp/maps/graph" in page.url  # a drag pans, never opens

    page.click("#graph-fit")
    with page.expect_navigation():
        page.locator(f"a.isp-node[data-device='{ids['dist']}'] circle").click()
    assert page.url.endswith(f"/devices/{ids['dist']}")
    assert page.locator("#device-graph-link").get_attribute("href") == f"/isp/maps/graph?device={ids['dist']}"
    assert _csp_problems(page) == []
