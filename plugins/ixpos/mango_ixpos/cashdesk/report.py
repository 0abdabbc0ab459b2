"""The daily closing report (denní uzávěrka): what the desk took on one day of the location's calendar.

Totals count approved payments by the time they were decided; card payments still unknown are
listed apart (they are not money yet). Sessions closed that day show their cash differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.tenancy import clock
from mango_core.tenancy.models import Location
from mango_ixpos.cashdesk.models import (
    APPROVED,
    CARD,
    CASH,
    CLOSED,
    PENDING,
    REFUND,
    UNKNOWN,
    CashPayment,
    CashSession,
)
from mango_ixpos.cashdesk.receipts import _center, _pair, amount_text

ZERO = Decimal("0.00")


@dataclass
class MethodTotal:
    count: int = 0
    amount: Decimal = ZERO


@dataclass
class DailyReport:
    day: date
    currency: str
    by_method: dict[str, MethodTotal] = field(default_factory=lambda: {CASH: MethodTotal(), CARD: MethodTotal()})
    by_register: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    declined: int = 0
    refunds: int = 0
    waiting: list[CashPayment] = field(default_factory=list)
    sessions: list[CashSession] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((t.amount for t in self.by_method.values()), ZERO)

    @property
    def differences(self) -> Decimal:
        return sum((s.difference or ZERO for s in self.sessions), ZERO)


def local_today(timezone: str | None) -> date:
    """The calendar day at the location now: past 23:00 UTC it is already tomorrow in Prague."""
    return clock.today(clock.zone(timezone))


def daily_report(session: Session, location_id: int, day: date) -> DailyReport:
    location = session.get(Location, location_id)
    start, end = clock.day_bounds(day, clock.location_zone(location))
    report = DailyReport(day=day, currency=location.currency or "CZK")
    decided = session.scalars(select(CashPayment).where(CashPayment.decided_at >= start, CashPayment.decided_at < end)
                              .order_by(CashPayment.id))
    for payment in decided:
        if payment.state != APPROVED:
            report.declined += 1
            continue
        total = report.by_method[payment.method]
        if payment.kind == REFUND:
            report.refunds += 1
        else:
            total.count += 1
        total.amount += payment.signed_amount  # refunds count against the day
        per_register = report.by_register.setdefault(payment.session.register.name, {CASH: ZERO, CARD: ZERO})
        per_register[payment.method] += payment.signed_amount
    report.waiting = list(session.scalars(select(CashPayment).where(
        CashPayment.state.in_((PENDING, UNKNOWN)), CashPayment.created_at < end).order_by(CashPayment.id)))
    report.sessions = list(session.scalars(select(CashSession).where(
        CashSession.state == CLOSED, CashSession.closed_at >= start, CashSession.closed_at < end)
        .order_by(CashSession.closed_at)))
    return report


def report_text(report: DailyReport, width: int = 42) -> str:
    """The report for the desk's thermal printer."""
    cur = report.currency
    lines = [*_center(_("Daily closing report"), width), *_center(report.day.strftime("%d.%m.%Y"), width),
             "=" * width]
    for method, label in ((CASH, _("Cash")), (CARD, _("Card"))):
        total = report.by_method[method]
        lines += _pair(f"{label} ({total.count})", amount_text(total.amount, cur), width)
    lines.append("-" * width)
    lines += _pair(_("TOTAL"), amount_text(report.total, cur), width)
    for name, totals in sorted(report.by_register.items()):
        lines.append("-" * width)
        lines += _pair(name, "", width)
        lines += _pair("  " + _("Cash"), amount_text(totals[CASH], cur), width)
        lines += _pair("  " + _("Card"), amount_text(totals[CARD], cur), width)
    if report.sessions:
        lines.append("-" * width)
        for s in report.sessions:
            lines += _pair(f"{s.register.name} #{s.id}", amount_text(s.difference or ZERO, cur), width)
        lines += _pair(_("Cash differences"), amount_text(report.differences, cur), width)
    if report.refunds:
        lines += _pair(_("Refunds"), str(report.refunds), width)
    if report.declined:
        lines += _pair(_("Declined card payments"), str(report.declined), width)
    if report.waiting:
        lines += _pair(_("Card payments to reconcile"), str(len(report.waiting)), width)
    lines.append("=" * width)
    return "\n".join(lines) + "\n"
