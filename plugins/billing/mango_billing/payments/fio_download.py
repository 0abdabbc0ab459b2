"""Automatic download of movements from the Fio API, per bank account, into :func:`import_statement`.

- The API token is encrypted at rest with Fernet; the key is the billing setting ``fio_token_key``
  (``[plugin_settings.billing] fio_token_key = "…"`` in mango.toml; several comma-separated keys rotate:
  the first encrypts, all decrypt). Without a key, tokens cannot be stored (a clear error), never
  stored in plain text. The token is never logged nor shown back (only its last 4 characters).
- Fio allows one request per token every 30 s: the client's :class:`FioRateLimit` state is persisted
  on the link (a hash of the token, no secret), so a second scheduler run or a web-triggered download
  within 30 s is refused without calling the bank.
- ``/last/`` moves the bank's download mark once it answers, so the raw answer is imported (and kept as
  a StatementFile) in the job's transaction. If the import fails, the job records the error; download
  the days again with ``periods`` (or move the mark with ``set_last_date``): the idempotent import
  makes any overlap harmless.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_billing.bank.fio_api import DEFAULT_BASE_URL, FioApiError, FioClient, FioRateLimit
from mango_billing.payments.importer import ImportSummary, import_statement
from mango_billing.payments.models import FioLink
from mango_core.db import utcnow
from mango_core.scheduler.jobs import Job, JobContext
from mango_core.tenancy.models import BankAccount
from mango_core.tenancy.validators import N_, InvalidValue

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class FioLinkError(InvalidValue):
    """The Fio link cannot be used (no key configured, a token that does not decrypt, …); translated in a request."""


def _settings() -> dict:
    if has_app_context() and "mango" in current_app.extensions:
        return current_app.extensions["mango"].plugin_settings("billing")
    return {}


def cipher(key_setting: str | None = None) -> MultiFernet:
    # imported here: the rest of billing works without the cryptography package
    from cryptography.fernet import Fernet, MultiFernet

    keys = key_setting if key_setting is not None else str(_settings().get("fio_token_key") or "")
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise FioLinkError(N_("no encryption key for Fio tokens: set the billing setting fio_token_key "
                              "(a Fernet key) before storing a token"))
    try:
        return MultiFernet([Fernet(k.encode("ascii")) for k in parts])
    except (ValueError, UnicodeEncodeError):
        raise FioLinkError(N_("the billing setting fio_token_key is not a valid Fernet key")) from None


def set_token(session: Session, bank_account_id: int, token: str, *, base_url: str | None = None,
              key: str | None = None) -> FioLink:
    """Store (or replace) the token of a bank account of the current location, encrypted."""
    token = (token or "").strip()
    if not token or not token.isascii() or not token.isalnum():
        raise FioLinkError(N_("a Fio API token is a string of letters and digits"))
    account = session.get(BankAccount, bank_account_id)
    if account is None:
        raise FioLinkError(N_("bank account #%(id)s is not an account of this location"), id=bank_account_id)
    link = session.scalar(select(FioLink).where(FioLink.bank_account_id == bank_account_id))
    if link is None:
        link = FioLink(bank_account_id=bank_account_id, rate_state={})
        session.add(link)
    link.token_encrypted = cipher(key).encrypt(token.encode("ascii")).decode("ascii")
    link.token_hint = token[-4:]
    link.base_url = base_url
    link.is_active = True
    session.flush()
    return link


def token_of(link: FioLink, key: str | None = None) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return cipher(key).decrypt(link.token_encrypted.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise FioLinkError(N_("the Fio token of bank account #%(id)s does not decrypt with the configured "
                              "fio_token_key (was the key changed without keeping the old one?)"),
                           id=link.bank_account_id) from None


def download(session: Session, location_id: int, link: FioLink, *, key: str | None = None,
             client: FioClient | None = None) -> ImportSummary | None:
    """Fetch the movements since the last download and import them; None when there were none."""
    rate = FioRateLimit(link.rate_state or {})
    if client is None:
        base = link.base_url or str(_settings().get("fio_base_url") or "") or DEFAULT_BASE_URL
        client = FioClient(token_of(link, key), base_url=base, rate_limit=rate)
    try:
        statement_body = client._get("last/{token}/transactions.json")  # noqa: SLF001 - raw body is stored
    finally:
        link.rate_state = client.rate_limit.to_dict()
        link.last_run_at = utcnow()
    summary = None
    if client._statement(statement_body).movements:  # noqa: SLF001 - the same check FioClient.last() makes
        summary = import_statement(session, location_id, statement_body,
                                   f"fio-{date.today().isoformat()}-{link.bank_account_id}.json", "fio-json",
                                   link.bank_account_id)
    link.last_result = (f"new {summary.new}, duplicates {summary.duplicates}, matched {summary.matched}"
                        if summary else "no new movements")
    session.flush()
    return summary


def run_downloads(ctx: JobContext) -> str:
    """The job: every active Fio link of the location, one after another; errors are reported per link."""
    results = []
    for link in ctx.session.scalars(select(FioLink).where(FioLink.is_active.is_(True)).order_by(FioLink.id)):
        try:
            with ctx.session.begin_nested():
                summary = download(ctx.session, ctx.location_id, link)
            results.append(f"#{link.bank_account_id}: {link.last_result}")
            del summary
        except (FioApiError, FioLinkError, ValueError) as exc:
            link.last_result = f"error: {exc}"
            results.append(f"#{link.bank_account_id}: error: {exc}")
    return "; ".join(results) or "no Fio links"


FIO_DOWNLOAD = Job(
    id="billing:fio_download",
    label=_l("Download Fio bank movements"),
    func=run_downloads,
    trigger={"trigger": "interval", "minutes": 30},
)
