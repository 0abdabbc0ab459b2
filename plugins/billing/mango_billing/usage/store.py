"""Usage in the database: CDR imports, counters from other plugins, rating of a period.

Flow: ``import_cdr`` stores each call once as a :class:`UsageRecord` (source ``cdr``, key = the
call's key; the unique constraint makes a second import of the same file a no-op) tied to the
service whose phone number made the call. ``rate_period`` prices the not yet invoiced usage of a
period, service by service: calls through the product's price list with its free minutes
(which belong to a period, so rating happens per period, not per call at import), counters
through the product's unit prices and free units. Rating again before invoicing gives the same
prices (it starts from the stored facts every time); invoiced usage is never touched.
Calls that match no prefix stay unpriced and are reported: they are never billed as free.
Usage of a product without usage terms keeps the price it came with (a PBX that rates its own
calls); without one it is reported as unpriced too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mango_billing.models import PriceListRecord, ProductUsage, UsageRecord
from mango_billing.usage.cdr import CallRecord, ColumnMapping, normalise_number, parse_asterisk_csv, parse_csv
from mango_billing.usage.pricelist import PriceList, RatingError
from mango_billing.usage.rating import FreeAllowance, rate_calls
from mango_core.db.bulk import STAMPED
from mango_core.services.models import Service
from mango_core.tenancy.context import current_scope

CENT = Decimal("0.01")
CDR = "cdr"
# the service parameter that holds a VoIP service's phone number (the demo VoIP class has it)
PHONE_PARAM = "phone_number"
PRAGUE = ZoneInfo("Europe/Prague")


class UsageError(ValueError):
    """Usage that cannot be imported or rated (the message says which and why)."""


@dataclass
class CdrImport:
    new: int = 0
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)  # accounts/numbers with no service

    def as_dict(self) -> dict[str, Any]:
        return {"new": self.new, "duplicates": self.duplicates, "unknown_numbers": sorted(set(self.unknown))}


def _write_location() -> int:
    location_id = current_scope().write_location_id
    if location_id is None:
        raise UsageError("usage is stored in one location: set the location scope first")
    return location_id


def parse_cdr_file(data: bytes, mapping: dict[str, Any] | None = None):  # noqa: ANN201
    """Asterisk ``Master.csv`` by default, any other PBX's CSV with a column mapping (stored as JSON)."""
    return parse_csv(data, ColumnMapping.from_dict(mapping)) if mapping else parse_asterisk_csv(data)


def _services_by_number(session: Session) -> dict[str, int]:
    """Normalised phone number → service id, for the location's services that have one.

    A number used by a terminated service and later by a new one belongs to the newest service.
    """
    numbers: dict[str, int] = {}
    rows = session.execute(select(Service.id, Service.params).order_by(Service.id))
    for service_id, params in rows:
        value = (params or {}).get(PHONE_PARAM)
        if value:
            numbers[normalise_number(str(value))] = service_id
    return numbers


def import_cdr(session: Session, data: bytes, *, mapping: dict[str, Any] | None = None) -> CdrImport:
    """Store the calls of a CDR file once each (in the caller's transaction and location scope).

    The whole file is refused (``CdrError``) when a line is bad; calls of numbers that belong to no
    service are counted in ``unknown`` and not stored, so a later import (after the service is
    created) picks them up.
    """
    calls = parse_cdr_file(data, mapping)
    numbers = _services_by_number(session)
    result = CdrImport()
    known = set(session.scalars(select(UsageRecord.key).where(
        UsageRecord.source == CDR, UsageRecord.key.in_([c.key for c in calls]))))
    location_id = _write_location()
    rows = []
    for call in calls:
        if call.key in known:
            result.duplicates += 1
            continue
        service_id = numbers.get(normalise_number(call.account)) if call.account else None
        service_id = service_id or numbers.get(call.source)
        if service_id is None:
            result.unknown.append(call.account or call.source)
            continue
        known.add(call.key)
        rows.append({"location_id": location_id, "source": CDR, "key": call.key, "service_id": service_id,
                     "started_at": call.started_at.astimezone(UTC), "quantity": Decimal(call.billsec), "unit": "s",
                     "description": call.destination, "detail": _call_detail(call)})
    if rows:
        session.execute(insert(UsageRecord).execution_options(**STAMPED), rows)
    result.new = len(rows)
    return result


