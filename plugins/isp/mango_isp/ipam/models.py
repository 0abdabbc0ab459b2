"""Tables of the IPAM: prefixes (and pools), assignments with validity, MAC bindings, CGNAT history.

Addresses are stored as ``family`` + 32 hex digits (:mod:`mango_isp.ipam.addresses`), so lookups
by address use plain indexes on SQLite and PostgreSQL. Only the service modules of this package
write these tables. Assignments, MAC bindings and CGNAT configurations are never deleted: a
release closes the interval (``valid_to``), so the history answers "who had X at time T".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, TimestampMixin, utcnow
from mango_isp.ipam import addresses

PUBLIC, PRIVATE, CGNAT = "public", "private", "cgnat"
KINDS = (PUBLIC, PRIVATE, CGNAT)
# how an assignment came to be
MANUAL, POOL, LIFECYCLE, TRANSFER, DEMO = "manual", "pool", "lifecycle", "transfer", "demo"
ORIGINS = (MANUAL, POOL, LIFECYCLE, TRANSFER, DEMO)

_HEX = "length({col}) = 32"


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def require_scope() -> None:
    """Test factories: refuse like the tenant guard before making the rows a row refers to."""
    from mango_core.tenancy.context import TenancyError, scope_or_none

    if scope_or_none() is None:
        raise TenancyError("No location scope is set; refusing to write tenant-owned data.")


class Prefix(TimestampMixin, TenantMixin, Base):
    """An IPv4 or IPv6 prefix of a location; nested prefixes point to the smallest one holding them.

    A *pool* hands out units of ``unit_prefixlen`` (/32 addresses, /56 delegations…) by slot
    number, so the next free one is found with an index, not by listing addresses. IPv4 pools
    shorter than /31 never hand out their network and broadcast address, and never the gateway.
    """

    __tablename__ = "isp_prefix"
    __table_args__ = (
        Index("ix_isp_prefix_lookup", "location_id", "family", "network", "prefixlen", unique=True),
        CheckConstraint(_in("family", (4, 6)), name="family"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint("kind <> 'cgnat' OR family = 4", name="cgnat_ipv4"),
        CheckConstraint("prefixlen >= 0 AND prefixlen <= (CASE WHEN family = 4 THEN 32 ELSE 128 END)",
                        name="prefixlen"),
        CheckConstraint(f"{_HEX.format(col='network')} AND {_HEX.format(col='last')} AND network <= last",
                        name="bounds"),
        CheckConstraint("(is_pool AND unit_prefixlen IS NOT NULL AND unit_prefixlen >= prefixlen "
                        "AND unit_prefixlen <= (CASE WHEN family = 4 THEN 32 ELSE 128 END)) "
                        "OR (NOT is_pool AND unit_prefixlen IS NULL)", name="pool_unit"),
        CheckConstraint("quarantine_hours >= 0", name="quarantine"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # every index of the table starts with location_id; a location_id index of its own would tempt
    # SQLite's planner (which has no statistics) away from them
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"), nullable=False)
    family: Mapped[int] = mapped_column(Integer)
    network: Mapped[str] = mapped_column(String(32))
    last: Mapped[str] = mapped_column(String(32))
    prefixlen: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default=PRIVATE)
    description: Mapped[str] = mapped_column(String(200), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("isp_prefix.id", ondelete="RESTRICT"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("core_site.id", ondelete="SET NULL"), index=True)
    is_pool: Mapped[bool] = mapped_column(Boolean, default=False)
    unit_prefixlen: Mapped[int | None] = mapped_column(Integer)
    gateway: Mapped[str | None] = mapped_column(String(32))
    # activation of an internet service takes a unit from the auto-assign pool of each family
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False)
    # a released unit is not handed out again for this long (logs and caches forget the old holder)
    quarantine_hours: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Prefix | None] = relationship(remote_side="Prefix.id")
    site = relationship("Site")

    @property
    def cidr(self) -> str:
        return f"{addresses.to_address(self.family, self.network)}/{self.prefixlen}"

    @property
    def ip_network(self) -> addresses.IPNetwork:
        return addresses.to_network(self.family, self.network, self.prefixlen)

    @property
    def gateway_text(self) -> str | None:
        return str(addresses.to_address(self.family, self.gateway)) if self.gateway else None

    def __str__(self) -> str:
        return self.cidr

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import _counter

        n = next(_counter) % (1 << 24)
        value = (10 << 24) | (n << 8) if overrides.get("family", 4) == 4 else (0x20010db8 << 96) | (n << 64)
        family = overrides.get("family", 4)
        prefixlen = 24 if family == 4 else 64
        size = addresses.size(family, prefixlen)
        values = {"family": family, "network": addresses.key(value), "last": addresses.key(value + size - 1),
                  "prefixlen": prefixlen, "kind": PRIVATE, "description": "", "is_pool": False,
                  "auto_assign": False, "quarantine_hours": 0}
        return cls(**{**values, **overrides})


class Assignment(TenantMixin, Base):
    """An address or prefix of a service for ``[valid_from, valid_to)`` (``valid_to`` None: open).

    Never deleted: releasing sets ``valid_to``. At most one open assignment per network key
    (a partial unique index); overlaps of intervals and of nested prefixes are refused by
    :mod:`mango_isp.ipam.assignments` under a row lock of the outermost prefix.
    """

    __tablename__ = "isp_assignment"
    __table_args__ = (
        Index("ix_isp_assignment_lookup", "location_id", "family", "network", "valid_from"),
        Index("ix_isp_assignment_service", "location_id", "service_id", "valid_from"),
        Index("ix_isp_assignment_pool_slot", "pool_id", "slot"),
        Index("uq_isp_assignment_open", "location_id", "family", "network", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        CheckConstraint(_in("family", (4, 6)), name="family"),
        CheckConstraint(_in("origin", ORIGINS), name="origin"),
        CheckConstraint(f"{_HEX.format(col='network')} AND {_HEX.format(col='last')} AND network <= last",
                        name="bounds"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="interval"),
        CheckConstraint("(pool_id IS NULL) = (slot IS NULL)", name="pool_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # every index of the table starts with location_id; a location_id index of its own would tempt
    # SQLite's planner (which has no statistics) away from them
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"), nullable=False)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    family: Mapped[int] = mapped_column(Integer)
    network: Mapped[str] = mapped_column(String(32))
    last: Mapped[str] = mapped_column(String(32))
    prefixlen: Mapped[int] = mapped_column(Integer)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("isp_prefix.id", ondelete="RESTRICT"))
    slot: Mapped[int | None] = mapped_column(BigInteger)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column()
    origin: Mapped[str] = mapped_column(String(10), default=MANUAL)
    note: Mapped[str | None] = mapped_column(String(300))
    release_reason: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    service = relationship("Service")
    pool: Mapped[Prefix | None] = relationship()

    @property
    def text(self) -> str:
        return addresses.compressed(self.family, self.network, self.prefixlen)

    def is_open_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.services.models import Service
        from mango_core.testing.factories import _counter, make_row

        require_scope()
        if "service_id" not in overrides and "service" not in overrides:
            overrides["service_id"] = make_row(session, Service).id
        if overrides.get("pool_id") is not None:
            overrides.setdefault("slot", 0)
        value = (100 << 24) | (64 << 16) | (next(_counter) % 65536)
        stored = addresses.key(value)
        values = {"family": 4, "network": stored, "last": stored, "prefixlen": 32, "origin": MANUAL,
                  "valid_from": utcnow()}
        return cls(**{**values, **overrides})


class MacBinding(TenantMixin, Base):
    """A MAC address bound to a service (static DHCP lease, ARP binding) for ``[valid_from, valid_to)``."""

    __tablename__ = "isp_mac_binding"
    __table_args__ = (
        Index("ix_isp_mac_binding_lookup", "location_id", "mac", "valid_from"),
        Index("ix_isp_mac_binding_service", "location_id", "service_id"),
        Index("uq_isp_mac_binding_open", "location_id", "mac", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="interval"),
        CheckConstraint("length(mac) = 17", name="mac"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # every index of the table starts with location_id; a location_id index of its own would tempt
    # SQLite's planner (which has no statistics) away from them
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"), nullable=False)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    mac: Mapped[str] = mapped_column(String(17))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("isp_assignment.id", ondelete="RESTRICT"),
                                                      index=True)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    service = relationship("Service")
    assignment: Mapped[Assignment | None] = relationship()

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.services.models import Service
        from mango_core.testing.factories import _counter, make_row

        require_scope()
        if "service_id" not in overrides and "service" not in overrides:
            overrides["service_id"] = make_row(session, Service).id
        n = next(_counter) % (1 << 24)
        mac = f"02:00:00:{n >> 16:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}"
        return cls(**{"mac": mac, "valid_from": utcnow(), **overrides})


class CgnatConfig(TenantMixin, Base):
    """One version of a CGNAT pool's mapping (:class:`mango_isp.ipam.cgnat.CgnatPlan`), valid for
    ``[valid_from, valid_to)``. A change closes the version and starts a new one; none is deleted."""

    __tablename__ = "isp_cgnat_config"
    __table_args__ = (
        Index("ix_isp_cgnat_config_inside", "location_id", "inside_id", "valid_from"),
        Index("ix_isp_cgnat_config_public", "location_id", "public_network", "valid_from"),
        Index("uq_isp_cgnat_config_open", "location_id", "inside_id", unique=True,
              sqlite_where=text("valid_to IS NULL"), postgresql_where=text("valid_to IS NULL")),
        CheckConstraint(f"{_HEX.format(col='public_network')} AND {_HEX.format(col='public_last')} "
                        "AND public_network <= public_last", name="public_bounds"),
        CheckConstraint("public_prefixlen >= 0 AND public_prefixlen <= 32", name="public_prefixlen"),
        CheckConstraint("port_first >= 1 AND port_first <= port_last AND port_last <= 65535", name="ports"),
        CheckConstraint("block_size >= 1", name="block_size"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="interval"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # every index of the table starts with location_id; a location_id index of its own would tempt
    # SQLite's planner (which has no statistics) away from them
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"), nullable=False)
    inside_id: Mapped[int] = mapped_column(ForeignKey("isp_prefix.id", ondelete="RESTRICT"))
    public_network: Mapped[str] = mapped_column(String(32))
    public_last: Mapped[str] = mapped_column(String(32))
    public_prefixlen: Mapped[int] = mapped_column(Integer)
    port_first: Mapped[int] = mapped_column(Integer, default=1024)
    port_last: Mapped[int] = mapped_column(Integer, default=65535)
    block_size: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    inside: Mapped[Prefix] = relationship()

    @property
    def public_cidr(self) -> str:
        return f"{addresses.to_address(4, self.public_network)}/{self.public_prefixlen}"

    def plan(self):  # noqa: ANN201
        from mango_isp.ipam.cgnat import CgnatPlan

        return CgnatPlan(self.inside.ip_network, addresses.to_network(4, self.public_network, self.public_prefixlen),
                         self.port_first, self.port_last, self.block_size)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import _counter, make_row

        require_scope()
        if "inside_id" not in overrides and "inside" not in overrides:
            overrides["inside_id"] = make_row(session, Prefix, kind=CGNAT).id
        n = next(_counter) % 256
        start = (198 << 24) | (51 << 16) | (100 << 8) | n
        return cls(**{"public_network": addresses.key(start), "public_last": addresses.key(start),
                      "public_prefixlen": 32, "port_first": 1024, "port_last": 65535, "block_size": 256,
                      "valid_from": utcnow(), **overrides})


MODELS = [Prefix, Assignment, MacBinding, CgnatConfig]
