"""SNMP interface counters without a network: rates (counter wrap, agent restart, reset), storing
readings, errors per device, retention, settings with encrypted secrets, the traffic graph and pages.

Readings are given as :class:`Reading` values; the poller itself is tested against a real
``snmpd`` in ``test_isp_snmp_agent.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from mango_core.devices.models import ACTIVE, PLANNED, Device
from mango_core.scheduler.jobs import JobContext
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post
from mango_isp.monitoring import traffic
from mango_isp.monitoring.chart import si_rate, traffic_chart
from mango_isp.monitoring.hooks import SNMP_JOB
from mango_isp.monitoring.models import SnmpAgent, SnmpInterface, TrafficSample
from mango_isp.monitoring.service import MonitoringError
from mango_isp.monitoring.snmp import Credentials, InterfaceReading, Reading
from mango_isp.topology import service as topology

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KEY = Fernet.generate_key().decode()


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def keys(mango, monkeypatch):  # noqa: ANN001, ANN201
    configured = {**mango.settings.section("plugin_settings"), "isp": {"secret_keys": [KEY]}}
    monkeypatch.setitem(mango.settings.data, "plugin_settings", configured)
    return [KEY]


@pytest.fixture
def routers(db, world, in_loc, keys):  # noqa: ANN001, ANN201
    """PRG: two routers with SNMP (v2c and v3), one without, a planned one with SNMP; BRN: a router with SNMP."""
    made = {}
    with in_loc(world.loc_a):
        r1 = make_row(db, Device, name="core-r1", management_ip="10.9.0.1", state=ACTIVE)
        r2 = make_row(db, Device, name="core-r2", management_ip="10.9.0.2", state=ACTIVE)
        make_row(db, Device, name="no-snmp", management_ip="10.9.0.3", state=ACTIVE)
        planned = make_row(db, Device, name="planned", management_ip="10.9.0.4", state=PLANNED)
        topology.add_interface(db, r1, name="ether1")
        topology.add_interface(db, r1, name="SFP1")
        traffic.save_agent(db, r1, enabled=True, version="2c", port=161, community="public-secret")
        traffic.save_agent(db, r2, enabled=True, version="3", port="1161", username="mango", auth_protocol="sha",
                           auth_key="authkey-secret", priv_protocol="aes", priv_key="privkey-secret")
        traffic.save_agent(db, planned, enabled=True, version="2c", port=161, community="x")
        made.update(r1=r1, r2=r2)
    with in_loc(world.loc_b):
        other = make_row(db, Device, name="brno-r1", management_ip="10.9.0.1", state=ACTIVE)
        traffic.save_agent(db, other, enabled=True, version="2c", port=161, community="brno")
        made["other"] = other
    db.commit()
    return made


def port(index: int, name: str, rx: int | None, tx: int | None, *, hc: bool = True, speed: int | None = 1000,
         oper: int = 1) -> InterfaceReading:
    return InterfaceReading(if_index=index, name=name, descr=f"{name} port", oper_status=oper, speed_mbps=speed,
                            in_octets=rx, out_octets=tx, hc=hc)


def poll(db, answers: dict[str, Reading], at: datetime):  # noqa: ANN001, ANN201
    """One ``run_poll`` with the given readings by address (others: no answer)."""
    seen = []

    def fake(work, **kwargs):  # noqa: ANN001, ANN202
        seen.append((work, kwargs))
        return {key: answers.get(address, Reading(address, error="No SNMP response received before timeout"))
                for key, address, _creds in work}

    summary = traffic.run_poll(db, {"monitor_keep_days": 3650}, now=at, poll=fake)
    db.commit()
    return summary, seen


# --- rates ------------------------------------------------------------------------------------------


def test_rates_handle_wrap_restart_and_reset():
    # plain difference
    assert traffic.bit_rate(1_000, 126_000, 10.0, hc=True) == 100_000.0
    # a 32-bit counter wraps at 2^32: 1000 octets before the wrap, 1000 after
    assert traffic.octet_delta(2**32 - 1_000, 1_000, hc=False) == (2_000, True)
    assert traffic.bit_rate(2**32 - 1_000, 1_000, 2.0, hc=False, speed_mbps=100) == 8_000.0
    # ... unless the rate that implies is more than the line carries: it was a reset
    assert traffic.bit_rate(3_000_000_000, 5, 300.0, hc=False, speed_mbps=10) is None
    # a 64-bit counter going back was reset, it did not wrap
    assert traffic.octet_delta(2**40, 5, hc=True) == (None, False)
    assert traffic.bit_rate(2**40, 5, 300.0, hc=True) is None
    # sysUpTime gives the time between polls; going back means the agent restarted
    assert traffic.elapsed(100_000, 130_000) == 300.0
    assert traffic.elapsed(130_000, 2_000) is None
    assert traffic.elapsed(None, 2_000) is None
    assert traffic.bit_rate(1, 2, None, hc=True) is None and traffic.bit_rate(1, 2, 0.0, hc=True) is None
    assert traffic.bit_rate(None, 2, 10.0, hc=True) is None  # first sample


def test_readings_become_interfaces_and_samples_with_rates(db, world, in_loc, routers):
    r1 = routers["r1"]
    with in_loc(world.loc_a):
        first = Reading("10.9.0.1", sys_uptime=100_000,
                        interfaces=[port(1, "ether1", 1_000, 2_000), port(2, "sfp1", 2**32 - 500, 0, hc=False),
                                    port(3, "wlan1", 0, 0, oper=2, speed=None)])
        summary, seen = poll(db, {"10.9.0.1": first, "10.9.0.2": Reading("10.9.0.2", error="Wrong SNMP PDU digest")},
                             minute(0))
        # the planned device and the other location are not polled; the errors do not stop the others
        assert sorted(address for _key, address, _c in seen[0][0]) == ["10.9.0.1", "10.9.0.2"]
        assert (summary.devices, summary.answered, summary.errors, summary.interfaces, summary.samples) == (
            2, 1, 1, 3, 3)
        creds = {address: c for _k, address, c in seen[0][0]}
        assert creds["10.9.0.1"].community == "public-secret"  # decrypted just for the poll
        assert (creds["10.9.0.2"].version, creds["10.9.0.2"].port, creds["10.9.0.2"].auth_key) == (
            "3", 1161, "authkey-secret")
        assert "secret" not in repr(creds["10.9.0.2"])
        ports = {p.if_index: p for p in traffic.interfaces_of(db, r1.id)}
        assert (ports[1].name, ports[1].oper_status, ports[1].speed_mbps, ports[1].in_bps) == ("ether1", 1, 1000, None)
        # the topology's interfaces of the same name (ignoring case) are linked
        assert ports[1].interface.name == "ether1" and ports[2].interface.name == "SFP1"
        assert ports[3].interface_id is None
        r2_agent = traffic.agent_of(db, routers["r2"].id)
        assert r2_agent.last_error == "Wrong SNMP PDU digest" and r2_agent.last_ok_at is None

        # five minutes later (by the agent's clock): 37.5 MB in on ether1, the 32-bit sfp1 wrapped
        second = Reading("10.9.0.1", sys_uptime=130_000,
                         interfaces=[port(1, "ether1", 1_000 + 37_500_000, 2_000 + 3_750_000),
                                     port(2, "sfp1", 1_500, 300_000, hc=False), port(3, "wlan1", 0, 0, oper=2)])
        poll(db, {"10.9.0.1": second}, minute(5))
        db.expire_all()
        ports = {p.if_index: p for p in traffic.interfaces_of(db, r1.id)}
        assert (ports[1].in_bps, ports[1].out_bps) == (1_000_000.0, 100_000.0)
        assert ports[2].in_bps == pytest.approx(2_000 * 8 / 300) and ports[2].out_bps == 8_000.0
        assert traffic.agent_of(db, routers["r2"].id).last_error  # still failing

        # the agent restarted: its uptime went back, counters started again — no rate, no nonsense
        third = Reading("10.9.0.1", sys_uptime=3_000, interfaces=[port(1, "ether1", 10_000, 20_000)])
        poll(db, {"10.9.0.1": third}, minute(10))
        # then normal again
        fourth = Reading("10.9.0.1", sys_uptime=33_000, interfaces=[port(1, "ether1", 10_000 + 750_000, 20_000)])
        poll(db, {"10.9.0.1": fourth}, minute(15))
        rows = db.execute(select(TrafficSample.at, TrafficSample.in_bps, TrafficSample.out_bps)
                          .join(SnmpInterface, SnmpInterface.id == TrafficSample.interface_id)
                          .where(SnmpInterface.if_index == 1).order_by(TrafficSample.at)).all()
        assert [tuple(r) for r in rows] == [(minute(0), None, None), (minute(5), 1_000_000.0, 100_000.0),
                                            (minute(10), None, None), (minute(15), 20_000.0, 0.0)]
        # graph buckets: the mean rate per bucket, samples without a rate left out
        points = traffic.traffic(db, ports[1].id, minute(0), minute(20), buckets=4)
        assert points == [(minute(5), 1_000_000.0, 100_000.0), (minute(15), 20_000.0, 0.0)]
    with in_loc(world.loc_b):
        assert db.scalar(select(func.count()).select_from(SnmpInterface)) == 0


def test_counter64_above_2_63_is_stored_and_subtracted(db, world, in_loc, routers):
    with in_loc(world.loc_a):
        big = 2**64 - 1_000
        poll(db, {"10.9.0.1": Reading("10.9.0.1", sys_uptime=0, interfaces=[port(1, "ether1", big, 2**63)])},
             minute(0))
        poll(db, {"10.9.0.1": Reading("10.9.0.1", sys_uptime=100,
                                      interfaces=[port(1, "ether1", big + 500, 2**63 + 125)])}, minute(1))
        db.expire_all()
        row = traffic.interfaces_of(db, routers["r1"].id)[0]
        assert (row.in_bps, row.out_bps) == (4_000.0, 1_000.0)


def test_old_samples_are_purged_and_the_job_polls(db, world, in_loc, routers, monkeypatch):
    asked = []

    def nobody_answers(work, **kwargs):  # noqa: ANN001, ANN202 - no datagram leaves the test
        asked.append(kwargs)
        return {key: Reading(address, error="No SNMP response received before timeout")
                for key, address, _creds in work}

    monkeypatch.setattr(traffic, "poll_many", nobody_answers)
    with in_loc(world.loc_a):
        poll(db, {"10.9.0.1": Reading("10.9.0.1", sys_uptime=0, interfaces=[port(1, "ether1", 0, 0)])}, minute(0))
        assert traffic.purge(db, 30, now=minute(0) + timedelta(days=29)) == 0
        assert traffic.purge(db, 30, now=minute(0) + timedelta(days=31)) == 1
        assert db.scalar(select(func.count()).select_from(SnmpInterface)) == 1  # the interface stays
        # the scheduled job with the location's settings: errors recorded, nothing raised
        result = SNMP_JOB.func(JobContext(session=db, location_id=world.loc_a.id, job_id=SNMP_JOB.id,
                                          settings={"snmp_timeout": 0.2, "snmp_retries": 0, "monitor_keep_days": 30,
                                                    "monitor_netns": "mgmt"}))
        assert result.startswith("2 SNMP agents: 0 answered, 2 errors")
        assert asked == [{"timeout": 0.2, "retries": 0, "concurrency": 50, "max_interfaces": 5000, "netns": "mgmt"}]
        for device in (routers["r1"], routers["r2"]):
            assert db.scalar(select(SnmpAgent.last_error).where(SnmpAgent.device_id == device.id))


# --- settings ---------------------------------------------------------------------------------------


def test_settings_are_validated_and_secrets_encrypted(db, world, in_loc, routers, keys):
    r1, r2 = routers["r1"], routers["r2"]
    with in_loc(world.loc_a):
        agent = traffic.agent_of(db, r1.id)
        assert "public-secret" not in agent.community_secret  # a token, not the text
        assert traffic.masked(agent)["community_secret"] == "••••••et"
        assert traffic.masked(traffic.agent_of(db, r2.id)) == {"community_secret": "", "auth_secret": "••••••et",
                                                               "priv_secret": "••••••et"}
        before = agent.community_secret
        traffic.save_agent(db, r1, enabled=True, version="2c", port="162", community="")  # empty: keep
        assert agent.community_secret == before and agent.port == 162
        for kwargs, field in (({"version": "1"}, "version"), ({"port": "70000"}, "port"), ({"port": "x"}, "port"),
                              ({"version": "3"}, "username"),
                              ({"version": "3", "username": "u", "auth_protocol": "sha", "auth_key": "short"},
                               "auth_key"),
                              ({"version": "3", "username": "u", "auth_protocol": "sha"}, "auth_key"),
                              ({"version": "3", "username": "u", "priv_protocol": "aes", "priv_key": "12345678"},
                               "priv_protocol"),
                              ({"version": "3", "username": "u", "auth_protocol": "sha1", "auth_key": "12345678"},
                               "auth_protocol")):
            with pytest.raises(MonitoringError) as err:
                traffic.save_agent(db, r1, **{"enabled": True, "version": "2c", "port": 161, **kwargs})
            assert err.value.field == field, kwargs
        new = make_row(db, Device, name="new", management_ip="10.9.0.9", state=ACTIVE)
        with pytest.raises(MonitoringError, match="community"):
            traffic.save_agent(db, new, enabled=True, version="2c", port=161)
        # switching to v3 drops the community; v3 without privacy keeps no privacy key
        traffic.save_agent(db, r1, enabled=False, version="3", port=161, username="ro", auth_protocol="sha256",
                           auth_key="12345678")
        assert (agent.community_secret, agent.priv_secret, agent.enabled, agent.auth_protocol) == (
            None, None, False, "sha256")
        assert traffic.credentials(agent).auth_key == "12345678"


# --- the graph and the pages -------------------------------------------------------------------------


def test_the_traffic_chart_draws_in_and_out():
    points = [(minute(0), 1e6, 2e5), (minute(5), None, 3e5), (minute(10), 2.5e6, 1e5), (minute(15), 3e6, 1e5)]
    svg = str(traffic_chart(points, minute(0), minute(20), title="eth0 <x>", labels=("dovnitř", "ven")))
    assert svg.startswith("<svg") and "eth0 &lt;x&gt;" in svg
    assert svg.count('<polyline class="in"') == 1 and svg.count('<polyline class="out"') == 1
    assert svg.count('class="sample in"') == 3 and svg.count('class="sample out"') == 4
    assert "5 Mbit/s" in svg and "dovnitř" in svg and "style=" not in svg
    assert (si_rate(950), si_rate(12_500_000), si_rate(None)) == ("950 bit/s", "12.5 Mbit/s", "—")
    empty = str(traffic_chart([], minute(0), minute(20), title="x"))
    assert "<polyline" not in empty


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def test_device_page_shows_interfaces_graphs_and_saves_settings(app, client, db, world, in_loc, routers):
    r1 = routers["r1"]
    with in_loc(world.loc_a):
        r2_id = routers["r2"].id
    with in_loc(world.loc_b):
        other_id = routers["other"].id
    with in_loc(world.loc_a):
        poll(db, {"10.9.0.1": Reading("10.9.0.1", sys_uptime=0, interfaces=[port(1, "ether1", 0, 0)])},
             datetime.now(UTC) - timedelta(minutes=10))
        poll(db, {"10.9.0.1": Reading("10.9.0.1", sys_uptime=30_000,
                                      interfaces=[port(1, "ether1", 37_500_000, 3_750_000)])},
             datetime.now(UTC) - timedelta(minutes=5))
        port_id = traffic.interfaces_of(db, r1.id)[0].id
    enter(client, world, world.loc_a)
    page = client.get(f"/isp/monitoring/devices/{r1.id}").get_data(as_text=True)
    assert 'id="snmp-interfaces"' in page and 'data-if-index="1"' in page
    assert "1 Mbit/s" in page and "100 kbit/s" in page
    assert f'id="traffic-{port_id}"' in page and 'class="sample in"' in page
    assert "public-secret" not in page and "••••••et" in page  # the community is shown masked only
    chosen = client.get(f"/isp/monitoring/devices/{r1.id}?days=7&interface={port_id}").get_data(as_text=True)
    assert f'id="traffic-{port_id}"' in chosen
    card = client.get(f"/devices/{r1.id}").get_data(as_text=True)
    assert 'id="isp-snmp-slot"' in card

    page_r2 = f"/isp/monitoring/devices/{r2_id}"
    assert "Wrong SNMP" not in client.get(page_r2).get_data(as_text=True)  # not polled yet in this test
    resp = post(client, f"{page_r2}/snmp", {"enabled": "y", "version": "2c", "port": "161", "community": "new-one"},
                token_from=page_r2)
    assert resp.status_code == 302
    with in_loc(world.loc_a):
        db.expire_all()
        agent = traffic.agent_of(db, r2_id)
        assert (agent.version, traffic.credentials(agent).community, agent.username) == ("2c", "new-one", "")
    resp = post(client, f"{page_r2}/snmp", {"enabled": "y", "version": "2c", "port": "0"}, token_from=page_r2)
    assert resp.status_code == 302
    with in_loc(world.loc_a):
        db.expire_all()
        assert traffic.agent_of(db, r2_id).port == 161  # refused, nothing changed
    assert client.post(f"{page_r2}/snmp", data={"version": "2c", "port": "161"}).status_code == 400  # no CSRF
    # another location's device is not found
    assert post(client, f"/isp/monitoring/devices/{other_id}/snmp", {"version": "2c"},
                token_from=page_r2).status_code == 404


def test_settings_need_the_manage_permission(app, db, world, in_loc, routers):
    with in_loc(world.loc_a):
        r1_id = routers["r1"].id
    clerk = app.test_client()
    login(clerk, world.clerk_a.email)
    post(clerk, "/location", {"location_id": world.loc_a.id})
    path = f"/isp/monitoring/devices/{r1_id}/snmp"
    assert post(clerk, path, {"version": "2c", "port": "1", "community": "x"}).status_code in (403, 404)
    with in_loc(world.loc_a):
        db.expire_all()
        assert traffic.agent_of(db, r1_id).port == 161


def test_credentials_repr_hides_secrets():
    creds = Credentials(version="3", community="c0mmunity", username="u", auth_key="authsecret", priv_key="privsecret")
    assert "secret" not in repr(creds) and "c0mm" not in repr(creds)
