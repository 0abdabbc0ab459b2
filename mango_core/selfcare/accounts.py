"""Portal accounts: invitations, one-time password links, login, sessions, disabling.

Every function runs in the location scope of the account (the portal takes the location from
the code in its URL, the staff pages and the command line from their own scope), checks its
input before it changes anything and leaves committing to the caller.

Answers never tell whether an account exists: a login with an unknown e-mail, a wrong password,
a disabled account or one that has no password yet fail alike (and take as long, since an
unknown account is checked against a dummy hash); a reset request is answered the same way
whatever was asked for.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mango_core import history
from mango_core.auth import audit, sessions, throttle
from mango_core.auth.errors import AuthInputError
from mango_core.auth.passwords import hash_password, needs_rehash, verify_password
from mango_core.customers.models import EMAIL, Customer
from mango_core.customers.normalize import normalize_email
from mango_core.db import utcnow
from mango_core.selfcare.models import INVITE, RESET, SelfcareAccount, SelfcareSession, SelfcareToken
from mango_core.tenancy.context import TenancyError, current_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue

REALM = "selfcare"
MAX_IDENTIFIER = 254


class SelfcareError(InvalidValue):
    """Bad input for an account (no e-mail, an e-mail of another account…); nothing was changed."""


class InvalidLink(SelfcareError):
    default_message = N_("This link is not valid: it has been used already or has expired. Ask for a new one.")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- accounts -------------------------------------------------------------------------------------


def account_of(session: Session, customer_id: int) -> SelfcareAccount | None:
    return session.scalar(select(SelfcareAccount).where(SelfcareAccount.customer_id == customer_id))


def find_account(session: Session, identifier: str) -> SelfcareAccount | None:
    """The account of an e-mail address or a customer number, in the current location."""
    text = (identifier or "").strip()[:MAX_IDENTIFIER]
    if "@" in text:
        return session.scalar(select(SelfcareAccount).where(SelfcareAccount.email == text.lower()))
    digits = text.removeprefix("#")
    if digits.isascii() and digits.isdigit() and len(digits) <= 10:
        return session.scalar(select(SelfcareAccount).join(Customer, Customer.id == SelfcareAccount.customer_id)
                              .where(Customer.number == int(digits)))
    return None


def contact_email(customer: Customer) -> str | None:
    """Where an invitation goes by default: the owner's e-mail, else the billing contact's, else any."""
    ranked = sorted(customer.contacts, key=lambda c: (not c.role_owner, not c.role_billing, c.id))
    for contact in ranked:
        for channel in contact.channels:
            if channel.kind == EMAIL:
                return channel.value
    return None


def _clean_email(session: Session, raw: Any, account: SelfcareAccount | None) -> str:
    try:
        email = normalize_email(raw).lower()
    except InvalidValue as exc:
        raise SelfcareError(exc.message, field="email", **exc.params) from exc
    other = session.scalar(select(SelfcareAccount.id).where(SelfcareAccount.email == email))
    if other is not None and (account is None or other != account.id):
        raise SelfcareError(N_("The e-mail %(email)s logs in to the portal of another customer already."),
                            field="email", email=email)
    return email


def invite(session: Session, customer: Customer, *, email: str | None = None, actor: int | None = None,
           lifetime: timedelta) -> tuple[SelfcareAccount, str]:
    """Give the customer portal access (creating or re-enabling the account) and a fresh invitation link.

    ``email`` defaults to the account's, else to the customer's contact e-mail. Returns the
    account and the raw token of the link (only its hash is stored). The caller mails it.
    """
    if customer.anonymised_at is not None:
        raise SelfcareError(N_("An anonymised customer cannot be changed."))
    account = account_of(session, customer.id)
    raw = email or (account.email if account is not None else None) or contact_email(customer)
    if not raw:
        raise SelfcareError(N_("The customer has no e-mail address: add a contact with an e-mail first."),
                            field="email")
    address = _clean_email(session, raw, account)
    now = utcnow()
    was_active = account is not None and account.is_active
    if account is None:
        account = SelfcareAccount(customer_id=customer.id, email=address, is_active=True)
        session.add(account)
    account.email, account.is_active, account.disabled_at, account.invited_at = address, True, None, now
    session.flush()
    token = issue_token(session, account, INVITE, lifetime, actor=actor)
    # no e-mail in the history: the customer's anonymisation erases only known personal fields there
    history.record(session, entity="customer", entity_id=customer.id, customer_id=customer.id,
                   action="selfcare_invited", changes=None if was_active else {"selfcare_access": (False, True)},
                   user_id=actor)
    return account, token


def disable(session: Session, account: SelfcareAccount, *, actor: int | None = None) -> int:
    """End the customer's portal access: open links die, live sessions end. Returns how many ended."""
    now = utcnow()
    if account.is_active:
        account.is_active, account.disabled_at = False, now
        history.record(session, entity="customer", entity_id=account.customer_id, customer_id=account.customer_id,
                       action="selfcare_disabled", changes={"selfcare_access": (True, False)}, user_id=actor)
    _expire_tokens(session, account, now)
    return end_all_sessions(session, account.id, sessions.DISABLED)


