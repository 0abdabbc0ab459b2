"""Billing's demo data (``mango demo`` through the ``mango_demo`` hook): a business that has been billing a while.

Per partner: billing plans (monthly, quarterly and yearly in advance, monthly from uniCredit), the demo
products' plans, a VoIP price list with the VoIP tariff's usage terms. Per location: the default dunning
steps and a short history — a few customers on quarterly and yearly plans, a few uniCredit customers
with their credit, the billing runs of the two months before today (issued on the first of the month,
so their due dates are past), and a generated GPC bank statement imported through the real importer:
most invoices paid, some partly, some over, a few movements that match nobody (the pairing screen has
work) and invoices left unpaid (dunning has proposals).

Everything goes through the plugin's own services (plans, lifecycle, prepaid, run, import), which are
bulk where it matters, so the demo stays quick. Deterministic: random choices come from a
``random.Random`` seeded by the location's code, amounts from the issued invoices. Idempotent: each
part checks what exists first (plans and price lists by code, steps and usage terms by presence; the
history only where the location has no billing run yet, a run that did not finish is finished, the
statement only when its file name is not imported yet), so a second ``mango demo`` changes nothing.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_billing import dunning, ledger, plans, prepaid
from mango_billing.bank.gpc import account_is_valid
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.bank.statement import BankMovement, BankStatement
from mango_billing.models import (
    BillingPlan,
    BillingRun,
    Invoice,
    LedgerEntry,
    PriceListRecord,
    ProductUsage,
    StatementFile,
)
from mango_billing.payments.importer import ImportSummary, import_statement
from mango_billing.periods import add_months
from mango_billing.run import run_billing
from mango_billing.usage.pricelist import PriceList, PriceRow, Rounding
from mango_billing.usage.store import save_price_list, set_product_usage
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.services.models import ACTIVE, Service
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import BankAccount, Location

log = logging.getLogger(__name__)

CROWN = Decimal("1")
CENT = Decimal("0.01")

PLANS = (
    {"code": "MESIC", "name": "Měsíčně předem", "period": "monthly", "in_advance": True, "billing_day": 1,
     "due_days": 14, "prorate": True, "blocked_rule": "bill", "payment_method": "bank_transfer"},
    {"code": "CTVRTLETI", "name": "Čtvrtletně předem", "period": "quarterly", "in_advance": True, "billing_day": 1,
     "due_days": 14, "prorate": True, "blocked_rule": "bill", "payment_method": "bank_transfer"},
    {"code": "ROK", "name": "Ročně předem", "period": "yearly", "in_advance": True, "billing_day": 1,
     "due_days": 21, "prorate": True, "blocked_rule": "bill", "payment_method": "bank_transfer"},
    {"code": "KREDIT", "name": "Měsíčně z uniCreditu", "period": "monthly", "in_advance": True, "billing_day": 1,
     "due_days": 7, "prorate": True, "blocked_rule": "skip", "payment_method": "prepaid"},
)
# the demo catalogue's products (mango_core.services.demo.PRODUCTS) and their plans
PRODUCT_PLANS = {"NET50": "MESIC", "NET250": "MESIC", "NET1000": "MESIC", "VOIP": "MESIC", "TVZAKLAD": "MESIC",
                 "TVPLUS": "CTVRTLETI"}
VOIP_PRODUCT = "VOIP"
PRICE_LIST_CODE = "VOIP2025"
NATIONAL = "Česko"
INTERNATIONAL = "Zahraničí"
# prefix, destination, price per minute without VAT, group
VOIP_PRICES = (
    ("420", "Česko – ostatní čísla", "0.99", NATIONAL),
    ("4202", "Česko – pevné linky Praha", "0.59", NATIONAL),
    ("4203", "Česko – pevné linky", "0.59", NATIONAL),
    ("4204", "Česko – pevné linky", "0.59", NATIONAL),
    ("4205", "Česko – pevné linky", "0.59", NATIONAL),
    ("4206", "Česko – mobilní sítě", "0.99", NATIONAL),
    ("4207", "Česko – mobilní sítě", "0.99", NATIONAL),
    ("42090", "Česko – audiotex (90x)", "29.00", "Prémiová čísla"),
    ("421", "Slovensko", "2.90", INTERNATIONAL),
    ("49", "Německo", "2.50", INTERNATIONAL),
    ("43", "Rakousko", "2.50", INTERNATIONAL),
    ("48", "Polsko", "2.50", INTERNATIONAL),
    ("44", "Velká Británie", "3.20", INTERNATIONAL),
    ("1", "USA a Kanada", "2.90", INTERNATIONAL),
)
VOIP_FREE_MINUTES = 100  # a flat rate's national minutes

# How many services move to the quarterly and yearly plans, how many customers pay from uniCredit
QUARTERLY_SHARE, YEARLY_SHARE = 0.06, 0.06
UNICREDIT_CUSTOMERS = 3
# uniCredit top-ups (cash at the desk) before the first run: enough, enough for one month, too little
UNICREDIT_TOPUPS = (Decimal("3000.00"), Decimal("700.00"), Decimal("200.00"))
# what the customers of each run did: (paid in full, partly, over) shares; the rest did not pay
PAYERS = {0: (0.74, 0.05, 0.04), 1: (0.62, 0.05, 0.03)}
DEMO_STATEMENT = "demo-vypis-{code}.gpc"
BANKS = ("0100", "0300", "0800", "2010", "0600", "5500", "3030", "6210")
SUPPLIER = ("2345678909/0100", "CETIN a.s.", Decimal("-18150.00"), "Pronájem okruhů")


class DemoError(ValueError):
    """The demo data cannot be made in a location (e.g. a VAT payer without a DIČ); the message says why."""


@dataclass
class DemoSummary:
    """What was made (for the log and the tests)."""

    plans: int = 0
    product_plans: int = 0
    steps: int = 0
    price_lists: int = 0
    service_plans: int = 0
    unicredit: int = 0
    invoices: int = 0
    statements: list[ImportSummary] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.plans or self.product_plans or self.steps or self.price_lists or self.service_plans
                    or self.unicredit or self.invoices or self.statements)


def demo_periods(today: date) -> list[date]:
    """The first days of the two months before ``today``'s month, oldest first."""
    this_month = today.replace(day=1)
    return [add_months(this_month, -2), add_months(this_month, -1)]


