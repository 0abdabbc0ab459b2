"""The example plugin's one table: short notes kept per location."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, PartnerMixin, TenantMixin, TimestampMixin


class ExampleCategory(PartnerMixin, Base):
    """A category of notes, shared by all locations of one partner (a partner-owned table)."""

    __tablename__ = "example_category"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class ExampleNote(TimestampMixin, TenantMixin, Base):
    """A note written by a member of staff in one location."""

    __tablename__ = "example_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    # A note may answer another note of the same location (a tenant-to-tenant reference,
    # which the isolation matrix checks can never cross locations).
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("example_note.id", ondelete="SET NULL"))
    # A tenant row referring to a partner row: only the partner's own categories.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("example_category.id", ondelete="SET NULL"))