def forget(session: Session, customer_id: int) -> None:
    """GDPR erasure: the account goes (its e-mail, links and, by cascade, sessions); the customer's
    messages in tariff requests are blanked (the requests stay: they tell what happened to the service)."""
    from mango_core.selfcare.models import TariffRequest

    session.execute(update(TariffRequest).where(TariffRequest.customer_id == customer_id)
                    .values(note=None, decision_note=None).execution_options(synchronize_session="fetch"))
    account = account_of(session, customer_id)
    if account is None:
        return
    for token in session.scalars(select(SelfcareToken).where(SelfcareToken.account_id == account.id)):
        session.delete(token)
    session.delete(account)
    session.flush()


# --- one-time links ---------------------------------------------------------------------------------


def _expire_tokens(session: Session, account: SelfcareAccount, now: datetime) -> None:
    session.execute(update(SelfcareToken).where(SelfcareToken.account_id == account.id,
                                                SelfcareToken.used_at.is_(None), SelfcareToken.expires_at > now)
                    .values(expires_at=now).execution_options(synchronize_session="fetch"))


def issue_token(session: Session, account: SelfcareAccount, purpose: str, lifetime: timedelta, *,
                actor: int | None = None) -> str:
    """A new link of ``purpose`` for the account; the account's older unused links stop working."""
    now = utcnow()
    _expire_tokens(session, account, now)
    token = secrets.token_urlsafe(32)
    session.add(SelfcareToken(account_id=account.id, purpose=purpose, token_hash=hash_token(token), created_at=now,
                              expires_at=now + lifetime, created_by_id=actor))
    session.flush()
    return token


