"""Service levels: hours to the first reply and to the resolution per priority, and breach alerts.

Each priority counts its hours around the clock (``24x7``) or in the location's business hours
(``business``, :mod:`mango_callcenter.helpdesk.business_hours`), from the ticket's creation. While a
ticket waits for the customer the resolution clock pauses: on leaving ``waiting`` the working time
waited is added to ``sla_paused_seconds`` and the resolution due date moves by it. The job ``callcenter:sla`` marks each breach once (``response_breached_at`` /
``resolution_breached_at``), logs it and e-mails the assignee, or the queue's address when nobody
is assigned; the mark and the mail's dedup key make a re-run harmless. A ticket waiting for the
customer raises no resolution breach (the clock is the customer's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_callcenter.helpdesk.business_hours import ALWAYS, AroundTheClock, Calendar, location_calendar
from mango_callcenter.helpdesk.mails import queue_breach
from mango_callcenter.helpdesk.models import (
    CLOCK_ALWAYS,
    CLOCK_BUSINESS,
    CLOCKS,
    DEFAULT_SLA,
    EV_RESOLUTION_BREACH,
    EV_RESPONSE_BREACH,
    NEW,
    OPEN,
    PRIORITIES,
    Sla,
    Ticket,
    TicketEvent,
)
from mango_core.db import utcnow
from mango_core.tenancy.validators import N_, InvalidValue

MAX_HOURS = 8760
BATCH = 500


def sla_table(session: Session) -> dict[str, tuple[int, int]]:
    """(response hours, resolution hours) per priority: the location's rows over the defaults."""
    table = dict(DEFAULT_SLA)
    for row in session.scalars(select(Sla)):
        table[row.priority] = (row.response_hours, row.resolution_hours)
    return table


def clocks(session: Session) -> dict[str, str]:
    """How each priority counts its hours (``24x7`` where the location has set nothing)."""
    found = {p: CLOCK_ALWAYS for p in PRIORITIES}
    found.update({row.priority: row.clock for row in session.scalars(select(Sla))})
    return found


def clock_of(session: Session, priority: str) -> Calendar | AroundTheClock:
    return location_calendar(session) if clocks(session)[priority] == CLOCK_BUSINESS else ALWAYS


def due_dates(session: Session, priority: str, start: datetime, *, paused_seconds: int = 0) -> tuple[datetime, datetime]:
    """Response and resolution due dates of a ticket created at ``start`` (the resolution after its pauses)."""
    response, resolution = sla_table(session)[priority]
    clock = clock_of(session, priority)
    return clock.add(start, response * 3600), clock.add(start, resolution * 3600 + paused_seconds)


def paused_seconds(session: Session, priority: str, since: datetime, until: datetime) -> int:
    """The working time of a wait (what the resolution clock would have counted)."""
    return int(clock_of(session, priority).working_seconds(since, until))


def _hours(value: object, field: str) -> int:
    try:
        hours = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidValue(N_("Enter a whole number of hours from 1 to %(max)d."), field=field, max=MAX_HOURS) from None
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidValue(N_("Enter a whole number of hours from 1 to %(max)d."), field=field, max=MAX_HOURS)
    return hours


def save_sla(session: Session, priority: str, *, response_hours: object, resolution_hours: object,
             clock: object = None) -> Sla:
    """Set a priority's hours and clock (None: as it was, 24/7 for a new row); new tickets get them, open
    ones keep their due dates."""
    if priority not in PRIORITIES:
        raise InvalidValue(N_("Choose one of the offered values."), field="priority")
    if clock is not None and clock not in CLOCKS:
        raise InvalidValue(N_("Choose one of the offered values."), field=f"{priority}_clock")
    response = _hours(response_hours, f"{priority}_response")
    resolution = _hours(resolution_hours, f"{priority}_resolution")
    if resolution < response:
        raise InvalidValue(N_("The resolution time cannot be shorter than the response time."),
                           field=f"{priority}_resolution")
    row = session.scalar(select(Sla).where(Sla.priority == priority))
    if row is None:
        row = Sla(priority=priority)
        session.add(row)
    row.response_hours, row.resolution_hours = response, resolution
    row.clock = str(clock) if clock is not None else (row.clock or CLOCK_ALWAYS)
    session.flush()
    return row


@dataclass
class SlaResult:
    response: int = 0
    resolution: int = 0
    notified: int = 0

    def __str__(self) -> str:
        return f"{self.response} response and {self.resolution} resolution breaches, {self.notified} e-mails"


def check_breaches(session: Session, now: datetime | None = None) -> SlaResult:
    """Mark, log and notify every breach not yet marked (the job; in the caller's transaction)."""
    now = now or utcnow()
    result = SlaResult()
    late_response = select(Ticket).where(Ticket.state.in_((NEW, OPEN)), Ticket.first_response_at.is_(None),
                                         Ticket.response_breached_at.is_(None), Ticket.response_due_at < now)
    for ticket in session.scalars(late_response.order_by(Ticket.id).limit(BATCH)):
        ticket.response_breached_at = now
        session.add(TicketEvent(ticket_id=ticket.id, kind=EV_RESPONSE_BREACH, at=now,
                                new_value=f"{ticket.response_due_at:%Y-%m-%d %H:%M}"))
        result.response += 1
        result.notified += queue_breach(session, ticket, EV_RESPONSE_BREACH, ticket.response_due_at)
    late_resolution = select(Ticket).where(Ticket.state.in_((NEW, OPEN)), Ticket.resolution_breached_at.is_(None),
                                           Ticket.resolution_due_at < now)
    for ticket in session.scalars(late_resolution.order_by(Ticket.id).limit(BATCH)):
        ticket.resolution_breached_at = now
        session.add(TicketEvent(ticket_id=ticket.id, kind=EV_RESOLUTION_BREACH, at=now,
                                new_value=f"{ticket.resolution_due_at:%Y-%m-%d %H:%M}"))
        result.resolution += 1
        result.notified += queue_breach(session, ticket, EV_RESOLUTION_BREACH, ticket.resolution_due_at)
    session.flush()
    return result