def _call_detail(call: CallRecord) -> dict[str, Any]:
    return {"source": call.source, "destination": call.destination, "account": call.account,
            "started_at": call.started_at.isoformat(),
            "answered_at": call.answered_at.isoformat() if call.answered_at else None,
            "duration_s": call.duration_s, "billsec": call.billsec, "disposition": call.disposition}


def _call_from(record: UsageRecord) -> CallRecord:
    d = record.detail
    return CallRecord(key=record.key, source=d["source"], destination=d["destination"],
                      started_at=datetime.fromisoformat(d["started_at"]),
                      answered_at=datetime.fromisoformat(d["answered_at"]) if d.get("answered_at") else None,
                      duration_s=int(d["duration_s"]), billsec=int(d["billsec"]), disposition=d["disposition"],
                      account=d.get("account", ""), raw="")


# -- counters from other plugins ---------------------------------------------------------------------

def store_counters(session: Session, plugin: str, counters: Iterable[dict[str, Any]]) -> int:
    """Store counters a plugin reported through ``mango_usage_counters`` (each key once)."""
    counters = list(counters)
    for c in counters:
        missing = {"service_id", "key", "quantity", "unit", "description", "started_at"} - set(c)
        if missing:
            raise UsageError(f"plugin {plugin!r} reported a usage counter without {', '.join(sorted(missing))}")
        if not isinstance(c["quantity"], Decimal | int) or c["quantity"] < 0:
            raise UsageError(f"plugin {plugin!r}: counter {c['key']!r} needs a quantity >= 0 as a Decimal")
    keys = [str(c["key"]) for c in counters]
    known = set(session.scalars(select(UsageRecord.key).where(UsageRecord.source == plugin,
                                                              UsageRecord.key.in_(keys)))) if keys else set()
    location_id = _write_location()
    rows = [{"location_id": location_id, "source": plugin, "key": str(c["key"]), "service_id": c["service_id"], "started_at": c["started_at"],
             "quantity": Decimal(c["quantity"]), "unit": str(c["unit"]), "description": str(c["description"])[:200],
             "detail": {}} for c in counters if str(c["key"]) not in known]
    if rows:
        session.execute(insert(UsageRecord).execution_options(**STAMPED), rows)
    return len(rows)


def collect_counters(session: Session, mango, location_id: int, start: date, end: date) -> int:  # noqa: ANN001
    """Ask the plugins enabled here for their usage counters of the period and store the new ones."""
    stored = 0
    active = mango.plugins.active_names(location_id)
    for plugin, counters in mango.plugins.contributions("mango_usage_counters", only=active, session=session,
                                                        location_id=location_id, period_start=start,
                                                        period_end=end):
        stored += store_counters(session, plugin.name, counters)
    return stored


# -- rating ------------------------------------------------------------------------------------------

@dataclass
class RatingSummary:
    services: int = 0
    priced: int = 0
    unpriced: int = 0
    total: Decimal = Decimal("0.00")
    problems: list[str] = field(default_factory=list)


def month_starts(oldest: datetime | None, end: date) -> list[date]:
    """First days of the months from the one holding ``oldest`` (Prague time) up to ``end`` (exclusive)."""
    if oldest is None:
        return []
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    local = oldest.astimezone(PRAGUE).date()
    month, starts = date(local.year, local.month, 1), []
    while month < end:
        starts.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return starts


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0), PRAGUE).astimezone(UTC)


