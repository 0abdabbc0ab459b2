"""Selfcare: customers' portal accounts, their one-time password links, sessions and tariff requests,
and self-registration (its per-location settings and the registrations waiting for confirmation).

Only :mod:`mango_core.selfcare.accounts`, :mod:`mango_core.selfcare.tariffs` and
:mod:`mango_core.selfcare.registration` write these tables. An account belongs to one customer of one location (the location's code is in every
portal URL a customer starts from); it logs in with its e-mail or the customer's number.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, TimestampMixin, utcnow

INVITE, RESET = "invite", "reset"
TOKEN_PURPOSES = (INVITE, RESET)
PENDING, APPROVED, REJECTED, CANCELLED = "pending", "approved", "rejected", "cancelled"
REQUEST_STATES = (PENDING, APPROVED, REJECTED, CANCELLED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class SelfcareAccount(TimestampMixin, TenantMixin, Base):
    """A customer's access to the portal. ``email`` (lower case) logs in and receives the links.

    ``password_hash`` is empty until the customer sets a password through an invitation link;
    a customer id or number is never a password. One account per customer and per e-mail in a
    location; a parent customer's account also shows its child customers.
    """

    __tablename__ = "core_selfcare_account"
    __table_args__ = (UniqueConstraint("location_id", "customer_id"), UniqueConstraint("location_id", "email"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    invited_at: Mapped[datetime | None]
    password_set_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    # set when the customer registered itself in the portal (None: invited by staff), with the
    # version of the terms it accepted then and when (None: the location asked for no terms)
    registered_at: Mapped[datetime | None]
    terms_version: Mapped[int | None]
    terms_accepted_at: Mapped[datetime | None]

    customer = relationship("Customer")


class SelfcareToken(TenantMixin, Base):
    """A one-time link to set a password (invitation or reset); only its SHA-256 is stored.

    Valid until ``expires_at`` and only once (``used_at``); a newer link of the account ends
    the older ones.
    """

    __tablename__ = "core_selfcare_token"
    __table_args__ = (
        UniqueConstraint("location_id", "token_hash"),
        Index("ix_core_selfcare_token_account", "account_id", "created_at"),
        CheckConstraint(_in("purpose", TOKEN_PURPOSES), name="purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("core_selfcare_account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(10), default=INVITE)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    account: Mapped[SelfcareAccount] = relationship()

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from datetime import timedelta

        from mango_core.testing.factories import _counter, make_row

        _require_scope()
        if "account_id" not in overrides and "account" not in overrides:
            overrides["account_id"] = make_row(session, SelfcareAccount).id
        n = next(_counter)
        values = {"purpose": INVITE, "token_hash": f"{n:064d}", "expires_at": utcnow() + timedelta(days=1)}
        return cls(**{**values, **overrides})


def _require_scope() -> None:
    """Test factories write their parent rows in the current scope, so they need one (as the guard does)."""
    from mango_core.tenancy.context import TenancyError, scope_or_none

    if scope_or_none() is None:
        raise TenancyError("No location scope is set; refusing to write tenant-owned data.")


PERSON_KINDS = ("person", "company")


class RegistrationSettings(TenantMixin, Base):
    """Whether strangers may register as customers in the location's portal (off without a row).

    ``terms_version`` grows whenever the terms (text or address) change, so a consent names the
    wording it was given to; each wording stays in the history (entity ``selfcare_terms``).
    """

    __tablename__ = "core_selfcare_registration_settings"
    __table_args__ = (UniqueConstraint("location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_person: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_company: Mapped[bool] = mapped_column(Boolean, default=True)
    terms_text: Mapped[str | None] = mapped_column(Text)
    terms_url: Mapped[str | None] = mapped_column(String(500))
    terms_version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    @property
    def has_terms(self) -> bool:
        return bool(self.terms_text or self.terms_url)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return cls(**{"enabled": True, "allow_person": True, "allow_company": True, "terms_version": 0, **overrides})


class Registration(TenantMixin, Base):
    """A registration waiting for its e-mail to be confirmed; only the link's SHA-256 is stored.

    The password is kept only as its Argon2id hash. Confirming creates the customer, its contact
    and its account (``customer_id``) and blanks the personal fields; the row stays until it
    expires (a second click on the link then finds it confirmed) and the purge job deletes it.
    """

    __tablename__ = "core_selfcare_registration"
    __table_args__ = (
        UniqueConstraint("location_id", "token_hash"),
        Index("ix_core_selfcare_registration_expires", "location_id", "expires_at"),
        Index("ix_core_selfcare_registration_email", "location_id", "email"),
        CheckConstraint(_in("kind", PERSON_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str | None] = mapped_column(String(5))
    kind: Mapped[str] = mapped_column(String(10), default="person")
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    company_name: Mapped[str | None] = mapped_column(String(200))
    ico: Mapped[str | None] = mapped_column(String(8))
    dic: Mapped[str | None] = mapped_column(String(14))
    phone: Mapped[str | None] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str] = mapped_column(String(2), default="CZ")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    terms_version: Mapped[int | None]
    terms_accepted_at: Mapped[datetime | None]
    next_path: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="SET NULL"))

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from datetime import timedelta

        from mango_core.testing.factories import _counter

        n = next(_counter)
        values = {"token_hash": f"{n:064d}", "email": f"reg{n}@example.test", "kind": "person",
                  "last_name": f"Registered {n}", "country": "CZ", "expires_at": utcnow() + timedelta(days=1)}
        return cls(**{**values, **overrides})


class SelfcareSession(Base):
    """A server-side portal session; the browser's own cookie holds only a random token.

    Like the staff sessions (:class:`mango_core.auth.models.UserSession`) but for a customer's
    account: logout, a newer login of the account, a new password, disabling the account or
    passing the idle or absolute limit of the ``selfcare`` realm set ``ended_at``.
    ``customer_id`` is the customer being looked at: the account's own, or one of its children.
    """

    __tablename__ = "core_selfcare_session"
    __table_args__ = (Index("ix_core_selfcare_session_account_active", "account_id", "ended_at"),)
    __tenant_exempt__ = "authentication data read before a scope exists (it decides the scope)"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("core_selfcare_account.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(30))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class TariffRequest(TenantMixin, Base):
    """A customer's wish to move a service to another product of its class, decided by staff.

    Approval applies the change through the service lifecycle (``change_id``), so history and
    ``mango_service_changed`` follow as for any tariff change.
    """

    __tablename__ = "core_selfcare_tariff_request"
    __table_args__ = (
        Index("ix_core_selfcare_tariff_request_state", "location_id", "state", "id"),
        Index("ix_core_selfcare_tariff_request_service", "service_id", "id"),
        CheckConstraint(_in("state", REQUEST_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="RESTRICT"))
    from_product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="RESTRICT"))
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="RESTRICT"))
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    effective: Mapped[date | None] = mapped_column(Date)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("core_service_change.id", ondelete="SET NULL"))

    service = relationship("Service")
    customer = relationship("Customer")
    product = relationship("Product", foreign_keys=[product_id])
    from_product = relationship("Product", foreign_keys=[from_product_id])

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.catalog.models import Product
        from mango_core.customers.models import Customer
        from mango_core.services.models import Service
        from mango_core.testing.factories import make_row

        _require_scope()
        if "service_id" in overrides:
            service = session.get(Service, overrides["service_id"])  # None for another location's: the flush refuses
        else:
            own = {"customer_id": overrides["customer_id"]} if "customer_id" in overrides else {}
            service = make_row(session, Service, **own)
            overrides["service_id"] = service.id
        if service is not None:
            values = {"customer_id": service.customer_id, "from_product_id": service.product_id,
                      "product_id": service.product_id}
        else:
            product_id = make_row(session, Product).id
            values = {"customer_id": make_row(session, Customer).id, "from_product_id": product_id,
                      "product_id": product_id}
        return cls(**{**values, "state": PENDING, **overrides})
