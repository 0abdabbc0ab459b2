"""Opcare pages of billing plans: list, create, edit, remove (or deactivate), and a product's plan.

Plans are the partner's (shared by its locations, like products). Every change is a POST with a
CSRF token. The small validated create/update/remove functions below work on the model directly;
they duplicate what ``mango_billing.plans`` offers as the plugin's service API and should be
merged into it (see ``plan_values``, ``create_plan``, ``update_plan``, ``remove_plan``).

A product's plan is stored in the core's ``Product.billing_plan`` JSON as ``{"plan_id": N}``
through the catalogue's own service function (so the product's history records the change).
The core product form has no hook for a plugin's field, hence the page "Billing plan of product".
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from mango_billing.models import BLOCKED_RULES, PAYMENT_METHODS, PERIODS, BillingPlan
from mango_core.auth.access import permission_required
from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.services.models import Service
from mango_core.tenancy.context import current_scope, location_scope
from mango_core.tenancy.validators import N_, InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options
from mango_core.web.request import db

bp = Blueprint("billing_plans", __name__, url_prefix="/billing/plans", template_folder="templates")

VIEW, MANAGE = "billing.plans.view", "billing.plans.manage"


class PlanError(InvalidValue):
    """A plan's field is wrong; the message names what was expected (translated in a request)."""


def period_labels() -> dict[str, Any]:
    return {"monthly": _l("monthly"), "quarterly": _l("quarterly"), "half-year": _l("half-yearly"),
            "yearly": _l("yearly"), "one-off": _l("one-off")}


def blocked_rule_labels() -> dict[str, Any]:
    return {"bill": _l("bill blocked days"), "skip": _l("do not bill a blocked period"),
            "prorate": _l("do not bill blocked days (prorate)")}


def payment_method_labels() -> dict[str, Any]:
    return {"bank_transfer": _l("bank transfer"), "standing_order": _l("standing order"), "sipo": _l("SIPO"),
            "direct_debit": _l("direct debit"), "cash": _l("cash"), "card": _l("card"),
            "prepaid": _l("uniCredit (prepaid)"), "bank": _l("bank")}


# --- validation and changes (duplicated by mango_billing.plans: merge there) -----------------------


def _whole(raw: Any, field: str, low: int, high: int) -> int:
    text = str(raw).strip() if raw is not None else ""
    if not re.fullmatch(r"-?[0-9]{1,6}", text):  # ASCII digits only: str.isdigit() accepts "²"
        raise PlanError(N_("Enter a whole number from %(low)d to %(high)d."), field=field, low=low, high=high)
    value = int(text)
    if not low <= value <= high:
        raise PlanError(N_("Enter a whole number from %(low)d to %(high)d."), field=field, low=low, high=high)
    return value


def _choice(raw: Any, field: str, allowed: tuple[str, ...] | dict[str, int]) -> str:
    if raw not in allowed:
        raise PlanError(N_("Choose one of the offered values."), field=field)
    return str(raw)


def _flag(raw: Any) -> bool:
    return raw in (True, "y", "yes", "on", "1", 1, "true")


def plan_values(session: Session, data: dict[str, Any], plan_id: int | None = None) -> dict[str, Any]:
    """Validated column values of a plan from form data; raises :class:`PlanError` naming the field."""
    code = str(data.get("code") or "").strip().upper()
    if not code or len(code) > 30 or any(c.isspace() for c in code):
        raise PlanError(N_("A code has 1 to 30 characters without spaces."), field="code")
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        raise PlanError(N_("A name has 1 to 100 characters."), field="name")
    values = {
        "code": code,
        "name": name,
        "period": _choice(data.get("period"), "period", PERIODS),
        "in_advance": _flag(data.get("in_advance")),
        "billing_day": _whole(data.get("billing_day"), "billing_day", 1, 28),
        "due_days": _whole(data.get("due_days"), "due_days", 0, 365),
        "prorate": _flag(data.get("prorate")),
        "blocked_rule": _choice(data.get("blocked_rule"), "blocked_rule", BLOCKED_RULES),
        "payment_method": _choice(data.get("payment_method"), "payment_method", PAYMENT_METHODS),
    }
    # the partner filter of the session guard keeps this check within the partner's own plans
    other = session.scalar(select(BillingPlan.id).where(BillingPlan.code == code))
    if other is not None and other != plan_id:
        raise PlanError(N_("Code %(code)s belongs to another plan."), field="code", code=code)
    return values


