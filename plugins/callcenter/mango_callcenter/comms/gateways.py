"""A location's own SMS gateway, and the gateway's delivery reports.

* A location may keep its own gateway (:class:`SmsGateway`): the driver (``log`` or ``http``), the HTTP
  driver's settings (as ``sms_http`` in :mod:`.sms`, without secrets), the authentication (``basic``
  with a user name and password, ``bearer`` with a token) whose secret is a Fernet token under
  ``[plugin_settings.callcenter] secret_keys`` (:mod:`mango_core.secrets`), never shown again. A location
  without its own uses the instance-wide ``sms_driver``/``sms_http``.
* **Delivery reports**: the gateway calls ``/callcenter/hook/sms/<location code>`` (GET or POST, JSON or
  form fields or the query string) with the location's report token (``Authorization: Bearer``,
  ``X-Mango-Token`` or ``?token=`` for gateways that can only call a URL); only its SHA-256 is stored.
  The message is found by the gateway's id (``provider_ref``, field ``report_ref``, default ``id``),
  and its status (field ``report_status``, default ``status``) moves a sent SMS to ``delivered`` (a value
  in ``delivered``) or ``undelivered`` (a value in ``failed``); other statuses (buffered…) are only
  recorded. A repeated report changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_callcenter.comms.models import (
    AUTHS,
    BASIC,
    BEARER,
    DELIVERED,
    NO_AUTH,
    SENT,
    SMS_DRIVERS,
    UNDELIVERED,
    SmsGateway,
    SmsMessage,
)
from mango_callcenter.comms.sms import HttpDriver, SmsDriver, driver_from
from mango_core.db import utcnow
from mango_core.secrets import SecretBox, SecretsError
from mango_core.tenancy.validators import N_, InvalidValue

BOX = SecretBox("callcenter", "SMS gateway password")
HTTP_KEYS = ("url", "method", "headers", "body", "content_type", "sender", "success_status", "success_regex",
             "ref_regex", "timeout")
REPORT_KEYS = ("report_ref", "report_status", "delivered", "failed")
DEFAULT_DELIVERED = ("delivered", "DELIVRD", "DELIVERED", "1")
DEFAULT_FAILED = ("failed", "undelivered", "UNDELIV", "UNDELIVERED", "EXPIRED", "REJECTD", "REJECTED", "2")


class UnknownMessage(InvalidValue):
    """A delivery report of a message this location never sent (or sent through no gateway id)."""

    default_message = N_("No such message.")


def gateway(session: Session) -> SmsGateway | None:
    return session.scalar(select(SmsGateway))


def _config(raw: object) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError:
            raise InvalidValue(N_("Enter the settings as a JSON object."), field="config") from None
    if not isinstance(raw, dict):
        raise InvalidValue(N_("Enter the settings as a JSON object."), field="config")
    unknown = sorted(set(raw) - set(HTTP_KEYS) - set(REPORT_KEYS))
    if unknown:
        raise InvalidValue(N_("Unknown settings: %(keys)s."), field="config", keys=", ".join(unknown))
    for key in ("password", "token"):
        if key in raw:  # secrets have their own field (encrypted)
            raise InvalidValue(N_("Unknown settings: %(keys)s."), field="config", keys=key)
    return dict(raw)


def save_gateway(session: Session, *, driver: object, config: object, auth: object, username: object = "",
                 secret: object = "") -> SmsGateway:
    """Create or change the location's gateway; an empty ``secret`` keeps the stored one."""
    if driver not in SMS_DRIVERS:
        raise InvalidValue(N_("Choose one of the offered values."), field="driver")
    if auth not in AUTHS:
        raise InvalidValue(N_("Choose one of the offered values."), field="auth")
    settings = _config(config)
    username, secret = str(username or "").strip(), str(secret or "")
    row = gateway(session)
    if auth == BASIC and not username:
        raise InvalidValue(N_("This field is required."), field="username")
    has_secret = bool(secret) or (row is not None and row.auth == auth and bool(row.secret_enc))
    if auth in (BASIC, BEARER) and not has_secret:
        raise InvalidValue(N_("This field is required."), field="secret")
    if driver == "http":
        HttpDriver(settings)  # a bad URL, method or pattern is refused now, not at the first SMS
    if row is None:
        row = SmsGateway(report_token_sha256="", secret_enc="")
        session.add(row)
    if secret:
        try:
            row.secret_enc = BOX.encrypt(secret)
        except SecretsError as exc:
            raise InvalidValue(N_("The password cannot be stored: %(error)s"), field="secret", error=str(exc)) from None
    elif auth == NO_AUTH:
        row.secret_enc = ""
    row.driver, row.config, row.auth, row.username = str(driver), settings, str(auth), username
    session.flush()
    return row


def driver_for(session: Session, settings: dict[str, Any]) -> SmsDriver:
    """The location's own gateway, else the instance-wide one (``settings``: the plugin's settings)."""
    row = gateway(session)
    if row is None:
        return driver_from(settings)
    config = {k: v for k, v in (row.config or {}).items() if k in HTTP_KEYS}
    if row.auth != NO_AUTH and row.secret_enc:
        try:
            secret = BOX.decrypt(row.secret_enc)
        except SecretsError as exc:
            raise InvalidValue(N_("The password cannot be read: %(error)s"), field="secret", error=str(exc)) from None
        if row.auth == BASIC:
            config.update(username=row.username, password=secret)
        else:
            config["token"] = secret
    return driver_from({"sms_driver": row.driver, "sms_http": config})


# --- delivery reports -----------------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_report_token(session: Session) -> str:
    """A new token for the gateway's delivery reports (shown once; the old one stops working)."""
    row = gateway(session)
    if row is None:
        raise InvalidValue(N_("Save the gateway first."), field="driver")
    token = secrets.token_urlsafe(32)
    row.report_token_sha256 = _digest(token)
    session.flush()
    return token


def report_token_matches(session: Session, token: str | None) -> bool:
    row = gateway(session)
    if row is None or not row.report_token_sha256 or not token:
        return False
    return hmac.compare_digest(row.report_token_sha256, _digest(token))


def delivery_report(session: Session, data: dict[str, Any]) -> SmsMessage:
    """Apply one delivery report (see the module doc); InvalidValue for a report that names no known message."""
    row = gateway(session)
    config = (row.config or {}) if row is not None else {}
    ref = str(data.get(str(config.get("report_ref") or "id")) or "").strip()[:200]
    status = str(data.get(str(config.get("report_status") or "status")) or "").strip()[:50]
    if not ref:
        raise InvalidValue(N_("This field is required."), field="ref")
    if not status:
        raise InvalidValue(N_("This field is required."), field="status")
    sms = session.scalar(select(SmsMessage).where(SmsMessage.provider_ref == ref).order_by(SmsMessage.id.desc())
                         .limit(1))
    if sms is None:
        raise UnknownMessage(field="ref")
    if sms.state != SENT:
        return sms  # told already (a repeated or late report), or not sent yet by our account
    delivered = {str(v) for v in config.get("delivered") or DEFAULT_DELIVERED}
    failed = {str(v) for v in config.get("failed") or DEFAULT_FAILED}
    sms.delivery_status = status
    if status in delivered or status in failed:
        sms.state = DELIVERED if status in delivered else UNDELIVERED
        sms.delivered_at = utcnow()
    session.flush()
    return sms
