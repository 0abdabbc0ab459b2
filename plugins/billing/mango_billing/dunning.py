"""Dunning: what happens to overdue invoices, step by step, and the automatic unblock.

A location configures its steps (:class:`~mango_billing.models.DunningStep`): after ``days``
overdue do ``action`` — a reminder letter, a block of the customer's services (lifecycle block
kind ``debt``) or a termination proposal (a list for staff; nothing is terminated here).

Rules:

* :func:`plan` is a dry run: it lists :class:`Proposal` s (one per customer and step) and changes
  nothing. :func:`execute` acts on a list of proposals, after checking each against a fresh plan,
  so a list shown in Opcare an hour ago never blocks a customer who has paid since.
* Per invoice only its *highest* reached step is proposed; a step is done once per invoice
  (``DunningAction`` is unique per invoice and step, the database refuses a second one), so a
  re-run, even a concurrent one, does nothing twice. Steps skipped because a later one was
  reached at once (dunning just switched on) are not done later.
* Disputed invoices (an open :class:`InvoiceDispute`) are left out; a customer whose overdue
  debt is below a step's ``minimum_debt`` is left out of that step; a customer with
  ``BillingProfile.never_block`` is never blocked (reminders still go).
* Every step goes to the customer's history. A reminder letter is rendered to PDF through the
  core documents (kind ``billing_reminder``), archived with the customer, and e-mailed with the
  letter attached through the core's outbox (:mod:`mango_core.mail`, sent by ``core:send_mail``)
  to the customer's billing e-mails; the action's detail says to whom.
* :func:`lift_debt_blocks` ends ``debt`` blocks (only that kind; a manual block stays) of
  customers who have no overdue debt past the block step any more, and charges the block
  step's fee (reconnection fee) as a :class:`Charge` for the next invoice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_billing import ledger
from mango_billing.models import (
    BillingProfile,
    Charge,
    DunningAction,
    DunningStep,
    Invoice,
    InvoiceDispute,
    LedgerEntry,
)
from mango_core import history
from mango_core.customers.models import Customer
from mango_core.services import lifecycle
from mango_core.services.errors import ServiceError
from mango_core.services.models import ACTIVE, BLOCKED, DEBT, Service, ServiceBlock
from mango_core.tenancy.models import Location

log = logging.getLogger(__name__)

ACTIONS = ("reminder", "block", "termination_proposal")
REMINDER_KIND = "billing_reminder"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
VAT_STANDARD = Decimal("21")
# Texts that land on invoices and in the history are Czech: the documents are Czech tax documents.
REMINDER_FEE_TEXT = "Poplatek za upomínku ({step})"
RECONNECTION_FEE_TEXT = "Poplatek za obnovení služeb po blokaci"

# The defaults a location may start from (the steps UI offers them when there are none).
DEFAULT_STEPS = (
    {"position": 1, "days": 7, "action": "reminder", "name": "1. upomínka", "fee": Decimal("0")},
    {"position": 2, "days": 21, "action": "reminder", "name": "2. upomínka", "fee": Decimal("0")},
    {"position": 3, "days": 30, "action": "block", "name": "Blokace služeb", "fee": Decimal("200")},
    {"position": 4, "days": 60, "action": "termination_proposal", "name": "Návrh na ukončení smlouvy",
     "fee": Decimal("0")},
)


class DunningError(ValueError):
    """Bad dunning input (a step's field, an unknown step); ``field`` names the field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- steps -----------------------------------------------------------------------------------


def steps(session: Session) -> list[DunningStep]:
    """The location's steps in the order they are reached (days, then position)."""
    return list(session.scalars(select(DunningStep).order_by(DunningStep.days, DunningStep.position)))


def get_step(session: Session, step_id: int) -> DunningStep:
    found = session.get(DunningStep, step_id)
    if found is None:
        raise DunningError(f"dunning step {step_id} not found in this location", "step")
    return found


def _int(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise DunningError(f"{name}: expected a whole number, got {value!r}", name) from exc
    if not low <= number <= high:
        raise DunningError(f"{name}: expected a number from {low} to {high}, got {number}", name)
    return number


def money(value: Any, name: str) -> Decimal:
    """An amount ≥ 0 with at most 2 decimal places (``1 234,50`` accepted), rounded nowhere."""
    if isinstance(value, float):
        raise DunningError(f"{name}: an amount is a decimal number, not a float", name)
    text = str(value if value is not None else "").strip().replace(" ", "").replace("\xa0", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise DunningError(f"{name}: expected an amount like 150.00, got {value!r}", name) from exc
    # the size check comes before quantize, which fails on huge numbers
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12") or amount != amount.quantize(CENT):
        raise DunningError(f"{name}: expected an amount ≥ 0 with at most 2 decimal places, got {value!r}", name)
    return amount.quantize(CENT)


def save_step(session: Session, *, step: DunningStep | None = None, position: Any, days: Any, action: Any,
              name: Any, fee: Any = "0", minimum_debt: Any = "1") -> DunningStep:
    """Create or change a step; every field is checked before anything changes."""
    clean_position = _int(position, "position", 1, 99)
    clean_days = _int(days, "days", 1, 3650)
    if action not in ACTIONS:
        raise DunningError(f"action: expected one of {', '.join(ACTIONS)}, got {action!r}", "action")
    clean_name = " ".join(str(name or "").split())
    if not clean_name or len(clean_name) > 100:
        raise DunningError("name: expected a name of 1 to 100 characters", "name")
    clean_fee = money(fee, "fee")
    clean_minimum = money(minimum_debt, "minimum_debt")
    clash = session.scalar(select(DunningStep.id).where(DunningStep.position == clean_position))
    if clash is not None and (step is None or clash != step.id):
        raise DunningError(f"position: another step has position {clean_position}", "position")
    if step is None:
        step = DunningStep()
        session.add(step)
    step.position, step.days, step.action, step.name = clean_position, clean_days, action, clean_name
    step.fee, step.minimum_debt = clean_fee, clean_minimum
    session.flush()
    return step


def delete_step(session: Session, step: DunningStep) -> None:
    """Delete a step nobody acted on yet (a step that was done stays: its actions point at it)."""
    used = session.scalar(select(func.count()).select_from(DunningAction).where(DunningAction.step_id == step.id))
    if used:
        raise DunningError("this step was already done for some invoices; change it instead of deleting it", "step")
    session.delete(step)
    session.flush()


def create_default_steps(session: Session) -> list[DunningStep]:
    """The usual four steps, for a location that has none yet."""
    if steps(session):
        raise DunningError("the location has dunning steps already", "step")
    return [save_step(session, **{**values, "minimum_debt": Decimal("1")}) for values in DEFAULT_STEPS]


# --- disputes and never-block -----------------------------------------------------------------


def open_dispute(session: Session, invoice: Invoice, reason: str, *, actor: int | None = None) -> InvoiceDispute:
    text = (reason or "").strip()
    if not text:
        raise DunningError("reason: say why the invoice is disputed", "reason")
    if disputed_invoice_ids(session, [invoice.id]):
        raise DunningError(f"invoice {invoice.number} is disputed already", "invoice")
    dispute = InvoiceDispute(invoice_id=invoice.id, reason=text[:2000], opened_by_id=actor)
    session.add(dispute)
    session.flush()
    history.record(session, entity="invoice", entity_id=invoice.id, customer_id=invoice.customer_id,
                   action="dispute_opened", changes={"dispute": (None, invoice.number)}, reason=text, user_id=actor)
    return dispute


def resolve_dispute(session: Session, dispute: InvoiceDispute, *, actor: int | None = None,
                    note: str | None = None) -> None:
    from mango_core.db import utcnow

    if dispute.resolved_at is not None:
        raise DunningError("the dispute is resolved already", "dispute")
    dispute.resolved_at = utcnow()
    invoice = session.get(Invoice, dispute.invoice_id)
    session.flush()
    history.record(session, entity="invoice", entity_id=dispute.invoice_id,
                   customer_id=invoice.customer_id if invoice else None, action="dispute_resolved",
                   changes={"dispute": (invoice.number if invoice else dispute.invoice_id, None)}, reason=note,
                   user_id=actor)


def disputed_invoice_ids(session: Session, invoice_ids: Iterable[int] | None = None) -> set[int]:
    stmt = select(InvoiceDispute.invoice_id).where(InvoiceDispute.resolved_at.is_(None))
    if invoice_ids is not None:
        ids = list(invoice_ids)
        if not ids:
            return set()
        stmt = stmt.where(InvoiceDispute.invoice_id.in_(ids))
    return set(session.scalars(stmt))


def profile(session: Session, customer_id: int, *, create: bool = False) -> BillingProfile | None:
    found = session.scalar(select(BillingProfile).where(BillingProfile.customer_id == customer_id))
    if found is None and create:
        found = BillingProfile(customer_id=customer_id)
        session.add(found)
        session.flush()
    return found


def set_never_block(session: Session, customer: Customer, value: bool, *, actor: int | None = None,
                    reason: str | None = None) -> None:
    prof = profile(session, customer.id, create=True)
    before = bool(prof.never_block)
    prof.never_block = bool(value)
    session.flush()
    history.record(session, entity="customer", entity_id=customer.id, customer_id=customer.id,
                   action="billing_changed", changes={"never_block": (before, bool(value))}, reason=reason,
                   user_id=actor)


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposedInvoice:
    invoice_id: int
    number: str
    due_date: date
    unpaid: Decimal
    overdue_days: int


@dataclass(frozen=True)
class Proposal:
    """Do ``step`` for these overdue invoices of one customer."""

    customer_id: int
    customer_number: int
    customer_name: str
    step_id: int
    step_name: str
    action: str
    invoices: tuple[ProposedInvoice, ...]
    debt: Decimal  # the customer's overdue, undisputed unpaid total
    fee: Decimal

    @property
    def key(self) -> str:
        return f"{self.customer_id}:{self.step_id}"

    @property
    def amount(self) -> Decimal:
        return sum((i.unpaid for i in self.invoices), ZERO)


def debtors(session: Session) -> dict[int, Decimal]:
    """Customers whose receivable balance is negative, with that balance."""
    total = func.sum(LedgerEntry.amount)
    rows = session.execute(select(LedgerEntry.customer_id, total).where(LedgerEntry.account == "receivable")
                           .group_by(LedgerEntry.customer_id).having(total < 0))
    return {cid: Decimal(amount).quantize(CENT) for cid, amount in rows}


def _overdue(session: Session, customer_id: int, today: date, disputed: set[int]) -> list[ledger.OpenItem]:
    return [i for i in ledger.open_items(session, customer_id)
            if i.overdue_days(today) > 0 and i.invoice_id not in disputed]


def plan(session: Session, today: date) -> list[Proposal]:
    """What dunning would do today in the current location (a dry run: nothing changes)."""
    ordered = steps(session)
    if not ordered:
        return []
    owing = debtors(session)
    if not owing:
        return []
    never_block = set(session.scalars(select(BillingProfile.customer_id)
                                      .where(BillingProfile.never_block.is_(True),
                                             BillingProfile.customer_id.in_(list(owing)))))
    disputed = disputed_invoice_ids(session)
    overdue = {cid: _overdue(session, cid, today, disputed) for cid in sorted(owing)}
    overdue = {cid: items for cid, items in overdue.items() if items}
    invoice_ids = [i.invoice_id for items in overdue.values() for i in items]
    done: set[tuple[int, int]] = set()
    for chunk_start in range(0, len(invoice_ids), 500):
        chunk = invoice_ids[chunk_start:chunk_start + 500]
        done |= {(invoice_id, step_id) for invoice_id, step_id in session.execute(
            select(DunningAction.invoice_id, DunningAction.step_id).where(DunningAction.invoice_id.in_(chunk)))}
    by_id = {s.id: s for s in ordered}
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(list(overdue))))} \
        if overdue else {}
    proposals = []
    for cid, items in overdue.items():
        debt = sum((i.unpaid for i in items), ZERO)
        eligible = [s for s in ordered if not (s.action == "block" and cid in never_block)]
        groups: dict[int, list[ProposedInvoice]] = defaultdict(list)
        for item in items:
            days = item.overdue_days(today)
            reached = [s for s in eligible if s.days <= days]
            if not reached:
                continue
            top = reached[-1]
            if (item.invoice_id, top.id) in done or debt < top.minimum_debt:
                continue
            groups[top.id].append(ProposedInvoice(item.invoice_id, item.number, item.due_date, item.unpaid, days))
        customer = customers[cid]
        for step_id, invoices in groups.items():
            step = by_id[step_id]
            proposals.append(Proposal(cid, customer.number, customer.display_name, step.id, step.name, step.action,
                                      tuple(invoices), debt, step.fee))
    order = {s.id: n for n, s in enumerate(ordered)}
    proposals.sort(key=lambda p: (-order[p.step_id], p.customer_name.lower(), p.customer_id))
    return proposals