def load(session: Session, locations: list[Location], today: date | None = None) -> DemoSummary:
    """Billing's demo data in ``locations`` (see the module doc); commits as it goes."""
    today = today or date.today()
    summary = DemoSummary()
    for location in sorted(locations, key=lambda loc: loc.code):
        location_id, code = location.id, location.code
        with location_scope(location_id):
            location = session.get(Location, location_id)
            load_catalogue(session, summary)
            if not dunning.steps(session):
                summary.steps += len(dunning.create_default_steps(session))
            session.commit()
            load_history(session, location, today, summary)
        log.info("billing demo data of %s loaded", code)
    return summary


# --- partner-wide: plans, the products' plans, the VoIP price list --------------------------------------


def load_catalogue(session: Session, summary: DemoSummary) -> None:
    """Plans, products' plans and the VoIP usage terms of the scope's partner (once per partner)."""

    existing = {p.code: p for p in session.scalars(select(BillingPlan))}
    for values in PLANS:
        if values["code"] not in existing:
            existing[values["code"]] = plans.create_plan(session, values)
            summary.plans += 1
    products = {p.code: p for p in session.scalars(select(Product).where(Product.code.in_(list(PRODUCT_PLANS))))}
    for product_code, plan_code in PRODUCT_PLANS.items():
        product = products.get(product_code)
        if product is not None and plans.product_plan_id(product) is None:
            plans.set_product_plan(session, product, existing[plan_code].id)
            summary.product_plans += 1
    record = session.scalar(select(PriceListRecord).where(PriceListRecord.code == PRICE_LIST_CODE))
    if record is None:
        record = save_price_list(session, code=PRICE_LIST_CODE, name="Volání 2025", pricelist=voip_price_list())
        summary.price_lists += 1
    voip = products.get(VOIP_PRODUCT)
    if voip is not None and session.scalar(select(ProductUsage.id).where(ProductUsage.product_id == voip.id)) is None:
        set_product_usage(session, voip.id, price_list_id=record.id, free_minutes=VOIP_FREE_MINUTES,
                          free_groups=[NATIONAL])
    session.commit()


