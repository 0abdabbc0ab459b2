"""Online card payments of invoices: start, settle with the gateway's own record, book once.

The state machine of an :class:`~mango_billing.payments.gateway_models.OnlinePayment`::

    start()             → new       stored and COMMITTED under its reference before the gateway hears of it
    create_at_gateway() → pending   the gateway made the transaction; the customer is sent to its page
                        → failed    no transaction came back: the customer was never sent anywhere, so
                                    nobody could pay it (a lost answer leaves an unreachable transaction
                                    that the gateway lets expire)
    settle()  pending   → paid      the gateway's status says PAID for our amount: booked in billing now
                        → cancelled the gateway says CANCELLED (declined card, the payer gave up, expired)
                        → mismatch  the gateway reports another amount or currency: not booked, a person decides
                        → pending   PENDING, or no answer (try again: the return, a notification, the job)

:func:`settle` is the one way to a decision, whoever calls it (the customer's return, the gateway's
notification, the job ``billing:gateway_settle``, a clerk): it locks the row, asks the gateway for
the transaction's status and trusts nothing else. Billing's ``record_payment`` books a paid one
with the idempotency key ``gateway:<reference>`` (method ``card``, the invoice's variable symbol),
so the ledger has one entry per online payment whatever repeats, and ``mango_payments_matched``
lifts a debt block at once.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mango_billing.ledger import OpenItem, open_items
from mango_billing.models import Invoice
from mango_billing.payments import gateway_models as gm
from mango_billing.payments.gateway import (
    CANCELLED,
    PAID,
    GatewayDriver,
    GatewayError,
    PaymentRequest,
    Status,
)
from mango_billing.payments.gateway_models import GatewaySettings, OnlinePayment
from mango_billing.payments.service import record_payment
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.secrets import SecretBox, SecretsError, mask
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue

BOX = SecretBox("billing", "payment gateway secret")
REFERENCE_RE = re.compile(r"^[0-9a-f]{32}$")
REUSE_PENDING = timedelta(minutes=30)  # a recent transaction of the same amount is offered again, not made anew
STALE_NEW = timedelta(minutes=10)  # a "new" payment older than this lost its create request
SETTLE_AFTER = timedelta(minutes=5)  # the job leaves younger pending payments to the return and the notification
DEFAULT_TIMEOUT = 15.0
ZERO = Decimal("0.00")


class OnlinePaymentError(InvalidValue):
    """A card payment that cannot be started or a setting that cannot be saved (the message says why)."""


# --- settings ---------------------------------------------------------------------------------------


def settings_of(session: Session) -> GatewaySettings | None:
    """The current location's gateway settings (None when not configured)."""
    return session.scalar(select(GatewaySettings))


def active_settings(session: Session) -> GatewaySettings | None:
    found = settings_of(session)
    return found if found is not None and found.is_active else None


def save_settings(session: Session, *, merchant: str, secret: str | None, test_mode: bool, api_url: str | None,
                  method: str | None, is_active: bool, actor: int | None) -> GatewaySettings:
    """Create or change the location's gateway; an empty ``secret`` keeps the stored one."""
    merchant = (merchant or "").strip()
    if not merchant or len(merchant) > 60:
        raise OnlinePaymentError(N_("Enter the merchant id (at most 60 characters)."), field="merchant")
    url = (api_url or "").strip() or None
    if url is not None and (not url.startswith(("https://", "http://")) or len(url) > 200 or " " in url):
        raise OnlinePaymentError(N_("The API address must be an http(s) URL."), field="api_url")
    method = (method or "").strip() or "ALL"
    if not re.fullmatch(r"[A-Za-z0-9_+\-]{1,60}", method):
        raise OnlinePaymentError(N_("The payment method is a gateway code such as ALL or CARD_CZ_CSOB_2."),
                                 field="method")
    found = settings_of(session)
    secret = (secret or "").strip()
    if found is None and not secret:
        raise OnlinePaymentError(N_("Enter the secret (the password of the shop connection)."), field="secret")
    try:
        token = BOX.encrypt(secret) if secret else None
    except SecretsError as exc:
        raise OnlinePaymentError(str(exc), field="secret") from None
    if found is None:
        found = GatewaySettings(provider="comgate", merchant=merchant, secret_encrypted=token or "")
        session.add(found)
    found.merchant, found.test_mode, found.api_url, found.method = merchant, bool(test_mode), url, method
    found.is_active, found.updated_at, found.updated_by_id = bool(is_active), utcnow(), actor
    if token is not None:
        found.secret_encrypted, found.secret_hint = token, mask(secret)
    session.flush()
    return found


def driver_for(found: GatewaySettings, plugin_settings: dict | None = None) -> GatewayDriver:
    """The driver of a location's gateway (the secret decrypted here, never stored in plain text)."""
    from mango_billing.payments.gateway_comgate import ComGateDriver

    timeout = float((plugin_settings or {}).get("gateway_timeout") or DEFAULT_TIMEOUT)
    return ComGateDriver(found.merchant, BOX.decrypt(found.secret_encrypted), test=found.test_mode,
                         api_url=found.api_url, method=found.method, timeout=timeout)


