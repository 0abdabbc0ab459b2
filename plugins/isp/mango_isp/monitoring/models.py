"""Tables of monitoring (registered through mango_isp.models).

* :class:`MonitorConfig` — per location: where alerts go and after how many failed checks a
  device is down.
* :class:`DeviceStatus` — the current state of each monitored device and its run of failures.
* :class:`StateInterval` — the history: one row per stretch of one state (``ended_at`` NULL while
  it lasts); availability is computed from it.
* :class:`LatencySample` — RTT and loss per device and 5 minutes, kept ``monitor_keep_days``.
* :class:`Alert` — open while a device is down, resolved when it answers again. The call-centre
  plugin reads open alerts from here (no hook: the row is the event).

Rows go with their device (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
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


MODELS: list[type] = [MonitorConfig, DeviceStatus, StateInterval, LatencySample, Alert]
