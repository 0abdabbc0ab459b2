"""Reachability checks, device states, their history, availability and alerts.

Which devices: core devices of the location with a **management address**
(``Device.management_ip``) in state *active* or *broken*; planned and retired ones are not
watched. The address is the core's field, not IPAM: the management network of a device is
what the operator types on the device card, and it may lie outside the customer prefixes.

A check sends ``monitor_count`` echoes to every target at once (:mod:`.pinger`); RTT and loss
are summed per device and 5 minutes (:class:`LatencySample`). A device that answers at least one
echo is *up* at once; one that answers none has one more failure, and after
``down_after`` consecutive failures (per location, :class:`MonitorConfig`) it is *down* — from
the first failed check on, which is when its down interval starts. A device not seen answering
yet (and not down yet) is *unknown*. Each change closes the open :class:`StateInterval` and opens the next, so the history
is a gapless chain of intervals; availability over a period is the time *up* divided by the time
*up* or *down* in it (unknown time counts for neither).

Going down opens an :class:`Alert` (one open per device) and queues an e-mail through the core
outbox to the location's alert address; answering again resolves it and queues the recovery
e-mail. A re-run of the job finds the alert open and queues nothing twice (mail dedup keys).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.devices.models import ACTIVE, BROKEN, Device
from mango_core.mail import service as outbox
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue
from mango_isp.monitoring.models import (
    DEFAULT_DOWN_AFTER,
    DOWN,
    OPEN,
    RESOLVED,
    UNKNOWN,
    UP,
    Alert,
    DeviceStatus,
    LatencySample,
    MonitorConfig,
    StateInterval,
)
from mango_isp.monitoring.pinger import PingResult, ping_many

WATCHED = (ACTIVE, BROKEN)
KEEP_DAYS = 30


class MonitoringError(InvalidValue):
    default_message = N_("The monitoring settings cannot be saved.")


@dataclass
class CheckSummary:
    devices: int = 0
    up: int = 0
    down: int = 0
    went_down: int = 0
    came_up: int = 0
    mails: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (f"{self.devices} devices: {self.up} up, {self.down} down; {self.went_down} went down, "
                f"{self.came_up} came up, {self.mails} e-mails queued in {self.seconds:.1f} s")


# --- settings ---------------------------------------------------------------------------------


def config(session: Session) -> MonitorConfig:
    """The location's settings (an unsaved row with the defaults when none was stored)."""
    row = session.scalar(select(MonitorConfig))
    return row if row is not None else MonitorConfig(alert_email="", down_after=DEFAULT_DOWN_AFTER)


def save_config(session: Session, *, alert_email: Any, down_after: Any) -> MonitorConfig:
    email = str(alert_email or "").strip()
    if email:
        try:
            email = ", ".join(outbox.clean_recipients(email))
        except outbox.MailInputError:
            raise MonitoringError(N_("Enter e-mail addresses separated by commas."), field="alert_email") from None
    if len(email) > 500:
        raise MonitoringError(N_("At most %(max)d characters."), field="alert_email", max=500)
    try:
        checks = int(str(down_after).strip())
    except ValueError:
        checks = 0
    if not 1 <= checks <= 100:
        raise MonitoringError(N_("Enter a whole number from 1 to 100."), field="down_after")
    row = session.scalar(select(MonitorConfig))
    if row is None:
        row = MonitorConfig()
        session.add(row)
    row.alert_email, row.down_after = email, checks
    session.flush()
    return row


def recipients(session: Session, cfg: MonitorConfig) -> list[str]:
    """The alert address of the location, else its own e-mail; none is possible (alerts stay in Opcare)."""
    raw = cfg.alert_email or (session.get(Location, current_scope().write_location_id).email or "")
    try:
        return outbox.clean_recipients(raw) if raw.strip() else []
    except outbox.MailInputError:
        return []


# --- checks -------------------------------------------------------------------------------------


def targets(session: Session) -> list[tuple[int, str]]:
    """``(device id, management address)`` of every watched device of the location."""
    return [(device_id, address) for device_id, address in session.execute(select(Device.id, Device.management_ip)
                                .where(Device.management_ip.is_not(None), Device.management_ip != "",
                                       Device.state.in_(WATCHED)).order_by(Device.id))]


def run_checks(session: Session, settings: dict[str, Any] | None = None, *, now: datetime | None = None,
               ping: Callable[..., dict[str, PingResult]] = ping_many) -> CheckSummary:
    """Ping every watched device of the location once and record the outcome (the ``isp:monitor`` job)."""
    settings = settings or {}
    started = time.monotonic()
    found = targets(session)
    answers = ping([address for _id, address in found], count=int(settings.get("monitor_count", 3)),
                   timeout=float(settings.get("monitor_timeout", 1.0)),
                   interval=float(settings.get("monitor_interval", 0.2)),
                   rate=int(settings.get("monitor_rate", 5000)),
                   netns=settings.get("monitor_netns") or None) if found else {}
    observed = []
    for device_id, address in found:
        key = _key(address)
        observed.append((device_id, address, answers.get(key) or PingResult(key)))
    summary = record(session, observed, now=now or utcnow())
    purge(session, int(settings.get("monitor_keep_days", KEEP_DAYS)), now=now)
    summary.seconds = time.monotonic() - started
    return summary


