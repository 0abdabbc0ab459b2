"""Exporters: the service (addresses unique in the installation, devices of the location only),
the collector's address map, the counters, and the Opcare pages (permissions, CSRF, isolation)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from mango_core.devices.models import Device
from mango_core.tenancy import operator_scope
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post
from mango_netflow.collector import counters
from mango_netflow.collector import exporters as service
from mango_netflow.collector.models import Exporter, UnknownSource


def text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


@pytest.fixture
def registered(db, world, in_loc):  # noqa: ANN001, ANN201
    made = {}
    with in_loc(world.loc_a):
        made["router"] = make_row(db, Device, name="edge-r1", management_ip="192.0.2.1")
        made["a"] = service.save(db, None, name="edge-r1", address=" 192.0.2.1 ", device_id=made["router"].id)
        made["a_off"] = service.save(db, None, name="old", address="2001:db8::7", active=False)
    with in_loc(world.loc_b):
        made["b"] = service.save(db, None, name="brno", address="::ffff:198.51.100.1")
        made["b_device"] = make_row(db, Device, name="brno-r1")
    db.commit()
    return made


def test_addresses_are_normalised_and_unique_in_the_installation(db, world, in_loc, registered):
    assert registered["a"].address == "192.0.2.1"
    assert registered["b"].address == "198.51.100.1"  # IPv4-mapped IPv6 is the IPv4 address
    with in_loc(world.loc_b), pytest.raises(service.InvalidExporter, match="already registered"):
        service.save(db, None, name="copy", address="192.0.2.1")  # PRG's address
    db.rollback()
    with in_loc(world.loc_a), pytest.raises(service.InvalidExporter, match="already exists"):
        service.save(db, None, name="edge-r1", address="192.0.2.200")
    db.rollback()
    for bad in ("", "300.1.1.1", "example.org", "192.0.2.0/24"):
        with in_loc(world.loc_a), pytest.raises(service.InvalidExporter, match="IPv4 or IPv6"):
            service.save(db, None, name="x", address=bad)
        db.rollback()
    with in_loc(world.loc_a):
        again = service.save(db, registered["a"], name="edge-r1", address="192.0.2.1", active=True)  # itself: fine
        assert again.id == registered["a"].id


def test_a_device_of_another_location_cannot_be_linked(db, world, in_loc, registered):
    with in_loc(world.loc_a), pytest.raises(service.InvalidExporter, match="No such device"):
        service.save(db, None, name="stolen", address="192.0.2.50", device_id=registered["b_device"].id)
    db.rollback()


def test_address_map_has_active_exporters_of_every_location(db, world, registered):
    targets = service.address_map(db)
    assert set(targets) == {"192.0.2.1", "198.51.100.1"}  # not the inactive one
    assert (targets["192.0.2.1"].location_id, targets["192.0.2.1"].exporter_id) == (world.loc_a.id, registered["a"].id)
    assert targets["198.51.100.1"].location_id == world.loc_b.id


def test_counters_are_added_not_overwritten(db, world, in_loc, registered):
    now = time.time()
    pending = counters.Pending(
        exporters={registered["a"].id: counters.Delta(packets=10, flows=250, malformed=1, missing_template=2,
                                                      templates=3, last_packet=now)},
        unknown={"203.0.113.9": counters.Unknown(packets=4, first=now - 60, last=now)})
    counters.persist(db, pending)
    counters.persist(db, counters.Pending(exporters={registered["a"].id: counters.Delta(packets=5, flows=50)},
                                          unknown={"203.0.113.9": counters.Unknown(packets=1, first=now, last=now + 1)}))
    with in_loc(world.loc_a):
        db.expire_all()
        row = db.scalar(select(Exporter).where(Exporter.id == registered["a"].id))
        assert (row.packets, row.flows, row.malformed, row.missing_template, row.templates) == (15, 300, 1, 2, 3)
        assert abs(row.last_packet_at.timestamp() - now) < 1
    unknown = db.scalar(select(UnknownSource).where(UnknownSource.address == "203.0.113.9"))
    assert unknown.packets == 5 and unknown.last_seen_at.timestamp() == pytest.approx(now + 1, abs=1)
    assert unknown.first_seen_at.timestamp() == pytest.approx(now - 60, abs=1)


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def test_pages_list_create_edit_delete(client, db, world, in_loc, registered):
    with operator_scope():
        db.add(UnknownSource(address="203.0.113.77", packets=12))
        with_counts = db.get(Exporter, registered["a"].id)
        with_counts.packets, with_counts.flows = 1234, 56789
        db.commit()
        b_id, router_id = registered["b"].id, registered["router"].id
    enter(client, world, world.loc_a)
    page = text(client.get("/netflow/exporters/"))
    row = page.split('data-exporter="192.0.2.1"')[1].split("</tr>")[0]
    assert "edge-r1" in row and 'data-counter="flows">56' in row
    assert 'data-exporter="198.51.100.1"' not in page  # BRN's
    assert 'data-unknown="203.0.113.77"' in page and "/netflow/exporters/new?address=203.0.113.77" in page
    assert "192.0.2.1" in text(client.get("/netflow/exporters/new?address=192.0.2.1"))

    assert client.post("/netflow/exporters/new", data={"name": "x", "address": "192.0.2.9"}).status_code == 400  # CSRF
    resp = post(client, "/netflow/exporters/new", {"name": "bras", "address": "198.51.100.1", "device_id": ""},
                token_from="/netflow/exporters/new")
    assert resp.status_code == 400 and "je už registrována" in text(resp)  # BRN has it (Czech UI)
    resp = post(client, "/netflow/exporters/new", {"name": "bras", "address": "2001:DB8::1", "active": "y",
                                                   "device_id": str(router_id)},
                token_from="/netflow/exporters/new")
    assert resp.status_code == 302
    with in_loc(world.loc_a):
        bras = db.scalar(select(Exporter).where(Exporter.name == "bras"))
        assert (bras.address, bras.device_id, bras.active) == ("2001:db8::1", router_id, True)
    resp = post(client, f"/netflow/exporters/{bras.id}/edit", {"name": "bras-2", "address": "2001:db8::2", "device_id": ""},
                token_from=f"/netflow/exporters/{bras.id}/edit")
    assert resp.status_code == 302
    with in_loc(world.loc_a):
        db.expire_all()
        bras = db.get(Exporter, bras.id)
        assert (bras.name, bras.address, bras.active, bras.device_id) == ("bras-2", "2001:db8::2", False, None)
    # another location's exporter is not found
    assert client.get(f"/netflow/exporters/{b_id}/edit").status_code == 404
    assert post(client, f"/netflow/exporters/{b_id}/delete", token_from="/netflow/exporters/").status_code == 404
    assert post(client, f"/netflow/exporters/{bras.id}/delete", token_from="/netflow/exporters/").status_code == 302
    with in_loc(world.loc_a):
        assert db.scalar(select(Exporter).where(Exporter.name == "bras-2")) is None
    with operator_scope():
        assert db.get(Exporter, b_id) is not None


def test_permissions(app, client, world, registered):
    clerk = app.test_client()
    enter(clerk, world, world.loc_a, world.clerk_a)
    assert clerk.get("/netflow/exporters/").status_code == 403
    assert clerk.get("/netflow/exporters/new").status_code == 403
    assert clerk.post(f"/netflow/exporters/{registered['a'].id}/delete").status_code in (400, 403)
    enter(client, world, world.loc_a)
    assert "NetFlow" in text(client.get("/netflow/exporters/"))


def test_czech_page(client, world, registered):
    enter(client, world, world.loc_a)
    page = text(client.get("/netflow/exporters/", headers={"Accept-Language": "cs"}))
    assert "Exportéry NetFlow" in page and "Neznámé zdroje" in page
