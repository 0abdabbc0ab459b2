"""Declarative base, naming convention and the tenant mixin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from mango_core.db.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class TenantMixin:
    """A row owned by one location (the tenant).

    The session filters every ORM read, update and delete of such a model to the current
    location scope, stamps ``location_id`` on insert, refuses references to rows of other
    locations, and fails closed when no scope is set (see :mod:`mango_core.tenancy.guard`).
    Unique constraints of tenant tables must include ``location_id``.
    """

    @declared_attr
    def location_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            ForeignKey("core_location.id", ondelete="RESTRICT"), nullable=False, index=True
        )


class PartnerMixin:
    """A row shared by all locations of one partner (its service classes, products, forms).

    The session shows such rows to a scope whose locations belong to the partner, lets only
    the partner of the scope's write location create, change or delete them, and refuses
    references that cross partners (see :mod:`mango_core.tenancy.guard`). Unique
    constraints of partner tables must include ``partner_id``.
    """

    @declared_attr
    def partner_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            ForeignKey("core_partner.id", ondelete="RESTRICT"), nullable=False, index=True
        )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
