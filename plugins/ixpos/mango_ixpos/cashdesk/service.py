"""The cash desk: registers, sessions, cash and card payments, reconciliation of lost answers.

Every function works in the caller's transaction and location scope. Money reaches billing only
through :func:`mango_billing.payments.service.record_payment`, keyed ``ixpos:<txn_id>``: whatever
is retried (a double submit, a reconcile after a lost answer, a duplicate answer), the ledger gets
one entry per desk payment, and billing's ``mango_payments_matched`` lifts debt blocks and settles
uniCredit at once.

A card payment is written as ``pending`` with its transaction id and **committed before the
terminal is asked** (:func:`start_card`, then the caller commits, then :func:`charge_card`):
``pending → approved | declined | unknown``; ``unknown`` (and a ``pending`` left behind by a crash)
is settled by :func:`reconcile`, which asks the terminal for its record of that id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_billing.models import Invoice
from mango_billing.payments import service as payments
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import N_, InvalidValue
from mango_ixpos.cashdesk.models import (
    APPROVED,
    CARD,
    CASH,
    CLOSED,
    DECLINED,
    OPEN,
    PENDING,
    PREPAID,
    RECEIVABLE,
    REFUND,
    TARGETS,
    UNKNOWN,
    CashPayment,
    CashRegister,
    CashSession,
    JournalEntry,
)
from mango_ixpos.cashdesk.report import local_today
from mango_ixpos.terminal.driver import (
    OutcomeUnknown,
    TerminalDriver,
    TerminalError,
    TerminalResult,
    TerminalUnavailable,
)

CENT = Decimal("0.01")
STALE_PENDING = timedelta(minutes=10)  # a pending card payment older than this lost its request


class CashDeskError(InvalidValue):
    """A cash-desk action that cannot be done (the message says why; translated in a request)."""


def _location_id(session: Session) -> int:
    from mango_core.tenancy.context import current_scope

    return current_scope().write_location_id


def money(value: object, field: str, *, allow_zero: bool = False) -> Decimal:
    """An amount typed by staff (``1 234,50`` accepted): at most two places, never a float."""
    if isinstance(value, float | bool):
        raise CashDeskError(N_("Enter an amount like 1234.50."), field=field)
    text = str(value if value is not None else "").strip().replace(" ", "").replace("\xa0", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise CashDeskError(N_("Enter an amount like 1234.50."), field=field) from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e10") or amount != amount.quantize(CENT):
        raise CashDeskError(N_("Enter an amount like 1234.50."), field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise CashDeskError(N_("The amount must be greater than zero."), field=field)
    return amount.quantize(CENT)


def journal(session: Session, event: str, *, register_id: int | None = None, session_id: int | None = None,
            payment_id: int | None = None, user_id: int | None = None, amount: Decimal | None = None,
            detail: str | None = None) -> JournalEntry:
    entry = JournalEntry(event=event, register_id=register_id, session_id=session_id, payment_id=payment_id,
                         user_id=user_id, amount=amount, detail=(detail or None) and detail[:500])
    session.add(entry)
    return entry


# --- registers and sessions ---------------------------------------------------------------------


def registers(session: Session, *, active_only: bool = False) -> list[CashRegister]:
    query = select(CashRegister).order_by(CashRegister.name)
    if active_only:
        query = query.where(CashRegister.is_active.is_(True))
    return list(session.scalars(query))


def get_register(session: Session, register_id: int) -> CashRegister:
    found = session.get(CashRegister, register_id)
    if found is None:
        raise CashDeskError(N_("No such cash register in this location."))
    return found


def create_register(session: Session, *, name: str, terminal_host: str | None = None,
                    terminal_port: object = None, actor: int | None = None) -> CashRegister:
    clean = (name or "").strip()
    if not clean or len(clean) > 80:
        raise CashDeskError(N_("Enter a name of at most 80 characters."), field="name")
    if session.scalar(select(CashRegister.id).where(CashRegister.name == clean)) is not None:
        raise CashDeskError(N_("A cash register of this name exists already."), field="name")
    host = (terminal_host or "").strip() or None
    port = None
    if host:
        text = str(terminal_port or "").strip()
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise CashDeskError(N_("Enter a port from 1 to 65535."), field="terminal_port")
        port = int(text)
        if len(host) > 200 or any(ch.isspace() for ch in host):
            raise CashDeskError(N_("Enter a host name or an IP address."), field="terminal_host")
    register = CashRegister(name=clean, terminal_host=host, terminal_port=port)
    session.add(register)
    session.flush()
    journal(session, "register_created", register_id=register.id, user_id=actor,
            detail=f"{clean} {host}:{port}" if host else clean)
    return register


def open_session_of(session: Session, register_id: int) -> CashSession | None:
    return session.scalar(select(CashSession).where(CashSession.register_id == register_id,
                                                    CashSession.state == OPEN))


def get_session(session: Session, cash_session_id: int) -> CashSession:
    found = session.get(CashSession, cash_session_id)
    if found is None:
        raise CashDeskError(N_("No such cash session in this location."))
    return found


def open_session(session: Session, *, register_id: int, opening_float: object, actor: int | None = None
                 ) -> CashSession:
    """Open a shift with the cash in the drawer; a register has one open session at most."""
    register = get_register(session, register_id)
    if not register.is_active:
        raise CashDeskError(N_("This cash register is switched off."))
    amount = money(opening_float, "opening_float", allow_zero=True)
    if open_session_of(session, register.id) is not None:
        raise CashDeskError(N_("This cash register has an open session already."))
    cash_session = CashSession(register_id=register.id, open_register_id=register.id, state=OPEN,
                               opening_float=amount, opened_by_id=actor)
    try:
        with session.begin_nested():
            session.add(cash_session)
            session.flush()
    except IntegrityError:
        # another clerk opened it at the same moment: the unique constraint decided
        raise CashDeskError(N_("This cash register has an open session already.")) from None
    journal(session, "session_opened", register_id=register.id, session_id=cash_session.id, user_id=actor,
            amount=amount)
    return cash_session


def cash_taken(session: Session, cash_session_id: int) -> Decimal:
    """Cash that went into the drawer during the session: approved cash payments less cash refunds."""
    rows = session.execute(select(CashPayment.kind, func.sum(CashPayment.amount)).where(
        CashPayment.session_id == cash_session_id, CashPayment.method == CASH, CashPayment.state == APPROVED)
        .group_by(CashPayment.kind)).all()
    total = sum((Decimal(amount or 0) * (-1 if kind == REFUND else 1) for kind, amount in rows), Decimal(0))
    return Decimal(total).quantize(CENT)


def close_session(session: Session, *, cash_session_id: int, counted: object, actor: int | None = None,
                  note: str | None = None) -> CashSession:
    """Close a shift: expected cash = float + cash taken; the difference (counted − expected) is kept."""
    cash_session = get_session(session, cash_session_id)
    if cash_session.state != OPEN:
        raise CashDeskError(N_("This cash session is closed already."))
    counted_cash = money(counted, "counted", allow_zero=True)
    waiting = session.scalar(select(func.count()).select_from(CashPayment).where(
        CashPayment.session_id == cash_session.id, CashPayment.state.in_((PENDING, UNKNOWN))))
    if waiting:
        raise CashDeskError(N_("Card payments with an unknown result must be reconciled before closing."))
    expected = cash_session.opening_float + cash_taken(session, cash_session.id)
    cash_session.state = CLOSED
    cash_session.open_register_id = None
    cash_session.closed_at = utcnow()
    cash_session.closed_by_id = actor
    cash_session.expected_cash = expected
    cash_session.counted_cash = counted_cash
    cash_session.difference = counted_cash - expected
    cash_session.note = (note or "").strip()[:500] or None
    session.flush()
    journal(session, "session_closed", register_id=cash_session.register_id, session_id=cash_session.id,
            user_id=actor, amount=counted_cash,
            detail=f"expected {expected} counted {counted_cash} difference {cash_session.difference}")
    return cash_session


def sessions(session: Session, limit: int = 200) -> list[CashSession]:
    return list(session.scalars(select(CashSession).order_by(CashSession.opened_at.desc(), CashSession.id.desc())
                                .limit(limit)))


# --- payments -----------------------------------------------------------------------------------


def new_txn_id() -> str:
    return uuid.uuid4().hex


def round_cash(amount: Decimal, currency: str = "CZK") -> Decimal:
    """Cash in CZK is paid in whole crowns (ROUND_HALF_UP); the rest of a debt stays open."""
    if currency == "CZK":
        return amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP).quantize(CENT)
    return amount


@dataclass(frozen=True)
class PaymentRequest:
    """What the clerk entered: who pays how much, for what, and the one-time key of the form."""

    customer_id: int
    amount: object
    target: str = RECEIVABLE
    invoice_id: int | None = None
    tendered: object = None
    txn_id: str = ""


def _prepare(session: Session, cash_session: CashSession, request: PaymentRequest, method: str
             ) -> tuple[Decimal, Customer, Invoice | None] | CashPayment:
    """Validated values, or the payment of the same transaction id when it exists already."""
    txn = (request.txn_id or "").strip()
    if not txn or len(txn) > 40 or not all(ch.isalnum() or ch == "-" for ch in txn):
        raise CashDeskError(N_("The form has expired; open the cash desk again."))
    existing = session.scalar(select(CashPayment).where(CashPayment.txn_id == txn))
    if existing is not None:
        return existing
    if cash_session.state != OPEN:
        raise CashDeskError(N_("Open a cash session first."))
    if request.target not in TARGETS:
        raise CashDeskError(N_("Choose invoices or uniCredit."), field="target")
    customer = session.get(Customer, request.customer_id)
    if customer is None:
        raise CashDeskError(N_("No such customer in this location."), field="customer_id")
    amount = money(request.amount, "amount")
    invoice = None
    if request.invoice_id:
        invoice = session.get(Invoice, request.invoice_id)
        if invoice is None or invoice.customer_id != customer.id:
            raise CashDeskError(N_("The invoice does not belong to this customer."), field="invoice_id")
        if request.target == PREPAID:
            raise CashDeskError(N_("A uniCredit top-up pays no invoice."), field="invoice_id")
    return amount, customer, invoice


def _book(session: Session, payment: CashPayment, actor: int | None) -> None:
    """Hand an approved payment (or refund) to billing: one ledger entry per transaction id, whatever repeats."""
    location_id = payment.location_id or _location_id(session)
    today = local_today(session.get(Location, location_id).timezone)  # the day on the receipt
    if payment.kind == REFUND:
        recorded = payments.refund_credit(
            session, location_id=location_id, customer_id=payment.customer_id, amount=payment.amount,
            method=payment.method, paid_on=today, idempotency_key=f"ixpos:{payment.txn_id}", actor_id=actor,
            target=payment.target)
        payment.billing_payment_id = recorded.payment.id
        return
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    recorded = payments.record_payment(
        session, location_id=location_id, customer_id=payment.customer_id,
        amount=payment.amount, method=payment.method, received_on=today,
        idempotency_key=f"ixpos:{payment.txn_id}", actor_id=actor, target=payment.target,
        variable_symbol=invoice.variable_symbol if invoice else None,
        note=f"iXpos {payment.number}" + (f" {invoice.number}" if invoice else ""))
    payment.billing_payment_id = recorded.payment.id


def take_cash(session: Session, cash_session: CashSession, request: PaymentRequest, *, actor: int | None = None
              ) -> CashPayment:
    """Cash into the drawer: approved and booked at once (a repeated form returns the first payment)."""
    prepared = _prepare(session, cash_session, request, CASH)
    if isinstance(prepared, CashPayment):
        return prepared
    amount, customer, invoice = prepared
    tendered = change = None
    if request.tendered not in (None, ""):
        tendered = money(request.tendered, "tendered")
        if tendered < amount:
            raise CashDeskError(N_("The cash handed over is less than the amount."), field="tendered")
        change = tendered - amount
    payment = CashPayment(txn_id=request.txn_id.strip(), session_id=cash_session.id, customer_id=customer.id,
                          method=CASH, target=request.target, invoice_id=invoice.id if invoice else None,
                          amount=amount, currency=_currency(session), tendered=tendered, change=change,
                          state=APPROVED, created_by_id=actor, decided_at=utcnow())
    session.add(payment)
    session.flush()
    _book(session, payment, actor)
    journal(session, "cash_payment", register_id=cash_session.register_id, session_id=cash_session.id,
            payment_id=payment.id, user_id=actor, amount=amount, detail=f"{customer.number} {request.target}")
    session.flush()
    return payment


def _currency(session: Session) -> str:
    location = session.get(Location, _location_id(session))
    return (location.currency if location is not None else None) or "CZK"


def start_card(session: Session, cash_session: CashSession, request: PaymentRequest, *, actor: int | None = None
               ) -> CashPayment:
    """Write the card payment as ``pending`` under its transaction id; commit before :func:`charge_card`."""
    prepared = _prepare(session, cash_session, request, CARD)
    if isinstance(prepared, CashPayment):
        return prepared
    amount, customer, invoice = prepared
    if not cash_session.register.terminal_host:
        raise CashDeskError(N_("This cash register has no card terminal."))
    payment = CashPayment(txn_id=request.txn_id.strip(), session_id=cash_session.id, customer_id=customer.id,
                          method=CARD, target=request.target, invoice_id=invoice.id if invoice else None,
                          amount=amount, currency=_currency(session), state=PENDING, created_by_id=actor)
    session.add(payment)
    session.flush()
    journal(session, "card_pending", register_id=cash_session.register_id, session_id=cash_session.id,
            payment_id=payment.id, user_id=actor, amount=amount, detail=f"{customer.number} txn {payment.txn_id}")
    return payment


def apply_result(session: Session, payment: CashPayment, result: TerminalResult, *, actor: int | None = None,
                 event: str | None = None) -> CashPayment:
    """Take the terminal's answer about ``payment``; a second answer about it changes nothing."""
    if payment.state in (APPROVED, DECLINED):
        return payment
    if result.txn_id != payment.txn_id:
        raise TerminalError(f"answer about {result.txn_id!r}, not {payment.txn_id!r}")
    if result.approved and result.amount != payment.amount:
        # the terminal charged something else: a person has to look; the state stays open
        payment.state = UNKNOWN
        payment.error = f"the terminal charged {result.amount}, not {payment.amount}"
        session.flush()
        return payment
    payment.auth_code = result.auth_code
    payment.card = result.card
    payment.decided_at = utcnow()
    if result.approved:
        payment.state = APPROVED
        payment.error = None
        session.flush()
        _book(session, payment, actor)
    else:
        payment.state = DECLINED
        payment.error = (result.message or "declined")[:500]
    cash_session = payment.session
    journal(session, event or ("card_approved" if result.approved else "card_declined"),
            register_id=cash_session.register_id, session_id=cash_session.id, payment_id=payment.id, user_id=actor,
            amount=payment.amount if result.approved else None,
            detail=f"txn {payment.txn_id} auth {result.auth_code or '-'} {result.message or ''}".strip())
    session.flush()
    return payment