def rate_period(session: Session, start: date, end: date) -> RatingSummary:
    """Price the usage of [start, end) not yet invoiced, per service (see the module docstring)."""
    summary = RatingSummary()
    records = list(session.scalars(select(UsageRecord).where(
        UsageRecord.invoice_id.is_(None), UsageRecord.started_at >= _moment(start),
        UsageRecord.started_at < _moment(end)).order_by(UsageRecord.service_id, UsageRecord.started_at)))
    by_service: dict[int, list[UsageRecord]] = defaultdict(list)
    for r in records:
        by_service[r.service_id].append(r)
    products = {service_id: product_id for service_id, product_id in session.execute(
        select(Service.id, Service.product_id).where(Service.id.in_(list(by_service))))}
    terms = {t.product_id: t for t in session.scalars(
        select(ProductUsage).where(ProductUsage.product_id.in_(set(products.values()))))}
    # free minutes and units already given on an invoice (usage of a month billed in two runs)
    used_seconds: dict[int, int] = defaultdict(int)
    used_units: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for service_id, source, unit, detail in session.execute(
            select(UsageRecord.service_id, UsageRecord.source, UsageRecord.unit, UsageRecord.detail).where(
                UsageRecord.invoice_id.is_not(None), UsageRecord.service_id.in_(list(by_service)),
                UsageRecord.started_at >= _moment(start), UsageRecord.started_at < _moment(end))):
        if source == CDR:
            used_seconds[service_id] += int((detail or {}).get("free_seconds", 0))
        else:
            used_units[service_id, unit] += _decimal((detail or {}).get("free", "0"), "free units used")
    lists: dict[int, PriceList] = {}
    for service_id, items in by_service.items():
        summary.services += 1
        term = terms.get(products.get(service_id))
        calls = [r for r in items if r.source == CDR]
        others = [r for r in items if r.source != CDR]
        if calls:
            _rate_calls(session, service_id, calls, term, lists, summary, used_seconds[service_id])
        if others:
            _rate_counters(service_id, others, term, summary, used_units)
    return summary


def _price_list(session: Session, term: ProductUsage | None, cache: dict[int, PriceList]) -> PriceList | None:
    if term is None or term.price_list_id is None:
        return None
    if term.price_list_id not in cache:
        record = session.get(PriceListRecord, term.price_list_id)
        cache[term.price_list_id] = PriceList.from_dict(record.data)
    return cache[term.price_list_id]


def _rate_calls(session: Session, service_id: int, calls: list[UsageRecord], term: ProductUsage | None,
                cache: dict[int, PriceList], summary: RatingSummary, used_seconds: int = 0) -> None:
    pricelist = _price_list(session, term, cache)
    if pricelist is None:
        # no price list of ours: a price the PBX or an import already gave stands
        unpriced = [r for r in calls if r.price is None]
        summary.priced += len(calls) - len(unpriced)
        summary.total += sum((r.price for r in calls if r.price is not None), Decimal("0.00"))
        if unpriced:
            summary.unpriced += len(unpriced)
            summary.problems.append(f"service {service_id}: its product has no call price list "
                                    f"({len(unpriced)} calls left unpriced)")
        return
    allowance = FreeAllowance(max(0, term.free_minutes * 60 - used_seconds),
                              frozenset(term.free_groups) if term.free_groups is not None else None)
    result = rate_calls([_call_from(r) for r in calls], pricelist, allowance)
    by_key = {r.key: r for r in calls}
    for rated in result.rated:
        record = by_key[rated.call.key]
        record.price = rated.price
        record.detail = {**record.detail, "destination_name": rated.destination, "band": rated.band,
                         "billed_seconds": rated.billed_seconds, "free_seconds": rated.free_seconds,
                         "price_per_minute": str(rated.price_per_minute)}
        summary.priced += 1
        summary.total += rated.price
    for call in result.unanswered:
        by_key[call.key].price = Decimal("0.00")
    for call in result.unrated:
        by_key[call.key].price = None
        summary.unpriced += 1
    if result.unrated:
        summary.problems.append(f"service {service_id}: {len(result.unrated)} calls match no prefix of "
                                f"price list {pricelist.name!r} (e.g. {result.unrated[0].destination})")


