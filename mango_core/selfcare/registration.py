"""Self-registration: strangers become customers of a location through its portal.

Off unless staff allow it per location (:class:`~mango_core.selfcare.models.RegistrationSettings`:
which kinds of customer, and the terms to accept). A submitted form is checked in full, then
only a :class:`~mango_core.selfcare.models.Registration` waits, with a one-time expiring link
mailed to the address (only the link's SHA-256 and the password's Argon2id hash are kept).
Nothing else exists until the link is confirmed: then the customer (next number, through
:mod:`mango_core.customers.service`, so its history and hooks run), its contact and address,
and its portal account are made in the caller's transaction, and a portal session starts.

Answers never tell whether an address is known: for an e-mail that has an account already the
same answer is given and a "you have an account — reset your password" mail goes out instead;
for the e-mail of a contact of one existing customer without portal access, that customer's
invitation to the portal goes out (no second customer record of the same person).
Accepted submissions are counted per e-mail and per client address with the login throttle
(realm :data:`REALM`); unconfirmed registrations expire and :func:`purge` deletes them.
Every function runs in the location's scope and leaves committing to the caller.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import has_app_context
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mango_core import history
from mango_core.auth import audit, throttle
from mango_core.auth.errors import AuthInputError
from mango_core.auth.passwords import hash_password
from mango_core.customers import service as customers
from mango_core.customers.models import (
    COMPANY,
    EMAIL,
    PERSON,
    Customer,
    CustomerContact,
    CustomerContactChannel,
)
from mango_core.customers.normalize import normalize_email, normalize_phone
from mango_core.db import utcnow
from mango_core.scheduler.jobs import Job, JobContext
from mango_core.selfcare import accounts, mail
from mango_core.selfcare.accounts import InvalidLink, SelfcareError, hash_token
from mango_core.selfcare.models import Registration, RegistrationSettings, SelfcareAccount, SelfcareSession
from mango_core.tenancy import validators as v
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue

REALM = "selfcare_register"  # the login throttle's counter of accepted registrations
LIFETIME_HOURS = 24  # [selfcare] registration_hours
REASON = N_("registered in Selfcare")
MAX_TERMS_TEXT = 20000
MAX_NEXT = 300


class RegistrationError(SelfcareError):
    """Bad input for a registration or its settings; nothing was changed."""


class RegistrationClosed(RegistrationError):
    default_message = N_("Registration of new customers is not open in this portal.")


class AlreadyConfirmed(SelfcareError):
    """The link was confirmed before (a second click): nothing more is made."""

    default_message = N_("Your registration is confirmed already. Log in with your e-mail and password.")

    def __init__(self, registration: Registration):
        super().__init__()
        self.registration = registration


class Outcome(enum.Enum):
    MAILED = "mailed"  # a link, or a "you have an account" mail; the visitor is told the same either way
    THROTTLED = "throttled"


@dataclass
class Confirmed:
    account: SelfcareAccount
    token: str  # the new portal session's cookie value
    record: SelfcareSession
    next_path: str | None


# --- settings -------------------------------------------------------------------------------------


def settings_of(session: Session) -> RegistrationSettings | None:
    return session.scalar(select(RegistrationSettings))


def allowed_kinds(found: RegistrationSettings | None) -> list[str]:
    if found is None or not found.enabled:
        return []
    return [kind for kind, allowed in ((PERSON, found.allow_person), (COMPANY, found.allow_company)) if allowed]


def is_open(session: Session) -> bool:
    return bool(allowed_kinds(settings_of(session)))


def _terms_url(value: Any) -> str | None:
    text = (str(value) if value is not None else "").strip()
    if not text:
        return None
    if len(text) > 500 or not text.startswith(("https://", "http://")) or any(c.isspace() for c in text):
        raise RegistrationError(N_("Enter a web address starting with https://."), field="terms_url")
    return text


def save_settings(session: Session, *, enabled: bool, allow_person: bool, allow_company: bool,
                  terms_text: str | None = None, terms_url: str | None = None,
                  actor: int | None = None) -> RegistrationSettings:
    """Store the location's settings; new terms get the next version (kept in the history)."""
    if enabled and not (allow_person or allow_company):
        raise RegistrationError(N_("Allow people, companies or both."), field="allow_person")
    text = (terms_text or "").strip() or None
    if text is not None and len(text) > MAX_TERMS_TEXT:
        raise RegistrationError(N_("At most %(max)d characters."), field="terms_text", max=MAX_TERMS_TEXT)
    url = _terms_url(terms_url)
    found = settings_of(session)
    if found is None:
        found = RegistrationSettings(enabled=False, allow_person=True, allow_company=True, terms_version=0)
        session.add(found)
        session.flush()
    before = {"enabled": found.enabled, "allow_person": found.allow_person, "allow_company": found.allow_company,
              "terms_text": found.terms_text, "terms_url": found.terms_url, "terms_version": found.terms_version}
    if (text, url) != (found.terms_text, found.terms_url) and (text or url):
        found.terms_version += 1
    found.enabled, found.allow_person, found.allow_company = bool(enabled), bool(allow_person), bool(allow_company)
    found.terms_text, found.terms_url = text, url
    found.updated_at, found.updated_by_id = utcnow(), actor
    after = {key: getattr(found, key) for key in before}
    history.record(session, entity="selfcare_terms", entity_id=found.id, customer_id=None, action="changed",
                   changes={key: (before[key], after[key]) for key in before}, user_id=actor)
    return found