# --- acting -------------------------------------------------------------------------------------


@dataclass
class Result:
    reminders: int = 0
    blocks: int = 0
    terminations: int = 0
    skipped: int = 0  # no longer due (paid meanwhile, done by another run)
    failed: list[tuple[str, str]] = field(default_factory=list)
    done: list[Proposal] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"{self.reminders} reminders, {self.blocks} blocks, {self.terminations} termination proposals, "
                f"{self.skipped} skipped")
        return text + (f", {len(self.failed)} failed" if self.failed else "")


class _Skip(Exception):
    pass


def execute(session: Session, proposals: Iterable[Proposal], today: date, *, actor: int | None = None) -> Result:
    """Act on ``proposals`` — each only as far as a fresh :func:`plan` still proposes it.

    Each proposal runs in a savepoint: one that fails (a letter template broken) is rolled back
    and reported; the others go on. The caller commits.
    """
    fresh = {p.key: p for p in plan(session, today)}
    result = Result()
    steps_by_id = {s.id: s for s in steps(session)}
    for wanted in proposals:
        current = fresh.get(wanted.key)
        chosen = {i.invoice_id for i in wanted.invoices}
        invoices = tuple(i for i in current.invoices if i.invoice_id in chosen) if current else ()
        if not invoices:
            result.skipped += 1
            continue
        proposal = Proposal(**{**current.__dict__, "invoices": invoices})
        step = steps_by_id[proposal.step_id]
        try:
            with session.begin_nested():
                _act(session, proposal, step, today, actor)
        except _Skip:
            result.skipped += 1
            continue
        except (DunningError, ServiceError, ValueError) as exc:
            log.warning("dunning %s for customer %s failed: %s", step.name, proposal.customer_number, exc)
            result.failed.append((proposal.key, f"{proposal.customer_name}: {step.name}: {exc}"))
            continue
        result.done.append(proposal)
        if step.action == "reminder":
            result.reminders += 1
        elif step.action == "block":
            result.blocks += 1
        else:
            result.terminations += 1
    return result


