"""The outbox: messages waiting to be sent (or sent, or failed) and their attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, utcnow

# preparing: the owning module still has to attach files (e.g. an invoice's PDF, rendered in batches);
# queued: waiting for its next attempt; sent: the SMTP server accepted it; failed: given up (see last_error).
PREPARING, QUEUED, SENT, FAILED = "preparing", "queued", "sent", "failed"
STATES = (PREPARING, QUEUED, SENT, FAILED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class MailMessage(TenantMixin, Base):
    """One e-mail of one location, with its delivery state."""

    __tablename__ = "core_mail_outbox"
    __table_args__ = (
        UniqueConstraint("location_id", "dedup_key"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_core_mail_outbox_due", "state", "next_attempt_at"),
        Index("ix_core_mail_outbox_entity", "location_id", "entity", "entity_id"),
    )

    # no index of its own: the unique (location_id, dedup_key) starts with it. A separate one lured the
    # planner, with statistics taken before a billing run queued 100,000 messages, into reading every
    # message of the location for each batch's look-up of known keys (core_0013)
    location_id: Mapped[int] = mapped_column(ForeignKey("core_location.id", ondelete="RESTRICT"))
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(12), default=QUEUED)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    reply_to: Mapped[str | None] = mapped_column(String(254))
    # what the message is about, for links and look-ups ("invoice", 42)
    entity: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    # one message per key and location: a job run twice does not queue twice
    dedup_key: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(300))
    # threading (RFC 5322 §3.6.4): the message this one answers, and the thread's message ids
    # (the References header, space-separated)
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    thread_ids: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when its attachments were complete (NULL while preparing, or when preparing failed)
    prepared_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    attachments: Mapped[list[MailAttachment]] = relationship(
        back_populates="message", order_by="MailAttachment.position", cascade="all, delete-orphan",
        passive_deletes=True)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "to": list(self.recipients or []), "subject": self.subject,
                "attempts": self.attempts, "last_error": self.last_error}


class MailAttachment(TenantMixin, Base):
    """A file sent with a message (the bytes are loaded only when the message is sent)."""

    __tablename__ = "core_mail_attachment"
    __table_args__ = (CheckConstraint("size >= 0", name="size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("core_mail_outbox.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer, default=0)
    # NULL once purged (``keep_attachments_days`` after sending); the row stays for the record
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    message: Mapped[MailMessage] = relationship(back_populates="attachments")
