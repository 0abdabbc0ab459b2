"""Staff users, roles of named permissions, sessions, throttling and the auth audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TimestampMixin, utcnow


class User(TimestampMixin, Base):
    """A member of staff: of the operator (``partner_id`` empty) or of one partner."""

    __tablename__ = "core_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id", ondelete="RESTRICT"), index=True)
    # Operator staff may act in every location; partner staff only where they hold a role.
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    last_location_id: Mapped[int | None] = mapped_column(ForeignKey("core_location.id", ondelete="SET NULL"))
    disabled_at: Mapped[datetime | None]

    assignments: Mapped[list[RoleAssignment]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Role(TimestampMixin, Base):
    """A named set of permissions; defined by the operator (``partner_id`` empty) or a partner."""

    __tablename__ = "core_role"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")

    permissions: Mapped[list[RolePermission]] = relationship(
        back_populates="role", cascade="all, delete-orphan", order_by="RolePermission.permission"
    )

    @property
    def permission_codes(self) -> set[str]:
        return {p.permission for p in self.permissions}


class RolePermission(Base):
    __tablename__ = "core_role_permission"

    role_id: Mapped[int] = mapped_column(ForeignKey("core_role.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(100), primary_key=True)

    role: Mapped[Role] = relationship(back_populates="permissions")


class RoleAssignment(Base):
    """A user holds a role in one location."""

    __tablename__ = "core_role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "role_id", "location_id"),)
    __tenant_exempt__ = "authorisation data read before a scope exists (it decides the scope)"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("core_role.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship(back_populates="assignments")
    role: Mapped[Role] = relationship()


class UserSession(Base):
    """A server-side login session; the browser holds only a random token (its hash is here).

    Ending a session (logout, a newer login, disabling the user, expiry) sets ``ended_at``;
    the next request with the old token is sent to the login page.
    """

    __tablename__ = "core_user_session"
    __table_args__ = (Index("ix_core_user_session_user_active", "user_id", "ended_at"),)
    __tenant_exempt__ = "authentication data, not owned by a location"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    realm: Mapped[str] = mapped_column(String(20), default="opcare")
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("core_location.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(30))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Every login attempt; throttling counts recent failures here (shared by all workers)."""

    __tablename__ = "core_login_attempt"
    __table_args__ = (
        Index("ix_core_login_attempt_email_at", "email", "at"),
        Index("ix_core_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    realm: Mapped[str] = mapped_column(String(20), default="opcare")
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(45))
    success: Mapped[bool] = mapped_column(Boolean)


class AuthEvent(Base):
    """Append-only audit log of authentication events (the database refuses UPDATE and DELETE)."""

    __tablename__ = "core_auth_event"
    __table_args__ = (Index("ix_core_auth_event_at", "at"),)
    __tenant_exempt__ = "operator-level security log; partners see their own users' events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(30))
    realm: Mapped[str] = mapped_column(String(20), default="opcare")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("core_partner.id", ondelete="RESTRICT"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"))
    email: Mapped[str | None] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
