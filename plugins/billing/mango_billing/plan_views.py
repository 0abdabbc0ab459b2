"""Opcare pages of billing plans: list, create, edit, remove (or deactivate), and a product's plan.

Plans are the partner's (shared by its locations, like products). Every change is a POST with a
CSRF token; validation and changes are ``mango_billing.plans``'s (the plugin's service API).

A product's plan is stored in the core's ``Product.billing_plan`` JSON as ``{"plan_id": N}``
through the catalogue's own service function (so the product's history records the change).
The core product form has no hook for a plugin's field, hence the page "Billing plan of product".
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from mango_billing import plans as plan_service
from mango_billing.models import PAYMENT_METHODS, BillingPlan
from mango_core.auth.access import permission_required
from mango_core.catalog import service as catalog
from mango_core.catalog.models import Product
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options
from mango_core.web.request import db

bp = Blueprint("billing_plans", __name__, url_prefix="/billing/plans", template_folder="templates")

VIEW, MANAGE = "billing.plans.view", "billing.plans.manage"


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
        plan_id = plan_service.product_plan_id(product)
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
            plan = plan_service.create_plan(session, _form_data(form, with_active=False))
        except plan_service.PlanError as exc:
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
            changes = plan_service.update_plan(session, plan, _form_data(form, with_active=True))
        except plan_service.PlanError as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Saved.") if changes else _("Nothing changed."), "success" if changes else "info")
            return redirect(url_for(".index"))
    return render_template("billing/screens_plan_form.html", form=form, plan=plan, usage=plan_service.plan_usage(db(), plan),
                           confirm=ConfirmForm(), can_manage=has_permission(MANAGE)), 400 if form.errors else 200


@bp.post("/<int:plan_id>/remove")
@permission_required(MANAGE)
def remove(plan_id: int):  # noqa: ANN201
    plan = _plan_or_404(plan_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = db()
    code = plan.code
    outcome = plan_service.remove_plan(session, plan)
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
    rows = [(product, plans.get(plan_service.product_plan_id(product) or 0)) for product in catalog.list_products(session)]
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
    current = plan_service.product_plan_id(product)
    form = ProductPlanForm(plan_id=str(current or ""))
    plans = session.scalars(select(BillingPlan).where((BillingPlan.is_active.is_(True)) | (BillingPlan.id == current))
                            .order_by(BillingPlan.code))
    form.plan_id.choices = options([("", _("— none —")), *((str(p.id), f"{p.code} – {p.name}") for p in plans)])
    if request.method == "POST" and form.validate_on_submit():
        try:
            changed = plan_service.set_product_plan(session, product, form.plan_id.data, actor=_actor())
        except InvalidValue as exc:
            session.rollback()
            form_error(form, exc)
        else:
            session.commit()
            flash(_("Saved.") if changed else _("Nothing changed."), "success" if changed else "info")
            return redirect(url_for(".products"))
    return render_template("billing/screens_product_plan.html", form=form, product=product,
                           can_manage=has_permission(MANAGE)), 400 if form.errors else 200
