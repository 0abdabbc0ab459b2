"""Tables of the NetFlow collector (registered through mango_netflow.models).

* :class:`Exporter` — a router/BRAS/firewall that sends flows, registered in one location by its
  source address. The collector attributes every packet to the exporter (and so the location) of
  its source address; an address belongs to one exporter in the whole installation (checked by
  :mod:`mango_netflow.collector.exporters`, because tenant tables may only have per-location
  unique constraints). The counters are added to by the collector (``counters.persist``).
* :class:`UnknownSource` — operator-level: addresses that sent packets but are not registered
  (or not active). Their packets are dropped and counted here, so staff can register them.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, TenantMixin, utcnow

_numbers = itertools.count(1)  # unique addresses and names for test rows
COUNTERS = ("packets", "flows", "malformed", "irregular", "missing_template", "templates")


class Exporter(TenantMixin, Base):
    """A flow exporter of a location, known by the source address of its packets."""

    __tablename__ = "netflow_exporter"
    __table_args__ = (
        UniqueConstraint("location_id", "address"),
        UniqueConstraint("location_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(45))  # ipaddress' compressed text
    # the network device it is (optional: an exporter need not be in the inventory)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("core_device.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # counters since registration, added to by the collector
    packets: Mapped[int] = mapped_column(BigInteger, default=0)
    flows: Mapped[int] = mapped_column(BigInteger, default=0)
    malformed: Mapped[int] = mapped_column(BigInteger, default=0)
    # decoded, but the v9 header counts other records than the packet holds (a broken exporter)
    irregular: Mapped[int] = mapped_column(BigInteger, default=0)
    missing_template: Mapped[int] = mapped_column(BigInteger, default=0)  # data sets dropped: no template
    templates: Mapped[int] = mapped_column(Integer, default=0)  # (options) template records received
    last_packet_at: Mapped[datetime | None] = mapped_column()

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        n = next(_numbers)
        defaults = {"name": f"exporter {n}", "address": f"2001:db8:ffff::{n:x}", "active": True}
        return cls(**{**defaults, **overrides})


class UnknownSource(Base):
    """Packets from an address no active exporter has (operator-level: it belongs to no location)."""

    __tablename__ = "netflow_unknown_source"

    address: Mapped[str] = mapped_column(String(45), primary_key=True)
    packets: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS: list[type] = [Exporter, UnknownSource]
