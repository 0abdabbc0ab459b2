"""Opcare pages of the ISP plugin: permissions, CSRF, tenant isolation (another location's objects
answer 404 and never show), the IPAM screens, the customer card's network tab, the device card's
topology section, the stock screens."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from mango_core.devices.models import Device
from mango_core.tenancy import location_scope
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post
from mango_isp.ipam import assignments as asg
from mango_isp.ipam import nat
from mango_isp.ipam import prefixes as px
from mango_isp.ipam.lookup import who_had
from mango_isp.ipam.models import Assignment, MacBinding, Prefix
from mango_isp.stock import service as stock
from mango_isp.stock.models import StockItem

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


@pytest.fixture
def two_networks(db, world, in_loc, make_service):  # noqa: ANN001, ANN201
    """The same private prefix in PRG and in BRN (separate networks), each with a customer on .10."""
    made = {}
    for location in (world.loc_a, world.loc_b):
        service = make_service(location)
        with in_loc(location):
            prefix = px.create_prefix(db, prefix="10.0.0.0/24", kind="private", description=f"LAN {location.code}")
            asg.assign(db, service, "10.0.0.10", valid_from=T0)
            made[location.code] = (prefix, service)
        db.commit()
    return made


def test_location_b_sees_nothing_of_location_a(db, world, in_loc, two_networks):
    prg_prefix, prg_service = two_networks["PRG"]
    brn_prefix, brn_service = two_networks["BRN"]
    now = datetime.now(UTC)
    with in_loc(world.loc_a):
        assert [p.id for p in px.list_prefixes(db)] == [prg_prefix.id]
        assert [h.service_id for h in who_had(db, "10.0.0.10", now)] == [prg_service.id]
        with pytest.raises(px.NotFound):
            px.get_prefix(db, brn_prefix.id)
        with pytest.raises(px.NotFound):
            asg.get_service(db, brn_service.id)
        assert {a.service_id for a in db.scalars(select(Assignment))} == {prg_service.id}
    with in_loc(world.loc_b):
        assert [h.service_id for h in who_had(db, "10.0.0.10", now)] == [brn_service.id]
        assert px.usage(db, [brn_prefix])[brn_prefix.id].used == 1


def test_prefix_pages_and_their_permissions(client, db, world, two_networks):
    prg_prefix, _prg_service = two_networks["PRG"]
    brn_prefix, _ = two_networks["BRN"]
    prg_id = prg_prefix.id
    enter(client, world, world.loc_a)
    page = text(client.get("/isp/ipam/"))
    assert f'data-prefix="{prg_prefix.id}"' in page and "LAN PRG" in page and "LAN BRN" not in page
    assert "IP prefixy" in page  # Czech by default
    assert client.get(f"/isp/ipam/{brn_prefix.id}").status_code == 404
    assert client.get(f"/isp/ipam/{brn_prefix.id}/edit").status_code == 404
    assert post(client, f"/isp/ipam/{brn_prefix.id}/delete", token_from="/isp/ipam/").status_code == 404
    detail = text(client.get(f"/isp/ipam/{prg_prefix.id}"))
    assert "10.0.0.10" in detail and 'id="prefix-usage"' in detail
    # a new pool inside the /24, through the form
    resp = post(client, "/isp/ipam/new", {"prefix": "10.0.0.128/25", "kind": "private", "is_pool": "y",
                                          "unit_prefixlen": "32", "gateway": "10.0.0.129",
                                          "quarantine_hours": "0"}, token_from="/isp/ipam/new")
    assert resp.status_code == 302, text(resp)
    with location_scope(world.loc_a.id):
        pool = db.scalar(select(Prefix).where(Prefix.prefixlen == 25))
        assert (pool.is_pool, pool.parent_id, pool.gateway_text) == (True, prg_id, "10.0.0.129")
        pool_id = pool.id
    resp = post(client, "/isp/ipam/new", {"prefix": "10.0.0.5/25", "kind": "private", "quarantine_hours": "0"},
                token_from="/isp/ipam/new")
    assert resp.status_code == 400 and "10.0.0.0/25" in text(resp)
    resp = post(client, f"/isp/ipam/{pool_id}/edit", {"kind": "private", "description": "Zákazníci",
                                                       "gateway": "10.0.0.200", "quarantine_hours": "12"},
                token_from=f"/isp/ipam/{pool_id}/edit")
    assert resp.status_code == 302
    db.expire_all()
    with location_scope(world.loc_a.id):
        pool = db.get(Prefix, pool_id)
        assert (pool.description, pool.quarantine_hours) == ("Zákazníci", 12)
    assert re.search(r'id="next-free">\s*10.0.0.129\s*<', text(client.get(f"/isp/ipam/{pool_id}")))  # .129 was the gateway
    resp = post(client, f"/isp/ipam/{pool_id}/delete", token_from=f"/isp/ipam/{pool_id}")
    assert resp.status_code == 302
    # without a CSRF token nothing changes
    assert client.post(f"/isp/ipam/{prg_id}/delete").status_code in (400, 403)
    with location_scope(world.loc_a.id):
        assert db.get(Prefix, prg_id) is not None


def test_views_need_their_permissions(app, client, db, world, two_networks):
    prg_prefix, service = two_networks["PRG"]
    login(client, world.clerk_a.email)  # only core.jobs.view in PRG
    for path in ("/isp/ipam/", f"/isp/ipam/{prg_prefix.id}", "/isp/ipam/who?ip=10.0.0.10", "/isp/stock/",
                 "/isp/stock/items", "/isp/stock/articles"):
        assert client.get(path).status_code == 403, path
    assert post(client, f"/isp/ipam/services/{service.id}/assign", {"address": "10.0.0.11"},
                token_from="/jobs/").status_code == 403
    with location_scope(world.loc_a.id):
        assert db.scalar(select(Assignment).where(Assignment.network.like("%0a00000b"))) is None
    # the module is off in KLA: its pages answer 404 there even for the administrator
    admin = app.test_client()
    enter(admin, world, world.loc_a2)
    assert admin.get("/isp/ipam/").status_code == 404


def test_who_page_answers_in_the_users_time_zone(client, db, world, in_loc, two_networks, make_service):
    _prefix, service = two_networks["PRG"]
    with in_loc(world.loc_a):
        px.create_prefix(db, prefix="198.51.100.0/24", kind="public")
        inside = px.create_prefix(db, prefix="100.64.0.0/28", kind="cgnat", is_pool=True, unit_prefixlen=32)
        nat.configure(db, inside, public="198.51.100.192/30", block_size=8064, at=T0)
        subscriber = make_service()
        asg.allocate(db, subscriber, inside, valid_from=T0)
        db.commit()
    enter(client, world, world.loc_a)
    page = text(client.get("/isp/ipam/who?ip=10.0.0.10&at=2025-06-01+12:00"))
    assert f'data-service="{service.id}"' in page and "Novák" in page
    page = text(client.get("/isp/ipam/who?ip=198.51.100.193&at=2025-06-01+12:00&port=5000"))
    assert f'data-service="{subscriber.id}"' in page and "198.51.100.193:1024–9087" in page
    page = text(client.get("/isp/ipam/who?ip=10.0.0.10&at=2024-06-01+12:00"))
    assert 'id="who-nobody"' in page
    page = text(client.get("/isp/ipam/who?ip=nonsense"))
    assert 'id="who-error"' in page
    page = text(client.get("/isp/ipam/who?ip=198.51.100.193&port=99999"))
    assert 'id="who-error"' in page


def test_the_customer_card_network_tab_assigns_and_releases(client, db, world, in_loc, two_networks):
    _prefix, service = two_networks["PRG"]
    _brn_prefix, brn_service = two_networks["BRN"]
    with in_loc(world.loc_a):
        pool = px.create_prefix(db, prefix="10.0.0.64/26", kind="private", is_pool=True, unit_prefixlen=32)
        db.commit()
    enter(client, world, world.loc_a)
    customer_id = service.customer_id
    card = f"/customers/{customer_id}?tab=isp_network"
    page = text(client.get(card))
    assert 'id="isp-network"' in page and "10.0.0.10" in page and f'id="assign-{service.id}"' in page
    assert post(client, f"/isp/ipam/services/{service.id}/assign", {"address": "10.0.0.20", "pool_id": ""},
                token_from=card).status_code == 302
    assert post(client, f"/isp/ipam/services/{service.id}/assign", {"address": "", "pool_id": str(pool.id)},
                token_from=card).status_code == 302
    resp = post(client, f"/isp/ipam/services/{service.id}/assign", {"address": "10.0.0.20"}, token_from=card,
                follow_redirects=True)
    assert "10.0.0.20" in text(resp) and "alert-danger" in text(resp)  # held already
    assert post(client, f"/isp/ipam/services/{brn_service.id}/assign", {"address": "10.0.0.21"},
                token_from=card).status_code == 404
    with location_scope(world.loc_a.id):
        held = {a.text: a for a in asg.assignments_of(db, service.id, with_history=False)}
    assert set(held) == {"10.0.0.10", "10.0.0.20", "10.0.0.65"}
    assert post(client, f"/isp/ipam/services/{service.id}/macs",
                {"mac": "02:00:00:aa:bb:cc", "assignment_id": str(held["10.0.0.20"].id)},
                token_from=card).status_code == 302
    assert post(client, f"/isp/ipam/assignments/{held['10.0.0.20'].id}/release", {"reason": "výměna"},
                token_from=card).status_code == 302
    db.expire_all()
    with location_scope(world.loc_a.id):
        released = db.get(Assignment, held["10.0.0.20"].id)
        assert released.valid_to is not None and released.release_reason == "výměna"
        binding = db.scalar(select(MacBinding))
        assert binding.valid_to == released.valid_to
    # the search box finds the customer by the address
    page = text(client.get("/customers/?q=10.0.0.65"))
    assert f"/customers/{customer_id}" in page


def test_the_device_card_shows_topology_and_impact(app, client, db, world, in_loc, make_service):
    service = make_service()
    with in_loc(world.loc_a):
        router = make_row(db, Device, name="core", sort_name="core")
        ap = make_row(db, Device, name="ap-zizkov", sort_name="ap-zizkov")
        db.commit()
    enter(client, world, world.loc_a)
    card = f"/devices/{router.id}"
    page = text(client.get(card))
    assert 'id="isp-topology"' in page and 'id="interface-form"' in page
    assert post(client, f"/isp/topology/devices/{router.id}/interfaces", {"name": "sfp1", "kind": "sfp"},
                token_from=card).status_code == 302
    assert post(client, f"/isp/topology/devices/{ap.id}/interfaces", {"name": "ether1", "kind": "ethernet"},
                token_from=card).status_code == 302
    with location_scope(world.loc_a.id):
        from mango_isp.topology import service as topology

        sfp1 = topology.interfaces_of(db, router.id)[0]
        ether1 = topology.interfaces_of(db, ap.id)[0]
    assert post(client, f"/isp/topology/devices/{router.id}/links",
                {"local_id": str(sfp1.id), "remote_id": str(ether1.id), "direction": "down", "kind": "fiber"},
                token_from=card).status_code == 302
    assert post(client, f"/isp/topology/devices/{ap.id}/dependencies",
                {"service_id": f"#{service.id}", "interface_id": str(ether1.id)}, token_from=card).status_code == 302
    page = text(client.get(card))
    assert "ap-zizkov" in page and "sfp1" in page
    impact = text(client.get(f"/isp/topology/devices/{router.id}/impact"))
    assert f'data-service="{service.id}"' in impact and f'data-device="{ap.id}"' in impact
    # the clerk sees no impact page
    clerk = app.test_client()
    login(clerk, world.clerk_a.email)
    assert clerk.get(f"/isp/topology/devices/{router.id}/impact").status_code == 403


def test_stock_screens(app, client, db, world, in_loc, make_service):
    service = make_service()
    enter(client, world, world.loc_a)
    assert post(client, "/isp/stock/warehouses/new", {"code": "main", "name": "Hlavní sklad", "is_active": "y"},
                token_from="/isp/stock/warehouses/new").status_code == 302
    assert post(client, "/isp/stock/articles/new", {"code": "ONT1", "name": "Huawei HG8010H", "category": "ont",
                                                    "serialised": "y", "unit": "ks", "is_active": "y"},
                token_from="/isp/stock/articles/new").status_code == 302
    assert post(client, "/isp/stock/articles/new", {"code": "ONT1", "name": "Znovu", "category": "ont",
                                                    "unit": "ks", "is_active": "y"},
                token_from="/isp/stock/articles/new").status_code == 400
    with location_scope(world.loc_a.id):
        main = stock.find_warehouse(db, "MAIN")
        ont = stock.find_article(db, "ONT1")
    form = {"warehouse_id": str(main.id), "article_id": str(ont.id), "serial_number": "48575443ABCD",
            "mac": "02:00:00:00:09:01", "quantity": "1", "configured_by_mango": "y", "reference": "DL-9"}
    assert post(client, "/isp/stock/receive", form, token_from="/isp/stock/receive").status_code == 302
    resp = post(client, "/isp/stock/receive", form, token_from="/isp/stock/receive")
    assert resp.status_code == 400 and "48575443ABCD" in text(resp)
    index = text(client.get("/isp/stock/"))
    assert re.search(r'data-level="MAIN">\s*1\s*<', index)
    with location_scope(world.loc_a.id):
        item_id = db.scalar(select(StockItem.id))
    page = text(client.get(f"/isp/stock/items/{item_id}"))
    assert "48575443ABCD" in page and 'id="item-move-form"' in page
    service_id, customer_id = service.id, service.customer_id
    assert post(client, f"/isp/stock/items/{item_id}/move",
                {"action": "issue_customer", "service_id": str(service_id), "register_device": "y"},
                token_from=f"/isp/stock/items/{item_id}").status_code == 302
    db.expire_all()
    with location_scope(world.loc_a.id):
        item = db.get(StockItem, item_id)
        assert (item.state, item.service_id) == ("at_customer", service_id)
        assert db.get(Device, item.device_id).type_code == "isp.ont"
    page = text(client.get(f"/isp/stock/items/{item_id}"))
    assert 'id="item-device"' in page and "vydáno zákazníkovi" in page
    tab = text(client.get(f"/customers/{customer_id}?tab=isp_network"))
    assert "48575443ABCD" in tab
    assert "48575443ABCD" in text(client.get("/isp/stock/items?q=485754"))
    # another partner's administrator finds nothing of it (the module is off in BRN, and the item is PRG's)
    other = app.test_client()
    login(other, world.admin_b.email)
    assert other.get(f"/isp/stock/items/{item_id}").status_code == 404


def test_every_page_renders_in_czech_and_english(client, db, world, in_loc, two_networks, make_service):
    prefix, service = two_networks["PRG"]
    with in_loc(world.loc_a):
        inside = px.create_prefix(db, prefix="100.64.0.0/28", kind="cgnat", is_pool=True, unit_prefixlen=32)
        px.create_prefix(db, prefix="198.51.100.0/24", kind="public")
        nat.configure(db, inside, public="198.51.100.0/30", block_size=8064, at=T0)
        main = stock.save_warehouse(db, None, code="MAIN", name="Hlavní")
        router = stock.save_article(db, None, code="R1", name="Router", category="router", serialised=True)
        cable = stock.save_article(db, None, code="C1", name="Kabel", category="spare")
        stock.receive(db, main, router, serial_number="SN1")
        stock.receive(db, main, cable, quantity=3)
        item = stock.find_items(db, query="SN1")[0]
        stock.issue_to_technician(db, technician_id=world.admin_a.id, item=item)
        device = make_row(db, Device, name="ap", sort_name="ap")
        db.commit()
        ids = {"prefix": prefix.id, "inside": inside.id, "main": main.id, "router": router.id, "item": item.id,
               "device": device.id, "customer": service.customer_id}
    enter(client, world, world.loc_a)
    pages = ["/isp/ipam/", "/isp/ipam/?family=6", "/isp/ipam/new", f"/isp/ipam/{ids['prefix']}",
             f"/isp/ipam/{ids['prefix']}/edit", f"/isp/ipam/{ids['inside']}", "/isp/ipam/who",
             "/isp/ipam/who?ip=198.51.100.1", "/isp/stock/", "/isp/stock/articles", "/isp/stock/articles/new",
             f"/isp/stock/articles/{ids['router']}/edit", "/isp/stock/warehouses/new",
             f"/isp/stock/warehouses/{ids['main']}", f"/isp/stock/warehouses/{ids['main']}/edit",
             "/isp/stock/receive", "/isp/stock/items", "/isp/stock/items?state=at_technician",
             f"/isp/stock/items/{ids['item']}", f"/devices/{ids['device']}",
             f"/isp/topology/devices/{ids['device']}/impact", f"/customers/{ids['customer']}?tab=isp_network"]
    for locale in ("cs", "en"):
        assert post(client, "/language", {"locale": locale}).status_code in (302, 200)
        for path in pages:
            resp = client.get(path)
            assert resp.status_code == 200, (locale, path, resp.status_code)
    assert "Stock levels" in text(client.get(f"/isp/stock/warehouses/{ids['main']}"))
    assert post(client, "/language", {"locale": "cs"}).status_code in (302, 200)
    assert "Stav zásob" in text(client.get(f"/isp/stock/warehouses/{ids['main']}"))
