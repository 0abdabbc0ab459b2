"""Topology data beside the core's devices: interfaces, links between them, services depending on them.

The core keeps sites (with GPS) and devices with an uplink tree (``Device.parent_id``); links
between interfaces add what a tree cannot say (rings, redundant uplinks, which port or radio
serves whom). A link is directed from its *upstream* side (towards the core) to its downstream
side, which is what the impact analysis and the path of a customer walk. Rows go with their
device (``ON DELETE CASCADE``): deleting a device in the core removes its interfaces and links.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, TimestampMixin, utcnow
from mango_isp.ipam.models import require_scope

INTERFACE_KINDS = ("ethernet", "sfp", "wireless", "pon", "dsl", "virtual", "other")
LINK_KINDS = ("copper", "fiber", "wireless", "virtual")


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Interface(TimestampMixin, TenantMixin, Base):
    """A port, radio or virtual interface of a core device."""

    __tablename__ = "isp_interface"
    __table_args__ = (
        UniqueConstraint("location_id", "device_id", "name"),
        CheckConstraint(_in("kind", INTERFACE_KINDS), name="kind"),
        CheckConstraint("speed_mbps IS NULL OR speed_mbps > 0", name="speed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12), default="ethernet")
    mac: Mapped[str | None] = mapped_column(String(17))
    speed_mbps: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200), default="")

    device = relationship("Device")

    def __str__(self) -> str:
        return f"{self.device.name} {self.name}" if self.device is not None else self.name

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.devices.models import Device
        from mango_core.testing.factories import _counter, make_row

        require_scope()
        if "device_id" not in overrides and "device" not in overrides:
            overrides["device_id"] = make_row(session, Device).id
        return cls(**{"name": f"ether{next(_counter)}", "kind": "ethernet", "description": "", **overrides})


class Link(TimestampMixin, TenantMixin, Base):
    """A connection from an upstream interface to a downstream one (cable, fibre, radio)."""

    __tablename__ = "isp_link"
    __table_args__ = (
        UniqueConstraint("location_id", "upstream_id", "downstream_id"),
        Index("ix_isp_link_downstream", "downstream_id"),
        CheckConstraint("upstream_id <> downstream_id", name="two_ends"),
        CheckConstraint(_in("kind", LINK_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    upstream_id: Mapped[int] = mapped_column(ForeignKey("isp_interface.id", ondelete="CASCADE"))
    downstream_id: Mapped[int] = mapped_column(ForeignKey("isp_interface.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), default="copper")
    note: Mapped[str] = mapped_column(String(200), default="")

    upstream: Mapped[Interface] = relationship(foreign_keys=[upstream_id])
    downstream: Mapped[Interface] = relationship(foreign_keys=[downstream_id])

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import make_row

        require_scope()
        for side in ("upstream_id", "downstream_id"):
            if side not in overrides:
                overrides[side] = make_row(session, Interface).id
        return cls(**{"kind": "copper", "note": "", **overrides})


class ServiceDependency(TenantMixin, Base):
    """A service depends on a device, or on one interface of it (the access point radio that serves it)."""

    __tablename__ = "isp_service_dependency"
    __table_args__ = (
        Index("ix_isp_service_dependency_service", "location_id", "service_id"),
        Index("ix_isp_service_dependency_device", "location_id", "device_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    interface_id: Mapped[int | None] = mapped_column(ForeignKey("isp_interface.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    service = relationship("Service")
    device = relationship("Device")
    interface: Mapped[Interface | None] = relationship()

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.devices.models import Device
        from mango_core.services.models import Service
        from mango_core.testing.factories import make_row

        require_scope()
        if "service_id" not in overrides and "service" not in overrides:
            overrides["service_id"] = make_row(session, Service).id
        if "device_id" not in overrides and "device" not in overrides:
            overrides["device_id"] = make_row(session, Device).id
        return cls(**{"note": "", **overrides})


MODELS = [Interface, Link, ServiceDependency]
