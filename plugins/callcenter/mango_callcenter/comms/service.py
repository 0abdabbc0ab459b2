"""Sending to customers from templates: an e-mail through the core outbox, an SMS through the queue.

Both run in the caller's transaction, render the location's template (or the default) for the
occasion ``code`` and write the communication log. Other parts call :func:`notify`; staff write a
message from the customer card through :func:`send_manual` (free text, or a template around it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms import templates
from mango_callcenter.comms.log import record_mail, record_sms
from mango_callcenter.comms.models import EMAIL, SMS, CommLog, SmsMessage
from mango_callcenter.comms.phones import mobile_numbers
from mango_callcenter.helpdesk.mails import customer_emails
from mango_core.customers.models import Customer
from mango_core.mail import service as outbox
from mango_core.mail.models import MailMessage
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue


def customer_phone(customer: Customer) -> str:
    """The first mobile number of the customer's contacts (owner first), '' when there is none."""
    numbers = mobile_numbers(customer, limit=1)
    return numbers[0] if numbers else ""


def context_for(session: Session, customer: Customer, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    location = session.get(Location, current_scope().write_location_id)
    emails = customer_emails(customer)
    return {"customer": {"name": customer.display_name,
                         "number": customer.number, "email": emails[0] if emails else "",
                         "phone": customer_phone(customer)},
            "company": location.company_name or location.name, **(extra or {})}


def send_email(session: Session, customer: Customer, code: str, extra: dict[str, Any] | None = None, *,
               dedup_key: str | None = None, entity: str | None = None, entity_id: int | None = None) -> MailMessage:
    to = customer_emails(customer)
    if not to:
        raise InvalidValue(N_("The customer has no e-mail address."), field="channel")
    rendered = templates.render(session, EMAIL, code, context_for(session, customer, extra))
    message = outbox.queue(session, to=to, subject=rendered.subject or code, text=rendered.body, entity=entity,
                           entity_id=entity_id, dedup_key=dedup_key)
    record_mail(session, message, customer_id=customer.id)
    return message


def send_sms(session: Session, customer: Customer, code: str, extra: dict[str, Any] | None = None, *,
             dedup_key: str | None = None, entity: str = "", entity_id: int | None = None) -> SmsMessage:
    phone = customer_phone(customer)
    if not phone:
        raise InvalidValue(N_("The customer has no mobile phone number."), field="channel")
    rendered = templates.render(session, SMS, code, context_for(session, customer, extra))
    return sms_queue.queue_sms(session, to=phone, text=rendered.body, customer_id=customer.id, dedup_key=dedup_key,
                               entity=entity, entity_id=entity_id)


def notify(session: Session, customer: Customer, code: str, channels: tuple[str, ...] = (EMAIL, SMS),
           extra: dict[str, Any] | None = None, *, dedup_key: str | None = None, entity: str = "",
           entity_id: int | None = None) -> list[str]:
    """Send on each channel the customer can be reached on; returns the channels used."""
    used = []
    if EMAIL in channels and customer_emails(customer):
        send_email(session, customer, code, extra, dedup_key=f"{dedup_key}:email" if dedup_key else None,
                   entity=entity or None, entity_id=entity_id)
        used.append(EMAIL)
    if SMS in channels and customer_phone(customer):
        send_sms(session, customer, code, extra, dedup_key=f"{dedup_key}:sms" if dedup_key else None, entity=entity,
                 entity_id=entity_id)
        used.append(SMS)
    return used


# --- a message staff write on the customer card ---------------------------------------------------------

MAX_MANUAL = 5000
_PROBE = {"text": "…", "subject": "…"}


def addresses(customer: Customer, channel: str) -> list[str]:
    return customer_emails(customer) if channel == EMAIL else mobile_numbers(customer)


def manual_templates(session: Session, customer: Customer, channel: str) -> list[str]:
    """Templates a hand-written message can go in: those that need nothing but the customer and the text."""
    usable = []
    for code in templates.codes():
        try:
            templates.render(session, channel, code, context_for(session, customer, _PROBE))
        except InvalidValue:
            continue  # needs a ticket or an event
        usable.append(code)
    return usable


def send_manual(session: Session, customer: Customer, *, channel: object, to: object, text: object,
                subject: object = "", code: object = "", actor: int | None = None) -> CommLog:
    """Queue one e-mail or SMS written by staff to one of the customer's addresses; logged with its author.

    Without ``code`` the text goes as written (an e-mail needs a subject); with one, the location's template
    of that occasion wraps it (``{{ text }}``, ``{{ subject }}``).
    """
    if channel not in (EMAIL, SMS):
        raise InvalidValue(N_("Choose one of the offered values."), field="channel")
    to = str(to or "").strip()
    if to not in addresses(customer, channel):
        raise InvalidValue(N_("Choose one of the customer's addresses."), field="to")
    text, subject, code = str(text or "").strip(), " ".join(str(subject or "").split()), str(code or "").strip()
    if not text:
        raise InvalidValue(N_("This field is required."), field="text")
    if len(text) > MAX_MANUAL or len(subject) > 200:
        raise InvalidValue(N_("At most %(max)d characters."), field="text", max=MAX_MANUAL)
    if code:
        if code not in manual_templates(session, customer, channel):
            raise InvalidValue(N_("Choose one of the offered values."), field="code")
        rendered = templates.render(session, channel, code,
                                    context_for(session, customer, {"text": text, "subject": subject}))
    elif channel == EMAIL and not subject:
        raise InvalidValue(N_("This field is required."), field="subject")
    else:
        rendered = templates.Rendered(subject, text)
    if channel == EMAIL:
        location = session.get(Location, current_scope().write_location_id)
        message = outbox.queue(session, to=[to], subject=rendered.subject, text=rendered.body, entity="core_customer",
                               entity_id=customer.id, reply_to=location.email or None)
        entry = record_mail(session, message, customer_id=customer.id)
    else:
        sms = sms_queue.queue_sms(session, to=to, text=rendered.body, customer_id=customer.id, entity="core_customer",
                                  entity_id=customer.id)
        entry = record_sms(session, sms, entity="core_customer", entity_id=customer.id)
    entry.created_by_id = actor
    session.flush()
    return entry