def run(session: Session, today: date, *, dry_run: bool = False, actor: int | None = None) -> tuple[list[Proposal],
                                                                                                     Result | None]:
    """The job's and the command line's entry: plan, and act on the whole plan unless ``dry_run``."""
    proposals = plan(session, today)
    if dry_run:
        return proposals, None
    return proposals, execute(session, proposals, today, actor=actor)


def _act(session: Session, proposal: Proposal, step: DunningStep, today: date, actor: int | None) -> None:
    for item in proposal.invoices:
        session.add(DunningAction(invoice_id=item.invoice_id, step_id=step.id, customer_id=proposal.customer_id,
                                  debt=item.unpaid))
    try:
        session.flush()
    except IntegrityError as exc:  # another run did this step meanwhile
        raise _Skip() from exc
    customer = session.get(Customer, proposal.customer_id)
    if step.action == "reminder":
        detail = _remind(session, customer, proposal, step, today, actor)
    elif step.action == "block":
        detail = _block(session, customer, proposal, step, today, actor)
    else:
        detail = "termination proposed to staff (nothing terminated automatically)"
    for action in session.scalars(select(DunningAction).where(DunningAction.step_id == step.id,
                                                              DunningAction.invoice_id.in_(
                                                                  [i.invoice_id for i in proposal.invoices]))):
        action.detail = detail
    for item in proposal.invoices:
        history.record(session, entity="invoice", entity_id=item.invoice_id, customer_id=customer.id,
                       action=f"dunning_{step.action}"[:30],
                       changes={"dunning_step": (None, step.name), "unpaid": (None, item.unpaid)},
                       reason=f"{item.number}: {item.overdue_days} days overdue; {detail}"[:2000], user_id=actor)
    session.flush()