def secret_matches(found: GatewaySettings, merchant: str | None, secret: str | None) -> bool:
    """Whether a notification names our merchant and carries our secret (compared in constant time)."""
    try:
        stored = BOX.decrypt(found.secret_encrypted)
    except SecretsError:
        return False
    return hmac.compare_digest((merchant or "").encode(), found.merchant.encode()) and \
        hmac.compare_digest((secret or "").encode(), stored.encode())


# --- starting a payment -----------------------------------------------------------------------------


def open_item(session: Session, customer_id: int, invoice_id: int) -> OpenItem | None:
    """What is still unpaid of the customer's invoice (None: paid, or not the customer's)."""
    return next((i for i in open_items(session, customer_id) if i.invoice_id == invoice_id), None)


def unpaid_of(session: Session, invoice: Invoice) -> Decimal:
    """What the customer may pay of a document by card: an invoice's open item, an advance invoice's
    open amount (an advance has no ledger debt: :mod:`mango_billing.advances`), nothing of other kinds."""
    if invoice.kind == "advance":
        from mango_billing import advances

        advance = advances.of_invoice(session, invoice)
        return advances.unpaid(advance) if advance is not None else ZERO
    if invoice.kind != "invoice":
        return ZERO
    item = open_item(session, invoice.customer_id, invoice.id)
    return item.unpaid if item is not None else ZERO


def by_reference(session: Session, reference: str) -> OnlinePayment | None:
    return session.scalar(select(OnlinePayment).where(OnlinePayment.reference == reference))


def by_trans_id(session: Session, trans_id: str) -> OnlinePayment | None:
    return session.scalar(select(OnlinePayment).where(OnlinePayment.trans_id == trans_id))


def start(session: Session, *, customer: Customer, invoice_id: int, reference: str) -> OnlinePayment:
    """The customer's card payment of what is unpaid of an invoice, as ``new`` (the caller commits).

    The same ``reference`` again (a double click) returns the first payment. A recent pending payment
    of the same invoice and amount is returned too (the customer clicked again after closing the
    gateway's page): one transaction to pay, not two.
    """
    reference = (reference or "").strip()
    if not REFERENCE_RE.match(reference):
        raise OnlinePaymentError(N_("The payment form has expired. Please try again."))
    existing = by_reference(session, reference)
    if existing is not None:
        if existing.customer_id != customer.id:
            raise OnlinePaymentError(N_("The payment form has expired. Please try again."))
        return existing
    if active_settings(session) is None:
        raise OnlinePaymentError(N_("Card payments are not available."))
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.customer_id != customer.id:
        raise OnlinePaymentError(N_("The invoice does not belong to this customer."))
    unpaid = unpaid_of(session, invoice)
    if unpaid <= 0:
        raise OnlinePaymentError(N_("The invoice %(number)s is paid already."), number=invoice.number)
    recent = session.scalar(select(OnlinePayment).where(
        OnlinePayment.invoice_id == invoice.id, OnlinePayment.customer_id == customer.id,
        OnlinePayment.state == gm.PENDING, OnlinePayment.amount == unpaid,
        OnlinePayment.redirect_url.is_not(None), OnlinePayment.created_at > utcnow() - REUSE_PENDING)
        .order_by(OnlinePayment.id.desc()).limit(1))
    if recent is not None:
        return recent
    location = session.get(Location, customer.location_id)
    payment = OnlinePayment(reference=reference, provider="comgate", customer_id=customer.id, invoice_id=invoice.id,
                            amount=unpaid, currency=(location.currency if location else None) or "CZK",
                            state=gm.NEW)
    session.add(payment)
    session.flush()
    return payment


def create_at_gateway(session: Session, payment: OnlinePayment, driver: GatewayDriver, *, email: str,
                      lang: str = "cs") -> OnlinePayment:
    """Ask the gateway for the transaction of a ``new`` payment (already committed); the caller commits.

    The row is claimed by an UPDATE first, so a double submit that reaches here twice waits for the
    first one and then finds the payment ``pending`` instead of making a second transaction.
    """
    claimed = session.execute(update(OnlinePayment).where(OnlinePayment.id == payment.id,
                                                          OnlinePayment.state == gm.NEW)
                              .values(state=gm.NEW)).rowcount
    session.refresh(payment)
    if not claimed or payment.state != gm.NEW:
        return payment
    invoice = session.get(Invoice, payment.invoice_id)
    request = PaymentRequest(reference=payment.reference, amount=payment.amount, currency=payment.currency,
                             label=f"Faktura {invoice.number}", email=email, lang=lang)
    try:
        created = driver.create(request)
    except GatewayError as exc:
        # no redirect URL reached the customer: whatever the gateway made, nobody can pay it
        payment.state, payment.error, payment.decided_at = gm.FAILED, str(exc)[:500], utcnow()
        session.flush()
        return payment
    payment.state, payment.trans_id, payment.redirect_url = gm.PENDING, created.trans_id[:64], created.redirect_url
    payment.test = bool(getattr(driver, "test", False))
    session.flush()
    return payment


