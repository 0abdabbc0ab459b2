"""Billing plans (partner-owned) and which plan applies to a service — the stable service API.

A service's plan: ``service.billing_plan`` = ``{"plan_id": N, "payment_method": "..."}`` (set through
the core lifecycle's ``billing_plan`` operation), else its product's ``product.billing_plan`` =
``{"plan_id": N}``, else :data:`DEFAULT_TERMS` (monthly, in advance, billing day 1, due in 14 days,
prorated, blocked days billed, bank transfer). A reference to a missing or inactive plan falls back
the same way (the run must not stop on one stale reference).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_billing.models import BLOCKED_RULES, PAYMENT_METHODS, PERIODS, BillingPlan
from mango_billing.periods import Terms
from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.services.models import Service
from mango_core.tenancy.context import current_scope, location_scope
from mango_core.tenancy.validators import N_, InvalidValue

DEFAULT_TERMS = Terms()


class PlanError(InvalidValue):
    """A plan's field is wrong; the message names what was expected (translated in a request)."""


def _whole(raw: Any, field: str, low: int, high: int) -> int:
    text = str(raw).strip() if raw is not None else ""
    if not re.fullmatch(r"-?[0-9]{1,6}", text):  # ASCII digits only: str.isdigit() accepts "²"
        raise PlanError(N_("Enter a whole number from %(low)d to %(high)d."), field=field, low=low, high=high)
    value = int(text)
    if not low <= value <= high:
        raise PlanError(N_("Enter a whole number from %(low)d to %(high)d."), field=field, low=low, high=high)
    return value


def _choice(raw: Any, field: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise PlanError(N_("Choose one of the offered values."), field=field)
    return str(raw)


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("1", "true", "yes", "on", "y")


# a field left out of a new plan takes this value (the CLI, demo data and tests give only some)
DEFAULTS = {"period": "monthly", "in_advance": True, "billing_day": 1, "due_days": 14, "prorate": True,
            "blocked_rule": "bill", "payment_method": "bank_transfer"}


def clean(session: Session, data: dict[str, Any], plan_id: int | None = None, *,
          partial: bool = False) -> dict[str, Any]:
    """Validated column values from form or API data; raises :class:`PlanError` naming the field.

    ``partial``: only the fields given (a change); otherwise missing fields take :data:`DEFAULTS`.
    """
    data = data if partial else {**DEFAULTS, **{k: v for k, v in data.items() if v is not None}}
    out: dict[str, Any] = {}
    if "code" in data or not partial:
        code = str(data.get("code") or "").strip().upper()
        if not code or len(code) > 30 or any(c.isspace() for c in code):
            raise PlanError(N_("A code has 1 to 30 characters without spaces."), field="code")
        # the partner filter of the session guard keeps this check within the partner's own plans
        other = session.scalar(select(BillingPlan.id).where(BillingPlan.code == code))
        if other is not None and other != plan_id:
            raise PlanError(N_("Code %(code)s belongs to another plan."), field="code", code=code)
        out["code"] = code
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 100:
            raise PlanError(N_("A name has 1 to 100 characters."), field="name")
        out["name"] = name
    checks = {"period": lambda v: _choice(v, "period", PERIODS),
              "in_advance": _flag,
              "billing_day": lambda v: _whole(v, "billing_day", 1, 28),
              "due_days": lambda v: _whole(v, "due_days", 0, 365),
              "prorate": _flag,
              "blocked_rule": lambda v: _choice(v, "blocked_rule", BLOCKED_RULES),
              "payment_method": lambda v: _choice(v, "payment_method", PAYMENT_METHODS),
              "is_active": _flag}
    for name, check in checks.items():
        if name in data and (name != "is_active" or plan_id is not None):
            out[name] = check(data[name])
    return out


def create_plan(session: Session, data: dict[str, Any]) -> BillingPlan:
    """A new plan of the scope's partner (the tenant guard stamps ``partner_id``)."""
    plan = BillingPlan(**{**clean(session, data), "is_active": True})
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, plan: BillingPlan, data: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Change the given fields; returns them as ``(before, after)``. Issued invoices keep their terms."""
    values = clean(session, data, plan.id, partial=True)
    changes = {k: (getattr(plan, k), v) for k, v in values.items() if getattr(plan, k) != v}
    for key, (_before, after) in changes.items():
        setattr(plan, key, after)
    session.flush()
    return changes


def plan_usage(session: Session, plan: BillingPlan) -> dict[str, int]:
    """How many products of the partner and services in its locations name the plan."""
    products = session.scalar(select(func.count(Product.id))
                              .where(Product.billing_plan["plan_id"].as_integer() == plan.id)) or 0
    # services are per location: read (never write) all of the partner's locations, as the
    # catalogue's history does; the guard still filters the statement to them
    with location_scope(current_scope().write_location_id, also_read=catalog.history_location_ids(session)):
        services = session.scalar(select(func.count(Service.id))
                                  .where(Service.billing_plan["plan_id"].as_integer() == plan.id)) or 0
    return {"products": products, "services": services}


def remove_plan(session: Session, plan: BillingPlan) -> str:
    """Delete a plan nobody uses; deactivate one in use (it stays valid for what names it)."""
    usage = plan_usage(session, plan)
    if usage["products"] or usage["services"]:
        plan.is_active = False
        session.flush()
        return "deactivated"
    session.delete(plan)
    session.flush()
    return "deleted"


def product_plan_id(product: Product) -> int | None:
    """The plan id stored in a product's ``billing_plan`` JSON, or None (other shapes are ignored)."""
    value = product.billing_plan
    if isinstance(value, dict) and isinstance(value.get("plan_id"), int):
        return value["plan_id"]
    return None


def set_product_plan(session: Session, product: Product, plan_id: Any, *, actor: int | None = None) -> bool:
    """Store ``{"plan_id": N}`` (or nothing) on a product through the catalogue; True when it changed."""
    if plan_id in (None, "", "0", 0):
        value = None
    else:
        try:
            plan = session.get(BillingPlan, int(plan_id))
        except (TypeError, ValueError):
            plan = None
        if plan is None:
            raise PlanError(N_("Choose one of the offered values."), field="plan_id")
        if not plan.is_active and product_plan_id(product) != plan.id:
            raise PlanError(N_("Plan %(code)s is not active."), field="plan_id", code=plan.code)
        value = {"plan_id": plan.id}
    if product.billing_plan == value:
        return False
    catalog.update_product(session, product, billing_plan=value, actor=actor)
    return True


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
        raise PlanError(N_("Choose one of the offered values."), field="plan_id")
    if payment_method is not None and payment_method not in PAYMENT_METHODS:
        raise PlanError(N_("Choose one of the offered values."), field="payment_method")
    value = None if plan_id is None and payment_method is None else {"plan_id": plan_id,
                                                                     "payment_method": payment_method}
    return lifecycle.change_billing_plan(session, service, value, effective=effective, actor=actor, reason=reason)
