"""SNMP counters against a real agent: Debian's ``snmpd`` in a network namespace of its own.

An agent namespace runs ``snmpd`` (its own config in tmp: a v2c community and a v3 user) on a
random port; a monitoring namespace reaches it over a veth pair, and the ``isp:snmp`` poll runs
there (``monitor_netns``), so the host's network is never touched. Real datagrams cross the veth
between two polls and the stored rate must match the bytes sent. Everything is removed at the end,
also after a failure.

Under ``CI=true`` (.ci/run installs snmpd) a missing ``snmpd`` fails instead of skipping.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from netns_helpers import sh, skip_reason
from sqlalchemy import select

from mango_core.devices.models import ACTIVE, Device
from mango_core.testing.factories import make_row
from mango_isp.monitoring import traffic
from mango_isp.monitoring.models import SnmpInterface, TrafficSample
from mango_isp.monitoring.snmp import Credentials, SnmpError, poll_many
from mango_isp.topology import service as topology

REASON = skip_reason() or (None if shutil.which("snmpd") else "needs snmpd (apt-get install snmpd)")
pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(REASON is not None and not os.environ.get("CI"), reason=REASON or "")]

AGENT, MONITOR = "10.202.0.2", "10.202.0.1"
COMMUNITY, USER, AUTH, PRIV = "mango-ro", "mangoro", "auth-pass-1", "priv-pass-1"
KEY = Fernet.generate_key().decode()
PAYLOAD, OVERHEAD = 1400, 42  # UDP payload; + UDP 8, IPv4 20, Ethernet 14 on the veth


class Agent:
    """A monitoring namespace and an agent namespace joined by a veth pair; snmpd in the agent's."""

    def __init__(self, tmp: Path) -> None:
        if REASON is not None:
            raise AssertionError(f"the SNMP agent tests cannot run: {REASON}")
        tag = uuid.uuid4().hex[:6]
        self.monitor, self.agent = f"h2s{tag}m", f"h2s{tag}a"
        self.namespaces: list[str] = []
        self.tmp = tmp
        self.port = random.randint(20000, 60000)
        self.proc: subprocess.Popen | None = None
        try:
            for ns in (self.monitor, self.agent):
                sh("ip", "netns", "add", ns)
                self.namespaces.append(ns)
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.monitor, "link", "add", "m0", "type", "veth", "peer", "name", "a0", "netns", self.agent)
            sh("ip", "-n", self.monitor, "addr", "add", f"{MONITOR}/24", "dev", "m0")
            sh("ip", "-n", self.agent, "addr", "add", f"{AGENT}/24", "dev", "a0")
            sh("ip", "-n", self.monitor, "link", "set", "m0", "up")
            sh("ip", "-n", self.agent, "link", "set", "a0", "up")
            (tmp / "snmpd.conf").write_text(
                f"agentAddress udp:{AGENT}:{self.port}\n"
                f"rocommunity {COMMUNITY} 10.202.0.0/24\n"
                f'createUser {USER} SHA "{AUTH}" AES "{PRIV}"\n'
                f"rouser {USER} priv\n")
            self.start()
        except BaseException:
            self.close()
            raise

    def start(self) -> None:
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.tmp / "persist"), "MIBS": ""}
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.agent, "snmpd", "-f", "-Lf", str(self.tmp / "log"),
                                      "-C", "-c", str(self.tmp / "snmpd.conf"), "-p", str(self.tmp / "pid")],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # ready when it answers and reports the veth up (its interface cache is a few seconds old)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            reading = poll_many([(1, AGENT, self.v2c())], timeout=0.5, retries=0, netns=self.monitor)[1]
            if not reading.error and any(i.name == "a0" and i.oper_status == 1 for i in reading.interfaces):
                return
            time.sleep(0.3)
        raise AssertionError(f"snmpd did not come up: {(self.tmp / 'log').read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def v2c(self, community: str = COMMUNITY) -> Credentials:
        return Credentials(version="2c", port=self.port, community=community)

    def send(self, count: int, *, into_agent: bool = True) -> int:
        """``count`` datagrams of PAYLOAD bytes across the veth; the octets they take on the wire."""
        source, target = (self.monitor, AGENT) if into_agent else (self.agent, MONITOR)
        script = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                  f"for _ in range({count}):\n    s.sendto(b'x' * {PAYLOAD}, ({target!r}, 9))\n")
        sh("ip", "netns", "exec", source, sys.executable, "-c", script, timeout=60)
        return count * (PAYLOAD + OVERHEAD)

    def a0_octets(self) -> tuple[int, int]:
        reading = poll_many([(1, AGENT, self.v2c())], timeout=1, retries=1, netns=self.monitor)[1]
        found = next(i for i in reading.interfaces if i.name == "a0")
        return found.in_octets, found.out_octets

    def close(self) -> None:
        self.stop()
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()