# --- the form -------------------------------------------------------------------------------------


def safe_next(target: Any) -> str | None:
    """A local path of the portal to return to after confirming (anything else: None)."""
    text = str(target or "").strip()
    if not text.startswith("/selfcare/") or len(text) > MAX_NEXT:
        return None
    if "//" in text or "\\" in text or "/../" in text or text.endswith("/..") or not text.isprintable():
        return None
    return text


def _text(data: dict[str, Any], field: str, max_len: int, *, required: bool = False) -> str | None:
    text = str(data.get(field) or "").strip()
    if required and not text:
        raise RegistrationError(N_("This field is required."), field=field)
    if len(text) > max_len:
        raise RegistrationError(N_("At most %(max)d characters."), field=field, max=max_len)
    return text or None


def _normalized(normalizer, data: dict[str, Any], field: str, *, required: bool = False) -> str | None:  # noqa: ANN001
    raw = str(data.get(field) or "").strip()
    if not raw:
        if required:
            raise RegistrationError(N_("This field is required."), field=field)
        return None
    try:
        return normalizer(raw)
    except InvalidValue as exc:
        raise RegistrationError(exc.message, field=field, **exc.params) from exc


def clean(found: RegistrationSettings | None, data: dict[str, Any]) -> dict[str, Any]:
    """The form's values checked and normalised (the customer service checks them again on confirming)."""
    kinds = allowed_kinds(found)
    if not kinds:
        raise RegistrationClosed()
    kind = data.get("kind") or kinds[0]
    if kind not in kinds:
        raise RegistrationError(N_("Choose a person or a company."), field="kind")
    company = kind == COMPANY
    values: dict[str, Any] = {
        "kind": kind,
        "first_name": _text(data, "first_name", 100, required=not company),
        "last_name": _text(data, "last_name", 100, required=not company),
        "company_name": _text(data, "company_name", 200, required=company) if company else None,
        "ico": _normalized(v.normalize_ico, data, "ico", required=company),
        "dic": _normalized(v.normalize_dic, data, "dic"),
        "email": _normalized(normalize_email, data, "email", required=True).lower(),
        "phone": _normalized(normalize_phone, data, "phone"),
        "street": _text(data, "street", 200, required=True),
        "city": _text(data, "city", 100, required=True),
        "postal_code": _normalized(lambda x: v.normalize_postal_code(x, "CZ"), data, "postal_code", required=True),
        "country": "CZ",
    }
    if found.has_terms and not data.get("terms"):
        raise RegistrationError(N_("Please accept the terms to register."), field="terms")
    return values


