"""Service classes, their parameter versions, products and where products are sold.

All partner-owned (:class:`PartnerMixin`): a partner defines its catalogue once and every one of
its locations sells from it. Only :mod:`mango_core.catalog.service` writes these tables.

Availability is a partner-owned link table (:class:`ProductLocation`), not a tenant-owned one and
not a JSON list: the partner edits a product's availability in all its locations from any of them
(a tenant-owned row could be written only from its own location), the foreign key to
``core_location`` keeps the list honest, and "products sold here" stays one indexed join.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, Money, PartnerMixin, utcnow
from mango_core.params import DefinitionSet, ParamDef


class ServiceClass(PartnerMixin, Base):
    """A category of services (Třída) defined by typed parameters; ``version`` is the current one."""

    __tablename__ = "core_service_class"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # contributed by plugins through mango_service_class_kinds (the core: "other")
    kind: Mapped[str] = mapped_column(String(40), default="other")
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    versions: Mapped[list[ServiceClassVersion]] = relationship(
        back_populates="service_class", order_by="ServiceClassVersion.version", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class ServiceClassVersion(PartnerMixin, Base):
    """The parameter definitions of one version of a class; kept for ever (services refer to them)."""

    __tablename__ = "core_service_class_version"
    __table_args__ = (UniqueConstraint("partner_id", "class_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("core_service_class.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    definitions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    service_class: Mapped[ServiceClass] = relationship(back_populates="versions")

    def definition_set(self) -> DefinitionSet:
        return DefinitionSet(tuple(ParamDef.from_dict(d) for d in self.definitions or ()), self.version)


class Product(PartnerMixin, Base):
    """A sellable item (tariff) of a class: prices, a billing plan, default parameter values, validity.

    ``price`` is the regular (periodic) price without VAT; ``second_price`` an optional other one
    (a setup fee). ``vat_rate`` is a percentage (21, 12, 0); whether VAT is charged at all is the
    location's business (non-VAT payers), decided by billing. ``billing_plan`` belongs to the
    billing plugin. ``defaults`` are validated against the class version ``defaults_version``.
    """

    __tablename__ = "core_product"
    __table_args__ = (
        UniqueConstraint("partner_id", "code"),
        Index("ix_core_product_class", "class_id"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("core_service_class.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Money())
    vat_rate: Mapped[Decimal] = mapped_column(Money(scale=2, precision=5), default=Decimal("21"))
    second_price: Mapped[Decimal | None] = mapped_column(Money())
    second_price_label: Mapped[str | None] = mapped_column(String(100))
    billing_plan: Mapped[Any | None] = mapped_column(JSON)
    defaults: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    defaults_version: Mapped[int] = mapped_column(Integer, default=1)
    valid_from: Mapped[date] = mapped_column(Date, default=date.today)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    service_class: Mapped[ServiceClass] = relationship(lazy="joined")
    availability: Mapped[list[ProductLocation]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductLocation.location_id"
    )

    @property
    def location_ids(self) -> set[int]:
        return {a.location_id for a in self.availability}

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ProductLocation(PartnerMixin, Base):
    """A location of the partner where a product may be sold (see the module's note)."""

    __tablename__ = "core_product_location"
    __table_args__ = (UniqueConstraint("partner_id", "product_id", "location_id"),
                      Index("ix_core_product_location_location", "location_id", "product_id"))
    __tenant_exempt__ = "partner-owned availability list: the partner sets it for any of its locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="CASCADE"))

    product: Mapped[Product] = relationship(back_populates="availability")