def voip_price_list() -> PriceList:
    """Czech destinations per minute without VAT, the first minute whole and then per second (60+1)."""
    rows = tuple(PriceRow(prefix, name, Decimal(price), None, group) for prefix, name, price, group in VOIP_PRICES)
    return PriceList(name="Volání 2025", rows=rows, rounding=Rounding(60, 1), minimum_charge=Decimal("0"))


# --- per location: the customers' plans, uniCredit, two runs, the bank statement ---------------------------


def load_history(session: Session, location: Location, today: date, summary: DemoSummary) -> None:
    """Plans of some services, uniCredit customers, the runs and the statement of one location."""
    if location.vat_payer and not (location.dic or "").strip():
        raise DemoError(f"location {location.code} is a VAT payer without a DIČ; billing's demo needs one")
    periods = demo_periods(today)
    runs = {r.period_start: r for r in session.scalars(select(BillingRun))}
    rng = random.Random(f"mango-billing-demo-{location.code}")
    if not runs:
        # before the first run only: later, the runs' invoices depend on them
        by_code = {p.code: p for p in session.scalars(select(BillingPlan))}
        if not session.scalar(select(Service.id).limit(1)):
            return  # a location without services has nothing to bill
        summary.service_plans += assign_service_plans(session, rng, by_code)
        summary.unicredit += set_up_unicredit(session, rng, by_code["KREDIT"], periods[0] - timedelta(days=3))
        session.commit()
    elif not all(p in runs for p in periods) and all(r.state == "done" for r in runs.values()):
        return  # billed before (another day, or by hand): the demo's history is there already
    for period in periods:
        if period in runs and runs[period].state == "done":
            continue
        result = run_billing(session, location, period, issued_on=period)
        summary.invoices += result.invoices
    filename = DEMO_STATEMENT.format(code=location.code.lower())
    if session.scalar(select(StatementFile.id).where(StatementFile.filename == filename)) is None:
        account = session.scalar(select(BankAccount).order_by(BankAccount.is_default.desc(), BankAccount.id))
        if account is None or not account.account_number:
            return  # a location without a bank account gets no statement
        statement = demo_statement(session, location, account, rng, periods, today)
        if statement.movements:
            data = write_gpc(statement, client_name=_gpc_text(location.company_name or location.name, 20))
            summary.statements.append(import_statement(session, location.id, data, filename, "gpc", account.id))
            session.commit()


def _live_services(session: Session) -> list[Service]:
    """Active services that follow their product's plan (a JSON null is None here, whatever the database)."""
    return [s for s in session.scalars(select(Service).where(Service.state == ACTIVE, Service.end_date.is_(None))
                                       .order_by(Service.id)) if s.billing_plan is None]


def assign_service_plans(session: Session, rng: random.Random, by_code: dict[str, BillingPlan]) -> int:
    """A few internet services move to the quarterly plan and a few to the yearly one (a discount for paying ahead)."""
    changed = 0
    for service in _live_services(session):
        if not service.product.code.startswith("NET"):
            continue
        roll = rng.random()
        if roll < QUARTERLY_SHARE:
            plan = by_code["CTVRTLETI"]
        elif roll < QUARTERLY_SHARE + YEARLY_SHARE:
            plan = by_code["ROK"]
        else:
            continue
        plans.set_service_plan(session, service, plan.id, reason="Zákazník si přeje platit na delší období")
        changed += 1
    return changed


