"""Service events: affected customers through the ISP topology (and without it: by hand, by product,
all), e-mail notification once per customer and stage (in the communication log), the alert → outage job,
the Selfcare notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from mango_callcenter.comms.models import CommLog
from mango_callcenter.events import notices
from mango_callcenter.events import service as events
from mango_callcenter.events.models import FINISHED, ONGOING, EventNotice, ServiceEvent
from mango_core.customers import service as customers
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.mail.models import MailMessage
from mango_core.selfcare.testing import build_portal, portal_login
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import LocationModule
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.factories import make_row
from mango_isp.testing import internet, make_service  # noqa: F401 - fixtures
from mango_isp.topology import service as topology


@pytest.fixture
def network(db, world, in_loc, make_service):  # noqa: ANN001, ANN201, F811
    """core ─ ap1 ─ cpe1 (service one), core ─ ap2 (service two, a second customer); service three on ap2 too,
    of the first customer (one customer, two services: told once)."""
    one, two, three = make_service(), make_service(), make_service()
    with in_loc(world.loc_a):
        nodes = {n: make_row(db, Device, name=n, sort_name=n) for n in ("core", "ap1", "ap2", "cpe1")}

        def port(device: str, name: str):  # noqa: ANN202
            return topology.add_interface(db, nodes[device], name=name)

        topology.connect(db, port("core", "e1"), port("ap1", "e1"))
        topology.connect(db, port("core", "e2"), port("ap2", "e1"))
        topology.connect(db, port("ap1", "w1"), port("cpe1", "w1"))
        topology.depend(db, one, nodes["cpe1"])
        topology.depend(db, two, nodes["ap2"])
        # the third service moves to the first customer: a customer with two affected services
        from mango_core.services.models import Service

        db.get(Service, three.id).customer_id = one.customer_id
        topology.depend(db, three, nodes["ap2"])
        for service in (one, two):
            customer = db.get(Customer, service.customer_id)
            customers.add_contact(db, customer, name="Kontakt", roles=["owner"], emails=[f"c{customer.id}@example.test"])
        db.commit()
    return nodes, one, two, three


def _event(db, **kw):  # noqa: ANN001, ANN003, ANN202
    values = {"kind": "outage", "title": "Výpadek AP", "description": "Pracujeme na tom.", "starts_at": utcnow(),
              "scope": "topology", "state": ONGOING}
    values.update(kw)
    return events.create_event(db, **values)


def test_affected_customers_follow_the_topology(db, world, in_loc, network):
    nodes, one, two, three = network
    with in_loc(world.loc_a):
        assert events.isp_active()
        event = _event(db, device_ids=[nodes["ap1"].id])
        assert [s.service_id for s in events.affected_services(db, event)] == [one.id]
        assert [c.customer_id for c in events.affected_customers(db, event)] == [one.customer_id]
        core = _event(db, device_ids=[nodes["core"].id], title="Výměna jádra", kind="planned", state="planned")
        assert {s.service_id for s in events.affected_services(db, core)} == {one.id, two.id, three.id}
        assert sorted(c.customer_id for c in events.affected_customers(db, core)) == sorted(
            {one.customer_id, two.customer_id})
        with pytest.raises(InvalidValue) as err:
            _event(db, device_ids=[])
        assert err.value.field == "device_ids"
        db.rollback()


def test_without_the_isp_plugin_services_are_chosen_otherwise(db, world, in_loc, network):
    nodes, one, two, three = network
    with operator_scope():
        db.execute(delete(LocationModule).where(LocationModule.location_id == world.loc_a.id,
                                                LocationModule.module == "isp"))
        db.commit()
    with in_loc(world.loc_a):
        assert not events.isp_active()
        with pytest.raises(InvalidValue) as err:
            _event(db, device_ids=[nodes["ap1"].id])
        assert err.value.field == "scope"
        db.rollback()
        manual = _event(db, scope="manual", service_ids=[two.id], device_ids=[nodes["ap2"].id])
        assert [c.customer_id for c in events.affected_customers(db, manual)] == [two.customer_id]
        by_product = _event(db, scope="product", product_id=one.product_id)
        assert {s.service_id for s in events.affected_services(db, by_product)} == {one.id, two.id, three.id}
        everyone = _event(db, scope="all")
        assert len(events.affected_customers(db, everyone)) == 2
        with pytest.raises(InvalidValue):  # a service of another location is not found
            _event(db, scope="manual", service_ids=[999999])


def test_customers_are_told_once_per_stage(db, world, in_loc, network):
    nodes, one, two, three = network
    with in_loc(world.loc_a):
        event = _event(db, device_ids=[nodes["core"].id])
        assert notices.notify(db, event).sent["email"] == 2  # two customers, one of them with two services
        db.commit()
        assert notices.notify(db, event).total == 0  # a re-send sends nothing twice
        # even when the notices are lost, the outbox's dedup keys stop a second e-mail
        db.execute(delete(EventNotice))
        db.flush()
        assert notices.notify(db, event).sent["email"] == 2
        keys = sorted(db.scalars(select(MailMessage.dedup_key).where(MailMessage.entity == "callcenter_event")))
        assert keys == sorted(f"callcenter:event:{event.id}:announce:{c}" for c in {one.customer_id, two.customer_id})
        mail = db.scalar(select(MailMessage).where(MailMessage.entity == "callcenter_event").limit(1))
        assert "Výpadek AP" in mail.subject and "Pracujeme na tom." in mail.text
        # each e-mail is in its customer's communication log, once
        logged = sorted(db.scalars(select(CommLog.customer_id).where(CommLog.entity == "callcenter_event")))
        assert logged == sorted([one.customer_id, two.customer_id])
        with pytest.raises(InvalidValue):  # not finished yet
            notices.notify(db, event, stage=events.END)
        events.change_state(db, event, FINISHED)
        assert event.ends_at is not None
        assert notices.notify(db, event, stage=events.END).sent["email"] == 2
        assert notices.notify(db, event, stage=events.END).total == 0
        with pytest.raises(InvalidValue):
            events.change_state(db, event, ONGOING)  # finished is final
        db.commit()


def _alert(db, device, state="open"):  # noqa: ANN001, ANN202
    from mango_isp.monitoring.models import Alert

    now = utcnow()
    alert = Alert(device_id=device.id, state=state, opened_at=now, down_since=now - timedelta(minutes=3), failures=3,
                  message="ap2 neodpovídá")
    db.add(alert)
    db.flush()
    return alert


def test_open_alerts_open_outages_once_and_resolved_ones_finish_them(db, world, in_loc, network):
    nodes, one, two, three = network
    with in_loc(world.loc_a):
        alert = _alert(db, nodes["ap2"])
        db.commit()
        assert events.sync_alerts(db, world.loc_a.id) == "1 opened, 0 finished"
        db.commit()
        assert events.sync_alerts(db, world.loc_a.id) == "0 opened, 0 finished"
        event = db.scalar(select(ServiceEvent).where(ServiceEvent.alert_id == alert.id))
        assert event.kind == "outage" and event.state == ONGOING and "ap2" in event.title
        assert {s.service_id for s in events.affected_services(db, event)} == {two.id, three.id}
        alert.state, alert.resolved_at = "resolved", utcnow()
        db.commit()
        assert events.sync_alerts(db, world.loc_a.id) == "0 opened, 1 finished"
        assert events.sync_alerts(db, world.loc_a.id) == "0 opened, 0 finished"
        assert db.get(ServiceEvent, event.id).state == FINISHED
        assert db.scalar(select(func.count()).select_from(ServiceEvent)) == 1
    with in_loc(world.loc_b):  # another location's alerts are not seen; its job does nothing
        assert events.sync_alerts(db, world.loc_b.id).startswith("ISP plugin not active")


def test_the_job_runs_through_the_scheduler_entry(app, db, world, in_loc, network):
    from mango_callcenter.events.hooks import OUTAGES_JOB
    from mango_core.scheduler.jobs import JobContext

    nodes, *_ = network
    with in_loc(world.loc_a):
        _alert(db, nodes["ap1"])
        db.commit()
        assert OUTAGES_JOB.func(JobContext(db, world.loc_a.id, OUTAGES_JOB.id, {})) == (
            "1 opened, 0 finished; told automatically: nothing to do")


def test_the_selfcare_notice_is_shown_to_affected_customers_only(app, client, db, world):
    with app.test_request_context():
        portal = build_portal(db, world.loc_a, tag="ev")
    with location_scope(world.loc_a.id), app.app_context():
        events.create_event(db, kind="planned", title="Noční údržba routeru", description="Krátké výpadky.",
                            starts_at=utcnow() + timedelta(days=1), scope="manual", service_ids=[portal.service_id])
        events.create_event(db, kind="outage", title="Výpadek Kladno-sever", starts_at=utcnow(), state="ongoing",
                            scope="manual", service_ids=[portal.other_service_id])
        db.commit()
    assert portal_login(client, portal.code, portal.email).status_code == 302
    page = client.get("/selfcare/").get_data(as_text=True)
    assert 'id="selfcare-events"' in page and "Noční údržba routeru" in page and "Krátké výpadky." in page
    assert "Výpadek Kladno-sever" not in page