@pytest.fixture
def agent(tmp_path):  # noqa: ANN001, ANN201
    made = Agent(tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def keys(mango, monkeypatch):  # noqa: ANN001, ANN201
    configured = {**mango.settings.section("plugin_settings"), "isp": {"secret_keys": [KEY]}}
    monkeypatch.setitem(mango.settings.data, "plugin_settings", configured)


def settings(agent: Agent) -> dict:
    return {"snmp_timeout": 1.0, "snmp_retries": 1, "monitor_netns": agent.monitor, "monitor_keep_days": 30}


def test_the_poller_reads_v2c_and_v3_and_reports_failures(agent: Agent):
    v3 = Credentials(version="3", port=agent.port, username=USER, auth_protocol="sha", auth_key=AUTH,
                     priv_protocol="aes", priv_key=PRIV)
    started = time.monotonic()
    readings = poll_many([("v2c", AGENT, agent.v2c()), ("v3", AGENT, v3),
                          ("community", AGENT, agent.v2c("wrong")),
                          ("key", AGENT, Credentials(**{**v3.__dict__, "auth_key": "wrong-pass-1"})),
                          ("user", AGENT, Credentials(**{**v3.__dict__, "username": "nobody"})),
                          ("nobody", "10.202.0.99", agent.v2c())],
                         timeout=1.0, retries=0, netns=agent.monitor)
    elapsed = time.monotonic() - started
    for key in ("v2c", "v3"):
        reading = readings[key]
        assert reading.error == "" and reading.sys_uptime > 0, key
        names = {i.name: i for i in reading.interfaces}
        assert {"lo", "a0"} <= set(names)
        a0 = names["a0"]
        assert a0.hc and a0.oper_status == 1 and a0.in_octets > 0 and a0.speed_mbps == 10000
    assert "No SNMP response" in readings["community"].error  # a wrong community is ignored by the agent
    assert "digest" in readings["key"].error.lower()
    assert "unknown" in readings["user"].error.lower()
    assert "No SNMP response" in readings["nobody"].error
    assert all(AUTH not in r.error and COMMUNITY not in r.error for r in readings.values())
    assert elapsed < 4, elapsed  # all at once: one timeout, not one per failing agent
    with pytest.raises(SnmpError, match="does not exist"):
        poll_many([(1, AGENT, agent.v2c())], netns="h2-no-such-namespace")


def test_the_job_stores_real_traffic_rates(db, world, in_loc, keys, agent: Agent):
    with in_loc(world.loc_a):
        device = make_row(db, Device, name="agent", management_ip=AGENT, state=ACTIVE)
        topology.add_interface(db, device, name="a0")
        v3_device = make_row(db, Device, name="agent-v3", management_ip=AGENT, state=ACTIVE)
        wrong = make_row(db, Device, name="wrong-community", management_ip=AGENT, state=ACTIVE)
        gone = make_row(db, Device, name="unreachable", management_ip="10.202.0.99", state=ACTIVE)
        traffic.save_agent(db, device, enabled=True, version="2c", port=agent.port, community=COMMUNITY)
        traffic.save_agent(db, v3_device, enabled=True, version="3", port=agent.port, username=USER,
                           auth_protocol="sha", auth_key=AUTH, priv_protocol="aes", priv_key=PRIV)
        traffic.save_agent(db, wrong, enabled=True, version="2c", port=agent.port, community="not-it")
        traffic.save_agent(db, gone, enabled=True, version="2c", port=agent.port, community=COMMUNITY)
        db.commit()

        first = traffic.run_poll(db, settings(agent))
        db.commit()
        assert (first.devices, first.answered, first.errors) == (4, 2, 2)
        for failing in (wrong, gone):
            assert "No SNMP response" in traffic.agent_of(db, failing.id).last_error

        before = agent.a0_octets()
        sent_in = agent.send(10_000)
        sent_out = agent.send(3_000, into_agent=False)
        # snmpd caches interface counters for a few seconds: wait until it shows the traffic both ways
        # (waiting for the incoming octets alone let a poll catch the outgoing ones still cached)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            now_in, now_out = agent.a0_octets()
            if now_in >= before[0] + sent_in and now_out >= before[1] + sent_out:
                break
            time.sleep(0.5)
        second = traffic.run_poll(db, settings(agent))
        db.commit()
        assert (second.answered, second.errors) == (2, 2)

        port = db.scalar(select(SnmpInterface).where(SnmpInterface.device_id == device.id,
                                                     SnmpInterface.name == "a0"))
        assert port.interface is not None and port.interface.name == "a0"  # matched to the topology by name
        samples = db.scalars(select(TrafficSample).where(TrafficSample.interface_id == port.id)
                             .order_by(TrafficSample.at, TrafficSample.id)).all()
        assert len(samples) == 2 and samples[0].in_bps is None  # the first sample has no rate
        seconds = (samples[1].sys_uptime - samples[0].sys_uptime) / 100
        got_in = samples[1].in_octets - samples[0].in_octets
        got_out = samples[1].out_octets - samples[0].out_octets
        # every datagram crossed; SNMP's own few packets are the only extra
        assert sent_in <= got_in <= sent_in + 64_000, (sent_in, got_in)
        assert sent_out <= got_out <= sent_out + 64_000, (sent_out, got_out)
        assert samples[1].in_bps > 0 and samples[1].in_bps == pytest.approx(got_in * 8 / seconds, rel=1e-6)
        assert samples[1].out_bps == pytest.approx(got_out * 8 / seconds, rel=1e-6)
        assert port.in_bps == samples[1].in_bps and port.oper_status == 1
        v3_port = db.scalar(select(SnmpInterface).where(SnmpInterface.device_id == v3_device.id,
                                                        SnmpInterface.name == "a0"))
        assert v3_port.in_bps is not None and v3_port.in_bps > 0  # the v3 device saw the same traffic

        # the agent restarts: sysUpTime goes back, its counters start again — that sample has no rate
        agent.stop()
        agent.start()
        third = traffic.run_poll(db, settings(agent))
        db.commit()
        assert third.answered == 2
        last = db.scalars(select(TrafficSample).where(TrafficSample.interface_id == port.id)
                          .order_by(TrafficSample.at.desc(), TrafficSample.id.desc())).first()
        assert last.sys_uptime < samples[1].sys_uptime and (last.in_bps, last.out_bps) == (None, None)