def _key(address: str) -> str:
    try:
        return ipaddress.ip_address(address.strip()).compressed
    except ValueError:
        return address


def record(session: Session, observed: Iterable[tuple[int, str, PingResult]], *, now: datetime) -> CheckSummary:
    """Store one check's answers: samples, states with their intervals, alerts and their e-mail."""
    cfg = config(session)
    observed = list(observed)
    ids = [device_id for device_id, _a, _r in observed]
    statuses: dict[int, DeviceStatus] = {}
    for start in range(0, len(ids), 500):
        for row in session.scalars(select(DeviceStatus).where(DeviceStatus.device_id.in_(ids[start:start + 500]))):
            statuses[row.device_id] = row
    summary = CheckSummary(devices=len(observed))
    buckets = _buckets(session, ids, bucket_of(now))
    for device_id, address, result in observed:
        status = statuses.get(device_id)
        if status is None:  # first check: up at once, or unknown until it fails ``down_after`` times
            first = UP if result.alive else UNKNOWN
            status = DeviceStatus(device_id=device_id, state=first, since=now, failures=0)
            session.add(status)
            session.add(StateInterval(device_id=device_id, state=first, started_at=now))
            statuses[device_id] = status
        status.address = address
        status.last_check_at = now
        status.last_loss_pct = round(result.loss * 100)
        status.last_rtt_ms = result.rtt_avg
        _add_sample(session, buckets, device_id, bucket_of(now), result)
        if result.alive:
            status.failures, status.failing_since = 0, None
            if status.state != UP:
                was_down = status.state == DOWN
                _change(session, status, UP, now)
                if was_down:
                    summary.came_up += 1
                    summary.mails += _resolve(session, cfg, status, now)
        else:
            status.failures += 1
            if status.failing_since is None:
                status.failing_since = now
            if status.state != DOWN and status.failures >= cfg.down_after:
                _change(session, status, DOWN, status.failing_since)
                summary.went_down += 1
                summary.mails += _open_alert(session, cfg, status, status.failing_since, now)
        if status.state == UP:
            summary.up += 1
        elif status.state == DOWN:
            summary.down += 1
    session.flush()
    return summary


def bucket_of(at: datetime) -> datetime:
    """The start of the 5-minute bucket holding ``at``."""
    return at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)


def _buckets(session: Session, ids: list[int], at: datetime) -> dict[int, LatencySample]:
    found: dict[int, LatencySample] = {}
    for start in range(0, len(ids), 500):
        for row in session.scalars(select(LatencySample).where(LatencySample.at == at,
                                                               LatencySample.device_id.in_(ids[start:start + 500]))):
            found[row.device_id] = row
    return found


def _add_sample(session: Session, buckets: dict[int, LatencySample], device_id: int, at: datetime,
                result: PingResult) -> None:
    row = buckets.get(device_id)
    if row is None:
        row = buckets[device_id] = LatencySample(device_id=device_id, at=at, checks=0, answered=0, sent=0,
                                                 received=0, rtt_sum_ms=0.0)
        session.add(row)
    row.checks += 1
    row.sent += result.sent
    row.received += min(result.received, result.sent)
    if result.rtt_avg is not None:
        row.answered += 1
        row.rtt_sum_ms += result.rtt_avg
        row.rtt_max_ms = max(row.rtt_max_ms or 0.0, max(result.rtts))


def _change(session: Session, status: DeviceStatus, state: str, at: datetime) -> None:
    """Close the open interval and start the next one at ``at`` (never before the open one began)."""
    session.flush()
    current = session.scalar(select(StateInterval).where(StateInterval.device_id == status.device_id,
                                                         StateInterval.ended_at.is_(None)))
    if current is not None:
        at = max(at, current.started_at)
        current.ended_at = at
        session.flush()
    session.add(StateInterval(device_id=status.device_id, state=state, started_at=at))
    status.state, status.since = state, at


def _open_alert(session: Session, cfg: MonitorConfig, status: DeviceStatus, down_since: datetime,
                now: datetime) -> int:
    from mango_isp.topology.service import impact

    if session.scalar(select(Alert.id).where(Alert.device_id == status.device_id, Alert.state == OPEN)):
        return 0
    device = session.get(Device, status.device_id)
    hit = impact(session, status.device_id)
    alert = Alert(device_id=status.device_id, state=OPEN, opened_at=now, down_since=down_since,
                  failures=status.failures, customers=len(hit.customers), services=len(hit.services),
                  message=f"{device.name} ({status.address}) does not answer ICMP echo"[:500])
    session.add(alert)
    session.flush()
    to = recipients(session, cfg)
    if not to:
        return 0
    with _mail_locale(session):
        subject = _("Device down: %(name)s", name=device.name)
        text = _("The device %(name)s (%(address)s) has not answered %(checks)d checks since %(since)s UTC.\n"
                 "Customers affected: %(customers)d, services: %(services)d.",
                 name=device.name, address=status.address, checks=status.failures,
                 since=down_since.strftime("%Y-%m-%d %H:%M"), customers=alert.customers, services=alert.services)
        names = [c.display_name for c in hit.customers[:50]]
        if names:
            text += "\n\n" + "\n".join(names)
    outbox.queue(session, to=to, subject=subject, text=text, entity="isp_monitor_alert", entity_id=alert.id,
                 dedup_key=f"isp-monitor-alert-{alert.id}-open")
    return 1


