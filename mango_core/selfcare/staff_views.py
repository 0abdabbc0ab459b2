"""Opcare's side of Selfcare: the customer card's panel, invitations, and tariff change requests.

Every view checks a permission of ``core.selfcare.*``; customers and requests named in a URL are
looked up in the staff member's current location (404 otherwise); every change is a POST with
a CSRF token.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mango_core.auth.access import permission_required
from mango_core.customers.models import Customer
from mango_core.customers.views import customer_or_404
from mango_core.db import utcnow
from mango_core.kernel import current_mango
from mango_core.mail.service import MailInputError
from mango_core.selfcare import accounts, forms, mail, registration, tariffs
from mango_core.selfcare.models import APPROVED, PENDING, REQUEST_STATES, TariffRequest
from mango_core.services import forms as service_forms
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import save
from mango_core.web.menu import MenuItem
from mango_core.web.plugin import _safe_next
from mango_core.web.request import db

bp = Blueprint("core_selfcare_staff", __name__)

VIEW, MANAGE, DECIDE = "core.selfcare.view", "core.selfcare.manage", "core.selfcare.requests"
SETTINGS = "core.selfcare.settings"
MENU = [MenuItem(_l("Tariff requests"), "core_selfcare_staff.requests_page", DECIDE, section="customers", order=40,
                 icon="arrow-left-right"),
        MenuItem(_l("Portal registration"), "core_selfcare_staff.registration_settings", SETTINGS, section="admin",
                 order=84, icon="person-plus")]


def _settings() -> dict:
    return current_mango().settings.section("selfcare")


def _to_card(customer: Customer):  # noqa: ANN202
    return redirect(url_for("core_customers.card", customer_id=customer.id))


def render_panel(customer: Customer) -> str:
    """The card's "Selfcare" panel: access, the portal address, waiting tariff requests."""
    s = db()
    location = s.get(Location, customer.location_id)
    try:
        portal_login = mail.login_url(mail.base_url(_settings().get("base_url")), location)
    except InvalidValue:
        portal_login = None
    return render_template(
        "selfcare/staff_panel.html", customer=customer, account=accounts.account_of(s, customer.id),
        pending=tariffs.list_requests(s, PENDING, customer_id=customer.id), portal_login=portal_login,
        can_manage=has_permission(MANAGE), can_decide=has_permission(DECIDE), invite_form=forms.InviteForm(),
        approve_form=forms.ApproveForm(), reject_form=forms.RejectForm())


@bp.post("/customers/<int:customer_id>/selfcare/invite")
@permission_required(MANAGE)
def invite(customer_id: int):  # noqa: ANN201
    """Give portal access and e-mail a one-time link to set the password (again, if sent before)."""
    customer = customer_or_404(customer_id)
    form = forms.InviteForm()
    if not form.validate_on_submit():
        abort(400)
    s = db()
    lifetime = timedelta(hours=float(_settings()["invitation_hours"]))
    try:
        account, token = accounts.invite(s, customer, email=(form.email.data or "").strip() or None,
                                         actor=current_user.id, lifetime=lifetime)
        mail.send_invitation(s, account, token, location=s.get(Location, customer.location_id),
                             base=mail.base_url(_settings().get("base_url")), valid_until=utcnow() + lifetime)
    except InvalidValue as exc:
        s.rollback()
        flash(str(exc), "danger")
    except MailInputError as exc:
        s.rollback()
        flash(_("The e-mail cannot be sent: %(error)s", error=str(exc)), "danger")
    else:
        s.commit()
        flash(_("Invitation to the customer portal sent to %(email)s.", email=account.email), "success")
    return _to_card(customer)


