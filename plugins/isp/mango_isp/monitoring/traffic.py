"""SNMP interface counters: per-device agent settings, the ``isp:snmp`` poll, rates and traffic graphs.

Which devices: those with an enabled :class:`SnmpAgent` and a management address
(``Device.management_ip``) in state *active* or *broken* — the same ones ICMP watches. Each poll
(:func:`run_poll`) reads every agent at once (:mod:`.snmp`), then per interface stores one
:class:`TrafficSample` with the octet counters and the bit rates since the previous poll.

Rates: the time between two polls is taken from the agent's ``sysUpTime`` (its own clock, so
the network's delays do not distort it). ``sysUpTime`` going back means the agent restarted:
its counters started again from zero, so that sample has no rate (nor has the first one of an
interface). A 32-bit counter that went back wrapped at 2^32 (``ifInOctets`` of an agent
without ``ifXTable``) — unless the rate this implies is above the interface's speed, which
means a reset. A 64-bit counter does not wrap in practice: going back is a reset, no rate.

Secrets (the community, the v3 keys) are stored as :mod:`mango_isp.queue.secrets` tokens and
shown masked only. Samples are kept ``monitor_keep_days`` like latency samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.tenancy.validators import N_
from mango_isp.monitoring.models import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    SNMP_VERSIONS,
    SnmpAgent,
    SnmpInterface,
    TrafficSample,
)
from mango_isp.monitoring.service import KEEP_DAYS, WATCHED, MonitoringError
from mango_isp.monitoring.snmp import Credentials, InterfaceReading, Reading, poll_many
from mango_isp.queue import secrets

WRAP32 = 1 << 32
SIGNED64 = 1 << 63
OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}


@dataclass
class PollSummary:
    devices: int = 0
    answered: int = 0
    errors: int = 0
    interfaces: int = 0
    samples: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (f"{self.devices} SNMP agents: {self.answered} answered, {self.errors} errors; "
                f"{self.interfaces} interfaces, {self.samples} samples in {self.seconds:.1f} s")


# --- settings ---------------------------------------------------------------------------------


def agent_of(session: Session, device_id: int) -> SnmpAgent | None:
    return session.scalar(select(SnmpAgent).where(SnmpAgent.device_id == device_id))


def save_agent(session: Session, device: Device, *, enabled: Any, version: Any, port: Any, community: Any = "",
               username: Any = "", auth_protocol: Any = "", auth_key: Any = "", priv_protocol: Any = "",
               priv_key: Any = "") -> SnmpAgent:
    """Store a device's SNMP settings; an empty secret keeps the stored one. Bad input changes nothing."""
    row = agent_of(session, device.id)
    version = str(version or "").strip().lower().removeprefix("v")
    if version not in SNMP_VERSIONS:
        raise MonitoringError(N_("Choose SNMP version 2c or 3."), field="version")
    try:
        number = int(str(port).strip() or "161")
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise MonitoringError(N_("Enter a port from 1 to 65535."), field="port")
    community, user = str(community or ""), str(username or "").strip()
    auth, priv = str(auth_protocol or "").strip().lower(), str(priv_protocol or "").strip().lower()
    auth_key, priv_key = str(auth_key or ""), str(priv_key or "")
    if auth not in AUTH_PROTOCOLS:
        raise MonitoringError(N_("Choose an authentication protocol."), field="auth_protocol")
    if priv not in PRIV_PROTOCOLS:
        raise MonitoringError(N_("Choose a privacy protocol."), field="priv_protocol")
    for value, field in ((community, "community"), (auth_key, "auth_key"), (priv_key, "priv_key"), (user, "username")):
        if len(value) > 64:
            raise MonitoringError(N_("At most %(max)d characters."), field=field, max=64)
    if version == "2c":
        if not community and not (row is not None and row.community_secret):
            raise MonitoringError(N_("Enter the community."), field="community")
    else:
        if not user:
            raise MonitoringError(N_("Enter the SNMPv3 user name."), field="username")
        if priv and not auth:
            raise MonitoringError(N_("Privacy needs authentication too."), field="priv_protocol")
        for proto, key, stored, field in ((auth, auth_key, row.auth_secret if row else None, "auth_key"),
                                          (priv, priv_key, row.priv_secret if row else None, "priv_key")):
            if proto and not key and not stored:
                raise MonitoringError(N_("Enter the key."), field=field)
            if proto and key and len(key) < 8:
                raise MonitoringError(N_("An SNMPv3 key has at least 8 characters."), field=field)
    try:  # encrypt everything first: missing keys refuse the whole change
        tokens = {name: secrets.encrypt(value) for name, value in
                  (("community", community), ("auth", auth_key), ("priv", priv_key)) if value}
    except secrets.SecretsError as exc:
        raise MonitoringError(N_("Credentials cannot be encrypted: %(reason)s"), field="community",
                              reason=str(exc)) from None
    if row is None:
        row = SnmpAgent(device_id=device.id)
        session.add(row)
    row.enabled = str(enabled).lower() in ("1", "true", "on", "yes", "y") if not isinstance(enabled, bool) else enabled
    row.version, row.port = version, number
    row.username = user if version == "3" else ""
    row.auth_protocol, row.priv_protocol = (auth, priv) if version == "3" else ("", "")
    if "community" in tokens:
        row.community_secret = tokens["community"]
    if "auth" in tokens:
        row.auth_secret = tokens["auth"]
    if "priv" in tokens:
        row.priv_secret = tokens["priv"]
    if version == "3":
        row.community_secret = None
        row.auth_secret = row.auth_secret if auth else None
        row.priv_secret = row.priv_secret if priv else None
    else:
        row.auth_secret = row.priv_secret = None
    row.last_error = ""
    session.flush()
    return row