# --- deciding a payment -----------------------------------------------------------------------------


def _book(session: Session, payment: OnlinePayment) -> None:
    # the document's variable symbol: billing sends an advance invoice's money to that advance
    invoice = session.get(Invoice, payment.invoice_id)
    recorded = record_payment(
        session, location_id=payment.location_id, customer_id=payment.customer_id, amount=payment.amount,
        method="card", received_on=date.today(), idempotency_key=f"gateway:{payment.reference}", actor_id=None,
        variable_symbol=invoice.variable_symbol if invoice else None,
        note=f"{payment.provider} {payment.trans_id}" + (f" {invoice.number}" if invoice else ""))
    payment.billing_payment_id = recorded.payment.id


def apply_status(session: Session, payment: OnlinePayment, status: Status) -> OnlinePayment:
    """Take the gateway's record of the transaction (the row is locked by the caller)."""
    if status.trans_id != payment.trans_id or status.reference != payment.reference:
        payment.error = f"the gateway answered about {status.trans_id!r} / {status.reference!r}"[:500]
        session.flush()
        return payment
    payment.gateway_state = status.state
    if status.amount != payment.amount or status.currency != payment.currency:
        # the amount changed between start and now: refused, never booked as something else
        payment.state, payment.decided_at = gm.MISMATCH, utcnow()
        payment.error = (f"the gateway reports {status.amount} {status.currency} ({status.state}), "
                         f"not {payment.amount} {payment.currency}")[:500]
    elif status.state == PAID:
        payment.state, payment.decided_at, payment.error = gm.PAID, utcnow(), None
        session.flush()
        _book(session, payment)
    elif status.state == CANCELLED:
        payment.state, payment.decided_at, payment.error = gm.CANCELLED, utcnow(), None
    session.flush()
    return payment


def settle(session: Session, payment: OnlinePayment, driver: GatewayDriver) -> OnlinePayment:
    """Decide a ``pending`` payment by the gateway's status; anything decided stays as it is."""
    if payment.state != gm.PENDING:
        return payment
    # the return, a notification and the job may settle one payment at once: one waits for the other
    session.execute(select(OnlinePayment.id).where(OnlinePayment.id == payment.id).with_for_update())
    session.refresh(payment)
    if payment.state != gm.PENDING or not payment.trans_id:
        return payment
    payment.checks += 1
    payment.checked_at = utcnow()
    try:
        status = driver.status(payment.trans_id)
    except GatewayError as exc:
        payment.error = f"status: {exc}"[:500]
        session.flush()
        return payment
    payment.error = None  # the gateway answered: an earlier failure to ask is history
    return apply_status(session, payment, status)


@dataclass(frozen=True)
class Settled:
    paid: int = 0
    cancelled: int = 0
    pending: int = 0
    failed: int = 0
    mismatch: int = 0

    def text(self) -> str:
        return (f"paid {self.paid}, cancelled {self.cancelled}, still pending {self.pending}, failed {self.failed}, "
                f"amount mismatch {self.mismatch}")


def waiting(session: Session, now: datetime | None = None) -> list[OnlinePayment]:
    """Pending payments old enough for the job (the return and the notification had their chance)."""
    limit = (now or utcnow()) - SETTLE_AFTER
    return list(session.scalars(select(OnlinePayment).where(OnlinePayment.state == gm.PENDING,
                                                            OnlinePayment.created_at < limit)
                                .order_by(OnlinePayment.id)))


def settle_all(session: Session, driver: GatewayDriver, *, now: datetime | None = None) -> Settled:
    """The job: settle every waiting pending payment; ``new`` ones left behind by a crash become failed."""
    counts = {s: 0 for s in ("paid", "cancelled", "pending", "failed", "mismatch")}
    stale = (now or utcnow()) - STALE_NEW
    for payment in session.scalars(select(OnlinePayment).where(OnlinePayment.state == gm.NEW,
                                                               OnlinePayment.created_at < stale)):
        # the process died between storing and asking the gateway: no redirect ever reached the customer
        payment.state, payment.decided_at = gm.FAILED, utcnow()
        payment.error = "the gateway was never asked (the request did not finish)"
        counts["failed"] += 1
    for payment in waiting(session, now):
        state = settle(session, payment, driver).state
        counts[state if state in counts else "pending"] += 1
    session.flush()
    return Settled(**counts)


def payments(session: Session, *, state: str | None = None, limit: int = 200) -> list[OnlinePayment]:
    query = select(OnlinePayment).order_by(OnlinePayment.id.desc()).limit(limit)
    if state:
        query = query.where(OnlinePayment.state == state)
    return list(session.scalars(query))