@bp.post("/customers/<int:customer_id>/selfcare/disable")
@permission_required(MANAGE)
def disable(customer_id: int):  # noqa: ANN201
    customer = customer_or_404(customer_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    s = db()
    account = accounts.account_of(s, customer.id)
    if account is None:
        abort(404)
    accounts.disable(s, account, actor=current_user.id)
    s.commit()
    flash(_("Portal access ended."), "success")
    return _to_card(customer)


# --- tariff change requests ------------------------------------------------------------------------


def state_labels() -> dict:
    return {"pending": _l("Waiting"), "approved": _l("Approved"), "rejected": _l("Rejected"),
            "cancelled": _l("Cancelled by the customer")}


@bp.get("/selfcare-requests/")
@permission_required(DECIDE)
def requests_page():  # noqa: ANN201
    state = request.args.get("state", PENDING)
    if state not in (*REQUEST_STATES, "all"):
        state = PENDING
    rows = tariffs.list_requests(db(), None if state == "all" else state)
    return render_template("selfcare/staff_requests.html", rows=rows, state=state, states=state_labels(),
                           service_states=service_forms.state_labels(), approve_form=forms.ApproveForm(),
                           reject_form=forms.RejectForm())


def _request_or_404(request_id: int) -> TariffRequest:
    try:
        return tariffs.request_of(db(), request_id)
    except tariffs.NotFound:
        abort(404)


def _back():  # noqa: ANN202
    return redirect(_safe_next(request.form.get("next")))


def _tell_customer(found: TariffRequest) -> None:
    """E-mail the decision to the customer's portal account, when there is one that works."""
    s = db()
    account = accounts.account_of(s, found.customer_id)
    if account is None or not account.is_active:
        return
    try:
        base = mail.base_url(_settings().get("base_url"))
        mail.send_decision(s, account, found, location=s.get(Location, found.location_id), base=base)
    except (InvalidValue, MailInputError) as exc:
        flash(_("The customer was not told by e-mail: %(error)s", error=str(exc)), "warning")


@bp.post("/selfcare-requests/<int:request_id>/approve")
@permission_required(DECIDE)
def approve(request_id: int):  # noqa: ANN201
    found = _request_or_404(request_id)
    form = forms.ApproveForm()
    if not form.validate_on_submit():
        flash(_("Enter the date as YYYY-MM-DD."), "danger")
        return _back()
    s = db()
    try:
        change = tariffs.approve(s, found, effective=form.effective.data, actor=current_user.id,
                                  note=form.note.data)
    except InvalidValue as exc:
        s.rollback()
        flash(str(exc), "danger")
        return _back()
    _tell_customer(found)
    s.commit()
    if found.state == APPROVED and change.state == "scheduled":
        flash(_("Approved: the tariff changes on %(day)s.", day=change.effective.isoformat()), "success")
    else:
        flash(_("Approved: the tariff has been changed."), "success")
    return _back()


@bp.post("/selfcare-requests/<int:request_id>/reject")
@permission_required(DECIDE)
def reject(request_id: int):  # noqa: ANN201
    found = _request_or_404(request_id)
    form = forms.RejectForm()
    if not form.validate_on_submit():
        abort(400)
    s = db()
    try:
        tariffs.reject(s, found, actor=current_user.id, note=form.note.data)
    except InvalidValue as exc:
        s.rollback()
        flash(str(exc), "danger")
        return _back()
    _tell_customer(found)
    s.commit()
    flash(_("Rejected; the customer sees it in the portal."), "success")
    return _back()


# --- self-registration ------------------------------------------------------------------------------


@bp.route("/selfcare-settings/registration", methods=["GET", "POST"])
@permission_required(SETTINGS)
def registration_settings():  # noqa: ANN201
    """Whether new customers may register in the current location's portal, as whom, and on which terms."""
    s = db()
    form = forms.RegistrationSettingsForm()
    if form.validate_on_submit():
        saved = save(form, lambda: registration.save_settings(
            s, enabled=form.enabled.data, allow_person=form.allow_person.data, allow_company=form.allow_company.data,
            terms_text=form.terms_text.data, terms_url=form.terms_url.data, actor=current_user.id),
            _("Settings saved."))
        if saved is not None:
            return redirect(url_for(".registration_settings"))
    found = registration.settings_of(s)
    if request.method == "GET":
        form.enabled.data = bool(found and found.enabled)
        form.allow_person.data = found.allow_person if found else True
        form.allow_company.data = found.allow_company if found else True
        form.terms_text.data = found.terms_text if found else ""
        form.terms_url.data = found.terms_url if found else ""
    location = s.get(Location, g.location_id)
    try:
        base = mail.base_url(_settings().get("base_url"))
        address = f"{base}/selfcare/{location.code}/register"
    except InvalidValue:
        address = None
    return render_template("selfcare/staff_registration.html", form=form, found=found,
                           address=address), 400 if form.errors else 200
