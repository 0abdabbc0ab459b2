"""Incoming calls: the PBX tells us (webhook or Asterisk AMI), we find the customer by the caller's
number, store the call once per PBX call id, and the operator's pop-up shows it.

Numbers are compared in the core's normal form (:mod:`mango_core.customers.normalize`): the
caller ``00420 777 123 456`` finds a contact stored as ``+420777123456`` or ``777 123 456``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from urllib.parse import quote

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mango_callcenter.calls.models import SOURCES, WEBHOOK, Call, CallSettings
from mango_core.customers.models import PHONE, CustomerContact, CustomerContactChannel
from mango_core.customers.normalize import InvalidPhone, normalize_phone, phone_search_value
from mango_core.db import utcnow
from mango_core.tenancy.validators import N_, InvalidValue

MAX_ID, MAX_NUMBER = 100, 64
POPUP_WINDOW = timedelta(minutes=2)  # a call older than this no longer pops up
NUMBER_PLACEHOLDER = "{number}"


# --- settings --------------------------------------------------------------------------------------------


def settings(session: Session) -> CallSettings | None:
    return session.scalar(select(CallSettings))


def _settings_row(session: Session) -> CallSettings:
    row = settings(session)
    if row is None:
        row = CallSettings(token_sha256="", click_to_call_url="")
        session.add(row)
    return row


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(session: Session) -> str:
    """A new webhook token (shown once; only its SHA-256 is stored); the old one stops working."""
    token = secrets.token_urlsafe(32)
    _settings_row(session).token_sha256 = _digest(token)
    session.flush()
    return token


def token_matches(session: Session, token: str | None) -> bool:
    row = settings(session)
    if row is None or not row.token_sha256 or not token:
        return False
    return hmac.compare_digest(row.token_sha256, _digest(token))


def set_click_to_call(session: Session, template: object) -> None:
    """The click-to-call URL: http(s) with ``{number}`` where the number goes; empty turns links off."""
    text = str(template or "").strip()
    if text and (not text.lower().startswith(("http://", "https://", "sip:", "tel:")) or NUMBER_PLACEHOLDER not in text
                 or len(text) > 500):
        raise InvalidValue(N_("Enter an http(s), sip: or tel: address with {number} in it."),
                           field="click_to_call_url")
    _settings_row(session).click_to_call_url = text
    session.flush()


def click_to_call_url(template: str, number: str) -> str | None:
    """The link that makes the PBX call ``number`` (URL-quoted in), or None without a template or number."""
    if not template or not number:
        return None
    return template.replace(NUMBER_PLACEHOLDER, quote(str(number), safe="+"))


# --- identification ------------------------------------------------------------------------------------


def normal_number(raw: str) -> str:
    """The caller in international form, or "" when the PBX sent no dialable number (anonymous…)."""
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return ""


def customer_ids_by_phone(session: Session, phone: str) -> list[int]:
    """Customers of the location with a contact of this number (normal form), oldest first."""
    if not phone:
        return []
    stmt = (select(CustomerContact.customer_id).join(CustomerContactChannel,
                                                     CustomerContactChannel.contact_id == CustomerContact.id)
            .where(CustomerContactChannel.kind == PHONE,
                   CustomerContactChannel.search_value == phone_search_value(phone))
            .distinct().order_by(CustomerContact.customer_id))
    return list(session.scalars(stmt))


# --- calls ---------------------------------------------------------------------------------------------------


def _field(value: object, field: str, limit: int, *, required: bool = True) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if required and not text:
        raise InvalidValue(N_("This field is required."), field=field)
    if len(text) > limit or any(ord(c) < 32 for c in text):
        raise InvalidValue(N_("At most %(max)d characters."), field=field, max=limit)
    return text


def incoming_call(session: Session, *, call_id: object, caller: object, called: object = "",
                  source: str = WEBHOOK, now: datetime | None = None) -> tuple[Call, bool]:
    """Store an incoming call once per PBX call id and match its customer; returns (call, created).

    A repeated announcement of the same call (the PBX retries, AMI sends Newchannel and Dial)
    returns the stored call unchanged.
    """
    if source not in SOURCES:
        raise InvalidValue(N_("Choose one of the offered values."), field="source")
    call_id = _field(call_id, "call_id", MAX_ID)
    caller = _field(caller, "caller", MAX_NUMBER)
    called = _field(called, "called", MAX_NUMBER, required=False)
    existing = session.scalar(select(Call).where(Call.pbx_call_id == call_id))
    if existing is not None:
        return existing, False
    phone = normal_number(caller)
    matches = customer_ids_by_phone(session, phone)
    call = Call(pbx_call_id=call_id, caller=caller, caller_phone=phone, called_line=called,
                customer_id=matches[0] if matches else None, source=source, received_at=now or utcnow())
    try:
        with session.begin_nested():  # the same call announced twice at once: keep the first
            session.add(call)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Call).where(Call.pbx_call_id == call_id))
        if existing is None:
            raise
        return existing, False
    return call, True


def recent_calls(session: Session, *, after_id: int = 0, now: datetime | None = None, limit: int = 5) -> list[Call]:
    """Calls of the last :data:`POPUP_WINDOW` newer than ``after_id`` (what the pop-up shows)."""
    since = (now or utcnow()) - POPUP_WINDOW
    return list(session.scalars(select(Call).where(Call.id > after_id, Call.received_at >= since)
                                .options(selectinload(Call.customer)).order_by(Call.id.desc()).limit(limit)))


def calls_of_customer(session: Session, customer_id: int, limit: int = 100) -> list[Call]:
    return list(session.scalars(select(Call).where(Call.customer_id == customer_id)
                                .order_by(Call.id.desc()).limit(limit)))


def call_log(session: Session, limit: int = 300) -> list[Call]:
    return list(session.scalars(select(Call).options(selectinload(Call.customer))
                                .order_by(Call.id.desc()).limit(limit)))


def get_call(session: Session, call_id: int) -> Call | None:
    return session.scalar(select(Call).where(Call.id == call_id))


def ticket_from_call(session: Session, call: Call, *, user_id: int) -> object:
    """One click: a phone ticket for the call's customer (once per call: a second click opens the same)."""
    from mango_callcenter.helpdesk import service as helpdesk

    if call.ticket_id is not None and call.ticket is not None:
        return call.ticket
    if call.customer_id is None:
        raise InvalidValue(N_("The caller is not a known customer."), field="customer_id")
    ticket = helpdesk.create_ticket(
        session, subject=_("Phone call from %(caller)s", caller=call.caller),
        body=_("Incoming call from %(caller)s to %(line)s (PBX call %(call)s).", caller=call.caller,
               line=call.called_line or "—", call=call.pbx_call_id),
        actor=helpdesk.Actor(user_id=user_id), customer_id=call.customer_id, channel="phone")
    call.ticket_id = ticket.id
    session.flush()
    return ticket