def create_plan(session: Session, data: dict[str, Any]) -> BillingPlan:
    plan = BillingPlan(**plan_values(session, data), is_active=True)
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, plan: BillingPlan, data: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Change a plan; returns the changed fields as ``(before, after)``."""
    values = plan_values(session, data, plan.id)
    if "is_active" in data:
        values["is_active"] = _flag(data["is_active"])
    changes = {k: (getattr(plan, k), v) for k, v in values.items() if getattr(plan, k) != v}
    for key, (_before, after) in changes.items():
        setattr(plan, key, after)
    session.flush()
    return changes


def plan_of(product: Product) -> int | None:
    """The plan id stored in a product's ``billing_plan`` JSON, or None (other shapes are ignored)."""
    value = product.billing_plan
    if isinstance(value, dict) and isinstance(value.get("plan_id"), int):
        return value["plan_id"]
    return None


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


def set_product_plan(session: Session, product: Product, plan_id: Any, *, actor: int | None = None) -> bool:
    """Store ``{"plan_id": N}`` (or nothing) on a product; True when it changed."""
    if plan_id in (None, "", "0", 0):
        value = None
    else:
        try:
            plan = session.get(BillingPlan, int(plan_id))
        except (TypeError, ValueError):
            plan = None
        if plan is None:
            raise PlanError(N_("Choose one of the offered values."), field="plan_id")
        if not plan.is_active and plan_of(product) != plan.id:
            raise PlanError(N_("Plan %(code)s is not active."), field="plan_id", code=plan.code)
        value = {"plan_id": plan.id}
    if product.billing_plan == value:
        return False
    catalog.update_product(session, product, billing_plan=value, actor=actor)
    return True


# --- forms ------------------------------------------------------------------------------------------


class PlanForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=30)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    period = SelectField(_l("Billing period"))
    in_advance = SelectField(_l("Billed"))
    billing_day = StringField(_l("Billing day (1–28)"), validators=[DataRequired()])
    due_days = StringField(_l("Due in days"), validators=[DataRequired()])
    prorate = BooleanField(_l("Daily proration of part-periods"), default=True)
    blocked_rule = SelectField(_l("Blocked period"))
    payment_method = SelectField(_l("Default payment method"))
    is_active = BooleanField(_l("Active"), default=True)


class ProductPlanForm(FlaskForm):
    plan_id = SelectField(_l("Billing plan"))


class ConfirmForm(FlaskForm):
    """Just the CSRF token of a button that changes something."""


def _plan_form(plan: BillingPlan | None = None) -> PlanForm:
    form = PlanForm(obj=plan) if plan is not None else PlanForm()
    form.period.choices = options([(k, str(v)) for k, v in period_labels().items()])
    form.in_advance.choices = options([("1", _("in advance")), ("0", _("in arrears"))])
    form.blocked_rule.choices = options([(k, str(v)) for k, v in blocked_rule_labels().items()])
    labels = payment_method_labels()
    form.payment_method.choices = options([(k, str(labels[k])) for k in PAYMENT_METHODS])
    if request.method == "GET":
        if plan is not None:
            form.in_advance.data = "1" if plan.in_advance else "0"
            form.billing_day.data = str(plan.billing_day)
            form.due_days.data = str(plan.due_days)
        else:
            form.billing_day.data, form.due_days.data, form.in_advance.data = "1", "14", "1"
    return form


def _form_data(form: PlanForm, with_active: bool) -> dict[str, Any]:
    data = {name: getattr(form, name).data for name in ("code", "name", "period", "billing_day", "due_days",
                                                         "prorate", "blocked_rule", "payment_method")}
    data["in_advance"] = form.in_advance.data == "1"
    if with_active:
        data["is_active"] = form.is_active.data
    return data