def _password_hash(password: Any) -> str:
    try:
        return hash_password(str(password or ""))
    except AuthInputError as exc:
        raise RegistrationError(exc.message, field="password", **exc.params) from exc


# --- submitting -----------------------------------------------------------------------------------


def lifetime(cfg: dict[str, Any]) -> timedelta:
    return timedelta(hours=float(cfg.get("registration_hours") or LIFETIME_HOURS))


def _customer_with_contact_email(session: Session, email: str) -> Customer | None:
    """The one customer of the location (not anonymised) with ``email`` among its contacts, else None
    (none, or several: then the registration goes on as for a stranger and staff merge by hand)."""
    ids = list(session.scalars(
        select(Customer.id).join(CustomerContact, CustomerContact.customer_id == Customer.id)
        .join(CustomerContactChannel, CustomerContactChannel.contact_id == CustomerContact.id)
        .where(CustomerContactChannel.kind == EMAIL, CustomerContactChannel.search_value == email.lower(),
               Customer.anonymised_at.is_(None)).distinct().limit(2)))
    return session.get(Customer, ids[0]) if len(ids) == 1 else None


def submit(session: Session, location: Location, data: dict[str, Any], *, rules: throttle.ThrottleRules,
           valid_for: timedelta, base: str, ip: str | None = None, locale: str | None = None) -> Outcome:
    """Check the form and mail a confirmation link (or, for a known e-mail, a "you have an account" mail).

    Raises :class:`RegistrationError` for bad input (nothing changed). The answer is the same
    whether or not the e-mail has an account; only throttling is told apart.
    """
    found = settings_of(session)
    values = clean(found, data)
    password_hash = _password_hash(data.get("password"))
    email = values["email"]
    key = f"{location.code}:{email}"[:254]
    if throttle.is_throttled(session, rules, email=key, ip=ip, realm=REALM):
        audit.record(session, audit.LOGIN_THROTTLED, email=email, location_id=location.id, realm=REALM, ip=ip,
                     detail="registration")
        return Outcome.THROTTLED
    # every accepted submission counts (as a "failure", so that no success resets the count)
    throttle.note_attempt(session, email=key, ip=ip, realm=REALM, success=False)
    now = utcnow()
    account = session.scalar(select(SelfcareAccount).where(SelfcareAccount.email == email))
    if account is not None:
        mail.send_already_registered(session, email, account.locale or locale, location=location, base=base)
        return Outcome.MAILED
    customer = _customer_with_contact_email(session, email)
    if customer is not None:
        # a customer of ours without portal access: an invitation to that address (the same proof of the
        # address as a confirmation link) instead of a second customer record of the same person
        invited, token = accounts.invite(session, customer, email=email, lifetime=valid_for)
        mail.send_invitation(session, invited, token, location=location, base=base, valid_until=now + valid_for)
        return Outcome.MAILED
    # a newer registration of the address ends the older ones' links
    session.execute(update(Registration).where(Registration.email == email, Registration.confirmed_at.is_(None),
                                               Registration.expires_at > now)
                    .values(expires_at=now).execution_options(synchronize_session="fetch"))
    token = secrets.token_urlsafe(32)
    registration = Registration(
        token_hash=hash_token(token), locale=locale, password_hash=password_hash, next_path=safe_next(data.get("next")),
        ip=ip, created_at=now, expires_at=now + valid_for,
        terms_version=found.terms_version if found.has_terms else None,
        terms_accepted_at=now if found.has_terms else None, **values)
    session.add(registration)
    session.flush()
    mail.send_registration_link(session, registration, token, location=location, base=base,
                                valid_until=registration.expires_at)
    return Outcome.MAILED


# --- confirming -----------------------------------------------------------------------------------


def find(session: Session, token: str, now: datetime | None = None) -> Registration | None:
    """The unexpired registration of a link (confirmed or not), or None."""
    if not token or len(token) > 200:
        return None
    found = session.scalar(select(Registration).where(Registration.token_hash == hash_token(token)))
    if found is None or found.expires_at <= (now or utcnow()):
        return None
    return found


