"""The example plugin's one table: short notes kept per location."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, TenantMixin, TimestampMixin


class ExampleNote(TimestampMixin, TenantMixin, Base):
    """A note written by a member of staff in one location."""

    __tablename__ = "example_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    # A note may answer another note of the same location (a tenant-to-tenant reference,
    # which the isolation matrix checks can never cross locations).
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("example_note.id", ondelete="SET NULL"))
