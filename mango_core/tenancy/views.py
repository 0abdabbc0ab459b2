"""Opcare pages of partners (operator), locations, bank accounts and module switches.

Objects named in a URL are looked up only among what the user may see: partners only by
operator staff, locations only among the user's locations (all for the operator), bank
accounts only inside their location. Anything else answers 404.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mango_core.auth.access import permission_required, permissions_in
from mango_core.kernel import current_mango
from mango_core.tenancy import forms, service
from mango_core.tenancy.models import Licence, Location, Partner
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.forms import save
from mango_core.web.menu import MenuItem
from mango_core.web.request import db

bp = Blueprint("core_tenancy", __name__)

MENU = [
    MenuItem(_l("Partners"), "core_tenancy.partners", "core.partners.manage", section="admin", order=10,
             icon="briefcase"),
    MenuItem(_l("Locations"), "core_tenancy.locations", "core.locations.view", section="admin", order=20,
             icon="buildings"),
]


# --- helpers -----------------------------------------------------------------------------------


def _operator_only() -> None:
    """core.partners.manage is the operator's: a partner role holding it still gets 403."""
    if not current_user.is_operator:
        abort(403)


def _visible_locations() -> list[Location]:
    query = select(Location).order_by(Location.code)
    if not current_user.is_operator:
        query = query.where(Location.id.in_(g.get("allowed_location_ids") or []))
    return list(db().scalars(query))


def _location_or_404(location_id: int, permission: str) -> Location:
    """A location the user may see, where they also hold ``permission`` (else 404 / 403)."""
    location = db().get(Location, location_id)
    if location is None:
        abort(404)
    if current_user.is_operator:
        return location
    if location_id not in (g.get("allowed_location_ids") or []) or location.partner_id != current_user.user.partner_id:
        abort(404)
    if location_id != g.get("location_id"):
        held = permissions_in(db(), current_user.user, location_id, set(current_mango().permissions))
        if permission not in held:
            abort(403)
    return location


def _partner_or_404(partner_id: int) -> Partner:
    _operator_only()
    partner = db().get(Partner, partner_id)
    if partner is None:
        abort(404)
    return partner


def _form_data(form: FlaskForm, names: tuple[str, ...]) -> dict:
    return {name: getattr(form, name).data for name in names if hasattr(form, name)}


def _module_choices(partner: Partner | None = None) -> list[tuple[str, str]]:
    mango = current_mango()
    names = {p.name: p.meta.title for p in mango.plugins.ordered() if p.licensed}
    if partner is not None:
        for licence in partner.licences:
            names.setdefault(licence.module, licence.module)
    return [(name, f"{name} – {title}" if title != name else name) for name, title in sorted(names.items())]


# --- partners (operator) -----------------------------------------------------------------------


@bp.get("/partners")
@permission_required("core.partners.manage")
def partners():  # noqa: ANN201
    _operator_only()
    rows = db().scalars(select(Partner).order_by(Partner.code)).all()
    return render_template("tenancy/partners.html", partners=rows, today=date.today())


@bp.route("/partners/new", methods=["GET", "POST"])
@permission_required("core.partners.manage")
def partner_new():  # noqa: ANN201
    _operator_only()
    form = forms.PartnerForm()
    if form.validate_on_submit():
        if saved := save(form, lambda: service.create_partner(db(), code=form.code.data,
                                                              **_form_data(form, service.PARTNER_FIELDS)),
                         lambda partner: _("Partner %(code)s created.", code=partner.code)):
            return redirect(url_for(".partner", partner_id=saved.value.id))
    return render_template("tenancy/partner_form.html", form=form, partner=None)


@bp.get("/partners/<int:partner_id>")
@permission_required("core.partners.manage")
def partner(partner_id: int):  # noqa: ANN201
    obj = _partner_or_404(partner_id)
    licence_form = forms.LicenceForm(valid_from=date.today())
    licence_form.module.choices = _module_choices(obj)
    return render_template("tenancy/partner.html", partner=obj, licence_form=licence_form,
                           end_form=forms.EndLicenceForm(valid_until=date.today()), today=date.today())


