"""Tables of monitoring (registered through mango_isp.models).

* :class:`MonitorConfig` — per location: where alerts go and after how many failed checks a
  device is down.
* :class:`DeviceStatus` — the current state of each monitored device and its run of failures.
* :class:`StateInterval` — the history: one row per stretch of one state (``ended_at`` NULL while
  it lasts); availability is computed from it.
* :class:`LatencySample` — RTT and loss per device and 5 minutes, kept ``monitor_keep_days``.
* :class:`Alert` — open while a device is down, resolved when it answers again. The call-centre
  plugin reads open alerts from here (no hook: the row is the event).
* :class:`SnmpAgent` — a device's optional SNMP settings (secrets encrypted) and its last poll.
* :class:`SnmpInterface` — an interface seen over SNMP (IF-MIB), its last counters and rates.
* :class:`TrafficSample` — octet counters and bit rates of one interface at one poll.

Rows go with their device (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, utcnow
from mango_isp.ipam.models import require_scope

UP, DOWN, UNKNOWN = "up", "down", "unknown"
STATES = (UP, DOWN, UNKNOWN)
OPEN, RESOLVED = "open", "resolved"
ALERT_STATES = (OPEN, RESOLVED)
DEFAULT_DOWN_AFTER = 3


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _device_factory(cls, session, overrides: dict, defaults: dict):  # noqa: ANN001, ANN202
    from mango_core.devices.models import Device
    from mango_core.testing.factories import make_row

    require_scope()
    if "device_id" not in overrides and "device" not in overrides:
        overrides["device_id"] = make_row(session, Device).id
    return cls(**{**defaults, **overrides})


class MonitorConfig(TenantMixin, Base):
    """Monitoring settings of a location (one row; absent means the defaults)."""

    __tablename__ = "isp_monitor_config"
    __table_args__ = (
        UniqueConstraint("location_id"),
        CheckConstraint("down_after >= 1 AND down_after <= 100", name="down_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # alert e-mail recipients (comma separated); empty: the location's own e-mail address
    alert_email: Mapped[str] = mapped_column(String(500), default="")
    down_after: Mapped[int] = mapped_column(Integer, default=DEFAULT_DOWN_AFTER)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeviceStatus(TenantMixin, Base):
    """The current state of one monitored device."""

    __tablename__ = "isp_monitor_status"
    __table_args__ = (
        UniqueConstraint("location_id", "device_id"),
        CheckConstraint(_in("state", STATES), name="state"),
        Index("ix_isp_monitor_status_state", "location_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(8), default=UNKNOWN)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    # consecutive failed checks (0 after an answer) and when the first of them was
    failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None]
    address: Mapped[str] = mapped_column(String(45), default="")
    last_check_at: Mapped[datetime | None]
    last_rtt_ms: Mapped[float | None] = mapped_column(Float)
    last_loss_pct: Mapped[int | None] = mapped_column(SmallInteger)

    device = relationship("Device")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return _device_factory(cls, session, overrides, {"state": UNKNOWN, "failures": 0})


class StateInterval(TenantMixin, Base):
    """A device was in ``state`` over ``[started_at, ended_at)``; open while it lasts."""

    __tablename__ = "isp_monitor_interval"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="order"),
        Index("ix_isp_monitor_interval_device", "location_id", "device_id", "started_at"),
        # one open interval per device
        Index("uq_isp_monitor_interval_open", "location_id", "device_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return _device_factory(cls, session, overrides, {"state": UP, "started_at": utcnow()})


class LatencySample(TenantMixin, Base):
    """The checks of one device in one 5-minute bucket (``at`` is its start), summed.

    Mean RTT = ``rtt_sum_ms / answered`` (the per-check means of answered checks), loss =
    ``1 - received / sent``. Five checks fold into one row, updated in place.
    """

    __tablename__ = "isp_monitor_sample"
    __table_args__ = (
        UniqueConstraint("location_id", "device_id", "at"),
        CheckConstraint("answered <= checks AND received <= sent", name="counts"),
        Index("ix_isp_monitor_sample_at", "location_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    checks: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    received: Mapped[int] = mapped_column(Integer, default=0)
    rtt_sum_ms: Mapped[float] = mapped_column(Float, default=0.0)
    rtt_max_ms: Mapped[float | None] = mapped_column(Float)

    @property
    def rtt_ms(self) -> float | None:
        return self.rtt_sum_ms / self.answered if self.answered else None

    @property
    def loss_pct(self) -> int:
        return round(100 * (1 - self.received / self.sent)) if self.sent else 100

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return _device_factory(cls, session, overrides, {"at": utcnow(), "checks": 1, "answered": 1, "sent": 3,
                                                         "received": 3, "rtt_sum_ms": 1.0, "rtt_max_ms": 1.0})


class Alert(TenantMixin, Base):
    """A device down for ``down_after`` checks: open until it answers again.

    For the call centre: ``state = 'open'`` rows are current outages; ``customers`` is the number
    of customers cut off when it opened (topology impact).
    """

    __tablename__ = "isp_monitor_alert"
    __table_args__ = (
        CheckConstraint(_in("state", ALERT_STATES), name="state"),
        Index("ix_isp_monitor_alert_state", "location_id", "state", "opened_at"),
        Index("uq_isp_monitor_alert_open", "location_id", "device_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=OPEN)
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    # when the device stopped answering (the first failed check)
    down_since: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    services: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(500), default="")

    device = relationship("Device")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        now = utcnow()
        return _device_factory(cls, session, overrides, {"state": RESOLVED, "opened_at": now, "down_since": now,
                                                         "failures": 3})


SNMP_VERSIONS = ("2c", "3")
AUTH_PROTOCOLS = ("", "md5", "sha", "sha256", "sha512")  # "": noAuthNoPriv
PRIV_PROTOCOLS = ("", "des", "aes", "aes256")            # "": authNoPriv (or noAuthNoPriv)


class SnmpAgent(TenantMixin, Base):
    """How to read a device's interface counters over SNMP (v2c community or v3 user), and the last poll.

    The community and the v3 keys are tokens of :mod:`mango_isp.queue.secrets` (never plain text);
    ``sys_uptime`` (hundredths of a second) of the last good poll tells an agent restart from a
    counter wrap.
    """

    __tablename__ = "isp_snmp_agent"
    __table_args__ = (
        UniqueConstraint("location_id", "device_id"),
        CheckConstraint(_in("version", SNMP_VERSIONS), name="version"),
        CheckConstraint(_in("auth_protocol", AUTH_PROTOCOLS), name="auth_protocol"),
        CheckConstraint(_in("priv_protocol", PRIV_PROTOCOLS), name="priv_protocol"),
        CheckConstraint("port >= 1 AND port <= 65535", name="port"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[str] = mapped_column(String(2), default="2c")
    port: Mapped[int] = mapped_column(Integer, default=161)
    community_secret: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str] = mapped_column(String(64), default="")
    auth_protocol: Mapped[str] = mapped_column(String(8), default="")
    auth_secret: Mapped[str | None] = mapped_column(Text)
    priv_protocol: Mapped[str] = mapped_column(String(8), default="")
    priv_secret: Mapped[str | None] = mapped_column(Text)
    last_poll_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    sys_uptime: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    device = relationship("Device")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return _device_factory(cls, session, overrides, {"enabled": False, "version": "2c", "port": 161})


class SnmpInterface(TenantMixin, Base):
    """One interface of a device as its agent reports it (``if_index`` of IF-MIB).

    ``interface_id`` is the topology's interface of the same name, where there is one. The last
    counters (64-bit ``ifHC*`` when ``hc``, else 32-bit) and rates are kept here for the next poll.
    """

    __tablename__ = "isp_snmp_interface"
    __table_args__ = (UniqueConstraint("location_id", "device_id", "if_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    if_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64), default="")
    descr: Mapped[str] = mapped_column(String(255), default="")
    interface_id: Mapped[int | None] = mapped_column(ForeignKey("isp_interface.id", ondelete="SET NULL"),
                                                     index=True)
    oper_status: Mapped[int | None] = mapped_column(SmallInteger)
    speed_mbps: Mapped[int | None] = mapped_column(Integer)
    hc: Mapped[bool] = mapped_column(Boolean, default=True)
    in_octets: Mapped[int | None] = mapped_column(BigInteger)
    out_octets: Mapped[int | None] = mapped_column(BigInteger)
    in_bps: Mapped[float | None] = mapped_column(Float)
    out_bps: Mapped[float | None] = mapped_column(Float)
    last_seen_at: Mapped[datetime | None]

    interface = relationship("Interface")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return _device_factory(cls, session, overrides, {"if_index": 1, "name": "eth0", "descr": "", "hc": True})


class TrafficSample(TenantMixin, Base):
    """One interface at one poll: its octet counters and the bit rates since the previous poll.

    The rates are None for the first sample, after an agent restart and after a counter reset
    (there is no previous value to subtract). Kept ``monitor_keep_days`` like latency samples.
    """

    __tablename__ = "isp_snmp_sample"
    __table_args__ = (
        Index("ix_isp_snmp_sample_interface", "location_id", "interface_id", "at"),
        Index("ix_isp_snmp_sample_at", "location_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    interface_id: Mapped[int] = mapped_column(ForeignKey("isp_snmp_interface.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    sys_uptime: Mapped[int | None] = mapped_column(BigInteger)
    in_octets: Mapped[int] = mapped_column(BigInteger)
    out_octets: Mapped[int] = mapped_column(BigInteger)
    in_bps: Mapped[float | None] = mapped_column(Float)
    out_bps: Mapped[float | None] = mapped_column(Float)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.devices.models import Device
        from mango_core.testing.factories import make_row

        require_scope()
        if "interface_id" not in overrides:
            port = make_row(session, SnmpInterface, **({"device_id": overrides["device_id"]}
                                                       if "device_id" in overrides else {}))
            overrides["interface_id"], overrides["device_id"] = port.id, port.device_id
        elif "device_id" not in overrides:
            # the interface's device; one of another location is not visible (the guard refuses the row)
            port = session.get(SnmpInterface, overrides["interface_id"])
            overrides["device_id"] = port.device_id if port is not None else make_row(session, Device).id
        return cls(**{"at": utcnow(), "in_octets": 0, "out_octets": 0, **overrides})


MODELS: list[type] = [MonitorConfig, DeviceStatus, StateInterval, LatencySample, Alert, SnmpAgent, SnmpInterface,
                      TrafficSample]
