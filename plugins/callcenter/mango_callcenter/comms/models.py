"""Tables of the call centre comms (registered through mango_callcenter.models).

* :class:`MailSource` — where a location's incoming mail is read: an IMAP mailbox (password
  encrypted at rest) or a maildir. (An MTA may also pipe mail to ``mango callcenter mail-in``.)
* :class:`InboundMail` — every incoming message seen, once per Message-ID and location (dedup),
  with what became of it (threaded, a new ticket, ignored as an auto-reply).
* :class:`CommTemplate` — e-mail and SMS templates per location (Jinja2, sandboxed).
* :class:`SmsGateway` — a location's own SMS gateway (driver, settings, the password encrypted at
  rest, the SHA-256 of the delivery-report token); without one the instance-wide setting applies.
* :class:`SmsMessage` — the outbound SMS queue with retries and backoff, and the delivery reports.
* :class:`CommLog` — everything sent to a customer (e-mail through the core outbox, SMS).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, utcnow

IMAP, MAILDIR = "imap", "maildir"
SOURCE_KINDS = (IMAP, MAILDIR)
SSL, STARTTLS, PLAIN = "ssl", "starttls", "none"
SECURITIES = (SSL, STARTTLS, PLAIN)
THREADED, CREATED, IGNORED, REJECTED = "threaded", "created", "ignored", "rejected"
INBOUND_OUTCOMES = (THREADED, CREATED, IGNORED, REJECTED)
EMAIL, SMS = "email", "sms"
CHANNELS = (EMAIL, SMS)
QUEUED, SENT, FAILED = "queued", "sent", "failed"
DELIVERED, UNDELIVERED = "delivered", "undelivered"  # from the gateway's delivery report, after SENT
SMS_STATES = (QUEUED, SENT, FAILED, DELIVERED, UNDELIVERED)
SMS_DRIVERS = ("log", "http")
NO_AUTH, BASIC, BEARER = "none", "basic", "bearer"
AUTHS = (NO_AUTH, BASIC, BEARER)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class MailSource(TenantMixin, Base):
    __tablename__ = "callcenter_mail_source"
    __table_args__ = (
        UniqueConstraint("location_id", "name"),
        CheckConstraint(_in("kind", SOURCE_KINDS), name="kind"),
        CheckConstraint(_in("security", SECURITIES), name="security"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default=IMAP)
    host: Mapped[str] = mapped_column(String(200), default="")
    port: Mapped[int | None] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(10), default=SSL)
    username: Mapped[str] = mapped_column(String(200), default="")
    # Fernet token of the IMAP password ([plugin_settings.callcenter] secret_keys); never the plain text
    password_enc: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    path: Mapped[str] = mapped_column(String(500), default="")  # the maildir
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_fetch_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(2000), default="")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import _counter

        return cls(**{"name": f"Source {next(_counter)}", "kind": MAILDIR, "security": SSL, "path": "/nonexistent",
                      **overrides})


class InboundMail(TenantMixin, Base):
    __tablename__ = "callcenter_inbound_mail"
    __table_args__ = (
        UniqueConstraint("location_id", "message_id"),
        CheckConstraint(_in("outcome", INBOUND_OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_mail_source.id", ondelete="SET NULL"),
                                                  index=True)
    message_id: Mapped[str] = mapped_column(String(300))
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    outcome: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(500), default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("callcenter_ticket.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket = relationship("Ticket")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import _counter

        return cls(**{"message_id": f"<m{next(_counter)}@test>", "outcome": IGNORED, **overrides})


class CommTemplate(TenantMixin, Base):
    """A message the location sends: ``code`` names the occasion (``ticket_reply``, ``outage``…)."""

    __tablename__ = "callcenter_template"
    __table_args__ = (
        UniqueConstraint("location_id", "channel", "code"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default=EMAIL)
    code: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(300), default="")  # e-mail only
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        from mango_core.testing.factories import _counter

        return cls(**{"channel": SMS, "code": f"t{next(_counter)}", "subject": "", "body": "Hi", **overrides})


class SmsGateway(TenantMixin, Base):
    """A location's SMS gateway (see :mod:`mango_callcenter.comms.gateways`)."""

    __tablename__ = "callcenter_sms_gateway"
    __table_args__ = (
        UniqueConstraint("location_id"),
        CheckConstraint(_in("driver", SMS_DRIVERS), name="driver"),
        CheckConstraint(_in("auth", AUTHS), name="auth"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    driver: Mapped[str] = mapped_column(String(10), default="log")
    # the HTTP driver's settings without secrets: url, method, headers, body, content_type, sender, success_status,
    # success_regex, ref_regex, timeout, and how delivery reports look (report_ref, report_status, delivered, failed)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    auth: Mapped[str] = mapped_column(String(10), default=NO_AUTH)
    username: Mapped[str] = mapped_column(String(200), default="")
    # Fernet token of the password (basic) or the bearer token ([plugin_settings.callcenter] secret_keys)
    secret_enc: Mapped[str] = mapped_column(Text, default="")
    # SHA-256 (hex) of the token the gateway sends with delivery reports; empty: reports are refused
    report_token_sha256: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206, ARG003
        return cls(**{"driver": "log", "config": {}, "auth": NO_AUTH, "username": "", "secret_enc": "",
                      "report_token_sha256": "", **overrides})


class SmsMessage(TenantMixin, Base):
    __tablename__ = "callcenter_sms"
    __table_args__ = (
        UniqueConstraint("location_id", "dedup_key"),
        CheckConstraint(_in("state", SMS_STATES), name="state"),
        Index("ix_callcenter_sms_due", "location_id", "state", "next_attempt_at"),
        Index("ix_callcenter_sms_provider_ref", "location_id", "provider_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default=QUEUED)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="SET NULL"), index=True)
    dedup_key: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(String(2000), default="")
    provider_ref: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]  # when the gateway reported the delivery (or its failure)
    delivery_status: Mapped[str] = mapped_column(String(50), default="")  # the gateway's last report, as sent

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return cls(**{"recipient": "+420777000111", "text": "Hi", "state": QUEUED, **overrides})


class CommLog(TenantMixin, Base):
    """One message sent to (or queued for) a customer; ``ref_id`` is the outbox row or the SMS."""

    __tablename__ = "callcenter_comm_log"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        Index("ix_callcenter_comm_log_customer", "location_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("core_customer.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    ref_id: Mapped[int | None] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(50), default="")  # what it was about (callcenter_ticket…)
    entity_id: Mapped[int | None] = mapped_column(Integer)
    # who wrote it (a message from the customer card); None for what the system sent
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer = relationship("Customer")
    created_by = relationship("User")

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        return cls(**{"channel": SMS, "recipient": "+420777000111", **overrides})


MODELS: list[type] = [MailSource, InboundMail, CommTemplate, SmsGateway, SmsMessage, CommLog]