def masked(agent: SnmpAgent | None) -> dict[str, str]:
    """What may be shown of the stored secrets (``mask``; a token no key opens shows as ``?``)."""
    shown = {}
    for name in ("community_secret", "auth_secret", "priv_secret"):
        token = getattr(agent, name, None) if agent is not None else None
        if not token:
            shown[name] = ""
            continue
        try:
            shown[name] = secrets.mask(secrets.decrypt(token)) or "••••••"
        except secrets.SecretsError:
            shown[name] = "?"
    return shown


def credentials(agent: SnmpAgent) -> Credentials:
    """The plain credentials of an agent, just for the poll (:class:`secrets.SecretsError` if a key is gone)."""
    def plain(token: str | None) -> str:
        return secrets.decrypt(token) if token else ""

    return Credentials(version=agent.version, port=agent.port, community=plain(agent.community_secret),
                       username=agent.username, auth_protocol=agent.auth_protocol, auth_key=plain(agent.auth_secret),
                       priv_protocol=agent.priv_protocol, priv_key=plain(agent.priv_secret))


# --- rates ----------------------------------------------------------------------------------------


def octet_delta(previous: int | None, current: int | None, *, hc: bool) -> tuple[int | None, bool]:
    """Octets between two readings of one counter and whether it wrapped; ``(None, False)`` when unknown.

    A 64-bit counter going back was reset; a 32-bit one wrapped once at 2^32.
    """
    if previous is None or current is None:
        return None, False
    if current >= previous:
        return current - previous, False
    if hc:
        return None, False
    return current + WRAP32 - previous, True


def bit_rate(previous: int | None, current: int | None, seconds: float | None, *, hc: bool,
             speed_mbps: int | None = None) -> float | None:
    """Bits per second between two readings ``seconds`` apart; None when it cannot be told."""
    if seconds is None or seconds <= 0:
        return None
    delta, wrapped = octet_delta(previous, current, hc=hc)
    if delta is None:
        return None
    rate = delta * 8 / seconds
    if wrapped and speed_mbps and rate > speed_mbps * 1_000_000 * 1.05:
        return None  # more than the line can carry: the counter was reset, it did not wrap
    return rate


