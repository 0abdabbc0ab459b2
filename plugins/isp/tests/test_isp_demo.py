"""`mango demo` with the ISP plugin: prefixes, CGNAT, the demo services' addresses, topology, stock —
consistent, answering "who had X at T", and a second run changes nothing."""

from __future__ import annotations

import ipaddress

from sqlalchemy import func, select, text

from mango_core.catalog.models import ServiceClass
from mango_core.db import utcnow
from mango_core.db.base import Base
from mango_core.demo import load_demo
from mango_core.devices.models import Device
from mango_core.services.models import ACTIVE, TERMINATED, Service, ServiceDevice
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Location
from mango_isp import demo
from mango_isp.ipam import assignments as asg
from mango_isp.ipam import nat
from mango_isp.ipam import prefixes as px
from mango_isp.ipam.lookup import who_had
from mango_isp.ipam.models import Assignment, MacBinding
from mango_isp.lifecycle import INTERNET
from mango_isp.stock import service as stock
from mango_isp.stock.models import StockItem
from mango_isp.topology.models import Interface, Link, ServiceDependency


def row_counts(db) -> dict[str, int]:  # noqa: ANN001
    with operator_scope():
        return {name: db.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()  # noqa: S608 - table names
                for name in sorted(Base.metadata.tables)}


def test_the_demo_builds_a_working_network_and_a_second_run_changes_nothing(app, db, mango):
    with app.app_context():
        load_demo(db, mango)
        with operator_scope():
            locations = {loc.code: loc for loc in db.scalars(select(Location).where(Location.code.in_(demo.NETWORKS)))}
        assert set(locations) == set(demo.NETWORKS)
        for code, location in sorted(locations.items()):
            with location_scope(location.id):
                prefixes = {p.cidr: p for p in px.list_prefixes(db)}
                assert len(prefixes) == len(demo._plan(code))  # noqa: SLF001
                inside = next(p for p in prefixes.values() if p.kind == "cgnat")
                assert inside.auto_assign and nat.current(db, inside).block_size == 2016
                internet = list(db.scalars(select(Service).join(ServiceClass, ServiceClass.id == Service.class_id)
                                           .where(ServiceClass.kind == INTERNET,
                                                  Service.state.in_((ACTIVE, TERMINATED)),
                                                  Service.activated_on.is_not(None))))
                assert internet, code
                now = utcnow()
                for service in internet:
                    held = asg.assignments_of(db, service.id)
                    if service.state == ACTIVE:
                        assert sorted(a.family for a in held if a.valid_to is None) == [4, 6], (code, service.id)
                    elif held:
                        assert all(a.valid_to is not None and a.valid_to <= now for a in held)
                # a demo customer is found by the address, directly and through CGNAT with a port
                row = db.scalar(select(Assignment).where(Assignment.valid_to.is_(None), Assignment.family == 4,
                                                         Assignment.pool_id == inside.id).order_by(Assignment.id))
                [holder] = who_had(db, row.text, now)
                block = nat.current(db, inside).plan().forward(ipaddress.IPv4Address(row.text))
                [via_nat] = who_had(db, str(block.public), now, port=block.first_port + 7)
                assert via_nat.service_id == holder.service_id == row.service_id
                # topology along the uplinks, access points serving services
                uplinked = {d.id: d.parent_id for d in db.scalars(select(Device).where(Device.parent_id.is_not(None)))}
                links = list(db.scalars(select(Link)))
                assert uplinked and {lk.downstream.device_id: lk.upstream.device_id for lk in links} == uplinked
                assert all(lk.upstream.name == "wlan1" for lk in links if lk.kind == "wireless")
                assert db.scalar(select(func.count()).select_from(Interface)) > len(uplinked)
                assert db.scalar(select(func.count()).select_from(ServiceDependency)) > 0
                # stock: installed routers with their network device and MAC; levels match the items
                installed = list(db.scalars(select(StockItem).where(StockItem.state == "at_customer")))
                assert len(installed) == demo.INSTALLED
                for item in installed:
                    assert db.scalar(select(ServiceDevice.id).where(ServiceDevice.service_id == item.service_id,
                                                                    ServiceDevice.device_id == item.device_id))
                    assert db.scalar(select(MacBinding.id).where(MacBinding.mac == item.mac,
                                                                 MacBinding.valid_to.is_(None)))
                items = stock.items_count(db)
                serialised = {a.id for a in stock.list_articles(db) if a.serialised}
                assert {(lv.warehouse_id, lv.article_id): lv.quantity for lv in stock.levels(db)
                        if lv.article_id in serialised} == items
        before = row_counts(db)
        load_demo(db, mango)
        assert row_counts(db) == before