def set_up_unicredit(session: Session, rng: random.Random, plan: BillingPlan, on: date) -> int:
    """A few active customers pay their services from uniCredit, topped up at the cash desk before the runs."""
    live = _live_services(session)
    owners = sorted({s.customer_id for s in live})
    customers = [c for c in session.scalars(select(Customer).where(Customer.id.in_(owners)).order_by(Customer.number))
                 if c.state == "active"]
    chosen = rng.sample(customers, min(UNICREDIT_CUSTOMERS, len(customers)))
    for customer, amount in zip(chosen, UNICREDIT_TOPUPS, strict=False):
        if session.scalar(select(LedgerEntry.id).where(LedgerEntry.customer_id == customer.id,
                                                       LedgerEntry.account == "prepaid").limit(1)) is not None:
            continue
        prepaid.ensure_prepaid_symbol(session, customer)
        for service in (s for s in live if s.customer_id == customer.id):
            plans.set_service_plan(session, service, plan.id, reason="Placení z uniCreditu")
        prepaid.topup(session, customer, amount, "cash", on=on)
    return len(chosen)


# --- the bank statement ----------------------------------------------------------------------------------


def _gpc_text(value: str, limit: int) -> str:
    """Text as GPC carries it: Windows-1250 letters only (others dropped), at most ``limit`` characters."""
    return value.encode("cp1250", "ignore").decode("cp1250")[:limit]


def _counter_account(rng: random.Random) -> str:
    """A made-up account number that passes the Czech modulo-11 check (the parser checks it)."""
    while True:
        number = f"{rng.randint(10_000_000, 9_999_999_999):010d}"
        if account_is_valid("000000" + number):
            return f"{number.lstrip('0')}/{rng.choice(BANKS)}"


def _crowns(amount: Decimal) -> Decimal:
    return amount.quantize(CROWN, rounding=ROUND_HALF_UP).quantize(CENT)


@dataclass
class _Movements:
    rng: random.Random
    location_id: int
    items: list[BankMovement] = field(default_factory=list)

    def add(self, booked: date, amount: Decimal, name: str | None, vs: str | None, message: str | None,
            account: str | None = None) -> None:
        bank_id = f"{self.location_id:04d}{len(self.items) + 1:08d}"
        self.items.append(BankMovement(
            bank_id=bank_id, booked=booked, amount=amount.quantize(CENT), currency="CZK",
            counter_account=account or _counter_account(self.rng), counter_name=_gpc_text(name or "", 60) or None,
            variable_symbol=vs, constant_symbol="0308" if amount > 0 else None, specific_symbol=None,
            message=_gpc_text(message, 140) if message else None))


def _symbols(session: Session) -> set[str]:
    """Every variable symbol the matcher knows in the location (customers', invoices', prepaid)."""
    from mango_billing.models import BillingProfile

    found = set(session.scalars(select(Customer.variable_symbol)))
    found |= set(session.scalars(select(Invoice.variable_symbol).distinct()))
    found |= set(session.scalars(select(BillingProfile.prepaid_symbol).where(BillingProfile.prepaid_symbol.is_not(None))))
    return {str(v).lstrip("0") for v in found if v}


def _free_symbol(near: str, taken: set[str]) -> str:
    """A symbol like ``near`` (two digits swapped, or a digit added) that nobody has: it must not match."""
    candidates = []
    if len(near) > 1:
        candidates.append(near[:-2] + near[-1] + near[-2])
    candidates += [near + str(d) for d in range(10)] + [near[:-1] + str(d) for d in range(10)]
    for candidate in candidates:
        if candidate.lstrip("0") not in taken and len(candidate) <= 10 and candidate != near:
            return candidate
    raise DemoError(f"no free variable symbol near {near}")  # pragma: no cover - ten tries, a few symbols taken


