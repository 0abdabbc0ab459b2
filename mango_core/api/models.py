"""Personal API tokens of staff users and the stored answers of idempotent POSTs.

Only :mod:`mango_core.api.tokens` and :mod:`mango_core.api.idempotency` write these tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.auth.models import User
from mango_core.db import Base, TenantMixin, utcnow


class ApiToken(Base):
    """A personal token of a staff user for the REST API; the secret itself is never stored.

    The user's locations and permissions decide what it may do at each request (so a removed
    role or a disabled account takes effect at once); ``location_id`` narrows it to one location.
    """

    __tablename__ = "core_api_token"
    __table_args__ = (Index("ix_core_api_token_user", "user_id", "revoked_at"),)
    __tenant_exempt__ = "authentication data read before a scope exists (it decides the scope)"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # the first characters of the token, to recognise it in lists ("mango_Ab12Cd34")
    prefix: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, hex
    location_id: Mapped[int | None] = mapped_column(ForeignKey("core_location.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def state(self, now: datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"


class ApiIdempotencyKey(TenantMixin, Base):
    """The first successful answer to a POST sent with an ``Idempotency-Key``, per token and location.

    The row is inserted before the work and completed in the same transaction, so a concurrent
    duplicate waits on the unique constraint and then replays the committed answer.
    """

    __tablename__ = "core_api_idempotency_key"
    __table_args__ = (
        UniqueConstraint("location_id", "token_id", "key"),
        Index("ix_core_api_idempotency_key_created", "location_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("core_api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and the canonical JSON body: the same key with another request is refused
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text, default="")
    location_header: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