def _reason(location: Location) -> str:
    """The history's reason in the location's language (staff read it there)."""
    if not has_app_context():
        return REASON
    with force_locale(location.locale or "cs"):
        return gettext(REASON)


PERSONAL = ("first_name", "last_name", "company_name", "ico", "dic", "phone", "street", "city", "postal_code",
            "password_hash", "ip", "locale")


def confirm(session: Session, location: Location, token: str, *, ip: str | None = None,
            user_agent: str | None = None) -> Confirmed:
    """Make the customer, its contact, address and account, and log it in — once per link.

    Raises :class:`InvalidLink` (unknown or expired), :class:`AlreadyConfirmed` (a second click),
    :class:`RegistrationClosed` (staff closed registration meanwhile) or another
    :class:`SelfcareError`; the caller then rolls back.
    """
    found = find(session, token)
    if found is None:
        raise InvalidLink()
    if found.confirmed_at is not None:
        raise AlreadyConfirmed(found)
    if found.kind not in allowed_kinds(settings_of(session)):
        raise RegistrationClosed()
    now = utcnow()
    claimed = session.execute(update(Registration).where(Registration.id == found.id,
                                                         Registration.confirmed_at.is_(None))
                              .values(confirmed_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # the same link confirmed twice at once: only one wins
        raise AlreadyConfirmed(found)
    email = found.email
    if session.scalar(select(SelfcareAccount.id).where(SelfcareAccount.email == email)) is not None:
        raise RegistrationError(N_("The e-mail %(email)s has an account in the portal already: log in, or ask for "
                                   "a new password."), field="email", email=email)
    reason = _reason(location)
    customer = customers.create_customer(session, kind=found.kind, first_name=found.first_name,
                                         last_name=found.last_name, company_name=found.company_name, ico=found.ico,
                                         dic=found.dic, reason=reason)
    person = " ".join(p for p in (found.first_name, found.last_name) if p)
    customers.add_contact(session, customer, name=person or customer.display_name, roles=["owner", "billing"],
                          emails=[email], phones=[found.phone] if found.phone else [])
    customers.add_address(session, customer, kind="permanent", street=found.street, city=found.city,
                          postal_code=found.postal_code, country=found.country)
    account = SelfcareAccount(customer_id=customer.id, email=email, password_hash=found.password_hash,
                              is_active=True, locale=found.locale, password_set_at=now, registered_at=now,
                              terms_version=found.terms_version, terms_accepted_at=found.terms_accepted_at)
    session.add(account)
    session.flush()
    # as with invitations, no e-mail in the history (anonymisation erases only known personal fields)
    history.record(session, entity="customer", entity_id=customer.id, customer_id=customer.id,
                   action="selfcare_registered", changes={"selfcare_access": (False, True),
                                                          "terms_version": (None, found.terms_version)},
                   reason=reason)
    next_path = found.next_path
    found.customer_id, found.confirmed_at, found.email = customer.id, now, ""
    for name in PERSONAL:
        setattr(found, name, None)
    session_token, record, _older = accounts.start_session(session, account, ip=ip, user_agent=user_agent)
    account.last_login_at = record.created_at
    audit.record(session, audit.LOGIN_OK, email=email, location_id=location.id, realm=accounts.REALM, ip=ip,
                 user_agent=user_agent, detail=f"customer account {account.id} (registered in the portal)")
    return Confirmed(account, session_token, record, next_path)


# --- housekeeping ---------------------------------------------------------------------------------


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete expired registrations (unconfirmed ones with their data; confirmed ones are blank already)."""
    result = session.execute(delete(Registration).where(Registration.expires_at <= (now or utcnow()))
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def purge_job(ctx: JobContext) -> str:
    return f"{purge(ctx.session)} expired registrations deleted"


PURGE_REGISTRATIONS = Job(id="core:purge_selfcare_registrations", label=_l("Delete expired portal registrations"),
                          func=purge_job, trigger={"trigger": "interval", "hours": 1})