@bp.route("/partners/<int:partner_id>/edit", methods=["GET", "POST"])
@permission_required("core.partners.manage")
def partner_edit(partner_id: int):  # noqa: ANN201
    obj = _partner_or_404(partner_id)
    form = forms.PartnerForm(obj=obj)
    form.code.data = obj.code  # the code is fixed once created
    if form.validate_on_submit():
        if save(form, lambda: service.update_partner(db(), obj, **_form_data(form, service.PARTNER_FIELDS)),
                _("Saved.")):
            return redirect(url_for(".partner", partner_id=obj.id))
    return render_template("tenancy/partner_form.html", form=form, partner=obj)


@bp.post("/partners/<int:partner_id>/licences")
@permission_required("core.partners.manage")
def licence_add(partner_id: int):  # noqa: ANN201
    obj = _partner_or_404(partner_id)
    form = forms.LicenceForm()
    form.module.choices = _module_choices(obj)
    if form.validate_on_submit():
        try:
            service.add_licence(db(), obj, form.module.data, valid_from=form.valid_from.data,
                                valid_until=form.valid_until.data, note=form.note.data)
        except InvalidValue as exc:
            db().rollback()
            flash(str(exc), "danger")
        else:
            db().commit()
            flash(_("Licence for %(module)s added.", module=form.module.data), "success")
            return redirect(url_for(".partner", partner_id=obj.id))
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")
    return render_template("tenancy/partner.html", partner=obj, licence_form=form,
                           end_form=forms.EndLicenceForm(valid_until=date.today()), today=date.today()), 400


@bp.post("/partners/<int:partner_id>/licences/<int:licence_id>/end")
@permission_required("core.partners.manage")
def licence_end(partner_id: int, licence_id: int):  # noqa: ANN201
    obj = _partner_or_404(partner_id)
    licence = db().get(Licence, licence_id)
    if licence is None or licence.partner_id != obj.id:
        abort(404)
    form = forms.EndLicenceForm()
    if not form.validate_on_submit():
        flash(_("Enter the last day of the licence."), "danger")
        return redirect(url_for(".partner", partner_id=obj.id))
    try:
        service.end_licence(db(), licence, form.valid_until.data)
    except InvalidValue as exc:
        db().rollback()
        flash(str(exc), "danger")
    else:
        db().commit()
        flash(_("The licence for %(module)s ends on %(day)s.", module=licence.module,
                day=form.valid_until.data.strftime("%d.%m.%Y")), "success")
    return redirect(url_for(".partner", partner_id=obj.id))


# --- locations ---------------------------------------------------------------------------------


@bp.get("/locations")
@permission_required("core.locations.view")
def locations():  # noqa: ANN201
    return render_template("tenancy/locations.html", locations=_visible_locations())


def _location_form(obj: Location | None = None) -> forms.LocationForm:
    form = forms.LocationForm(obj=obj)
    form.locale.choices = [(code, code.upper()) for code in current_mango().settings["locales"]]
    form.partner_id.choices = [(p.id, f"{p.code} – {p.name}")
                               for p in db().scalars(select(Partner).order_by(Partner.code))]
    if obj is not None and request.method == "GET":
        import json

        form.invoice_series.data = json.dumps(obj.invoice_series or {}, ensure_ascii=False, indent=2)
    return form


@bp.route("/locations/new", methods=["GET", "POST"])
@permission_required("core.partners.manage")
def location_new():  # noqa: ANN201
    _operator_only()
    form = _location_form()
    if request.method == "GET" and request.args.get("partner", "").isdigit():
        form.partner_id.data = int(request.args["partner"])
    if form.validate_on_submit():
        partner = db().get(Partner, form.partner_id.data)
        if saved := save(form, lambda: service.create_location(db(), partner=partner, code=form.code.data,
                                                               **_form_data(form, service.LOCATION_FIELDS)),
                         lambda location: _("Location %(code)s created.", code=location.code)):
            return redirect(url_for(".location", location_id=saved.value.id))
    return render_template("tenancy/location_form.html", form=form, location=None)


