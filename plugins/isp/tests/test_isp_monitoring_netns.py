"""Monitoring against real network namespaces: the pinger's raw sockets, and the ``isp:monitor``
job taking a device down when its namespace stops answering and up again when it is back.

A monitoring namespace holds a bridge (10.201.0.1/24); each target is a namespace with one veth on
that bridge. Checks run with ``monitor_netns`` set to the monitoring namespace, so the host's own
network is never touched. Everything is removed at the end, also after a failure.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from netns_helpers import sh, skip_reason
from sqlalchemy import select

from mango_core.devices.models import ACTIVE, Device
from mango_core.mail.models import MailMessage
from mango_core.scheduler.jobs import JobContext
from mango_core.testing.factories import make_row
from mango_isp.monitoring import service as monitoring
from mango_isp.monitoring.hooks import MONITOR_JOB
from mango_isp.monitoring.models import DOWN, OPEN, RESOLVED, UP, Alert
from mango_isp.monitoring.pinger import PingError, ping_many

REASON = skip_reason()
pytestmark = [pytest.mark.netns, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
HOSTS = (11, 12, 13)


class Lab:
    """A monitoring namespace with a bridge and one namespace per target host."""

    def __init__(self, hosts: tuple[int, ...]) -> None:
        tag = uuid.uuid4().hex[:6]
        self.monitor = f"mg{tag}m"
        self.targets = {n: f"mg{tag}t{n}" for n in hosts}
        self.namespaces: list[str] = []
        try:
            self._ns(self.monitor)
            sh("ip", "-n", self.monitor, "link", "add", "br0", "type", "bridge")
            sh("ip", "-n", self.monitor, "addr", "add", "10.201.0.1/24", "dev", "br0")
            sh("ip", "-n", self.monitor, "addr", "add", "fd00:201::1/64", "dev", "br0", "nodad")
            sh("ip", "-n", self.monitor, "link", "set", "br0", "up")
            for n in hosts:
                self.add_host(n)
        except BaseException:
            self.close()
            raise

    def _ns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def add_host(self, n: int) -> None:
        ns = self.targets[n]
        self._ns(ns)
        sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", f"h{n}", "netns", self.monitor)
        sh("ip", "-n", self.monitor, "link", "set", f"h{n}", "master", "br0")
        sh("ip", "-n", self.monitor, "link", "set", f"h{n}", "up")
        sh("ip", "-n", ns, "addr", "add", f"10.201.0.{n}/24", "dev", "eth0")
        sh("ip", "-n", ns, "addr", "add", f"fd00:201::{n}/64", "dev", "eth0", "nodad")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def remove_host(self, n: int) -> None:
        sh("ip", "netns", "del", self.targets[n])
        self.namespaces.remove(self.targets[n])

    def close(self) -> None:
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()


@pytest.fixture
def lab():  # noqa: ANN201
    made = Lab(HOSTS)
    try:
        yield made
    finally:
        made.close()


SETTINGS = {"monitor_count": 2, "monitor_timeout": 0.5, "monitor_interval": 0.05, "monitor_keep_days": 3650}


def test_pinger_sees_who_answers(lab: Lab):
    targets = ["10.201.0.11", "10.201.0.12", "10.201.0.99", "fd00:201::13", "fd00:201::99"]
    results = ping_many(targets, count=3, timeout=0.5, interval=0.05, netns=lab.monitor)
    assert {a: r.received for a, r in results.items()} == {
        "10.201.0.11": 3, "10.201.0.12": 3, "10.201.0.99": 0, "fd00:201::13": 3, "fd00:201::99": 0}
    assert all(r.sent == 3 for r in results.values())
    assert results["10.201.0.11"].loss == 0 and 0 < results["10.201.0.11"].rtt_avg < 100
    assert results["10.201.0.99"].loss == 1 and results["10.201.0.99"].rtt_avg is None
    sh("ip", "-n", lab.targets[12], "link", "set", "eth0", "down")
    again = ping_many(["10.201.0.11", "10.201.0.12"], count=2, timeout=0.3, interval=0.05, netns=lab.monitor)
    assert (again["10.201.0.11"].received, again["10.201.0.12"].received) == (2, 0)


def test_pinger_refuses_bad_input(lab: Lab):
    with pytest.raises(ValueError):
        ping_many(["10.201.0.11", "not-an-address"], netns=lab.monitor)
    with pytest.raises(PingError):
        ping_many(["10.201.0.11"], netns="mg-no-such-namespace")
    assert ping_many([], netns=lab.monitor) == {}


def test_a_namespace_goes_down_and_comes_back(db, world, in_loc, make_service, lab: Lab):
    from mango_isp.topology import service as topology

    service = make_service(world.loc_a)
    with in_loc(world.loc_a):
        devices = {n: make_row(db, Device, name=f"ap-{n}", management_ip=f"10.201.0.{n}", state=ACTIVE)
                   for n in HOSTS}
        devices[14] = make_row(db, Device, name="ap-v6", management_ip="fd00:201::13", state=ACTIVE)
        topology.depend(db, service, devices[12])
        monitoring.save_config(db, alert_email="noc@alfa.test", down_after=2)
        db.commit()
        ids = {n: d.id for n, d in devices.items()}
        settings = {**SETTINGS, "monitor_netns": lab.monitor}

        def run(minute: int):  # noqa: ANN202
            summary = monitoring.run_checks(db, settings, now=T0 + timedelta(minutes=minute))
            db.commit()
            return summary

        def states() -> dict[int, str]:
            return {n: monitoring.status_of(db, i).state for n, i in ids.items()}

        first = run(0)
        assert (first.devices, first.up, first.down) == (4, 4, 0)
        assert states() == {11: UP, 12: UP, 13: UP, 14: UP}

        sh("ip", "-n", lab.targets[12], "link", "set", "eth0", "down")  # the access point loses its link
        lab.remove_host(13)                                             # and this one is gone for good
        assert run(1).went_down == 0  # one failed check is not an outage yet
        assert states()[12] == UP and monitoring.status_of(db, ids[12]).failures == 1
        second = run(2)
        assert (second.went_down, second.down, second.mails) == (3, 3, 3)
        assert states() == {11: UP, 12: DOWN, 13: DOWN, 14: DOWN}
        alert = db.scalar(select(Alert).where(Alert.device_id == ids[12]))
        assert (alert.state, alert.down_since, alert.customers) == (OPEN, T0 + timedelta(minutes=1), 1)
        mails = db.scalars(select(MailMessage).where(MailMessage.entity == "isp_monitor_alert")).all()
        assert sorted(m.entity_id for m in mails) == sorted(a.id for a in monitoring.alerts(db, state=OPEN))
        assert all(m.recipients == ["noc@alfa.test"] for m in mails)

        sh("ip", "-n", lab.targets[12], "link", "set", "eth0", "up")
        lab.add_host(13)  # the namespace is made again, with a new MAC address:
        sh("ip", "-n", lab.monitor, "neigh", "flush", "dev", "br0")  # forget the old one at once
        back = run(4)
        assert (back.came_up, back.up, back.down) == (3, 4, 0)
        db.refresh(alert)
        assert (alert.state, alert.resolved_at) == (RESOLVED, T0 + timedelta(minutes=4))
        assert monitoring.alerts(db, state=OPEN) == []
        assert db.scalar(select(MailMessage.id).where(MailMessage.dedup_key == f"isp-monitor-alert-{alert.id}-resolved"))

        history = [(r.state, r.started_at, r.ended_at)
                   for r in monitoring.intervals(db, ids[12], T0 - timedelta(hours=1), T0 + timedelta(hours=1))]
        assert history == [(UP, T0, T0 + timedelta(minutes=1)),
                           (DOWN, T0 + timedelta(minutes=1), T0 + timedelta(minutes=4)),
                           (UP, T0 + timedelta(minutes=4), None)]
        # up 0–1 and 4–10, down 1–4: 7 of 10 minutes
        assert monitoring.availability(db, ids[12], T0, T0 + timedelta(minutes=10),
                                       now=T0 + timedelta(minutes=10)) == 70.0
        assert monitoring.availability(db, ids[11], T0, T0 + timedelta(minutes=10),
                                       now=T0 + timedelta(minutes=10)) == 100.0

        # the scheduled job runs the same check (here: everything answers, nothing changes)
        result = MONITOR_JOB.func(JobContext(session=db, location_id=world.loc_a.id, job_id=MONITOR_JOB.id,
                                             settings=settings))
        assert result.startswith("4 devices: 4 up, 0 down")