def _unknown(session: Session, payment: CashPayment, error: str, actor: int | None) -> CashPayment:
    payment.state = UNKNOWN
    payment.error = error[:500]
    cash_session = payment.session
    journal(session, "card_unknown", register_id=cash_session.register_id, session_id=cash_session.id,
            payment_id=payment.id, user_id=actor, amount=payment.amount, detail=f"txn {payment.txn_id}: {error}")
    session.flush()
    return payment


def charge_card(session: Session, payment: CashPayment, driver: TerminalDriver, *, actor: int | None = None
                ) -> CashPayment:
    """Ask the terminal to charge a ``pending`` payment (already committed) and take its answer."""
    if payment.state != PENDING:
        return payment
    try:
        if payment.kind == REFUND:
            original = session.get(CashPayment, payment.refund_of_id)
            result = driver.refund(payment.txn_id, payment.amount, payment.currency, original.txn_id)
        else:
            result = driver.sale(payment.txn_id, payment.amount, payment.currency)
    except TerminalUnavailable as exc:
        # nothing reached the terminal: nobody was charged
        return apply_result(session, payment, TerminalResult(payment.txn_id, False, payment.amount,
                                                             message=str(exc)), actor=actor)
    except OutcomeUnknown as exc:
        return _unknown(session, payment, str(exc), actor)
    except TerminalError as exc:
        return _unknown(session, payment, str(exc), actor)
    return apply_result(session, payment, result, actor=actor)