def _vat_rate(session: Session) -> Decimal:
    from mango_core.tenancy.context import current_scope

    location = session.get(Location, current_scope().write_location_id)
    return VAT_STANDARD if location is not None and location.vat_payer else Decimal("0")


def _charge(session: Session, customer_id: int, text: str, fee: Decimal, vat_rate: Decimal, on: date,
            actor: int | None) -> Charge:
    charge = Charge(customer_id=customer_id, description=text[:300], quantity=Decimal("1"),
                    unit_price=fee.quantize(CENT, ROUND_HALF_UP), vat_rate=vat_rate, charge_on=on,
                    created_by_id=actor)
    session.add(charge)
    session.flush()
    return charge


def billing_emails(customer: Customer) -> list[str]:
    """E-mails of the customer's billing contacts (any contact's when none has the billing role)."""
    contacts = [c for c in customer.contacts if c.role_billing] or list(customer.contacts)
    return [ch.value for c in contacts for ch in c.channels if ch.kind == "email"]


def _remind(session: Session, customer: Customer, proposal: Proposal, step: DunningStep, today: date,
            actor: int | None) -> str:
    from mango_core.documents import service as documents

    template = documents.default_template(session, REMINDER_KIND, actor=actor)
    context = reminder_context(session, customer, proposal, today)
    try:
        document = documents.generate(session, customer, template, actor=actor, context=context)
    except documents.DocumentError as exc:
        raise DunningError(f"the reminder letter cannot be made: {exc}", "template") from exc
    parts = [f"letter {document.file_name} archived"]
    if step.fee > 0:
        # a reminder fee is a contractual penalty, not a supply: outside VAT
        _charge(session, customer.id, REMINDER_FEE_TEXT.format(step=step.name), step.fee, Decimal("0"), today, actor)
        parts.append(f"fee {step.fee} charged")
    emails = billing_emails(customer)
    parts.append(_mail_reminder(session, customer, proposal, step, document, context) if emails
                 else "no e-mail address; letter only")
    return "; ".join(parts)


