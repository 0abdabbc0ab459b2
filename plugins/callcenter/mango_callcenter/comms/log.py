"""The communication log: every e-mail (through the core outbox) and SMS sent to a customer.

Rows are written in the same transaction as the message is queued, so the log holds exactly what
was queued; the delivery state is read from the outbox row or the SMS row (``ref_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mango_callcenter.comms.models import (
    CHANNELS,
    EMAIL,
    FAILED,
    QUEUED,
    SMS,
    CommLog,
    InboundMail,
    SmsMessage,
)
from mango_callcenter.helpdesk.models import Ticket
from mango_core.db import utcnow
from mango_core.mail.models import MailMessage

MAX_BODY = 20_000


def record_mail(session: Session, message: MailMessage, *, customer_id: int | None) -> CommLog:
    """Log a queued outbox e-mail (once: a re-queued dedup hit is not logged again)."""
    existing = session.scalar(select(CommLog).where(CommLog.channel == EMAIL, CommLog.ref_id == message.id))
    if existing is not None:
        return existing
    row = CommLog(customer_id=customer_id, channel=EMAIL, recipient=", ".join(message.recipients)[:500],
                  subject=message.subject[:300], body=(message.text or "")[:MAX_BODY], ref_id=message.id,
                  entity=message.entity or "", entity_id=message.entity_id, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def record_mails(session: Session, keys: dict[str, int]) -> int:
    """Log the outbox e-mails queued under ``keys`` (dedup key -> customer id) in bulk; ones logged before are skipped."""
    added = 0
    items = list(keys.items())
    for start in range(0, len(items), 500):
        chunk = dict(items[start:start + 500])
        messages = list(session.scalars(select(MailMessage).where(MailMessage.dedup_key.in_(list(chunk)))))
        logged = set(session.scalars(select(CommLog.ref_id).where(CommLog.channel == EMAIL,
                                                                  CommLog.ref_id.in_([m.id for m in messages]))))
        for message in messages:
            if message.id in logged:
                continue
            session.add(CommLog(customer_id=chunk[message.dedup_key], channel=EMAIL,
                                recipient=", ".join(message.recipients)[:500], subject=message.subject[:300],
                                body=(message.text or "")[:MAX_BODY], ref_id=message.id, entity=message.entity or "",
                                entity_id=message.entity_id, created_at=utcnow()))
            added += 1
    session.flush()
    return added


def record_sms(session: Session, sms: SmsMessage, *, entity: str = "", entity_id: int | None = None) -> CommLog:
    existing = session.scalar(select(CommLog).where(CommLog.channel == SMS, CommLog.ref_id == sms.id))
    if existing is not None:
        return existing
    row = CommLog(customer_id=sms.customer_id, channel=SMS, recipient=sms.recipient, body=sms.text[:MAX_BODY],
                  ref_id=sms.id, entity=entity, entity_id=entity_id, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


@dataclass
class LogFilter:
    customer_id: int | None = None
    channel: str | None = None
    text: str = ""
    since: datetime | None = None


def entries(session: Session, f: LogFilter, *, limit: int = 200) -> list[CommLog]:
    stmt = select(CommLog).options(selectinload(CommLog.customer))
    if f.customer_id:
        stmt = stmt.where(CommLog.customer_id == f.customer_id)
    if f.channel in CHANNELS:
        stmt = stmt.where(CommLog.channel == f.channel)
    if f.text:
        like = f"%{f.text.strip()[:100]}%"
        stmt = stmt.where(CommLog.recipient.ilike(like) | CommLog.subject.ilike(like) | CommLog.body.ilike(like))
    if f.since:
        stmt = stmt.where(CommLog.created_at >= f.since)
    return list(session.scalars(stmt.order_by(CommLog.id.desc()).limit(limit)))


def states(session: Session, rows: list[CommLog]) -> dict[int, str]:
    """The delivery state of each row (queued/sent/failed…), read from the outbox and the SMS queue."""
    mails = [r.ref_id for r in rows if r.channel == EMAIL and r.ref_id]
    texts = [r.ref_id for r in rows if r.channel == SMS and r.ref_id]
    mail_state = dict(session.execute(select(MailMessage.id, MailMessage.state).where(MailMessage.id.in_(mails))).all()) \
        if mails else {}
    sms_state = dict(session.execute(select(SmsMessage.id, SmsMessage.state).where(SmsMessage.id.in_(texts))).all()) \
        if texts else {}
    return {r.id: (mail_state if r.channel == EMAIL else sms_state).get(r.ref_id, "") for r in rows}


ERASED = "[anonymised]"


def erase_customer(session: Session, customer_id: int) -> int:
    """An anonymised customer's messages lose recipients and texts (channel, dates and states stay)."""
    from sqlalchemy import update

    done = session.execute(update(CommLog).where(CommLog.customer_id == customer_id)
                           .values(recipient=ERASED, subject="", body=ERASED)
                           .execution_options(synchronize_session="fetch")).rowcount or 0
    session.execute(update(SmsMessage).where(SmsMessage.customer_id == customer_id, SmsMessage.state == QUEUED)
                    .values(state=FAILED, last_error="the customer was anonymised")
                    .execution_options(synchronize_session="fetch"))  # never sent to an erased number
    session.execute(update(SmsMessage).where(SmsMessage.customer_id == customer_id)
                    .values(recipient="", text=ERASED).execution_options(synchronize_session="fetch"))
    tickets = select(Ticket.id).where(Ticket.customer_id == customer_id)
    session.execute(update(InboundMail).where(InboundMail.ticket_id.in_(tickets))
                    .values(sender="", subject=ERASED).execution_options(synchronize_session="fetch"))
    session.flush()
    return done