def elapsed(previous_uptime: int | None, uptime: int | None) -> float | None:
    """Seconds between two ``sysUpTime`` readings (hundredths); None after a restart (it went back)."""
    if previous_uptime is None or uptime is None or uptime < previous_uptime:
        return None
    return (uptime - previous_uptime) / 100


def _to_db(value: int | None) -> int | None:
    """A Counter64 in a signed BIGINT column (two's complement above 2^63)."""
    return value - (1 << 64) if value is not None and value >= SIGNED64 else value


def _from_db(value: int | None) -> int | None:
    return value + (1 << 64) if value is not None and value < 0 else value


# --- the poll ---------------------------------------------------------------------------------------


def targets(session: Session) -> list[tuple[SnmpAgent, str]]:
    """``(agent, management address)`` of every enabled agent of a watched device of the location."""
    return list(session.execute(select(SnmpAgent, Device.management_ip).join(Device, Device.id == SnmpAgent.device_id)
                                .where(SnmpAgent.enabled.is_(True), Device.management_ip.is_not(None),
                                       Device.management_ip != "", Device.state.in_(WATCHED))
                                .order_by(SnmpAgent.id)).all())


def run_poll(session: Session, settings: dict[str, Any] | None = None, *, now: datetime | None = None,
             poll: Callable[..., dict[int, Reading]] | None = None) -> PollSummary:
    """Read every agent of the location once and store the interfaces and samples (the ``isp:snmp`` job)."""
    settings = settings or {}
    poll = poll or poll_many
    started = time.monotonic()
    summary = PollSummary()
    agents: dict[int, SnmpAgent] = {}
    work = []
    failed: dict[int, str] = {}
    for agent, address in targets(session):
        agents[agent.id] = agent
        try:
            work.append((agent.id, address.strip(), credentials(agent)))
        except secrets.SecretsError as exc:
            failed[agent.id] = str(exc)
    readings = poll(work, timeout=float(settings.get("snmp_timeout", 2.0)),
                    retries=int(settings.get("snmp_retries", 1)),
                    concurrency=int(settings.get("snmp_concurrency", 50)),
                    max_interfaces=int(settings.get("snmp_max_interfaces", 5000)),
                    netns=settings.get("monitor_netns") or None) if work else {}
    at = now or utcnow()
    for agent_id, agent in agents.items():
        summary.devices += 1
        reading = readings.get(agent_id) or Reading("", error=failed.get(agent_id, "no reading"))
        if agent_id in failed:
            reading.error = failed[agent_id]
        made = record(session, agent, reading, now=at)
        if reading.error:
            summary.errors += 1
        else:
            summary.answered += 1
            summary.interfaces += len(reading.interfaces)
            summary.samples += made
    purge(session, int(settings.get("monitor_keep_days", KEEP_DAYS)), now=now)
    summary.seconds = time.monotonic() - started
    return summary