def reconcile(session: Session, payment: CashPayment, driver: TerminalDriver, *, actor: int | None = None
              ) -> CashPayment:
    """Settle an ``unknown`` (or stale ``pending``) card payment by the terminal's own record of it.

    The terminal approved it → booked now; it has no record → it never got the request, nobody was
    charged → declined; no answer again → still unknown (try later).
    """
    if payment.method != CARD or payment.state not in (UNKNOWN, PENDING):
        return payment
    # the job and a clerk may reconcile the same payment at once: the row lock makes one of them wait
    session.execute(select(CashPayment.id).where(CashPayment.id == payment.id).with_for_update())
    session.refresh(payment)
    if payment.state not in (UNKNOWN, PENDING):
        return payment
    try:
        result = driver.last_transaction(payment.txn_id)
    except TerminalError as exc:
        payment.error = f"reconcile: {exc}"[:500]
        session.flush()
        return payment
    if result is None:
        result = TerminalResult(payment.txn_id, False, payment.amount,
                                message="the terminal has no record of this transaction: not charged")
    return apply_result(session, payment, result, actor=actor, event="card_reconciled")


def waiting_payments(session: Session, now: datetime | None = None) -> list[CashPayment]:
    """Card payments to reconcile: unknown ones and pending ones left behind (older than 10 minutes)."""
    limit = (now or utcnow()) - STALE_PENDING
    return list(session.scalars(select(CashPayment).where(
        CashPayment.method == CARD,
        (CashPayment.state == UNKNOWN) | ((CashPayment.state == PENDING) & (CashPayment.created_at < limit)))
        .order_by(CashPayment.id)))


