"""Billing plans (partner-owned) and which plan applies to a service — the stable service API.

A service's plan: ``service.billing_plan`` = ``{"plan_id": N, "payment_method": "..."}`` (set through
the core lifecycle's ``billing_plan`` operation), else its product's ``product.billing_plan`` =
``{"plan_id": N}``, else :data:`DEFAULT_TERMS` (monthly, in advance, billing day 1, due in 14 days,
prorated, blocked days billed, bank transfer). A reference to a missing or inactive plan falls back
the same way (the run must not stop on one stale reference).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_billing.models import BLOCKED_RULES, PAYMENT_METHODS, PERIODS, BillingPlan
from mango_billing.periods import Terms

DEFAULT_TERMS = Terms()
FIELDS = ("code", "name", "period", "in_advance", "billing_day", "due_days", "prorate", "blocked_rule",
          "payment_method")


class PlanError(ValueError):
    """Invalid plan data; ``field`` names the offending field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _int(data: dict[str, Any], name: str, low: int, high: int) -> int:
    value = data.get(name)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise PlanError(f"{name}: enter a whole number from {low} to {high}, not {value!r}", name) from None
    if not low <= number <= high:
        raise PlanError(f"{name}: {number} is not between {low} and {high}", name)
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


def clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validated plan fields (``partial``: only those given)."""
    out: dict[str, Any] = {}

    def given(name: str) -> bool:
        return not partial or name in data

    if given("code"):
        code = str(data.get("code") or "").strip().upper()
        if not code or len(code) > 30 or not all(ch.isalnum() or ch in "-_" for ch in code):
            raise PlanError("code: 1 to 30 letters, digits, '-' or '_'", "code")
        out["code"] = code
    if given("name"):
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 100:
            raise PlanError("name: 1 to 100 characters", "name")
        out["name"] = name
    if given("period"):
        period = data.get("period") or "monthly"
        if period not in PERIODS:
            raise PlanError(f"period: one of {', '.join(PERIODS)}, not {period!r}", "period")
        out["period"] = period
    if given("in_advance"):
        out["in_advance"] = _bool(data.get("in_advance", True))
    if given("prorate"):
        out["prorate"] = _bool(data.get("prorate", True))
    if given("billing_day"):
        out["billing_day"] = _int({"billing_day": data.get("billing_day", 1)}, "billing_day", 1, 28)
    if given("due_days"):
        out["due_days"] = _int({"due_days": data.get("due_days", 14)}, "due_days", 0, 365)
    if given("blocked_rule"):
        rule = data.get("blocked_rule") or "bill"
        if rule not in BLOCKED_RULES:
            raise PlanError(f"blocked_rule: one of {', '.join(BLOCKED_RULES)}, not {rule!r}", "blocked_rule")
        out["blocked_rule"] = rule
    if given("payment_method"):
        method = data.get("payment_method") or "bank_transfer"
        if method not in PAYMENT_METHODS:
            raise PlanError(f"payment_method: one of {', '.join(PAYMENT_METHODS)}, not {method!r}",
                            "payment_method")
        out["payment_method"] = method
    return out


def _check_code_free(session: Session, code: str, plan_id: int | None) -> None:
    other = session.scalar(select(BillingPlan.id).where(BillingPlan.code == code))
    if other is not None and other != plan_id:
        raise PlanError(f"code: a plan with code {code} exists already", "code")


def create_plan(session: Session, data: dict[str, Any]) -> BillingPlan:
    """A new plan of the scope's partner (the tenant guard stamps ``partner_id``)."""
    values = clean(data)
    _check_code_free(session, values["code"], None)
    plan = BillingPlan(**values, is_active=True)
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, plan: BillingPlan, data: dict[str, Any]) -> BillingPlan:
    """Change the given fields. Issued invoices keep what they were issued with."""
    values = clean(data, partial=True)
    if "code" in values:
        _check_code_free(session, values["code"], plan.id)
    for name, value in values.items():
        setattr(plan, name, value)
    session.flush()
    return plan


def deactivate_plan(session: Session, plan: BillingPlan) -> BillingPlan:
    """Stop offering the plan; services that still point at it are billed by the default terms."""
    plan.is_active = False
    session.flush()
    return plan


def get_plan(session: Session, plan_id: int) -> BillingPlan | None:
    return session.get(BillingPlan, plan_id)


def plan_choices(session: Session, *, include_inactive: bool = False) -> list[tuple[int, str]]:
    """(id, "CODE name") of the scope's partner's plans, for select boxes."""
    stmt = select(BillingPlan).order_by(BillingPlan.code)
    if not include_inactive:
        stmt = stmt.where(BillingPlan.is_active.is_(True))
    return [(p.id, str(p)) for p in session.scalars(stmt)]


def terms_of(plan: BillingPlan | None, payment_method: str | None = None) -> Terms:
    if plan is None or not plan.is_active:
        base = DEFAULT_TERMS
        if payment_method in PAYMENT_METHODS:
            return Terms(payment_method=payment_method)
        return base
    method = payment_method if payment_method in PAYMENT_METHODS else plan.payment_method
    return Terms(months=PERIODS[plan.period], in_advance=plan.in_advance, prorate=plan.prorate,
                 blocked_rule=plan.blocked_rule, due_days=plan.due_days, billing_day=plan.billing_day,
                 payment_method=method, plan_id=plan.id, plan_code=plan.code)


def reference(value: Any) -> tuple[int | None, str | None]:
    """(plan id, payment method) from a ``billing_plan`` JSON value (anything else: (None, None))."""
    if not isinstance(value, dict):
        return None, None
    raw, method = value.get("plan_id"), value.get("payment_method")
    try:
        plan_id = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        plan_id = None
    return plan_id, method if isinstance(method, str) else None


def resolve(service_ref: Any, product_ref: Any, plans: dict[int, BillingPlan],
            payment_period: int | None = None) -> Terms:
    """The terms of a service from its and its product's references (plans preloaded by id)."""
    plan_id, method = reference(service_ref)
    if plan_id is None or plan_id not in plans:
        plan_id = reference(product_ref)[0]
    terms = terms_of(plans.get(plan_id) if plan_id is not None else None, method)
    if payment_period and terms.months and payment_period != terms.months:
        # the service's own "bill every N months" overrides the plan's period
        from dataclasses import replace

        terms = replace(terms, months=payment_period)
    return terms


def plan_of(session: Session, service: Any) -> Terms:
    """The billing terms of one service (see the module's rules)."""
    plans = {p.id: p for p in session.scalars(select(BillingPlan))}
    return resolve(service.billing_plan, service.product.billing_plan, plans, service.payment_period)


def set_service_plan(session: Session, service: Any, plan_id: int | None, payment_method: str | None = None, *,
                     effective: Any = None, actor: int | None = None, reason: str | None = None) -> Any:
    """Choose a service's plan through the core lifecycle (history, events); None = the product's."""
    from mango_core.services import lifecycle

    if plan_id is not None and session.get(BillingPlan, plan_id) is None:
        raise PlanError(f"plan_id: no billing plan {plan_id}", "plan_id")
    if payment_method is not None and payment_method not in PAYMENT_METHODS:
        raise PlanError(f"payment_method: one of {', '.join(PAYMENT_METHODS)}", "payment_method")
    value = None if plan_id is None and payment_method is None else {"plan_id": plan_id,
                                                                     "payment_method": payment_method}
    return lifecycle.change_billing_plan(session, service, value, effective=effective, actor=actor, reason=reason)
