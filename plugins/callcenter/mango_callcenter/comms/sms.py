"""Outbound SMS: a queue with retries and backoff, sent through a gateway driver.

* :func:`queue_sms` stores a message in the caller's transaction (and logs it for the customer);
  ``dedup_key`` makes a re-run harmless.
* :func:`send_due` (the job ``callcenter:send_sms``) claims each due message by moving its
  ``next_attempt_at`` a lease ahead (committed), sends it and commits the outcome: two runs never
  send the same message; a run killed mid-send leaves it to be retried after the lease.
* A temporary failure (network, timeout, HTTP 5xx, 429) retries after 1, 2, 4 … minutes (the core
  outbox's backoff) until ``sms_max_attempts``; any other refusal fails at once.

Drivers (plugin setting ``sms_driver``): ``log`` writes the message to the log and succeeds (the
demo and development), ``http`` calls a gateway as configured in ``sms_http``:

``url`` (Jinja2, sandboxed; ``{{ to|urlencode }}``, ``{{ text|urlencode }}``), ``method`` (GET or POST),
``username``/``password`` (HTTP basic) or ``token`` (``Authorization: Bearer``), ``headers``,
``body`` (Jinja2 with ``to``, ``text``, ``sender``, ``id``; ``{{ text|tojson }}`` for JSON),
``content_type``, ``success_status`` (list, default 200–299), ``success_regex`` (the response body
must match), ``ref_regex`` (its first group is kept as the gateway's message id), ``timeout``.
"""

from __future__ import annotations

import base64
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mango_callcenter.comms.models import FAILED, QUEUED, SENT, UNDELIVERED, SmsMessage
from mango_core.db import utcnow
from mango_core.mail.service import backoff
from mango_core.tenancy.validators import N_, InvalidValue

log = logging.getLogger("mango.callcenter.sms")

LEASE = timedelta(minutes=5)
MAX_TEXT = 612
MAX_ERROR = 2000
PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")
ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    ref: str = ""
    error: str = ""
    permanent: bool = False  # do not retry


class SmsDriver(Protocol):
    """What the queue needs of a gateway: send one text, say how it went (never raise for a refusal)."""

    def send(self, to: str, text: str, *, sms_id: int) -> Outcome: ...


class LogDriver:
    """Writes the message to the log and succeeds: the demo and development have no gateway."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str, *, sms_id: int) -> Outcome:
        log.info("SMS %s to %s: %s", sms_id, to, text)
        self.sent.append((to, text))
        return Outcome(True, ref=f"log-{sms_id}")


class HttpDriver:
    """An HTTP gateway (see the module doc for the configuration keys)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config or {})
        if not str(self.config.get("url") or "").startswith(("http://", "https://")):
            raise InvalidValue(N_("The SMS gateway needs an http(s) URL."), field="sms_http")
        self.method = str(self.config.get("method") or "POST").upper()
        if self.method not in ("GET", "POST", "PUT"):
            raise InvalidValue(N_("Choose one of the offered values."), field="sms_http")
        self.success_status = [int(s) for s in self.config.get("success_status") or range(200, 300)]
        self.success_regex = re.compile(self.config["success_regex"]) if self.config.get("success_regex") else None
        self.ref_regex = re.compile(self.config["ref_regex"]) if self.config.get("ref_regex") else None
        self.timeout = float(self.config.get("timeout") or 10)

    def _render(self, template: str, values: dict[str, Any]) -> str:
        try:
            return ENV.from_string(template).render(**values)
        except TemplateError as exc:
            raise InvalidValue(N_("The template cannot be rendered: %(error)s"), field="sms_http",
                               error=str(exc)[:200]) from None

    def request(self, to: str, text: str, sms_id: int) -> urllib.request.Request:
        values = {"to": to, "text": text, "sender": str(self.config.get("sender") or ""), "id": sms_id}
        url = self._render(str(self.config["url"]), values)
        body = self._render(str(self.config["body"]), values).encode() if self.config.get("body") else None
        req = urllib.request.Request(url, data=body if self.method != "GET" else None, method=self.method)
        for name, value in (self.config.get("headers") or {}).items():
            req.add_header(str(name), str(value))
        if body is not None and self.method != "GET":
            req.add_header("Content-Type", str(self.config.get("content_type") or "application/x-www-form-urlencoded"))
        if self.config.get("token"):
            req.add_header("Authorization", f"Bearer {self.config['token']}")
        elif self.config.get("username"):
            pair = f"{self.config['username']}:{self.config.get('password') or ''}".encode()
            req.add_header("Authorization", "Basic " + base64.b64encode(pair).decode("ascii"))
        return req

    def send(self, to: str, text: str, *, sms_id: int) -> Outcome:
        req = self.request(to, text, sms_id)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310 (http(s) checked above)
                status, answer = response.status, response.read(65536).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read(65536).decode("utf-8", "replace")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return Outcome(False, error=f"gateway unreachable: {exc}")
        if status in self.success_status and (self.success_regex is None or self.success_regex.search(answer)):
            match = self.ref_regex.search(answer) if self.ref_regex else None
            return Outcome(True, ref=(match.group(1) if match and match.groups() else "")[:200])
        error = f"HTTP {status}: {answer.strip()[:300]}"
        return Outcome(False, error=error, permanent=not (status >= 500 or status in (408, 429)))


