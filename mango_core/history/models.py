"""The history table: one row per changed field, never updated or deleted (database triggers)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, TenantMixin, utcnow

# What an erased before/after value becomes; frozen in migration core_0007's trigger: never change it.
REDACTED = "[redacted]"


class HistoryEntry(TenantMixin, Base):
    """A key change of a customer or of something of theirs (contact, address, service, …).

    ``before``/``after`` are text: strings as they are, dates ISO 8601, booleans ``true``/
    ``false``, lists and objects as JSON. ``user_id`` is empty for the system and the command
    line. The table is append-only (triggers created by the migration), with one exception: the
    GDPR erasure of a customer replaces the personal ``before``/``after`` values of that
    customer's rows by :data:`REDACTED` and stamps ``redacted_at`` (see
    :func:`mango_core.history.recorder.redact` and :mod:`mango_core.db.append_only`).

    Rows with ``customer_id`` NULL and ``entity`` ``service_class`` or ``product`` are changes of
    the partner's catalogue, written in the location where the user worked (see
    :mod:`mango_core.catalog.service`).
    """

    __tablename__ = "core_history"
    __table_args__ = (
        Index("ix_core_history_customer", "location_id", "customer_id", "id"),
        Index("ix_core_history_entity", "location_id", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    effective_date: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(30))
    field: Mapped[str | None] = mapped_column(String(60))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    # set once, when the personal values of the row were erased (the customer's anonymisation)
    redacted_at: Mapped[datetime | None] = mapped_column()
