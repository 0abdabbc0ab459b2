"""Customers of a location: people and companies, their contacts, addresses, notes and tags.

Only :mod:`mango_core.customers.service` writes these tables (so that every key change is kept
in the history and announced to plugins); others read them or call the service.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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

PERSON, COMPANY = "person", "company"
KINDS = (PERSON, COMPANY)
LEAD, ACTIVE, FORMER = "lead", "active", "former"
STATES = (LEAD, ACTIVE, FORMER)
CONTACT_ROLES = ("billing", "technical", "owner")
EMAIL, PHONE = "email", "phone"
CHANNEL_KINDS = (EMAIL, PHONE)
PERMANENT, BILLING, SERVICE_PLACE = "permanent", "billing", "service_place"
ADDRESS_KINDS = (PERMANENT, BILLING, SERVICE_PLACE)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Customer(TimestampMixin, TenantMixin, Base):
    """An end customer of a location (a person or a company)."""

    __tablename__ = "core_customer"
    __table_args__ = (
        UniqueConstraint("location_id", "number"),
        UniqueConstraint("location_id", "variable_symbol"),
        # keyset pagination by name (and the name prefix search of the list)
        Index("ix_core_customer_location_sort_name", "location_id", "sort_name", "id"),
        Index("ix_core_customer_location_state", "location_id", "state", "id"),
        Index("ix_core_customer_location_ico", "location_id", "ico"),
        Index("ix_core_customer_parent_id", "parent_id"),
        # a parent's children by name (the card): without it both planners walk the name index
        # of the whole location looking for the children (200 ms on 100,000 customers)
        Index("ix_core_customer_children", "location_id", "parent_id", "sort_name"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("state", STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    variable_symbol: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10), default=PERSON)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    company_name: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    # display_name lower-cased without diacritics: sorting and prefix search ("Šťastný" -> "stastny")
    sort_name: Mapped[str] = mapped_column(String(200))
    ico: Mapped[str | None] = mapped_column(String(8))
    dic: Mapped[str | None] = mapped_column(String(14))
    birth_number: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[date | None]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    bill_to_parent: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(10), default=LEAD)
    state_changed_on: Mapped[date | None]
    activated_on: Mapped[date | None]
    terminated_on: Mapped[date | None]
    # GDPR
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_consent_at: Mapped[datetime | None]
    processing_basis: Mapped[str | None] = mapped_column(Text)
    retain_until: Mapped[date | None]
    anonymised_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    # values of the partner's custom fields (CustomerFieldSet), as JSON, and the set's version
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    custom_fields_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[Customer | None] = relationship(remote_side="Customer.id", back_populates="children")
    children: Mapped[list[Customer]] = relationship(back_populates="parent", order_by="Customer.sort_name")
    contacts: Mapped[list[CustomerContact]] = relationship(
        back_populates="customer", order_by="CustomerContact.id", cascade="all, delete-orphan"
    )
    addresses: Mapped[list[CustomerAddress]] = relationship(
        back_populates="customer", order_by="CustomerAddress.id", cascade="all, delete-orphan"
    )
    tag_links: Mapped[list[CustomerTagLink]] = relationship(back_populates="customer", cascade="all, delete-orphan")

    @property
    def tags(self) -> list[CustomerTag]:
        return sorted((link.tag for link in self.tag_links), key=lambda t: t.name.lower())

    @property
    def is_company(self) -> bool:
        return self.kind == COMPANY

    def __str__(self) -> str:
        return f"{self.number} {self.display_name}"

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import _counter

        n = next(_counter)
        values = {"number": n, "variable_symbol": str(n), "kind": PERSON, "first_name": "Jan",
                  "last_name": f"Test{n}", "display_name": f"Test{n} Jan", "sort_name": f"test{n} jan",
                  "state": LEAD}
        return cls(**{**values, **overrides})


class CustomerContact(TenantMixin, Base):
    """A person to talk to about a customer's account, with roles and several e-mails/phones."""

    __tablename__ = "core_customer_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role_billing: Mapped[bool] = mapped_column(Boolean, default=False)
    role_technical: Mapped[bool] = mapped_column(Boolean, default=False)
    role_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="contacts")
    channels: Mapped[list[CustomerContactChannel]] = relationship(
        back_populates="contact", order_by="(CustomerContactChannel.kind, CustomerContactChannel.id)",
        cascade="all, delete-orphan",
    )

    @property
    def roles(self) -> list[str]:
        return [role for role in CONTACT_ROLES if getattr(self, f"role_{role}")]

    @property
    def emails(self) -> list[CustomerContactChannel]:
        return [c for c in self.channels if c.kind == EMAIL]

    @property
    def phones(self) -> list[CustomerContactChannel]:
        return [c for c in self.channels if c.kind == PHONE]


