"""Tables of the NetFlow accounting: bytes per service and hour, and how far each location is done.

Written only by :mod:`mango_netflow.accounting.service`; an hour is always rewritten whole (its
rows deleted and inserted in one transaction), so running the job again never counts twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, TenantMixin, utcnow


class TrafficHour(TenantMixin, Base):
    """Bytes of one service in one hour (UTC, ``hour`` = its start), × the exporter's sampling.

    ``bytes_in`` went to the subscriber, ``bytes_out`` came from it.
    """

    __tablename__ = "netflow_traffic_hour"
    __table_args__ = (
        UniqueConstraint("location_id", "service_id", "hour"),
        Index("ix_netflow_traffic_hour_hour", "location_id", "hour"),
        CheckConstraint("bytes_in >= 0 AND bytes_out >= 0 AND flows >= 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    hour: Mapped[datetime] = mapped_column()
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    flows: Mapped[int] = mapped_column(Integer, default=0)


class AccountingState(TenantMixin, Base):
    """The watermark of a location: every hour before ``done_until`` is accounted."""

    __tablename__ = "netflow_accounting_state"
    __table_args__ = (UniqueConstraint("location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    done_until: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS: list[type] = [TrafficHour, AccountingState]