def _resolve(session: Session, cfg: MonitorConfig, status: DeviceStatus, now: datetime) -> int:
    alert = session.scalar(select(Alert).where(Alert.device_id == status.device_id, Alert.state == OPEN))
    if alert is None:
        return 0
    alert.state, alert.resolved_at = RESOLVED, now
    session.flush()
    to = recipients(session, cfg)
    if not to:
        return 0
    device = session.get(Device, status.device_id)
    minutes = max(0, round((now - alert.down_since).total_seconds() / 60))
    with _mail_locale(session):
        subject = _("Device up again: %(name)s", name=device.name)
        text = _("The device %(name)s (%(address)s) answers again since %(at)s UTC; it was down for %(minutes)d "
                 "minutes.", name=device.name, address=status.address, at=now.strftime("%Y-%m-%d %H:%M"),
                 minutes=minutes)
    outbox.queue(session, to=to, subject=subject, text=text, entity="isp_monitor_alert", entity_id=alert.id,
                 dedup_key=f"isp-monitor-alert-{alert.id}-resolved")
    return 1


def _mail_locale(session: Session):  # noqa: ANN202
    location = session.get(Location, current_scope().write_location_id)
    return force_locale(location.locale or "cs") if has_app_context() else _NoLocale()


class _NoLocale:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def purge(session: Session, keep_days: int, *, now: datetime | None = None) -> int:
    """Drop latency samples older than ``keep_days`` (the state history is kept)."""
    cutoff = (now or utcnow()) - timedelta(days=max(1, keep_days))
    result = session.execute(delete(LatencySample).where(LatencySample.at < cutoff)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


# --- reading -------------------------------------------------------------------------------------


def intervals(session: Session, device_id: int, start: datetime, end: datetime) -> list[StateInterval]:
    """The device's intervals overlapping ``[start, end)``, oldest first."""
    return list(session.scalars(select(StateInterval).where(
        StateInterval.device_id == device_id, StateInterval.started_at < end,
        (StateInterval.ended_at.is_(None)) | (StateInterval.ended_at > start)).order_by(StateInterval.started_at,
                                                                                        StateInterval.id)))


def availability(session: Session, device_id: int, start: datetime, end: datetime,
                 *, now: datetime | None = None) -> float | None:
    """Percent of the known time (up or down) in ``[start, end)`` the device was up; None if none is known."""
    end = min(end, now or utcnow())
    up = known = 0.0
    for row in intervals(session, device_id, start, end):
        begin, finish = max(row.started_at, start), min(row.ended_at or end, end)
        seconds = max(0.0, (finish - begin).total_seconds())
        if row.state in (UP, DOWN):
            known += seconds
            if row.state == UP:
                up += seconds
    return round(100 * up / known, 3) if known > 0 else None


def latency(session: Session, device_id: int, start: datetime, end: datetime, *, buckets: int = 96
            ) -> list[tuple[datetime, float | None, int]]:
    """RTT per display bucket: ``(bucket start, mean RTT ms or None, loss %)``; empty buckets left out."""
    span = (end - start) / buckets
    sums: dict[int, list[float]] = {}
    rows = session.scalars(select(LatencySample).where(LatencySample.device_id == device_id,
                                                       LatencySample.at >= start, LatencySample.at < end))
    for row in rows:
        index = min(buckets - 1, int((row.at - start) / span))
        total = sums.setdefault(index, [0.0, 0, 0, 0])
        total[0] += row.rtt_sum_ms
        total[1] += row.answered
        total[2] += row.sent
        total[3] += row.received
    return [(start + span * i, (rtt / answered) if answered else None,
             round(100 * (1 - received / sent)) if sent else 100)
            for i, (rtt, answered, sent, received) in sorted(sums.items())]


def down_devices(session: Session) -> list[DeviceStatus]:
    return list(session.scalars(select(DeviceStatus).where(DeviceStatus.state == DOWN)
                                .order_by(DeviceStatus.since, DeviceStatus.id)))


def statuses(session: Session) -> list[DeviceStatus]:
    return list(session.scalars(select(DeviceStatus).order_by(DeviceStatus.state, DeviceStatus.device_id)))


def alerts(session: Session, *, state: str | None = None, device_id: int | None = None,
           limit: int = 100) -> list[Alert]:
    query = select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)
    if state:
        query = query.where(Alert.state == state)
    if device_id:
        query = query.where(Alert.device_id == device_id)
    return list(session.scalars(query))


def status_of(session: Session, device_id: int) -> DeviceStatus | None:
    return session.scalar(select(DeviceStatus).where(DeviceStatus.device_id == device_id))
