"""Telling the affected customers of a service event: by e-mail and SMS, once, and on its own for outages.

* :func:`notify` — the notice of a stage (``announce`` while planned/ongoing, ``end`` once finished)
  on the channels staff chose, rendered per customer from the location's comms templates
  (``planned``, ``outage``, ``event_end``; the defaults otherwise). E-mail goes to each contact's
  primary address through the core outbox (in bulk), SMS to the contacts' mobile numbers through
  the SMS queue (its retries); both are written to the customer's communication log.
* Once per event, stage, channel and customer: an :class:`EventNotice` row (unique; a run that loses the
  race to a concurrent one is undone and says so), and the dedup
  keys ``callcenter:event:<event>:<stage>:<customer>`` (e-mail) and ``…:<customer>:<number>`` (SMS)
  in the queues; a customer without an address on a channel is counted (``no_contact``) and tried
  again next time.
* :func:`auto_notify` — where the location has switched it on (:class:`EventSettings`), outages
  opened from ISP alerts are announced once the outage has been open ``auto_delay_minutes`` and is still
  ongoing (a flapping link tells nobody), and those told hear of the end. It runs in the job
  ``callcenter:outages`` and is safe to re-run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms import templates
from mango_callcenter.comms.log import record_mails
from mango_callcenter.comms.phones import mobile_numbers
from mango_callcenter.comms.service import context_for
from mango_callcenter.events.models import (
    ANNOUNCE,
    EMAIL,
    END,
    FINISHED,
    NO_CONTACT,
    NOTICE_CHANNELS,
    ONGOING,
    OUTAGE,
    QUEUED,
    STAGES,
    EventCustomer,
    EventNotice,
    EventSettings,
    ServiceEvent,
)
from mango_callcenter.helpdesk.mails import customer_emails
from mango_core.customers.models import Customer, CustomerContact
from mango_core.db import utcnow
from mango_core.mail import service as outbox
from mango_core.tenancy import clock
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue

ENTITY = "callcenter_event"
MAX_DELAY = 24 * 60
END_WINDOW = timedelta(days=1)  # an automatic end notice is sent within a day of the end, or not at all


@dataclass
class NoticeResult:
    """Customers told now, and customers found without an address, per channel."""

    sent: Counter[str] = field(default_factory=Counter)
    unreachable: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def __str__(self) -> str:
        return ", ".join(f"{ch}: {self.sent[ch]} sent, {self.unreachable[ch]} without address"
                         for ch in NOTICE_CHANNELS if ch in self.sent or ch in self.unreachable) or "nothing to do"


def template_code(event: ServiceEvent, stage: str) -> str:
    if stage == END:
        return "event_end"
    return "outage" if event.kind == OUTAGE else "planned"


def _when(value: datetime | None, location: Location) -> str:
    if value is None:
        return "—"
    from babel.dates import format_datetime

    return format_datetime(value, "short", tzinfo=clock.location_zone(location),
                           locale=location.locale or "cs")


def event_context(event: ServiceEvent, location: Location) -> dict[str, str]:
    """What the templates see as ``event`` (times in the location's zone and language)."""
    return {"title": event.title, "kind": event.kind, "description": event.description or "",
            "starts": _when(event.starts_at, location), "ends": _when(event.ends_at, location)}


def _channels(channels: Iterable[object]) -> tuple[str, ...]:
    chosen = tuple(c for c in NOTICE_CHANNELS if c in set(channels))
    if not chosen or len(chosen) != len(set(channels)):
        raise InvalidValue(N_("Choose e-mail, SMS or both."), field="channels")
    return chosen


def notify(session: Session, event: ServiceEvent, *, stage: str = ANNOUNCE, channels: Iterable[object] = (EMAIL,),
           now: datetime | None = None, only_told: bool = False) -> NoticeResult:
    """Queue the notice of ``stage`` on ``channels`` to each affected customer not told there yet.

    ``only_told``: the end notice only to customers told of the start (an automatic notice).
    """
    if stage not in STAGES:
        raise InvalidValue(N_("Choose one of the offered values."), field="stage")
    if stage == ANNOUNCE and not event.is_current:
        raise InvalidValue(N_("Only a planned or ongoing event is announced."), field="state")
    if stage == END and event.state != FINISHED:
        raise InvalidValue(N_("Only a finished event is announced as finished."), field="state")
    chosen = _channels(channels)
    try:
        with session.begin_nested():  # a concurrent run that told someone first undoes only this one
            return _tell(session, event, stage, chosen, now or utcnow(), only_told=only_told)
    except IntegrityError:
        raise InvalidValue(N_("Customers are being told of this event right now; look again in a moment."),
                           field="stage") from None


def _tell(session: Session, event: ServiceEvent, stage: str, chosen: tuple[str, ...], now: datetime, *,
          only_told: bool) -> NoticeResult:
    location = session.get(Location, event.location_id)
    mark = "notified_at" if stage == ANNOUNCE else "finished_notified_at"
    stmt = (select(EventCustomer).where(EventCustomer.event_id == event.id).order_by(EventCustomer.customer_id)
            .options(selectinload(EventCustomer.customer).selectinload(Customer.contacts)
                     .selectinload(CustomerContact.channels)))
    if only_told:
        stmt = stmt.where(EventCustomer.notified_at.is_not(None))
    rows = list(session.scalars(stmt))
    known = {(n.customer_id, n.channel): n for n in session.scalars(
        select(EventNotice).where(EventNotice.event_id == event.id, EventNotice.stage == stage))}
    code = template_code(event, stage)
    render = {channel: templates.renderer(session, channel, code) for channel in chosen}
    about = {"event": event_context(event, location)}
    result = NoticeResult()
    mails: list[dict] = []
    mail_keys: dict[str, int] = {}
    for row in rows:
        customer = row.customer
        for channel in chosen:
            notice = known.get((row.customer_id, channel))
            if notice is not None and notice.outcome == QUEUED:
                continue
            addresses = customer_emails(customer) if channel == EMAIL else mobile_numbers(customer)
            if not addresses:
                result.unreachable[channel] += 1
                if notice is None:
                    session.add(EventNotice(event_id=event.id, customer_id=row.customer_id, stage=stage,
                                            channel=channel, outcome=NO_CONTACT, recipients="", created_at=now))
                continue
            rendered = render[channel](context_for(session, customer, about))
            key = f"callcenter:event:{event.id}:{stage}:{row.customer_id}"
            if channel == EMAIL:
                mails.append({"to": addresses, "subject": rendered.subject, "text": rendered.body, "entity": ENTITY,
                              "entity_id": event.id, "dedup_key": key, "reply_to": location.email or None})
                mail_keys[key] = row.customer_id
            else:
                for number in addresses:
                    sms_queue.queue_sms(session, to=number, text=rendered.body, customer_id=row.customer_id,
                                        dedup_key=f"{key}:{number}", entity=ENTITY, entity_id=event.id)
            if notice is None:
                notice = EventNotice(event_id=event.id, customer_id=row.customer_id, stage=stage, channel=channel)
                session.add(notice)
            notice.outcome, notice.recipients, notice.created_at = QUEUED, ", ".join(addresses)[:500], now
            result.sent[channel] += 1
            if getattr(row, mark) is None:
                setattr(row, mark, now)
    if mails:
        outbox.queue_many(session, mails)
        record_mails(session, mail_keys)
    session.flush()
    return result


def counts(session: Session, event: ServiceEvent) -> dict[tuple[str, str, str], int]:
    """``(stage, channel, outcome) -> customers`` of the event's notices (the event page's summary)."""
    rows = session.execute(select(EventNotice.stage, EventNotice.channel, EventNotice.outcome, func.count())
                           .where(EventNotice.event_id == event.id)
                           .group_by(EventNotice.stage, EventNotice.channel, EventNotice.outcome))
    return {(stage, channel, outcome): n for stage, channel, outcome, n in rows}


def notices_of_customer(session: Session, customer_id: int, event_ids: Iterable[int]) -> dict[int, list[EventNotice]]:
    """The customer's notices of each of the events (the card tab)."""
    ids = list(event_ids)
    found: dict[int, list[EventNotice]] = {i: [] for i in ids}
    if ids:
        for notice in session.scalars(select(EventNotice).where(EventNotice.customer_id == customer_id,
                                                                EventNotice.event_id.in_(ids))
                                      .order_by(EventNotice.created_at, EventNotice.id)):
            found[notice.event_id].append(notice)
    return found


def erase_customer(session: Session, customer_id: int) -> int:
    """An anonymised customer's notices lose their addresses (stage, channel and dates stay)."""
    done = session.execute(update(EventNotice).where(EventNotice.customer_id == customer_id)
                           .values(recipients="").execution_options(synchronize_session="fetch")).rowcount or 0
    session.flush()
    return done


# --- automatic notices of outages opened from ISP alerts ----------------------------------------------------


def settings(session: Session) -> EventSettings | None:
    return session.scalar(select(EventSettings))


def save_settings(session: Session, *, auto_notify: object, delay_minutes: object, email: object,
                  sms: object) -> EventSettings:
    try:
        delay = int(str(delay_minutes).strip())
    except (TypeError, ValueError):
        raise InvalidValue(N_("Enter a whole number."), field="auto_delay_minutes") from None
    if not 0 <= delay <= MAX_DELAY:
        raise InvalidValue(N_("Enter a number from %(min)d to %(max)d."), field="auto_delay_minutes", min=0,
                           max=MAX_DELAY)
    on = bool(auto_notify)
    if on and not (email or sms):
        raise InvalidValue(N_("Choose e-mail, SMS or both."), field="channels")
    row = settings(session)
    if row is None:
        row = EventSettings()
        session.add(row)
    row.auto_notify, row.auto_delay_minutes, row.auto_email, row.auto_sms = on, delay, bool(email), bool(sms)
    session.flush()
    return row


def auto_notify(session: Session, *, now: datetime | None = None) -> NoticeResult:
    """Announce outages from alerts open for the delay; tell those told that it is over (safe to re-run)."""
    result = NoticeResult()
    config = settings(session)
    if config is None or not config.auto_notify or not config.channels:
        return result
    now = now or utcnow()
    from_alerts = select(ServiceEvent).where(ServiceEvent.alert_id.is_not(None)).order_by(ServiceEvent.id)
    due = from_alerts.where(ServiceEvent.state == ONGOING,
                            ServiceEvent.created_at <= now - timedelta(minutes=config.auto_delay_minutes))
    told = exists().where(EventCustomer.event_id == ServiceEvent.id, EventCustomer.notified_at.is_not(None),
                          EventCustomer.finished_notified_at.is_(None))
    ended = from_alerts.where(ServiceEvent.state == FINISHED, ServiceEvent.ends_at >= now - END_WINDOW, told)
    for stage, stmt in ((ANNOUNCE, due), (END, ended)):
        for event in session.scalars(stmt):
            done = notify(session, event, stage=stage, channels=config.channels, now=now, only_told=stage == END)
            result.sent.update(done.sent)
            result.unreachable.update(done.unreachable)
    return result