def _mail_reminder(session: Session, customer: Customer, proposal: Proposal, step: DunningStep, document: Any,
                   context: dict[str, Any]) -> str:
    """Queue the reminder e-mail with the letter (sent later by the core's ``core:send_mail``)."""
    from babel.numbers import format_currency

    from mango_core.mail import service as mail

    values = context["reminder"]
    seller = session.get(Location, customer.location_id)
    currency = (seller.currency if seller is not None else None) or "CZK"
    seller_name = (seller.company_name or seller.name) if seller is not None else ""
    rows = [f"  {r['number']}, splatná {r['due_date']:%d. %m. %Y}, dluží se "
            f"{format_currency(r['unpaid'], currency, locale='cs_CZ')}" for r in values["invoices"]]
    text = "\n".join(["Dobrý den,", "",
                      "evidujeme u Vás tyto neuhrazené doklady po splatnosti:", *rows, "",
                      f"Celkem k úhradě: {format_currency(values['total'], currency, locale='cs_CZ')}",
                      f"Prosíme o úhradu do {values['pay_by']:%d. %m. %Y} na variabilní symbol "
                      f"{customer.variable_symbol}.", "Pokud jste již zaplatili, považujte tuto zprávu za bezpředmětnou.",
                      "", "Upomínku najdete také v příloze.", "", "S pozdravem", seller_name, ""])
    key = f"dunning:{step.id}:" + ",".join(str(i.invoice_id) for i in proposal.invoices)
    try:
        mail.queue(session, to=billing_emails(customer), subject=f"{step.name} – {seller_name}".strip(" –"),
                   text=text, attachments=[mail.Attachment(document.file_name, document.content, document.media_type)],
                   entity="billing_reminder", entity_id=document.id, dedup_key=key[:200],
                   reply_to=seller.email if seller is not None and mail.EMAIL_RE.match(seller.email or "") else None)
    except mail.MailInputError as exc:  # a bad address in the contacts: the letter still counts
        return f"e-mail not queued: {exc}"
    return f"e-mail queued to {', '.join(billing_emails(customer))}"


