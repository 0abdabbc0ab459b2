"""Monitoring without a network: states and their intervals, availability, alerts with e-mail through
the outbox, retention, the RTT graph, the Opcare pages (permissions, CSRF, tenant isolation).

Check outcomes are given as :class:`PingResult` values; the real pinger is tested against network
namespaces in ``test_isp_monitoring_netns.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mango_core.devices.models import ACTIVE, PLANNED, Device
from mango_core.mail.models import MailMessage
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post
from mango_isp.monitoring import service as monitoring
from mango_isp.monitoring.chart import rtt_chart
from mango_isp.monitoring.models import DOWN, OPEN, RESOLVED, UNKNOWN, UP, Alert, LatencySample, StateInterval
from mango_isp.monitoring.pinger import PingResult
from mango_isp.topology import service as topology

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def ok(address: str, rtt: float = 1.5) -> PingResult:
    return PingResult(address, sent=3, rtts=[rtt, rtt, rtt])


def lost(address: str) -> PingResult:
    return PingResult(address, sent=3)


def text(resp) -> str:  # noqa: ANN001
    return resp.get_data(as_text=True)


@pytest.fixture
def network(db, world, in_loc, make_service):  # noqa: ANN001, ANN201
    """PRG: a router and an access point below it serving one customer, a planned device; BRN: a router."""
    service = make_service(world.loc_a)
    made = {}
    with in_loc(world.loc_a):
        router = make_row(db, Device, name="core-r1", management_ip="10.9.0.1", state=ACTIVE)
        ap = make_row(db, Device, name="ap-north", management_ip="10.9.0.2", state=ACTIVE, parent_id=router.id)
        make_row(db, Device, name="spare", management_ip="10.9.0.3", state=PLANNED)
        make_row(db, Device, name="no-ip", state=ACTIVE)
        topology.depend(db, service, ap)
        monitoring.save_config(db, alert_email="noc@alfa.test", down_after=3)
        made.update(router=router, ap=ap, service=service)
    with in_loc(world.loc_b):
        made["other"] = make_row(db, Device, name="brno-r1", management_ip="10.9.0.1", state=ACTIVE)
    db.commit()
    return made


def check(db, answers: dict[str, PingResult], at: datetime):  # noqa: ANN001, ANN201
    """One ``run_checks`` with the given answers (targets not named get no answer)."""

    def fake_ping(addresses, **_kw):  # noqa: ANN001, ANN202
        return {a: answers.get(a, PingResult(a, sent=3)) for a in addresses}

    summary = monitoring.run_checks(db, {"monitor_keep_days": 3650}, now=at, ping=fake_ping)
    db.commit()
    return summary


def test_only_watched_devices_of_the_location_are_targets(db, world, in_loc, network):
    with in_loc(world.loc_a):
        assert monitoring.targets(db) == [(network["router"].id, "10.9.0.1"), (network["ap"].id, "10.9.0.2")]
    with in_loc(world.loc_b):
        assert monitoring.targets(db) == [(network["other"].id, "10.9.0.1")]


def test_down_after_n_checks_alert_mail_and_recovery(db, world, in_loc, network):
    ap = network["ap"]
    with in_loc(world.loc_a):
        both = {"10.9.0.1": ok("10.9.0.1"), "10.9.0.2": ok("10.9.0.2", 2.5)}
        first = check(db, both, minute(0))
        assert (first.up, first.down) == (2, 0)
        check(db, both, minute(1))
        for n in (2, 3):  # two failures: still up, no alert
            summary = check(db, {"10.9.0.1": ok("10.9.0.1")}, minute(n))
            assert monitoring.status_of(db, ap.id).state == UP
            assert monitoring.status_of(db, ap.id).failures == n - 1
            assert summary.went_down == 0
        summary = check(db, {"10.9.0.1": ok("10.9.0.1")}, minute(4))
        assert (summary.went_down, summary.down, summary.mails) == (1, 1, 1)
        status = monitoring.status_of(db, ap.id)
        assert status.state == DOWN and status.since == minute(2)  # down from the first failed check
        alert = db.scalar(select(Alert).where(Alert.device_id == ap.id))
        assert (alert.state, alert.down_since, alert.failures, alert.customers, alert.services) == (
            OPEN, minute(2), 3, 1, 1)
        mail = db.scalar(select(MailMessage).where(MailMessage.entity == "isp_monitor_alert"))
        assert mail.recipients == ["noc@alfa.test"] and "ap-north" in mail.subject
        assert network["service"].customer.display_name in mail.text

        again = check(db, {"10.9.0.1": ok("10.9.0.1")}, minute(5))  # still down: nothing new
        assert again.went_down == 0 and again.mails == 0
        assert len(monitoring.alerts(db, state=OPEN)) == 1

        back = check(db, both, minute(6))
        assert (back.came_up, back.mails) == (1, 1)
        assert monitoring.status_of(db, ap.id).state == UP
        db.refresh(alert)
        assert (alert.state, alert.resolved_at) == (RESOLVED, minute(6))
        subjects = [m.subject for m in db.scalars(select(MailMessage).where(MailMessage.entity == "isp_monitor_alert")
                                                  .order_by(MailMessage.id))]
        assert len(subjects) == 2 and "ap-north" in subjects[1]

        history = [(r.state, r.started_at, r.ended_at)
                   for r in monitoring.intervals(db, ap.id, minute(-10), minute(100))]
        assert history == [(UP, minute(0), minute(2)), (DOWN, minute(2), minute(6)), (UP, minute(6), None)]
        # up 0–2 and 6–8, down 2–6: 4 of 8 minutes
        assert monitoring.availability(db, ap.id, minute(0), minute(8), now=minute(8)) == 50.0
        assert monitoring.availability(db, ap.id, minute(3), minute(5), now=minute(8)) == 0.0
        assert monitoring.availability(db, ap.id, minute(-60), minute(1), now=minute(8)) == 100.0
        assert monitoring.availability(db, ap.id, minute(-60), minute(-1), now=minute(8)) is None
        assert monitoring.availability(db, network["router"].id, minute(0), minute(8), now=minute(8)) == 100.0
        # five checks fold into one 5-minute row: 08:00 (two answered, three lost), 08:05 (one of each)
        samples = db.scalars(select(LatencySample).where(LatencySample.device_id == ap.id)
                             .order_by(LatencySample.at)).all()
        assert [(s.at, s.checks, s.answered, s.sent, s.received, s.rtt_ms, s.loss_pct) for s in samples] == [
            (minute(0), 5, 2, 15, 6, 2.5, 60), (minute(5), 2, 1, 6, 3, 2.5, 50)]
    with in_loc(world.loc_b):  # BRN saw nothing of it
        assert monitoring.statuses(db) == [] and monitoring.alerts(db) == []


def test_never_answering_device_is_unknown_then_down(db, world, in_loc, network):
    with in_loc(world.loc_a):
        check(db, {}, minute(0))
        assert monitoring.status_of(db, network["router"].id).state == UNKNOWN
        check(db, {}, minute(1))
        check(db, {}, minute(2))
        assert monitoring.status_of(db, network["router"].id).state == DOWN
        history = [(r.state, r.started_at, r.ended_at)
                   for r in monitoring.intervals(db, network["router"].id, minute(-1), minute(9))]
        assert history == [(UNKNOWN, minute(0), minute(0)), (DOWN, minute(0), None)]
        # the router's failure cuts off the access point below it: its customer is counted too
        alert = db.scalar(select(Alert).where(Alert.device_id == network["router"].id))
        assert alert.customers == 1
        assert db.scalar(select(StateInterval.id).where(StateInterval.ended_at.is_(None),
                                                        StateInterval.device_id == network["router"].id))


def test_no_recipient_keeps_the_alert_without_mail(db, world, in_loc, network):
    with in_loc(world.loc_a):
        monitoring.save_config(db, alert_email="", down_after=1)
        db.commit()
        summary = check(db, {"10.9.0.1": ok("10.9.0.1")}, minute(0))
        assert summary.went_down == 1 and summary.mails == 0  # PRG has no e-mail of its own
        assert [a.device_id for a in monitoring.alerts(db, state=OPEN)] == [network["ap"].id]
        assert db.scalar(select(MailMessage.id)) is None


def test_config_rejects_bad_input_and_keeps_the_old(db, world, in_loc, network):
    with in_loc(world.loc_a):
        for email, checks, field in (("not an address", 3, "alert_email"), ("a@b.cz", 0, "down_after"),
                                     ("a@b.cz", "x", "down_after"), ("a@b.cz", 101, "down_after")):
            with pytest.raises(monitoring.MonitoringError) as caught:
                monitoring.save_config(db, alert_email=email, down_after=checks)
            assert caught.value.field == field
        cfg = monitoring.config(db)
        assert (cfg.alert_email, cfg.down_after) == ("noc@alfa.test", 3)
        saved = monitoring.save_config(db, alert_email="a@b.cz; c@d.cz", down_after="5")
        assert (saved.alert_email, saved.down_after) == ("a@b.cz, c@d.cz", 5)


def test_samples_are_purged_after_retention(db, world, in_loc, network):
    with in_loc(world.loc_a):
        check(db, {"10.9.0.1": ok("10.9.0.1")}, minute(0))
        check(db, {"10.9.0.1": ok("10.9.0.1")}, minute(60 * 24 * 3))
        removed = monitoring.purge(db, 2, now=minute(60 * 24 * 3))
        assert removed == 2  # the two samples of the first check
        assert len(db.scalars(select(LatencySample)).all()) == 2


def test_latency_buckets_and_chart(db, world, in_loc, network):
    with in_loc(world.loc_a):
        for n, rtt in ((0, 1.0), (5, 3.0), (10, 10.0)):
            check(db, {"10.9.0.1": ok("10.9.0.1", rtt)}, minute(n))
        points = monitoring.latency(db, network["router"].id, minute(0), minute(20), buckets=2)
        assert [(at, rtt, loss) for at, rtt, loss in points] == [(minute(0), 2.0, 0), (minute(10), 10.0, 0)]
        ap_points = monitoring.latency(db, network["ap"].id, minute(0), minute(20), buckets=4)
        assert [(rtt, loss) for _at, rtt, loss in ap_points] == [(None, 100)] * 3
    svg = str(rtt_chart(points + [(minute(15), None, 100)], minute(0), minute(20), title="RTT <r1>"))
    assert svg.startswith("<svg") and "style=" not in svg and "<script" not in svg
    assert "RTT &lt;r1&gt;" in svg and svg.count('class="sample"') == 2 and svg.count('class="loss"') == 1
    assert "10 ms" in svg  # the axis is rounded up to 10


# --- Opcare -------------------------------------------------------------------------------------


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def test_dashboard_shows_devices_down_with_customers(client, db, world, in_loc, network):
    with in_loc(world.loc_a):
        monitoring.save_config(db, alert_email="noc@alfa.test", down_after=1)
        db.commit()
        check(db, {"10.9.0.1": ok("10.9.0.1")}, datetime.now(UTC) - timedelta(minutes=2))
    enter(client, world, world.loc_a)
    page = text(client.get("/isp/monitoring/"))
    down_table = page.split('id="monitor-down"')[1].split("</table>")[0]
    assert "ap-north" in down_table and network["service"].customer.display_name in down_table
    assert "core-r1" not in down_table
    assert f'data-device="{network["router"].id}" data-state="up"' in page
    assert 'id="monitor-config"' in page

    device_page = text(client.get(f"/isp/monitoring/devices/{network['ap'].id}?days=7"))
    assert 'data-state="down"' in device_page and "<svg" in device_page and "style=" not in device_page.split(
        "<svg")[1].split("</svg>")[0]
    assert '<td data-days="1">0.000 %</td>' in device_page
    card = text(client.get(f"/devices/{network['ap'].id}"))
    slot = card.split('id="isp-monitoring"')[1].split("</section>")[0]
    assert 'data-state="down"' in slot and "0.000 %" in slot and f"/isp/monitoring/devices/{network['ap'].id}" in slot
    assert client.get(f"/isp/monitoring/devices/{network['other'].id}").status_code == 404  # BRN's device
    assert client.get("/isp/monitoring/devices/999999").status_code == 404


def test_permissions_and_config_form(app, client, db, world, in_loc, network):
    clerk = app.test_client()
    enter(clerk, world, world.loc_a, world.clerk_a)
    assert clerk.get("/isp/monitoring/").status_code == 403
    assert clerk.get(f"/isp/monitoring/devices/{network['ap'].id}").status_code == 403
    enter(client, world, world.loc_a)
    assert client.post("/isp/monitoring/config", data={"alert_email": "x@y.cz", "down_after": "2"}).status_code == 400
    resp = post(client, "/isp/monitoring/config", {"alert_email": "ops@alfa.test", "down_after": "0"},
                token_from="/isp/monitoring/")
    assert resp.status_code == 302
    with in_loc(world.loc_a):
        assert monitoring.config(db).down_after == 3
    resp = post(client, "/isp/monitoring/config", {"alert_email": "ops@alfa.test", "down_after": "2"},
                token_from="/isp/monitoring/")
    assert resp.status_code == 302
    with in_loc(world.loc_a):
        db.expire_all()
        cfg = monitoring.config(db)
        assert (cfg.alert_email, cfg.down_after) == ("ops@alfa.test", 2)
    with in_loc(world.loc_b):
        assert monitoring.config(db).id is None  # BRN keeps the defaults


def test_the_map_draws_devices_in_their_monitoring_state(db, world, in_loc, network):
    from mango_isp.maps.states import device_states

    ids = [network["router"].id, network["ap"].id]
    with in_loc(world.loc_a):
        assert device_states(db, ids) == dict.fromkeys(ids, UNKNOWN)  # never checked yet
        for n in range(3):
            check(db, {"10.9.0.1": ok("10.9.0.1")}, minute(n))
        assert device_states(db, ids) == {network["router"].id: UP, network["ap"].id: DOWN}
    with in_loc(world.loc_b):  # another location's states are not read
        assert device_states(db, ids) == dict.fromkeys(ids, UNKNOWN)