DRIVERS: dict[str, type] = {"log": LogDriver, "http": HttpDriver}


def driver_from(settings: dict[str, Any]) -> SmsDriver:
    name = str(settings.get("sms_driver") or "log")
    if name not in DRIVERS:
        raise InvalidValue(N_("Choose one of the offered values."), field="sms_driver")
    return DRIVERS[name](settings.get("sms_http") or {})


def clean_phone(value: object) -> str:
    phone = re.sub(r"[\s().-]", "", str(value or ""))
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not PHONE_RE.match(phone):
        raise InvalidValue(N_("Enter a phone number in international format, e.g. +420777123456."), field="recipient")
    return phone


def queue_sms(session: Session, *, to: object, text: object, customer_id: int | None = None,
              dedup_key: str | None = None, entity: str = "", entity_id: int | None = None,
              not_before: datetime | None = None) -> SmsMessage:
    """Queue one SMS (a known ``dedup_key`` returns the queued one) and log it for the customer."""
    from mango_callcenter.comms.log import record_sms

    phone = clean_phone(to)
    body = " ".join(str(text or "").split())
    if not body:
        raise InvalidValue(N_("This field is required."), field="text")
    if len(body) > MAX_TEXT:
        raise InvalidValue(N_("An SMS has at most %(max)d characters."), field="text", max=MAX_TEXT)
    if dedup_key:
        dedup_key = str(dedup_key)[:200]
        existing = session.scalar(select(SmsMessage).where(SmsMessage.dedup_key == dedup_key))
        if existing is not None:
            return existing
    now = utcnow()
    sms = SmsMessage(recipient=phone, text=body, state=QUEUED, customer_id=customer_id, dedup_key=dedup_key,
                     attempts=0, next_attempt_at=not_before or now, last_error="", created_at=now)
    session.add(sms)
    session.flush()
    record_sms(session, sms, entity=entity, entity_id=entity_id)
    return sms


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retried} to retry, {self.failed} failed"


def send_due(session: Session, driver: SmsDriver, *, max_attempts: int = 5, now: datetime | None = None,
             limit: int = 200) -> SendResult:
    """Send the location's due SMS (commits after each one: sending is a side effect)."""
    now = now or utcnow()
    result = SendResult()
    due = list(session.scalars(select(SmsMessage.id).where(SmsMessage.state == QUEUED,
                                                           SmsMessage.next_attempt_at <= now)
                               .order_by(SmsMessage.next_attempt_at, SmsMessage.id).limit(limit)))
    session.commit()
    for sms_id in due:
        claimed = session.execute(update(SmsMessage)
                                  .where(SmsMessage.id == sms_id, SmsMessage.state == QUEUED,
                                         SmsMessage.next_attempt_at <= now)
                                  .values(next_attempt_at=now + LEASE).execution_options(synchronize_session=False))
        session.commit()
        if claimed.rowcount != 1:
            continue  # another run took it
        sms = session.scalar(select(SmsMessage).where(SmsMessage.id == sms_id)
                             .execution_options(populate_existing=True))
        sms.attempts += 1
        try:
            outcome = driver.send(sms.recipient, sms.text, sms_id=sms.id)
        except InvalidValue as exc:  # a broken gateway configuration: nothing was sent, try again later
            outcome = Outcome(False, error=str(exc))
        if outcome.ok:
            sms.state, sms.sent_at, sms.provider_ref, sms.last_error = SENT, now, outcome.ref, ""
            result.sent += 1
        elif outcome.permanent or sms.attempts >= max_attempts:
            sms.state = FAILED
            sms.last_error = (outcome.error if outcome.permanent
                              else f"gave up after {sms.attempts} attempts: {outcome.error}")[:MAX_ERROR]
            result.failed += 1
            result.errors.append(f"#{sms.id}: {sms.last_error}")
        else:
            sms.last_error = outcome.error[:MAX_ERROR]
            sms.next_attempt_at = now + backoff(sms.attempts)
            result.retried += 1
            result.errors.append(f"#{sms.id}: {sms.last_error}")
        session.commit()
    return result


def retry(session: Session, sms: SmsMessage) -> None:
    """Staff's "try again" on a failed SMS (or one the gateway reported undelivered)."""
    if sms.state not in (FAILED, UNDELIVERED):
        raise InvalidValue(N_("Only a failed message is sent again."), field="state")
    sms.state, sms.attempts, sms.next_attempt_at = QUEUED, 0, utcnow()
    sms.provider_ref, sms.delivery_status, sms.delivered_at = "", "", None
    session.flush()