class CustomerContactChannel(TenantMixin, Base):
    """One e-mail address or phone number of a contact."""

    __tablename__ = "core_customer_contact_channel"
    __table_args__ = (
        Index("ix_core_customer_contact_channel_search", "location_id", "search_value"),
        CheckConstraint(_in("kind", CHANNEL_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("core_customer_contact.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default=EMAIL)
    value: Mapped[str] = mapped_column(String(254))
    # e-mail lower-cased, phone as digits without the +420 prefix
    search_value: Mapped[str] = mapped_column(String(254))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    contact: Mapped[CustomerContact] = relationship(back_populates="channels")


class CustomerAddress(TenantMixin, Base):
    """A permanent, billing or service-place address of a customer."""

    __tablename__ = "core_customer_address"
    __table_args__ = (CheckConstraint(_in("kind", ADDRESS_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=PERMANENT)
    street: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    country: Mapped[str] = mapped_column(String(2), default="CZ")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="addresses")

    @property
    def one_line(self) -> str:
        code = self.postal_code
        if self.country == "CZ" and len(code) == 5:
            code = f"{code[:3]} {code[3:]}"
        parts = [self.street, " ".join(p for p in (code, self.city) if p)]
        if self.country != "CZ":
            parts.append(self.country)
        return ", ".join(p for p in parts if p)


class CustomerNote(TenantMixin, Base):
    """A dated note on a customer by a member of staff."""

    __tablename__ = "core_customer_note"
    __table_args__ = (Index("ix_core_customer_note_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerTag(TenantMixin, Base):
    """A label for grouping customers (``VIP``, ``dluh``), unique per location."""

    __tablename__ = "core_customer_tag"
    __table_args__ = (UniqueConstraint("location_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class CustomerTagLink(TenantMixin, Base):
    """A tag put on a customer (an ORM model, not a bare table, so that the tenant guard sees it)."""

    __tablename__ = "core_customer_tag_link"
    __table_args__ = (Index("ix_core_customer_tag_link_tag", "tag_id", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("core_customer_tag.id", ondelete="CASCADE"), primary_key=True)

    customer: Mapped[Customer] = relationship(back_populates="tag_links")
    tag: Mapped[CustomerTag] = relationship(lazy="joined")


class CustomerKeyword(TenantMixin, Base):
    """Search index: the normalised words that find a customer (maintained by the service).

    Names and addresses without diacritics, number, variable symbol, IČO, DIČ, e-mails and
    phones (digits without +420). A search is one indexed range scan per word of the query.
    """

    __tablename__ = "core_customer_keyword"
    __table_args__ = (Index("ix_core_customer_keyword_value", "location_id", "value", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"), index=True)
    # byte order on PostgreSQL too, so that a prefix is one index range whatever the database locale
    value: Mapped[str] = mapped_column(String(100).with_variant(String(100, collation="C"), "postgresql"))


class CustomerFieldSet(PartnerMixin, Base):
    """The partner's custom customer fields: typed parameter definitions, versioned.

    Shared by all the partner's locations; each change raises ``version``, and a customer
    keeps the version its values were validated against.
    """

    __tablename__ = "core_customer_field_set"
    __table_args__ = (UniqueConstraint("partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definitions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