def valid_token(session: Session, token: str, now: datetime | None = None) -> SelfcareToken | None:
    """The unused, unexpired link of an active account in the current location, or None."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    found = session.scalar(select(SelfcareToken).where(SelfcareToken.token_hash == hash_token(token)))
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    if not found.account.is_active or found.account.customer.anonymised_at is not None:
        return None
    return found


def set_password(session: Session, token: str, password: str) -> SelfcareAccount:
    """Use a link: store the new Argon2id hash and end the account's sessions. The link dies."""
    found = valid_token(session, token)
    if found is None:
        raise InvalidLink()
    try:
        new_hash = hash_password(password)
    except AuthInputError as exc:
        raise SelfcareError(exc.message, field="password", **exc.params) from exc
    now = utcnow()
    claimed = session.execute(update(SelfcareToken).where(SelfcareToken.id == found.id,
                                                          SelfcareToken.used_at.is_(None))
                              .values(used_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # the same link used twice at once: only one wins
        raise InvalidLink()
    account = found.account
    account.password_hash, account.password_set_at = new_hash, now
    ended = end_all_sessions(session, account.id, sessions.PASSWORD_CHANGED)
    audit.record(session, audit.PASSWORD_CHANGED, email=account.email, location_id=account.location_id, realm=REALM,
                 detail=f"customer account {account.id} ({found.purpose} link); {ended} session(s) ended")
    return account


def request_reset(session: Session, identifier: str, *, lifetime: timedelta,
                  max_per_hour: int) -> tuple[SelfcareAccount, str] | None:
    """A reset link for the account of ``identifier`` — or None, which the caller must not reveal.

    None for an unknown identifier, a disabled account, or one that has had ``max_per_hour``
    links within the last hour (a mail bomb through the reset form stops there).
    """
    account = find_account(session, identifier)
    if account is None or not account.is_active or account.customer.anonymised_at is not None:
        return None
    recent = session.scalar(select(func.count()).select_from(SelfcareToken)
                            .where(SelfcareToken.account_id == account.id, SelfcareToken.purpose == RESET,
                                   SelfcareToken.created_at > utcnow() - timedelta(hours=1))) or 0
    if recent >= max_per_hour:
        return None
    return account, issue_token(session, account, RESET, lifetime)


# --- login and sessions ---------------------------------------------------------------------------


class LoginFailure(enum.Enum):
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"


@dataclass
class LoginResult:
    account: SelfcareAccount | None = None
    token: str | None = None
    record: SelfcareSession | None = None
    failure: LoginFailure | None = None


def _throttle_key(location: Location, identifier: str, account: SelfcareAccount | None) -> str:
    """Failures count per account (whichever identifier was typed), else per what was typed."""
    if account is not None:
        return f"{location.code}:account:{account.id}"
    return f"{location.code}:{identifier.strip().lower()}"[:254]


def login(session: Session, location: Location, identifier: str, password: str, *,
          rules: throttle.ThrottleRules, ip: str | None = None, user_agent: str | None = None) -> LoginResult:
    """Check the password and open a session, ending the account's older one. Audited; the caller commits."""
    if current_scope().write_location_id != location.id:
        raise TenancyError(f"a login to {location.code} must run in that location's scope")
    identifier = (identifier or "").strip()[:MAX_IDENTIFIER]
    account = find_account(session, identifier)
    key = _throttle_key(location, identifier, account)
    shown = account.email if account is not None else identifier
    if throttle.is_throttled(session, rules, email=key, ip=ip, realm=REALM):
        audit.record(session, audit.LOGIN_THROTTLED, email=shown, location_id=location.id, realm=REALM, ip=ip,
                     user_agent=user_agent)
        return LoginResult(failure=LoginFailure.THROTTLED)
    ok = verify_password(account.password_hash if account is not None else None, password)
    usable = account is not None and account.is_active and account.customer.anonymised_at is None
    if not (ok and usable):
        throttle.note_attempt(session, email=key, ip=ip, realm=REALM, success=False)
        why = "unknown account" if account is None else ("bad password" if not ok else "account disabled")
        audit.record(session, audit.LOGIN_FAILED, email=shown, location_id=location.id, realm=REALM, ip=ip,
                     user_agent=user_agent, detail=why)
        return LoginResult(failure=LoginFailure.BAD_CREDENTIALS)
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    throttle.note_attempt(session, email=key, ip=ip, realm=REALM, success=True)
    token, record, ended = start_session(session, account, ip=ip, user_agent=user_agent)
    account.last_login_at = record.created_at
    for _old in ended:
        audit.record(session, audit.SESSION_ENDED, email=account.email, location_id=location.id, realm=REALM,
                     ip=ip, user_agent=user_agent, detail=f"{sessions.REPLACED} by a new login")
    audit.record(session, audit.LOGIN_OK, email=account.email, location_id=location.id, realm=REALM, ip=ip,
                 user_agent=user_agent, detail=f"customer account {account.id}")
    return LoginResult(account=account, token=token, record=record)


def start_session(session: Session, account: SelfcareAccount, *, ip: str | None = None,
                  user_agent: str | None = None) -> tuple[str, SelfcareSession, list[SelfcareSession]]:
    """A new session of the account (one active per account: the older ones end as replaced)."""
    now = utcnow()
    older = list(session.scalars(select(SelfcareSession).where(SelfcareSession.account_id == account.id,
                                                               SelfcareSession.ended_at.is_(None))))
    for old in older:
        old.ended_at, old.end_reason = now, sessions.REPLACED
    token = secrets.token_urlsafe(32)
    record = SelfcareSession(token_hash=hash_token(token), account_id=account.id, location_id=account.location_id,
                             customer_id=account.customer_id, created_at=now, last_seen_at=now, ip=ip,
                             user_agent=(user_agent or "")[:300] or None)
    session.add(record)
    session.flush()
    return token, record, older


@dataclass
class Lookup:
    record: SelfcareSession | None  # the live session, or None
    ended: SelfcareSession | None = None  # the token's session when it has ended
    ended_now: bool = False  # this lookup ended it (a limit passed)

    @property
    def ended_reason(self) -> str | None:
        return self.ended.end_reason if self.ended is not None else None


def find_session(session: Session, token: str, limits: sessions.SessionLimits, now: datetime | None = None) -> Lookup:
    """The live session of a cookie's token; ended here when it has passed a limit. Needs no scope."""
    if not token or len(token) > 200:
        return Lookup(None)
    now = now or utcnow()
    record = session.scalar(select(SelfcareSession).where(SelfcareSession.token_hash == hash_token(token)))
    if record is None:
        return Lookup(None)
    if record.ended_at is not None:
        return Lookup(None, record)
    reason = None
    if now - record.created_at > limits.absolute:
        reason = sessions.EXPIRED
    elif now - record.last_seen_at > limits.idle:
        reason = sessions.IDLE
    if reason:
        end_session(record, reason)
        return Lookup(None, record, ended_now=True)
    if now - record.last_seen_at > sessions.TOUCH_EVERY:
        record.last_seen_at = now
    return Lookup(record)


def end_session(record: SelfcareSession, reason: str = sessions.LOGOUT) -> None:
    if record.ended_at is None:
        record.ended_at, record.end_reason = utcnow(), reason


def end_all_sessions(session: Session, account_id: int, reason: str) -> int:
    result = session.execute(update(SelfcareSession).where(SelfcareSession.account_id == account_id,
                                                           SelfcareSession.ended_at.is_(None))
                             .values(ended_at=utcnow(), end_reason=reason)
                             .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def logout(session: Session, record: SelfcareSession, account: SelfcareAccount) -> None:
    end_session(record, sessions.LOGOUT)
    audit.record(session, audit.LOGOUT, email=account.email, location_id=account.location_id, realm=REALM,
                 detail=f"customer account {account.id}")