def demo_statement(session: Session, location: Location, account: BankAccount, rng: random.Random,
                   periods: list[date], today: date) -> BankStatement:
    """A statement of the demo months: the customers' payments of the runs' invoices and a few strays."""
    last_day = today - timedelta(days=1)
    moves = _Movements(rng, location.id)
    run_ids = {r.period_start: r.id for r in session.scalars(select(BillingRun))}
    prepaid_customers = set(session.scalars(select(LedgerEntry.customer_id).where(LedgerEntry.account == "prepaid")))
    names = dict(session.execute(select(Customer.id, Customer.display_name)).all())
    paid_names: list[tuple[str, Decimal, str]] = []
    paid_in_full: set[int] = set()
    for n, period in enumerate(periods):
        invoices = list(session.scalars(select(Invoice).where(Invoice.run_id == run_ids.get(period),
                                                              Invoice.kind == "invoice").order_by(Invoice.id)))
        full, part, over = PAYERS[n]
        # the last month surely has one over-payer and one partial payer among those who paid before in full
        forced = ["over", "part"] if n == len(periods) - 1 else []
        for invoice in invoices:
            if invoice.customer_id in prepaid_customers or invoice.total <= 0:
                continue
            roll = rng.random()
            if forced and invoice.customer_id in paid_in_full:
                roll = {"over": full + part, "part": full}[forced.pop(0)]
            booked = min(last_day, invoice.due_date - timedelta(days=rng.randint(-3, 10)))
            name = names.get(invoice.customer_id, "")
            message = f"Faktura {invoice.number}"
            if roll < full:
                moves.add(booked, invoice.total, name, invoice.variable_symbol, message)
                paid_names.append((name, invoice.total, invoice.variable_symbol))
                paid_in_full.add(invoice.customer_id)
            elif roll < full + part:
                moves.add(booked, _crowns(invoice.total / 2), name, invoice.variable_symbol, "Záloha, zbytek doplatím")
            elif roll < full + part + over:
                amount = (invoice.total / 500).to_integral_value(rounding=ROUND_CEILING) * 500
                if amount == invoice.total:
                    amount += 500
                moves.add(booked, amount, name, invoice.variable_symbol, "Platba předem na další měsíce")
    stray_day = min(last_day, periods[-1] + timedelta(days=9))
    taken = _symbols(session)
    if paid_names:
        # a payer who mistyped the variable symbol (the pairing screen suggests the customer by name)
        name, amount, vs = paid_names[rng.randrange(len(paid_names))]
        moves.add(stray_day, amount, name, _free_symbol(vs, taken), "Internet")
        # and one who gave no symbol at all, only a message
        name, amount, _vs = paid_names[rng.randrange(len(paid_names))]
        moves.add(stray_day + timedelta(days=1), amount, name, None, "Platba za internet a televizi")
    moves.add(stray_day, Decimal("1500.00"), "Neznámý plátce", _free_symbol("777123", taken), "Dar")
    # a uniCredit top-up by the prepaid symbol: credit arrives for the customer whose credit was short
    short = _short_prepaid_customer(session)
    if short is not None:
        moves.add(min(last_day, periods[-1] + timedelta(days=5)), Decimal("1000.00"), names.get(short[0]),
                  short[1], "Dobití kreditu")
    # a supplier's invoice paid from the same account: stored, never matched to a customer
    supplier_account, supplier, amount, message = SUPPLIER
    moves.add(min(last_day, periods[-1] + timedelta(days=14)), amount, supplier, "2025100", message,
              account=supplier_account)
    items = sorted(moves.items, key=lambda m: (m.booked, m.bank_id))
    return BankStatement(format="gpc", account=account.account_number, currency="CZK", number="1",
                         period_from=periods[0], period_to=last_day, opening_balance=Decimal("184520.35"),
                         closing_balance=None, movements=tuple(items))


def _short_prepaid_customer(session: Session) -> tuple[int, str] | None:
    """(customer id, prepaid symbol) of the first uniCredit customer whose credit did not cover an invoice."""
    from mango_billing.models import BillingProfile

    rows = session.execute(select(BillingProfile.customer_id, BillingProfile.prepaid_symbol)
                           .where(BillingProfile.prepaid_symbol.is_not(None))
                           .order_by(BillingProfile.customer_id)).all()
    for cid, symbol in rows:
        if ledger.open_items(session, cid):
            return cid, symbol
    return None


def describe(summary: DemoSummary) -> list[str]:
    """Lines for a person (what the demo made)."""
    out = []
    for label, value in (("billing plans", summary.plans), ("products' plans", summary.product_plans),
                         ("dunning steps", summary.steps), ("price lists", summary.price_lists),
                         ("services on other plans", summary.service_plans),
                         ("uniCredit customers", summary.unicredit), ("invoices", summary.invoices)):
        if value:
            out.append(f"{value} {label}")
    for s in summary.statements:
        out.append(f"statement: {s.new} movements, {s.matched} matched, {s.unmatched} unmatched")
    return out