def live_services(session: Session, customer_id: int) -> list[Service]:
    return list(session.scalars(select(Service).where(Service.customer_id == customer_id,
                                                      Service.state.in_((ACTIVE, BLOCKED))).order_by(Service.id)))


def _has_open(service: Service, kind: str) -> bool:
    return any(b.kind == kind and b.until is None for b in service.blocks)


def _block(session: Session, customer: Customer, proposal: Proposal, step: DunningStep, today: date,
           actor: int | None) -> str:
    blocked = []
    for service in live_services(session, customer.id):
        if _has_open(service, DEBT) or service.start_date > today:
            continue
        lifecycle.block(session, service, DEBT, effective=today, actor=actor,
                        reason=f"{step.name}: {', '.join(i.number for i in proposal.invoices)}")
        blocked.append(str(service.id))
    return f"services blocked: {', '.join(blocked)}" if blocked else "no live service to block"


def reminder_context(session: Session, customer: Customer, proposal: Proposal, today: date) -> dict[str, Any]:
    """The letter's context: the customer context of the core, plus the overdue invoices (plain values)."""
    from mango_core.documents.kinds import customer_context

    ctx = customer_context(session, customer)
    ctx.update(reminder=_reminder_values(proposal.step_name, proposal.action, proposal.invoices, proposal.debt,
                                         proposal.fee, today))
    return ctx


def _reminder_values(step_name: str, action: str, invoices: Iterable[ProposedInvoice], debt: Decimal, fee: Decimal,
                     today: date) -> dict[str, Any]:
    rows = [{"number": i.number, "due_date": i.due_date, "unpaid": i.unpaid, "overdue_days": i.overdue_days}
            for i in invoices]
    return {"step": step_name, "action": action, "invoices": rows,
            "total": sum((r["unpaid"] for r in rows), ZERO), "debt": debt, "fee": fee,
            "pay_by": today + timedelta(days=10)}


def sample_reminder_context() -> dict[str, Any]:
    from mango_core.documents.kinds import sample_context

    ctx = sample_context()
    today = date.today()
    invoice = ProposedInvoice(0, "FV2025000123", today - timedelta(days=10), Decimal("599.00"), 10)
    ctx["reminder"] = _reminder_values("1. upomínka", "reminder", [invoice], Decimal("599.00"), Decimal("0"), today)
    return ctx


def reminder_kind():  # noqa: ANN201 - a DocumentKind; the import stays lazy (documents need the app)
    from pathlib import Path

    from flask_babel import lazy_gettext as _l

    from mango_core.documents.kinds import DocumentKind, customer_context, default_text

    body = (Path(__file__).resolve().parent / "templates" / "billing" / "dunning_reminder_letter.html").read_text(
        encoding="utf-8")
    # not offered on the customer card: a reminder is made from overdue invoices, by dunning
    return DocumentKind(REMINDER_KIND, _l("Payment reminder"), customer_context, body, default_text("document.css"),
                        subject="billing_dunning", sample=sample_reminder_context)


# --- the automatic unblock -------------------------------------------------------------------


def _block_rule(session: Session) -> tuple[int, Decimal]:
    """(days, minimum debt) of the first block step; without one, any overdue debt keeps a block."""
    block_steps = [s for s in steps(session) if s.action == "block"]
    if not block_steps:
        return 1, CENT
    first = block_steps[0]
    return max(first.days, 1), first.minimum_debt


def reconnection_fee(session: Session, customer_id: int) -> Decimal:
    """The fee of the block step that blocked the customer last (the first block step's otherwise)."""
    last = session.scalar(select(DunningStep).join(DunningAction, DunningAction.step_id == DunningStep.id)
                          .where(DunningAction.customer_id == customer_id, DunningStep.action == "block")
                          .order_by(DunningAction.id.desc()).limit(1))
    if last is None:
        last = next((s for s in steps(session) if s.action == "block"), None)
    return last.fee if last is not None else ZERO


