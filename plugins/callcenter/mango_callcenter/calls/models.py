"""Tables of the call centre calls (registered through mango_callcenter.models).

* :class:`CallSettings` — per location: the PBX's webhook token (only its SHA-256 is kept) and the
  click-to-call URL template.
* :class:`Call` — the call log: one row per PBX call id, with the customer it was matched to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, utcnow

WEBHOOK, AMI, MANUAL = "webhook", "ami", "manual"
SOURCES = (WEBHOOK, AMI, MANUAL)


class CallSettings(TenantMixin, Base):
    __tablename__ = "callcenter_call_settings"
    __table_args__ = (UniqueConstraint("location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 (hex) of the webhook token; empty: the webhook is off
    token_sha256: Mapped[str] = mapped_column(String(64), default="")
    # e.g. "http://pbx/call?to={number}"; empty: no click-to-call links
    click_to_call_url: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Call(TenantMixin, Base):
    """An incoming call as the PBX announced it (stored once per PBX call id)."""

    __tablename__ = "callcenter_call"
    __table_args__ = (
        UniqueConstraint("location_id", "pbx_call_id"),
        CheckConstraint("source IN ('webhook', 'ami', 'manual')", name="source"),
        Index("ix_callcenter_call_customer", "location_id", "customer_id", "id"),
        Index("ix_callcenter_call_received", "location_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_call_id: Mapped[str] = mapped_column(String(100))
    caller: Mapped[str] = mapped_column(String(64))          # as the PBX sent it
    caller_phone: Mapped[str] = mapped_column(String(20), default="")  # +420…; empty when not a number
    called_line: Mapped[str] = mapped_column(String(64), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_ticket.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(10), default=WEBHOOK)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer = relationship("Customer")
    ticket = relationship("Ticket")


MODELS: list[type] = [CallSettings, Call]