def record(session: Session, agent: SnmpAgent, reading: Reading, *, now: datetime) -> int:
    """Store one agent's reading (or its error); returns the number of samples written."""
    agent.last_poll_at = now
    if reading.error:
        agent.last_error = reading.error[:500]
        session.flush()
        return 0
    seconds = elapsed(agent.sys_uptime, reading.sys_uptime)
    known = {row.if_index: row for row in session.scalars(select(SnmpInterface)
                                                          .where(SnmpInterface.device_id == agent.device_id))}
    topology = _topology_names(session, agent.device_id)
    made = 0
    for found in reading.interfaces:  # new interfaces first, one flush for their ids
        if found.if_index not in known:
            known[found.if_index] = SnmpInterface(device_id=agent.device_id, if_index=found.if_index, hc=found.hc)
            session.add(known[found.if_index])
    session.flush()
    for found in reading.interfaces:
        row = known[found.if_index]
        same_width = row.hc == found.hc
        previous_in, previous_out = _from_db(row.in_octets), _from_db(row.out_octets)
        row.name, row.descr, row.oper_status = found.name, found.descr, found.oper_status
        row.speed_mbps, row.last_seen_at = found.speed_mbps, now
        row.interface_id = _match(topology, found)
        if found.in_octets is None or found.out_octets is None:
            row.in_bps = row.out_bps = None
            continue
        gap = seconds if same_width else None
        in_bps = bit_rate(previous_in, found.in_octets, gap, hc=found.hc, speed_mbps=found.speed_mbps)
        out_bps = bit_rate(previous_out, found.out_octets, gap, hc=found.hc, speed_mbps=found.speed_mbps)
        row.hc, row.in_octets, row.out_octets = found.hc, _to_db(found.in_octets), _to_db(found.out_octets)
        row.in_bps, row.out_bps = in_bps, out_bps
        session.add(TrafficSample(device_id=agent.device_id, interface_id=row.id, at=now,
                                  sys_uptime=reading.sys_uptime, in_octets=row.in_octets,
                                  out_octets=row.out_octets, in_bps=in_bps, out_bps=out_bps))
        made += 1
    agent.sys_uptime, agent.last_ok_at, agent.last_error = reading.sys_uptime, now, ""
    session.flush()
    return made


def _topology_names(session: Session, device_id: int) -> dict[str, int]:
    from mango_isp.topology.models import Interface

    names: dict[str, int] = {}
    for interface_id, name in session.execute(select(Interface.id, Interface.name)
                                              .where(Interface.device_id == device_id)):
        names[name] = interface_id
        names.setdefault(name.lower(), interface_id)
    return names


def _match(topology: dict[str, int], found: InterfaceReading) -> int | None:
    """The topology's interface of the same name (ifName, else ifDescr; exact, else ignoring case)."""
    for name in (found.name, found.descr):
        if name and (name in topology or name.lower() in topology):
            return topology.get(name) or topology[name.lower()]
    return None


def purge(session: Session, keep_days: int, *, now: datetime | None = None) -> int:
    """Drop traffic samples older than ``keep_days`` (the interfaces stay)."""
    cutoff = (now or utcnow()) - timedelta(days=max(1, keep_days))
    result = session.execute(delete(TrafficSample).where(TrafficSample.at < cutoff)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


# --- reading -----------------------------------------------------------------------------------------


def interfaces_of(session: Session, device_id: int) -> list[SnmpInterface]:
    return list(session.scalars(select(SnmpInterface).where(SnmpInterface.device_id == device_id)
                                .order_by(SnmpInterface.if_index)))


def traffic(session: Session, interface_id: int, start: datetime, end: datetime, *, buckets: int = 96
            ) -> list[tuple[datetime, float | None, float | None]]:
    """Mean in/out bit rate per display bucket: ``(bucket start, in bit/s, out bit/s)``; empty buckets left out."""
    span = (end - start) / buckets
    sums: dict[int, list[float]] = {}
    rows = session.execute(select(TrafficSample.at, TrafficSample.in_bps, TrafficSample.out_bps).where(
        TrafficSample.interface_id == interface_id, TrafficSample.at >= start, TrafficSample.at < end))
    for at, in_bps, out_bps in rows:
        if in_bps is None and out_bps is None:
            continue
        total = sums.setdefault(min(buckets - 1, int((at - start) / span)), [0.0, 0, 0.0, 0])
        if in_bps is not None:
            total[0] += in_bps
            total[1] += 1
        if out_bps is not None:
            total[2] += out_bps
            total[3] += 1
    return [(start + span * i, (a / n) if n else None, (b / m) if m else None)
            for i, (a, n, b, m) in sorted(sums.items())]