def reconcile_all(session: Session, driver_for, *, actor: int | None = None) -> dict[str, int]:  # noqa: ANN001
    """Reconcile every waiting card payment of the location; ``driver_for(register)`` gives its driver."""
    counts = {APPROVED: 0, DECLINED: 0, UNKNOWN: 0}
    drivers: dict[int, TerminalDriver] = {}
    try:
        for payment in waiting_payments(session):
            register = payment.session.register
            if register.id not in drivers:
                drivers[register.id] = driver_for(register)
            state = reconcile(session, payment, drivers[register.id], actor=actor).state
            counts[state if state in counts else UNKNOWN] += 1
    finally:
        for driver in drivers.values():
            driver.close()
    return counts


def refund_of(session: Session, payment: CashPayment) -> CashPayment | None:
    """The refund of ``payment`` that is done or under way (a declined one does not count)."""
    return session.scalar(select(CashPayment).where(CashPayment.refund_of_id == payment.id,
                                                    CashPayment.state != DECLINED))


def start_refund(session: Session, original: CashPayment, cash_session: CashSession, txn_id: str, *,
                 actor: int | None = None) -> CashPayment:
    """Pay a desk payment back in full, the way it came: cash from the drawer (booked at once), or to
    the card through the terminal (``pending`` like a sale: commit, then :func:`charge_card`)."""
    txn = (txn_id or "").strip()
    if not txn or len(txn) > 40 or not all(ch.isalnum() or ch == "-" for ch in txn):
        raise CashDeskError(N_("The form has expired; open the cash desk again."))
    existing = session.scalar(select(CashPayment).where(CashPayment.txn_id == txn))
    if existing is not None:
        return existing
    if cash_session.state != OPEN:
        raise CashDeskError(N_("Open a cash session first."))
    # two clerks refunding the same payment at once: the row lock makes the second one see the first
    session.execute(select(CashPayment.id).where(CashPayment.id == original.id).with_for_update())
    if original.kind != "payment" or original.state != APPROVED:
        raise CashDeskError(N_("Only a paid payment can be refunded."))
    if refund_of(session, original) is not None:
        raise CashDeskError(N_("This payment has been refunded already."))
    if original.method == CARD and not cash_session.register.terminal_host:
        raise CashDeskError(N_("This cash register has no card terminal."))
    refund = CashPayment(txn_id=txn, session_id=cash_session.id, customer_id=original.customer_id,
                         method=original.method, kind=REFUND, refund_of_id=original.id, target=original.target,
                         amount=original.amount, currency=original.currency, created_by_id=actor,
                         state=APPROVED if original.method == CASH else PENDING,
                         decided_at=utcnow() if original.method == CASH else None)
    session.add(refund)
    session.flush()
    if refund.method == CASH:
        _book(session, refund, actor)
        event = "cash_refund"
    else:
        event = "card_pending"
    journal(session, event, register_id=cash_session.register_id, session_id=cash_session.id, payment_id=refund.id,
            user_id=actor, amount=refund.amount, detail=f"refund of {original.number} txn {txn}")
    session.flush()
    return refund


def get_payment(session: Session, payment_id: int) -> CashPayment:
    found = session.get(CashPayment, payment_id)
    if found is None:
        raise CashDeskError(N_("No such payment in this location."))
    return found


def payments_of(session: Session, cash_session_id: int) -> list[CashPayment]:
    return list(session.scalars(select(CashPayment).where(CashPayment.session_id == cash_session_id)
                                .order_by(CashPayment.id)))


def journal_entries(session: Session, limit: int = 500) -> list[JournalEntry]:
    return list(session.scalars(select(JournalEntry).order_by(JournalEntry.id.desc()).limit(limit)))
