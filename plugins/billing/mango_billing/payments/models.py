"""Tables of the payments area that ``mango_billing.models`` does not have (migration billing_0003).

- :class:`PaymentEvent`: the audit trail of what people (or the importer) did with a payment —
  paired, ignored, refunded, reversed — with who and when. Append-only by convention.
- :class:`FioLink`: the Fio API token of one bank account, encrypted at rest (Fernet, key from the
  ``fio_token_key`` setting of the billing plugin), with the persisted rate-limit state and the
  last download's outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, TenantMixin, utcnow

EVENT_ACTIONS = ("imported", "matched", "paired", "ignored", "refunded", "reversed", "recorded")


class PaymentEvent(TenantMixin, Base):
    """One thing done with a payment: who (``user_id``, None = the system), when, what."""

    __tablename__ = "billing_payment_event"
    __table_args__ = (
        Index("ix_billing_payment_event_payment", "location_id", "payment_id", "id"),
        CheckConstraint("action IN (" + ", ".join(repr(a) for a in EVENT_ACTIONS) + ")", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("billing_payment.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(12), default="recorded")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    detail: Mapped[str | None] = mapped_column(Text)


class FioLink(TenantMixin, Base):
    """Automatic download of one bank account's movements from the Fio API."""

    __tablename__ = "billing_fio_link"
    __table_args__ = (UniqueConstraint("location_id", "bank_account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("core_bank_account.id", ondelete="CASCADE"))
    # Fernet token of the API token; never shown back in full
    token_encrypted: Mapped[str] = mapped_column(Text)
    token_hint: Mapped[str] = mapped_column(String(12), default="")  # the last 4 characters, for the UI
    base_url: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # FioRateLimit.to_dict(): last call time per token hash (no secret)
    rate_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_run_at: Mapped[datetime | None] = mapped_column()
    last_result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS: list[type] = [PaymentEvent, FioLink]
