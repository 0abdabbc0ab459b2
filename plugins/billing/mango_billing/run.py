"""The billing run of one location and month: rate every service, group by customer, issue.

Idempotent and crash-safe by construction:

* one :class:`BillingRun` row per (location, period) — created and committed first;
* one invoice per (run, billed customer) — a unique constraint, so a second run, even a concurrent
  one, cannot bill anybody twice;
* customers are issued in batches (``batch_size``, 500 by default), each batch in one transaction
  that locks the series' counter before it reads, then takes its block of numbers: a killed batch
  rolls back with its numbers (no gap), a rerun continues with the customers that have no invoice
  of the run yet, and concurrent runs (even of different months) rate each batch from what the
  others committed, so no day of a service is billed twice;
* the run is ``done`` only when every customer is through; then a rerun issues nothing;
* a large run on PostgreSQL rates the next batch in a second process while it issues the current
  one (:mod:`mango_billing.run_ahead`); drafts rated there are checked under the lock before use.

Loading is per batch in a few queries (services, blocks, history, last billed days, charges,
usage, buyers), never per service, with the ids as one array parameter on PostgreSQL; invoices,
lines and ledger entries go in with one COPY each (PostgreSQL) or an executemany (SQLite), their
ids allocated up front (see :mod:`mango_billing.invoices`).
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_billing import plans as plans_mod
from mango_billing.invoices import (
    Draft,
    InvoiceError,
    buyer_snapshots,
    in_ids,
    issue_drafts,
    seller_snapshot,
    totals_of,
)
from mango_billing.models import BillingPlan, BillingRun, Charge, Invoice, InvoiceLine, UsageRecord
from mango_billing.numbering import default_series, lock_numbers
from mango_billing.periods import (
    Change,
    PeriodError,
    ProductFacts,
    RatedLine,
    ServiceFacts,
    add_months,
    money,
    parse_period,
    rate_service,
    taxable_supply_date,
)
from mango_billing.run_ahead import Job, Rated, RatingAheadError, model_modules, rated_batches, stale
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.db.bulk import chunks, on_postgres, paused_gc
from mango_core.history.models import REDACTED, HistoryEntry
from mango_core.services.models import Service, ServiceBlock
from mango_core.tenancy import clock
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.models import Location

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
HISTORY_ACTIONS = ("price_changed", "product_changed")
CATCH_UP_MONTHS = 24  # the longest look-back that rating can need (a yearly plan's catch-up)
RATE_AHEAD_FROM = 5000  # customers from which a second process rates ahead (its start costs a second or two)


class RunError(ValueError):
    """A billing run that cannot start (unknown location, bad period, wrong scope)."""


@dataclass
class RunResult:
    location_code: str
    period_start: date
    period_end: date
    run_id: int | None = None
    dry_run: bool = False
    already_done: bool = False
    customers: int = 0
    # customers left for a later day: their billing day has not come (``run_billing(due_by=…)``)
    waiting: int = 0
    invoices: int = 0
    lines: int = 0
    total: Decimal = ZERO
    drafts: list[Draft] = field(default_factory=list)
    # usage that could not be priced (no price list, no matching prefix): left for a later run
    usage_problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"location": self.location_code, "period": self.period_start.strftime("%Y-%m"),
                "run_id": self.run_id, "dry_run": self.dry_run, "already_done": self.already_done,
                "customers": self.customers, "waiting": self.waiting, "invoices": self.invoices, "lines": self.lines,
                "total": format(self.total, "f"), "usage_problems": self.usage_problems}


def period_bounds(period: str | date) -> tuple[date, date]:
    if isinstance(period, date):
        start = period.replace(day=1)
        return start, add_months(start, 1)
    try:
        return parse_period(period)
    except PeriodError as exc:
        raise RunError(str(exc)) from exc


# --- what the run needs to know, loaded per run and per batch -----------------------------------


@dataclass
class Catalog:
    products: dict[int, ProductFacts]
    product_plans: dict[int, Any]
    codes: dict[str, int]
    plans: dict[int, BillingPlan]


def load_catalog(session: Session) -> Catalog:
    products, refs, codes = {}, {}, {}
    for pid, code, name, price, rate, plan in session.execute(
            select(Product.id, Product.code, Product.name, Product.price, Product.vat_rate, Product.billing_plan)):
        products[pid] = ProductFacts(pid, name, Decimal(price), Decimal(rate))
        refs[pid] = plan
        codes[code] = pid
    plans = {p.id: p for p in session.scalars(select(BillingPlan))}
    return Catalog(products, refs, codes, plans)


def members_by_billed(billed: dict[int, int]) -> dict[int, list[int]]:
    """billed customer → the customers whose services go on their invoice (themselves first)."""
    members: dict[int, list[int]] = defaultdict(list)
    for cid, target in billed.items():
        members[target].append(cid)
    return {target: sorted(ids, key=lambda c: (c != target, c)) for target, ids in members.items()}


def billed_customer_map(session: Session) -> dict[int, int]:
    """customer id → the customer who is billed (the parent when ``bill_to_parent``, up the tree)."""
    parent: dict[int, tuple[int | None, bool]] = {
        cid: (pid, bool(flag)) for cid, pid, flag in
        session.execute(select(Customer.id, Customer.parent_id, Customer.bill_to_parent))}
    out: dict[int, int] = {}
    for cid in parent:
        current, seen = cid, {cid}
        while True:
            pid, flag = parent.get(current, (None, False))
            if not flag or pid is None or pid in seen or pid not in parent:
                break
            current = pid
            seen.add(pid)
        out[cid] = current
    return out


def usage_end(location: Location, run_end: date) -> datetime:
    """Usage before the midnight that ends the run's month, in the location's time zone."""
    return clock.midnight(run_end, clock.location_zone(location))


def candidates(session: Session, run_start: date, run_end: date, billed: dict[int, int],
               run_id: int | None, location: Location) -> list[int]:
    """Billed customers who may get an invoice of the run (and have none yet), sorted."""
    oldest = add_months(run_start, -CATCH_UP_MONTHS)
    ids: set[int] = set(session.scalars(
        select(Service.customer_id).where(Service.activated_on.is_not(None), Service.activated_on < run_end,
                                          (Service.end_date.is_(None)) | (Service.end_date > oldest)).distinct()))
    ids.update(session.scalars(select(Charge.customer_id).where(Charge.invoice_id.is_(None),
                                                                Charge.charge_on < run_end).distinct()))
    ids.update(session.scalars(select(Service.customer_id).join(UsageRecord, UsageRecord.service_id == Service.id)
                               .where(UsageRecord.invoice_id.is_(None), UsageRecord.price.is_not(None),
                                      UsageRecord.started_at < usage_end(location, run_end)).distinct()))
    result = {billed.get(cid, cid) for cid in ids}
    if run_id is not None:
        result -= set(session.scalars(select(Invoice.customer_id).where(Invoice.run_id == run_id)))
    return sorted(result)


def due_customers(session: Session, catalog: Catalog, run_start: date, run_end: date, billed: dict[int, int],
                  todo: list[int], due_by: date) -> tuple[list[int], int]:
    """``todo`` split by billing day: (the billed customers due by ``due_by``, how many are not yet).

    A billed customer's billing day is the earliest ``billing_day`` among the plans of the services
    (theirs and their members') that the run may bill; one invoice a month covers all of them, so a
    customer with plans of days 1 and 15 is billed on the 1st. Customers with only charges or usage
    are due on the 1st. ``due_by`` past the period: everybody is due.
    """
    if due_by >= run_end:
        return todo, 0
    day = due_by.day if due_by >= run_start else 0
    if day >= max((p.billing_day for p in catalog.plans.values() if p.is_active), default=1):
        return todo, 0  # every plan's day has come (the usual case: all plans bill on the 1st)
    oldest = add_months(run_start, -CATCH_UP_MONTHS)
    first: dict[int, int] = {}
    for cid, pid, ref, months in session.execute(
            select(Service.customer_id, Service.product_id, Service.billing_plan, Service.payment_period)
            .where(Service.activated_on.is_not(None), Service.activated_on < run_end,
                   (Service.end_date.is_(None)) | (Service.end_date > oldest))):
        target = billed.get(cid, cid)
        plan_day = plans_mod.resolve(ref, catalog.product_plans.get(pid), catalog.plans, months).billing_day
        first[target] = min(first.get(target, plan_day), plan_day)
    due = [cid for cid in todo if first.get(cid, 1) <= day]
    return due, len(todo) - len(due)


def rate_usage(session: Session, location: Location, run_end: date, *, persist: bool) -> tuple[list[str], Any]:
    """Collect the plugins' usage counters of the run's month and price every uninvoiced month of usage.

    Rating is per calendar month (free minutes and units belong to a month) and starts from the
    stored facts, so it may run before every run. Without ``persist`` (a dry run, a preview) it
    works in a savepoint that the caller rolls back when it has computed (returned second; None
    when persisting). Returns the problems too: usage that could not be priced stays out of the
    invoices and is listed there.
    """
    from flask import current_app, has_app_context

    from mango_billing.usage.store import collect_counters, month_starts, rate_period

    savepoint = None if persist else session.begin_nested()
    problems: list[str] = []
    if has_app_context():
        collect_counters(session, current_app.extensions["mango"], location.id, add_months(run_end, -1), run_end)
    oldest = session.scalar(select(func.min(UsageRecord.started_at)).where(UsageRecord.invoice_id.is_(None)))
    for start in month_starts(oldest, run_end):
        problems += rate_period(session, start, add_months(start, 1)).problems
    if persist:
        session.commit()
    return problems, savepoint


def _price(text: str | None) -> Decimal | None:
    if text in (None, "", "None", REDACTED):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def compute_batch(session: Session, catalog: Catalog, location: Location, run_start: date, run_end: date,
                  billed_ids: list[int], billed: dict[int, int],
                  members_of: dict[int, list[int]] | None = None) -> list[Draft]:
    """Drafts of a batch of billed customers (a handful of queries for the whole batch).

    ``members_of`` (:func:`members_by_billed` of ``billed``) is computed once by a run; without it
    it is derived here.
    """
    if members_of is None:
        wanted = set(billed_ids)
        members_of = members_by_billed({cid: target for cid, target in billed.items() if target in wanted})
    members = {bid: members_of.get(bid) or [bid] for bid in billed_ids}
    all_ids = sorted({c for ids in members.values() for c in ids})
    oldest = add_months(run_start, -CATCH_UP_MONTHS)
    services = session.execute(
        select(Service.id, Service.customer_id, Service.product_id, Service.price, Service.activated_on,
               Service.end_date, Service.billing_plan, Service.payment_period)
        .where(in_ids(session, Service.customer_id, all_ids), Service.activated_on.is_not(None),
               Service.activated_on < run_end,
               (Service.end_date.is_(None)) | (Service.end_date > oldest))
        .order_by(Service.customer_id, Service.id)).all()
    sids = [s.id for s in services]
    blocks: dict[int, list[tuple[date, date | None]]] = defaultdict(list)
    changes: dict[int, list[Change]] = defaultdict(list)
    billed_until: dict[int, date] = {}
    usage: dict[int, list[tuple[int, str, Decimal]]] = defaultdict(list)
    for chunk in chunks(sids, 10000):
        for sid, since, until in session.execute(select(ServiceBlock.service_id, ServiceBlock.since, ServiceBlock.until)
                                                 .where(in_ids(session, ServiceBlock.service_id, chunk))):
            blocks[sid].append((since, until))
        for h in session.execute(
                select(HistoryEntry.id, HistoryEntry.entity_id, HistoryEntry.field, HistoryEntry.effective_date,
                       HistoryEntry.before, HistoryEntry.after)
                .where(HistoryEntry.entity == "service", in_ids(session, HistoryEntry.entity_id, chunk),
                       HistoryEntry.action.in_(HISTORY_ACTIONS), HistoryEntry.field.in_(("price", "product")),
                       HistoryEntry.effective_date > oldest)):
            if h.field == "price":
                changes[h.entity_id].append(Change(h.effective_date, "price", _price(h.before), _price(h.after), h.id))
            else:
                changes[h.entity_id].append(Change(h.effective_date, "product", catalog.codes.get(h.before or ""),
                                                   catalog.codes.get(h.after or ""), h.id))
        for sid, last in session.execute(select(InvoiceLine.service_id, func.max(InvoiceLine.period_to))
                                         .where(in_ids(session, InvoiceLine.service_id, chunk),
                                                InvoiceLine.kind == "recurring")
                                         .group_by(InvoiceLine.service_id)):
            if last is not None:
                billed_until[sid] = last + (timedelta(days=1))
        for uid, sid, source, price in session.execute(
                select(UsageRecord.id, UsageRecord.service_id, UsageRecord.source, UsageRecord.price)
                .where(in_ids(session, UsageRecord.service_id, chunk), UsageRecord.invoice_id.is_(None),
                       UsageRecord.price.is_not(None),  # unpriced usage waits (reported), never billed free
                       UsageRecord.started_at < usage_end(location, run_end))):
            usage[sid].append((uid, source, Decimal(price or 0)))
    charges: dict[int, list[Any]] = defaultdict(list)
    for ch in session.execute(select(Charge.id, Charge.customer_id, Charge.service_id, Charge.description,
                                     Charge.quantity, Charge.unit_price, Charge.vat_rate)
                              .where(in_ids(session, Charge.customer_id, all_ids), Charge.invoice_id.is_(None),
                                     Charge.charge_on < run_end).order_by(Charge.charge_on, Charge.id)):
        charges[ch.customer_id].append(ch)
    buyers = buyer_snapshots(session, all_ids)
    vat_payer = bool(location.vat_payer)
    per_customer: dict[int, list[Any]] = defaultdict(list)
    for s in services:
        per_customer[s.customer_id].append(s)
    drafts = []
    for bid in billed_ids:
        lines: list[RatedLine] = []
        due_days, method = None, None
        for cid in members[bid]:
            label = "" if cid == bid else buyers.get(cid, {}).get("name", str(cid))
            for s in per_customer.get(cid, ()):
                terms = plans_mod.resolve(s.billing_plan, catalog.product_plans.get(s.product_id), catalog.plans,
                                          s.payment_period)
                facts = ServiceFacts(service_id=s.id, customer_id=bid, product_id=s.product_id,
                                     price=None if s.price is None else Decimal(s.price), activated_on=s.activated_on,
                                     end_date=s.end_date, terms=terms, blocks=tuple(blocks.get(s.id, ())),
                                     changes=tuple(changes.get(s.id, ())), billed_until=billed_until.get(s.id),
                                     label=label)
                rated = rate_service(facts, catalog.products, run_start, run_end)
                rated.extend(_usage_lines(facts, catalog, usage.get(s.id, ())))
                if rated:
                    lines.extend(rated)
                    due_days = terms.due_days if due_days is None else min(due_days, terms.due_days)
                    method = method or terms.payment_method
            for ch in charges.get(cid, ()):
                quantity, unit_price = Decimal(ch.quantity), Decimal(ch.unit_price)
                amount = money(quantity * unit_price)
                text = f"{label}: {ch.description}" if label else ch.description
                lines.append(RatedLine(kind="discount" if amount < 0 else "one_off", description=text, amount=amount,
                                       vat_rate=Decimal(ch.vat_rate), customer_id=bid, service_id=ch.service_id,
                                       quantity=quantity, unit="ks", charge_id=ch.id))
        if not lines:
            continue
        if not vat_payer:
            lines = [_no_vat(line) for line in lines]
        recurring = [ln for ln in lines if ln.period_from]
        buyer = dict(buyers.get(bid) or {"name": str(bid), "variable_symbol": str(bid)})
        vs = buyer.pop("variable_symbol", "") or str(bid)
        drafts.append(Draft(customer_id=bid, variable_symbol=vs, buyer=buyer, lines=lines,
                            taxable_supply_date=taxable_supply_date(run_start, lines),
                            due_days=14 if due_days is None else due_days, payment_method=method or "bank_transfer",
                            period_from=min((ln.period_from for ln in recurring), default=run_start),
                            period_to=max((ln.period_to for ln in recurring), default=run_end - timedelta(days=1)),
                            totals=totals_of(lines, vat_payer)))
    return drafts


def _no_vat(line: RatedLine) -> RatedLine:
    from dataclasses import replace

    return replace(line, vat_rate=ZERO)


def _usage_lines(facts: ServiceFacts, catalog: Catalog, records: Any) -> list[RatedLine]:
    """One usage line per service and source: the sum of the rated prices, rounded once."""
    by_source: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for uid, source, price in records:
        by_source[source].append((uid, price))
    product = catalog.products.get(facts.product_id)
    out = []
    for source, items in sorted(by_source.items()):
        amount = money(sum((p for _u, p in items), Decimal(0)))
        name = product.name if product else str(facts.service_id)
        text = f"{name}: provoz {source} dle výpisu ({len(items)} záznamů)"
        if facts.label:
            text = f"{facts.label}: {text}"
        out.append(RatedLine(kind="usage", description=text, amount=amount,
                             vat_rate=product.vat_rate if product else Decimal("21"), customer_id=facts.customer_id,
                             service_id=facts.service_id, product_id=product.id if product else None,
                             usage_ids=tuple(u for u, _p in items), unit="ks"))
    return out


# --- the run --------------------------------------------------------------------------------------


def _check_scope(location: Location) -> None:
    if current_scope().write_location_id != location.id:
        raise RunError(f"the billing of {location.code} must run in that location's scope")


def get_or_create_run(session: Session, run_start: date, run_end: date, actor_id: int | None) -> BillingRun:
    run = session.scalar(select(BillingRun).where(BillingRun.period_start == run_start))
    if run is not None:
        return run
    try:
        with session.begin_nested():
            run = BillingRun(period_start=run_start, period_end=run_end, state="running", started_by_id=actor_id)
            session.add(run)
    except IntegrityError:
        run = session.scalar(select(BillingRun).where(BillingRun.period_start == run_start))
    session.commit()
    return run


def run_billing(session: Session, location: Location, period: str | date, *, dry_run: bool = False,
                batch_size: int = 500, issued_on: date | None = None, actor_id: int | None = None,
                progress: Callable[[int, int], None] | None = None, keep_drafts: bool = False,
                rate_ahead: bool | None = None, due_by: date | None = None) -> RunResult:
    """Bill ``period`` (``YYYY-MM``) in ``location`` (the scope's write location); see the module doc.

    ``progress(done, total)`` is called after each batch. ``dry_run`` computes and writes nothing.
    ``rate_ahead``: rate the next batches in a second process (:mod:`.run_ahead`); None decides by size.
    ``due_by`` (the scheduled run: today): bill only customers whose billing day has come
    (:func:`due_customers`); the run stays ``running`` until the last of them is billed.
    """
    _check_scope(location)
    if location.vat_payer and not (location.dic or "").strip():
        raise RunError(f"location {location.code} is a VAT payer without a DIČ: a tax document needs it "
                       "(§ 29 of the VAT act); fill it in first")
    if batch_size < 1:
        raise RunError("the batch size is at least 1")
    run_start, run_end = period_bounds(period)
    issued_on = issued_on or date.today()
    result = RunResult(location.code, run_start, run_end, dry_run=dry_run)
    run = None
    if not dry_run:
        run = get_or_create_run(session, run_start, run_end, actor_id)
        result.run_id = run.id
        if run.state == "done":
            result.already_done = True
            return result
    result.usage_problems, usage_savepoint = rate_usage(session, location, run_end, persist=not dry_run)
    catalog = load_catalog(session)
    billed = billed_customer_map(session)
    members_of = members_by_billed(billed)
    todo = candidates(session, run_start, run_end, billed, run.id if run else None, location)
    if due_by is not None:
        todo, result.waiting = due_customers(session, catalog, run_start, run_end, billed, todo, due_by)
    result.customers = len(todo)
    seller = seller_snapshot(session, location)
    series = None if dry_run else default_series(session, "invoice")
    if series is not None:
        session.commit()
    done = 0
    batches = list(chunks(todo, batch_size))
    try:
        # closing(): a failed batch stops the rating process at once, not when the generator is collected;
        # the young generation is collected after each batch: what a batch leaves in cycles is freed
        with paused_gc(), closing(_rated(session, location, run_start, run_end, batches, billed, members_of,
                                         False if dry_run else rate_ahead)) as work:
            for batch, rated in work:
                if dry_run:
                    drafts = compute_batch(session, catalog, location, run_start, run_end, batch, billed, members_of)
                    _count(result, drafts, keep=keep_drafts)
                else:
                    _issue_batch(session, location, run, issued_on, actor_id, seller, series, result,
                                 catalog, run_start, run_end, batch, billed, members_of, keep_drafts, rated)
                gc.collect(1)
                done += len(batch)
                if progress:
                    progress(done, len(todo))
    except Exception as exc:
        session.rollback()
        if run is not None:
            session.execute(update(BillingRun).where(BillingRun.id == run.id)
                            .values(state="failed", error=f"{type(exc).__name__}: {exc}"[:2000]))
            session.commit()
        raise
    if run is not None:
        count, total = session.execute(select(func.count(Invoice.id), func.sum(Invoice.total))
                                       .where(Invoice.run_id == run.id)).one()
        finished = {"state": "done", "finished_at": utcnow()} if not result.waiting else {"state": "running"}
        session.execute(update(BillingRun).where(BillingRun.id == run.id)
                        .values(invoices=count, total=Decimal(total or 0), error=None, **finished))
        session.commit()
    if usage_savepoint is not None:
        usage_savepoint.rollback()  # a dry run's prices were only for the computation
    return result


def _rated(session: Session, location: Location, run_start: date, run_end: date, batches: list[list[int]],
           billed: dict[int, int], members_of: dict[int, list[int]], rate_ahead: bool | None
           ) -> Iterator[tuple[list[int], Rated | None]]:
    """The batches, each with its drafts rated ahead by a second process (:mod:`.run_ahead`) when that
    pays — PostgreSQL and at least :data:`RATE_AHEAD_FROM` customers, or ``rate_ahead`` says so;
    otherwise the issuer rates each batch itself."""
    if rate_ahead is None:
        rate_ahead = on_postgres(session) and sum(map(len, batches)) >= RATE_AHEAD_FROM
    if not rate_ahead or len(batches) < 2:
        for batch in batches:
            yield batch, None
        return
    job = Job(url=session.get_bind().engine.url.render_as_string(hide_password=False), models=model_modules(),
              scope=current_scope(), location_id=location.id, run_start=run_start, run_end=run_end,
              batches=batches, billed=billed, members_of=members_of)
    taken = 0
    try:
        for rated in rated_batches(session, job):
            yield rated.batch, rated
            taken += 1
    except RatingAheadError as exc:
        # only a speed-up: the run goes on alone (a real error in rating shows again, in the run itself)
        log.warning("billing run of %s: rating ahead stopped, the run rates its batches itself: %s",
                    location.code, exc)
        for batch in batches[taken:]:
            yield batch, None


def _count(result: RunResult, drafts: list[Draft], keep: bool) -> None:
    for draft in drafts:
        result.invoices += 1
        result.lines += len(draft.lines)
        result.total += draft.totals["total"]
    if keep:
        result.drafts.extend(drafts)


def _issue_batch(session: Session, location: Location, run: BillingRun, issued_on: date,
                 actor_id: int | None, seller: dict, series: Any, result: RunResult, catalog: Catalog,
                 run_start: date, run_end: date, batch: list[int], billed: dict[int, int],
                 members_of: dict[int, list[int]], keep: bool, rated: Rated | None = None) -> None:
    """Compute and issue one batch in one transaction.

    The series' counter is locked before the batch is computed: concurrent issuers (a second run of
    the month, a run of another month) go one after another from their reads on, so the batch is
    rated from what they committed — no service billed twice for the same days — and customers that
    a concurrent run of this month invoiced meanwhile are left out. Should the insert still collide
    (IntegrityError), or a charge be taken by someone else (InvoiceError), the batch is recomputed once.
    Drafts ``rated`` ahead outside the lock (:mod:`.run_ahead`) are used unless :func:`stale`.
    """
    for attempt in (1, 2):
        try:
            lock_numbers(session, series, issued_on.year)
            have = set(session.scalars(select(Invoice.customer_id)
                                       .where(Invoice.run_id == run.id, in_ids(session, Invoice.customer_id, batch))))
            batch = [c for c in batch if c not in have]
            if attempt == 1 and rated is not None and not stale(session, rated):
                drafts = [d for d in rated.drafts if d.customer_id not in have]
            else:
                drafts = compute_batch(session, catalog, location, run_start, run_end, batch, billed, members_of)
            issue_drafts(session, location, drafts, issued_on=issued_on, run_id=run.id, actor_id=actor_id,
                         seller=seller, series=series)
            session.commit()
        except (IntegrityError, InvoiceError):
            session.rollback()
            if attempt == 2:
                raise
            continue
        _count(result, drafts, keep)
        return


def preview(session: Session, location: Location, period: str | date, *, page: int = 1,
            per_page: int = 50) -> tuple[list[Draft], int]:
    """Drafts of one page of the customers a run would bill now (nothing written), and their count."""
    _check_scope(location)
    run_start, run_end = period_bounds(period)
    run = session.scalar(select(BillingRun).where(BillingRun.period_start == run_start))
    catalog = load_catalog(session)
    billed = billed_customer_map(session)
    todo = candidates(session, run_start, run_end, billed, run.id if run else None, location)
    first = max(0, (page - 1) * per_page)
    drafts = compute_batch(session, catalog, location, run_start, run_end, todo[first:first + per_page], billed)
    return drafts, len(todo)


def preview_totals(session: Session, location: Location, period: str | date) -> RunResult:
    """Totals of a whole run without writing (the dry run)."""
    return run_billing(session, location, period, dry_run=True, batch_size=1000)
