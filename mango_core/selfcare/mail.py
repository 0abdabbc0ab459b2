"""The portal's e-mails (invitation, password reset, a decided tariff request, registration) and their links.

Mail goes through the core outbox (:func:`mango_core.mail.service.queue`) in the caller's
transaction, so a link exists in a mail exactly when its token was committed. Texts are in the
account's language (else the location's).

Links: a customer starts at ``<base_url>/selfcare/<LOCATION CODE>/login``. Location codes are
unique in the installation, so the code tells the portal whose customer is logging in before
anybody is known; the ISP links that address from its website, and every e-mail carries it.
``base_url`` is ``[selfcare] base_url`` (the portal's public address), else the address the
request came to; the command line has no request and needs the setting (or ``--base-url``).
"""

from __future__ import annotations

from datetime import datetime

from flask import has_request_context, request
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from mango_core.mail import service as outbox
from mango_core.mail.models import MailMessage
from mango_core.selfcare.accounts import SelfcareError
from mango_core.selfcare.models import Registration, SelfcareAccount, TariffRequest
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_


def base_url(configured: str | None) -> str:
    """The portal's public address without a trailing slash (see the module's note)."""
    if configured and configured.strip():
        return configured.strip().rstrip("/")
    if has_request_context():
        return (request.host_url.rstrip("/") + request.script_root).rstrip("/")
    raise SelfcareError(N_("Set [selfcare] base_url (the public address of the portal) to send links."),
                        field="base_url")


def login_url(base: str, location: Location) -> str:
    return f"{base}/selfcare/{location.code}/login"


def password_url(base: str, location: Location, token: str) -> str:
    return f"{base}/selfcare/{location.code}/password/{token}"


def register_url(base: str, location: Location, token: str) -> str:
    return f"{base}/selfcare/{location.code}/register/{token}"


def reset_url(base: str, location: Location) -> str:
    return f"{base}/selfcare/{location.code}/reset"


def _locale(account: SelfcareAccount | None, location: Location, wanted: str | None = None) -> str:
    from mango_core.kernel import current_mango

    offered = current_mango().settings["locales"]
    for choice in (account.locale if account is not None else wanted, location.locale):
        if choice in offered:
            return choice
    return current_mango().settings["default_locale"]


def _company(location: Location) -> str:
    return location.company_name or location.name


def _queue(session: Session, account: SelfcareAccount, location: Location, subject: str, text: str) -> MailMessage:
    return outbox.queue(session, to=account.email, subject=subject, text=text, entity="selfcare_account",
                        entity_id=account.id, reply_to=location.email or None)


def send_invitation(session: Session, account: SelfcareAccount, token: str, *, location: Location, base: str,
                    valid_until: datetime) -> MailMessage:
    with force_locale(_locale(account, location)):
        company = _company(location)
        subject = _("Your access to the customer portal of %(company)s", company=company)
        text = _("Hello,\n\n%(company)s invites you to its customer portal: your services, invoices and payments "
                 "in one place.\n\nSet your password here (the link works once, until %(until)s):\n%(link)s\n\n"
                 "Then log in at %(login)s with your e-mail %(email)s or your customer number %(number)s.\n\n"
                 "If you did not expect this message, ignore it.\n\n%(company)s",
                 company=company, until=format_datetime(valid_until, "short"),
                 link=password_url(base, location, token), login=login_url(base, location), email=account.email,
                 number=account.customer.number)
    return _queue(session, account, location, subject, text)


def send_reset(session: Session, account: SelfcareAccount, token: str, *, location: Location, base: str,
               valid_until: datetime) -> MailMessage:
    with force_locale(_locale(account, location)):
        company = _company(location)
        subject = _("A new password for the customer portal of %(company)s", company=company)
        text = _("Hello,\n\nsomebody (hopefully you) asked for a new password to the customer portal of "
                 "%(company)s.\n\nSet it here (the link works once, until %(until)s):\n%(link)s\n\n"
                 "If it was not you, ignore this message: your password stays as it is.\n\n%(company)s",
                 company=company, until=format_datetime(valid_until, "short"),
                 link=password_url(base, location, token))
    return _queue(session, account, location, subject, text)


def send_decision(session: Session, account: SelfcareAccount, tariff_request: TariffRequest, *,
                  location: Location, base: str) -> MailMessage:
    from mango_core.selfcare.models import APPROVED

    with force_locale(_locale(account, location)):
        company = _company(location)
        product = tariff_request.product.name
        if tariff_request.state == APPROVED:
            subject = _("Your tariff change was approved")
            body = _("your request to change the tariff to %(product)s was approved; it takes effect on %(day)s.",
                     product=product, day=tariff_request.effective.isoformat() if tariff_request.effective else "")
        else:
            subject = _("Your tariff change was not approved")
            body = _("your request to change the tariff to %(product)s was not approved.", product=product)
        note = tariff_request.decision_note or ""
        text = _("Hello,\n\n%(body)s\n%(note)s\nDetails are in the customer portal: %(login)s\n\n%(company)s",
                 body=body, note="\n" + note + "\n" if note else "", login=login_url(base, location), company=company)
    return _queue(session, account, location, subject, text)


def send_registration_link(session: Session, registration: Registration, token: str, *, location: Location, base: str,
                           valid_until: datetime) -> MailMessage:
    """The link that confirms a registration (nothing is made until it is followed)."""
    with force_locale(_locale(None, location, registration.locale)):
        company = _company(location)
        subject = _("Confirm your registration in the customer portal of %(company)s", company=company)
        text = _("Hello,\n\nthank you for registering in the customer portal of %(company)s.\n\nConfirm your "
                 "e-mail address here to create your account (the link works once, until %(until)s):\n%(link)s\n\n"
                 "If you did not register, ignore this message: nothing is created without the confirmation.\n\n"
                 "%(company)s", company=company, until=format_datetime(valid_until, "short"),
                 link=register_url(base, location, token))
    return outbox.queue(session, to=registration.email, subject=subject, text=text, entity="selfcare_registration",
                        entity_id=registration.id, reply_to=location.email or None)


def send_already_registered(session: Session, email: str, locale: str | None, *, location: Location,
                            base: str) -> MailMessage:
    """What a registration of an address that has an account gets instead of a link."""
    with force_locale(_locale(None, location, locale)):
        company = _company(location)
        subject = _("Your account in the customer portal of %(company)s", company=company)
        text = _("Hello,\n\nsomebody (hopefully you) tried to register this e-mail address in the customer portal "
                 "of %(company)s, but you already have an account there.\n\nLog in at %(login)s. Forgotten "
                 "password? Ask for a new one here:\n%(reset)s\n\nIf it was not you, ignore this message: your "
                 "account stays as it is.\n\n%(company)s", company=company, login=login_url(base, location),
                 reset=reset_url(base, location))
    return outbox.queue(session, to=email, subject=subject, text=text, entity="selfcare_registration",
                        reply_to=location.email or None)
