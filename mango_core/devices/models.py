"""Sites, device types and devices.

Only :mod:`mango_core.devices.service` writes these tables (it validates parameters, MAC
addresses, coordinates and the topology); others read them or call the service.

A device's type is either *code-defined* (contributed by a plugin through ``mango_device_types``,
named by ``type_code``) or *UI-defined* by the partner (:class:`DeviceType`, named by ``type_id``).
A UI-defined type keeps every version of its parameter definitions, and a device the version its
values were validated against, so a changed type never rewrites existing devices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, PartnerMixin, TenantMixin, TimestampMixin, utcnow

PLANNED, ACTIVE, BROKEN, RETIRED = "planned", "active", "broken", "retired"
STATES = (PLANNED, ACTIVE, BROKEN, RETIRED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Site(TimestampMixin, TenantMixin, Base):
    """A place where devices stand (a mast, a rack, a customer's house), with GPS coordinates."""

    __tablename__ = "core_site"
    __table_args__ = (
        UniqueConstraint("location_id", "name"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude"),
        CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude"),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return self.name


class DeviceType(TimestampMixin, PartnerMixin, Base):
    """A device type defined in the UI by the partner; shared by all its locations.

    ``version`` is the current version of the parameter definitions (:class:`DeviceTypeVersion`).
    """

    __tablename__ = "core_device_type"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    versions: Mapped[list[DeviceTypeVersion]] = relationship(
        back_populates="device_type", order_by="DeviceTypeVersion.version", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class DeviceTypeVersion(PartnerMixin, Base):
    """One version of a UI-defined type's parameter definitions (``ParamDef.to_dict`` list); never changed."""

    __tablename__ = "core_device_type_version"
    __table_args__ = (UniqueConstraint("partner_id", "device_type_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_type_id: Mapped[int] = mapped_column(ForeignKey("core_device_type.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    definitions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    device_type: Mapped[DeviceType] = relationship(back_populates="versions")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import make_row

        if "device_type_id" not in overrides and "device_type" not in overrides:
            overrides["device_type_id"] = make_row(session, DeviceType).id
        return cls(**{"version": 1, "definitions": [], **overrides})


class Device(TimestampMixin, TenantMixin, Base):
    """A network element of a location: a router, a switch, an access point, a customer's CPE…"""

    __tablename__ = "core_device"
    __table_args__ = (
        UniqueConstraint("location_id", "mac"),
        # keyset pagination by name, and the name search
        Index("ix_core_device_location_sort_name", "location_id", "sort_name", "id"),
        Index("ix_core_device_location_serial", "location_id", "serial_number"),
        Index("ix_core_device_location_ip", "location_id", "management_ip"),
        Index("ix_core_device_location_type_code", "location_id", "type_code"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint("(type_id IS NULL) <> (type_code IS NULL)", name="one_type"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # name lower-cased without diacritics: sorting and search
    sort_name: Mapped[str] = mapped_column(String(200))
    type_id: Mapped[int | None] = mapped_column(ForeignKey("core_device_type.id", ondelete="RESTRICT"), index=True)
    # a code-defined type ("<plugin>.<name>", from mango_device_types)
    type_code: Mapped[str | None] = mapped_column(String(80))
    # parameter values (JSON-safe, see mango_core.params) and the type version they were checked against
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    params_version: Mapped[int | None] = mapped_column(Integer)
    serial_number: Mapped[str | None] = mapped_column(String(100))
    mac: Mapped[str | None] = mapped_column(String(17))  # 00:1a:2b:3c:4d:5e
    management_ip: Mapped[str | None] = mapped_column(String(45))  # ipaddress' compressed text
    site_id: Mapped[int | None] = mapped_column(ForeignKey("core_site.id", ondelete="RESTRICT"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("core_device.id", ondelete="RESTRICT"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=PLANNED)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    device_type: Mapped[DeviceType | None] = relationship()
    site: Mapped[Site | None] = relationship()
    parent: Mapped[Device | None] = relationship(remote_side="Device.id", back_populates="children")
    children: Mapped[list[Device]] = relationship(back_populates="parent", order_by="Device.sort_name")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import _counter

        n = next(_counter)
        values = {"name": f"dev{n}", "sort_name": f"dev{n}", "type_code": "test.device", "params": {},
                  "state": PLANNED}
        if "type_id" in overrides or "device_type" in overrides:
            values.pop("type_code")
        return cls(**{**values, **overrides})
