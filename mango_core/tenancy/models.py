"""Partners (licensees), their locations (the tenants), licences and enabled modules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, TimestampMixin, utcnow


class Partner(TimestampMixin, Base):
    """A licensee of the operator (CP). Operator-level: not scoped to a location."""

    __tablename__ = "core_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company_name: Mapped[str] = mapped_column(String(200))
    ico: Mapped[str | None] = mapped_column(String(8))
    dic: Mapped[str | None] = mapped_column(String(14))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    locations: Mapped[list[Location]] = relationship(back_populates="partner", order_by="Location.code")
    licences: Mapped[list[Licence]] = relationship(back_populates="partner", order_by="Licence.module")


class Location(TimestampMixin, Base):
    """A business location of a partner (CT): the tenant that owns customers, invoices, …"""

    __tablename__ = "core_location"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company_name: Mapped[str] = mapped_column(String(200))
    ico: Mapped[str | None] = mapped_column(String(8))
    dic: Mapped[str | None] = mapped_column(String(14))
    vat_payer: Mapped[bool] = mapped_column(Boolean, default=False)
    # Registered office (sídlo)
    street: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    country: Mapped[str] = mapped_column(String(2), default="CZ")
    # Postal address when it differs from the registered office
    mailing_address: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3), default="CZK")
    locale: Mapped[str] = mapped_column(String(5), default="cs")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Prague")
    # Filled by the billing plugin (series prefixes, numbering formats); kept as data here.
    invoice_series: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    partner: Mapped[Partner] = relationship(back_populates="locations")
    modules: Mapped[list[LocationModule]] = relationship(
        back_populates="location", cascade="all, delete-orphan", order_by="LocationModule.module"
    )

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class Licence(TimestampMixin, Base):
    """A partner's right to use a module between two dates (``valid_until`` inclusive)."""

    __tablename__ = "core_licence"
    __table_args__ = (UniqueConstraint("partner_id", "module", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), index=True)
    module: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(Text)

    partner: Mapped[Partner] = relationship(back_populates="licences")

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class LocationModule(Base):
    """A licensed module switched on for one location.

    Location configuration kept by the operator's tools, not tenant data: it is read before
    any location scope exists (to decide whether a route or job is active).
    """

    __tablename__ = "core_location_module"
    __table_args__ = (UniqueConstraint("location_id", "module"),)
    __tenant_exempt__ = "location configuration read before a scope exists"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="CASCADE"), index=True)
    module: Mapped[str] = mapped_column(String(40))
    enabled_at: Mapped[datetime] = mapped_column(default=utcnow)
    enabled_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    location: Mapped[Location] = relationship(back_populates="modules")


class BankAccount(TimestampMixin, TenantMixin, Base):
    """A bank account of a location, kept as both the Czech number and the IBAN."""

    __tablename__ = "core_bank_account"
    __table_args__ = (UniqueConstraint("location_id", "iban"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    # Czech form "prefix-number/bank", empty for foreign accounts
    account_number: Mapped[str | None] = mapped_column(String(30))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    currency: Mapped[str] = mapped_column(String(3), default="CZK")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