def _plan_or_404(plan_id: int) -> BillingPlan:
    plan = db().get(BillingPlan, plan_id)
    if plan is None:
        abort(404)
    return plan


def _actor() -> int | None:
    return current_user.id if current_user.is_authenticated else None


# --- pages ------------------------------------------------------------------------------------------


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    session = db()
    plans = list(session.scalars(select(BillingPlan).order_by(BillingPlan.is_active.desc(), BillingPlan.code)))
    counts: dict[int, int] = {}
    for product in catalog.list_products(session):
        plan_id = plan_of(product)
        if plan_id is not None:
            counts[plan_id] = counts.get(plan_id, 0) + 1
    return render_template("billing/screens_plans.html", plans=plans, counts=counts, periods=period_labels(),
                           rules=blocked_rule_labels(), methods=payment_method_labels(), confirm=ConfirmForm(),
                           can_manage=has_permission(MANAGE))


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new():  # noqa: ANN201
    form = _plan_form()
    if form.validate_on_submit():
        session = db()
        try:
            plan = create_plan(session, _form_data(form, with_active=False))
        except PlanError as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Billing plan %(code)s created.", code=plan.code), "success")
            return redirect(url_for(".index"))
    return render_template("billing/screens_plan_form.html", form=form, plan=None), 400 if form.errors else 200


@bp.route("/<int:plan_id>", methods=["GET", "POST"])
@permission_required(VIEW)
def edit(plan_id: int):  # noqa: ANN201
    plan = _plan_or_404(plan_id)
    if request.method == "POST" and not has_permission(MANAGE):
        abort(403)
    form = _plan_form(plan)
    if request.method == "POST" and form.validate_on_submit():
        session = db()
        try:
            changes = update_plan(session, plan, _form_data(form, with_active=True))
        except PlanError as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Saved.") if changes else _("Nothing changed."), "success" if changes else "info")
            return redirect(url_for(".index"))
    return render_template("billing/screens_plan_form.html", form=form, plan=plan, usage=plan_usage(db(), plan),
                           confirm=ConfirmForm(), can_manage=has_permission(MANAGE)), 400 if form.errors else 200


@bp.post("/<int:plan_id>/remove")
@permission_required(MANAGE)
def remove(plan_id: int):  # noqa: ANN201
    plan = _plan_or_404(plan_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = db()
    code = plan.code
    outcome = remove_plan(session, plan)
    session.commit()
    if outcome == "deleted":
        flash(_("Billing plan %(code)s deleted.", code=code), "success")
    else:
        flash(_("Billing plan %(code)s is in use, so it was deactivated instead of deleted.", code=code), "warning")
    return redirect(url_for(".index"))


@bp.get("/products")
@permission_required(VIEW)
def products():  # noqa: ANN201
    session = db()
    plans = {p.id: p for p in session.scalars(select(BillingPlan))}
    rows = [(product, plans.get(plan_of(product) or 0)) for product in catalog.list_products(session)]
    return render_template("billing/screens_products.html", rows=rows, can_manage=has_permission(MANAGE))


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@permission_required(VIEW)
def product_plan(product_id: int):  # noqa: ANN201
    session = db()
    product = session.get(Product, product_id)
    if product is None:
        abort(404)
    if request.method == "POST" and not has_permission(MANAGE):
        abort(403)
    current = plan_of(product)
    form = ProductPlanForm(plan_id=str(current or ""))
    plans = session.scalars(select(BillingPlan).where((BillingPlan.is_active.is_(True)) | (BillingPlan.id == current))
                            .order_by(BillingPlan.code))
    form.plan_id.choices = options([("", _("— none —")), *((str(p.id), f"{p.code} – {p.name}") for p in plans)])
    if request.method == "POST" and form.validate_on_submit():
        try:
            changed = set_product_plan(session, product, form.plan_id.data, actor=_actor())
        except InvalidValue as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Saved.") if changed else _("Nothing changed."), "success" if changed else "info")
            return redirect(url_for(".products"))
    return render_template("billing/screens_product_plan.html", form=form, product=product,
                           can_manage=has_permission(MANAGE)), 400 if form.errors else 200
