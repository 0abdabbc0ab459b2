"""Sending to customers from templates: an e-mail through the core outbox, an SMS through the queue.

Both run in the caller's transaction, render the location's template (or the default) for the
occasion ``code`` and write the communication log. Other parts (service events, a manual message
from the customer card) call :func:`notify`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mango_callcenter.comms import sms as sms_queue
from mango_callcenter.comms import templates
from mango_callcenter.comms.log import record_mail
from mango_callcenter.comms.models import EMAIL, SMS, SmsMessage
from mango_callcenter.helpdesk.mails import customer_emails
from mango_core.customers.models import Customer
from mango_core.mail import service as outbox
from mango_core.mail.models import MailMessage
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue


def customer_phone(customer: Customer) -> str:
    """The primary phone of the owner contact (else of any contact), '' when there is none."""
    contacts = sorted(customer.contacts, key=lambda c: (not c.role_owner, not c.role_technical, c.id))
    for contact in contacts:
        phones = sorted(contact.phones, key=lambda ch: (not ch.is_primary, ch.id))
        if phones:
            return phones[0].value
    return ""


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
        raise InvalidValue(N_("The customer has no phone number."), field="channel")
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