def _rate_counters(service_id: int, items: list[UsageRecord], term: ProductUsage | None,
                   summary: RatingSummary, used_units: dict[tuple[int, str], Decimal]) -> None:
    """Unit price × quantity beyond the free units of the period, consumed in time order."""
    prices = (term.unit_prices if term else {}) or {}
    free_left: dict[str, Decimal] = {}
    for unit, quantity in ((term.free_units if term else {}) or {}).items():
        free_left[unit] = max(Decimal(0), _decimal(quantity, f"free units of {unit}") - used_units[service_id, unit])
    for r in items:
        if r.unit not in prices:
            if r.price is None:  # a price the reporting plugin gave stands
                summary.unpriced += 1
                summary.problems.append(f"service {service_id}: no price per {r.unit} for usage from {r.source}")
            continue
        free = min(free_left.get(r.unit, Decimal(0)), r.quantity)
        free_left[r.unit] = free_left.get(r.unit, Decimal(0)) - free
        r.price = ((r.quantity - free) * _decimal(prices[r.unit], f"price per {r.unit}")).quantize(
            CENT, rounding=ROUND_HALF_UP)
        r.detail = {**(r.detail or {}), "free": str(free)}
        summary.priced += 1
        summary.total += r.price


def _decimal(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise UsageError(f"{what} is not a number: {value!r}") from exc


def statement_rows(session: Session, invoice_id: int) -> list[dict[str, Any]]:
    """The itemised statement (výpis hovorů) of an invoice: its calls in time order."""
    rows = []
    for r in session.scalars(select(UsageRecord).where(UsageRecord.invoice_id == invoice_id, UsageRecord.source == CDR)
                             .order_by(UsageRecord.service_id, UsageRecord.started_at)):
        d = r.detail or {}
        rows.append({"started_at": datetime.fromisoformat(d["started_at"]) if "started_at" in d else r.started_at,
                     "source": d.get("source", ""), "destination": d.get("destination", r.description),
                     "destination_name": d.get("destination_name", ""), "seconds": d.get("billed_seconds", 0),
                     "free_seconds": d.get("free_seconds", 0), "price": r.price or Decimal("0.00")})
    return rows


def save_price_list(session: Session, *, code: str, name: str, pricelist: PriceList) -> PriceListRecord:
    """Create or replace a partner's price list (validated by loading its plain form back)."""
    data = pricelist.to_dict()
    try:
        PriceList.from_dict(data)
    except RatingError as exc:
        raise UsageError(str(exc)) from exc
    record = session.scalar(select(PriceListRecord).where(PriceListRecord.code == code))
    if record is None:
        record = PriceListRecord(code=code, name=name, data=data)
        session.add(record)
    else:
        record.name, record.data = name, data
    session.flush()
    return record


def set_product_usage(session: Session, product_id: int, *, price_list_id: int | None = None, free_minutes: int = 0,
                      free_groups: list[str] | None = None, unit_prices: dict[str, str] | None = None,
                      free_units: dict[str, str] | None = None) -> ProductUsage:
    if free_minutes < 0:
        raise UsageError("free minutes cannot be negative")
    for unit, price in (unit_prices or {}).items():
        if _decimal(price, f"price per {unit}") < 0:
            raise UsageError(f"the price per {unit} cannot be negative")
    term = session.scalar(select(ProductUsage).where(ProductUsage.product_id == product_id))
    if term is None:
        term = ProductUsage(product_id=product_id)
        session.add(term)
    term.price_list_id, term.free_minutes, term.free_groups = price_list_id, free_minutes, free_groups
    term.unit_prices = {k: str(v) for k, v in (unit_prices or {}).items()}
    term.free_units = {k: str(v) for k, v in (free_units or {}).items()}
    session.flush()
    return term