def debt_blocked_customers(session: Session) -> set[int]:
    """Customers with an open debt block: few, so callers ask this before looking at thousands of payments."""
    return set(session.scalars(
        select(Service.customer_id).join(ServiceBlock, ServiceBlock.service_id == Service.id)
        .where(ServiceBlock.kind == DEBT, ServiceBlock.until.is_(None)).distinct()))


def lift_debt_blocks(session: Session, customer_ids: Iterable[int], today: date | None = None, *,
                     actor: int | None = None) -> list[int]:
    """End the ``debt`` blocks of those customers who owe nothing past the block step any more.

    Returns the customers unblocked. Other kinds of block (manual, prepaid) stay as they are.
    """
    today = today or date.today()
    # one query finds the few customers with an open debt block (a bank import matches thousands)
    blocked = debt_blocked_customers(session) & set(customer_ids)
    if not blocked:
        return []
    days, minimum = _block_rule(session)
    unblocked = []
    disputed = disputed_invoice_ids(session)
    for cid in sorted(blocked):
        services = [s for s in live_services(session, cid) if _has_open(s, DEBT)]
        if not services:
            continue
        still = [i for i in _overdue(session, cid, today, disputed) if i.overdue_days(today) >= days]
        if still and sum((i.unpaid for i in still), ZERO) >= minimum:
            continue
        for service in services:
            since = max(b.since for b in service.blocks if b.kind == DEBT and b.until is None)
            lifecycle.unblock(session, service, DEBT, effective=max(today, since), actor=actor,
                              reason="Dluh uhrazen: automatické odblokování")
        fee = reconnection_fee(session, cid)
        if fee > 0:
            _charge(session, cid, RECONNECTION_FEE_TEXT, fee, _vat_rate(session), today, actor)
        history.record(session, entity="customer", entity_id=cid, customer_id=cid, action="dunning_unblocked",
                       changes={"debt_block": ("debt", None), "reconnection_fee": (None, fee if fee > 0 else None)},
                       reason="debt paid: debt blocks lifted", user_id=actor)
        unblocked.append(cid)
    return unblocked


def termination_proposals(session: Session) -> list[dict[str, Any]]:
    """Customers proposed for termination who still owe: the staff's list (newest first)."""
    rows = session.execute(select(DunningAction, DunningStep.name)
                           .join(DunningStep, DunningStep.id == DunningAction.step_id)
                           .where(DunningStep.action == "termination_proposal")
                           .order_by(DunningAction.done_at.desc(), DunningAction.id.desc())).all()
    if not rows:
        return []
    owing = debtors(session)
    result: dict[int, dict[str, Any]] = {}
    for action, step_name in rows:
        if action.customer_id not in owing:
            continue
        entry = result.setdefault(action.customer_id, {"customer_id": action.customer_id, "step": step_name,
                                                       "since": action.done_at, "invoices": [],
                                                       "balance": owing[action.customer_id]})
        entry["invoices"].append(action.invoice_id)
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(list(result))))}
    numbers = dict(session.execute(select(Invoice.id, Invoice.number)
                                   .where(Invoice.id.in_([i for e in result.values() for i in e["invoices"]]))).all())
    for entry in result.values():
        entry["customer"] = customers.get(entry["customer_id"])
        entry["numbers"] = [numbers.get(i, str(i)) for i in entry["invoices"]]
    return list(result.values())


def recent_actions(session: Session, limit: int = 100) -> list[tuple[DunningAction, str, str, Customer]]:
    return list(session.execute(select(DunningAction, DunningStep.name, Invoice.number, Customer)
                                .join(DunningStep, DunningStep.id == DunningAction.step_id)
                                .join(Invoice, Invoice.id == DunningAction.invoice_id)
                                .join(Customer, Customer.id == DunningAction.customer_id)
                                .order_by(DunningAction.id.desc()).limit(limit)).all())