@bp.get("/locations/<int:location_id>")
@permission_required("core.locations.view")
def location(location_id: int):  # noqa: ANN201
    obj = _location_or_404(location_id, "core.locations.view")
    mango = current_mango()
    held = (set(mango.permissions) if current_user.is_operator
            else permissions_in(db(), current_user.user, obj.id, set(mango.permissions)))
    return render_template(
        "tenancy/location.html",
        location=obj,
        accounts=service.list_bank_accounts(db(), obj.id),
        modules=service.module_states(db(), mango.plugins, obj),
        can_manage="core.locations.manage" in held,
        can_switch="core.modules.manage" in held,
        confirm=forms.ConfirmForm(),
    )


@bp.route("/locations/<int:location_id>/edit", methods=["GET", "POST"])
@permission_required("core.locations.manage")
def location_edit(location_id: int):  # noqa: ANN201
    obj = _location_or_404(location_id, "core.locations.manage")
    form = _location_form(obj)
    form.code.data = obj.code
    form.partner_id.data = obj.partner_id
    if form.validate_on_submit():
        if save(form, lambda: service.update_location(db(), obj, **_form_data(form, service.LOCATION_FIELDS)),
                _("Saved.")):
            return redirect(url_for(".location", location_id=obj.id))
    return render_template("tenancy/location_form.html", form=form, location=obj)


@bp.route("/locations/<int:location_id>/bank-accounts/new", methods=["GET", "POST"])
@permission_required("core.locations.manage")
def bank_account_new(location_id: int):  # noqa: ANN201
    obj = _location_or_404(location_id, "core.locations.manage")
    form = forms.BankAccountForm(currency=obj.currency)
    if form.validate_on_submit():
        if save(form, lambda: service.add_bank_account(db(), obj.id, label=form.label.data,
                                                       account=form.account.data, currency=form.currency.data,
                                                       is_default=form.is_default.data),
                _("Bank account added.")):
            return redirect(url_for(".location", location_id=obj.id))
    return render_template("tenancy/bank_account_form.html", form=form, location=obj, account=None)


def _account_or_404(location: Location, account_id: int):  # noqa: ANN202
    try:
        return service.get_bank_account(db(), location.id, account_id)
    except service.NotFound:
        abort(404)


@bp.route("/locations/<int:location_id>/bank-accounts/<int:account_id>/edit", methods=["GET", "POST"])
@permission_required("core.locations.manage")
def bank_account_edit(location_id: int, account_id: int):  # noqa: ANN201
    obj = _location_or_404(location_id, "core.locations.manage")
    account = _account_or_404(obj, account_id)
    form = forms.BankAccountForm(obj=account)
    if request.method == "GET":
        form.account.data = account.account_number or account.iban
    if form.validate_on_submit():
        if save(form, lambda: service.update_bank_account(db(), obj.id, account.id, label=form.label.data,
                                                          account=form.account.data, currency=form.currency.data,
                                                          is_default=form.is_default.data),
                _("Saved.")):
            return redirect(url_for(".location", location_id=obj.id))
    return render_template("tenancy/bank_account_form.html", form=form, location=obj, account=account)


@bp.post("/locations/<int:location_id>/bank-accounts/<int:account_id>/delete")
@permission_required("core.locations.manage")
def bank_account_delete(location_id: int, account_id: int):  # noqa: ANN201
    obj = _location_or_404(location_id, "core.locations.manage")
    account = _account_or_404(obj, account_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    service.delete_bank_account(db(), obj.id, account.id)
    db().commit()
    flash(_("Bank account removed."), "success")
    return redirect(url_for(".location", location_id=obj.id))


@bp.post("/locations/<int:location_id>/modules/<module>")
@permission_required("core.modules.manage")
def module_switch(location_id: int, module: str):  # noqa: ANN201
    obj = _location_or_404(location_id, "core.modules.manage")
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action not in ("enable", "disable"):
        abort(400)
    plugins = current_mango().plugins
    try:
        if action == "enable":
            service.enable_module(db(), plugins, obj, module, user_id=current_user.id)
            flash(_("Module %(module)s enabled in %(location)s.", module=module, location=obj.code), "success")
        else:
            service.disable_module(db(), plugins, obj, module)
            flash(_("Module %(module)s disabled in %(location)s.", module=module, location=obj.code), "success")
    except InvalidValue as exc:
        db().rollback()
        flash(str(exc), "danger")
    return redirect(url_for(".location", location_id=obj.id))
