"""The portal's own pages: login, password links, the dashboard, services, contacts, documents.

Pages before login take the location from the code in their URL (``/selfcare/<CODE>/login``,
see :mod:`mango_core.selfcare.mail`); pages after login take everything from the customer's
session (:func:`mango_core.selfcare.access.customer_required`) and name the customer in every
look-up, so another customer's id answers 404. Every change is a POST with a CSRF token.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from mango_core.auth import throttle
from mango_core.auth.access import public
from mango_core.db import utcnow
from mango_core.documents import service as documents
from mango_core.kernel import current_mango
from mango_core.params import ParamValidationError, validate_values
from mango_core.params.forms import attach_errors, build_form, form_values
from mango_core.selfcare import accounts, forms, mail, portal, registration, tariffs
from mango_core.selfcare.access import (
    clear_session_cookie,
    current,
    customer_required,
    lookup,
    remember_location,
    set_session_cookie,
)
from mango_core.selfcare.models import SelfcareAccount
from mango_core.services import service as services
from mango_core.services.forms import state_labels
from mango_core.services.models import Service
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import Location
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.forms import form_error
from mango_core.web.request import client_ip, db, user_agent

bp = Blueprint("core_selfcare", __name__, url_prefix="/selfcare")

LOGIN_FAILED = {
    accounts.LoginFailure.BAD_CREDENTIALS: _l("Wrong e-mail, customer number or password."),
    accounts.LoginFailure.THROTTLED: _l("Too many failed attempts. Please wait a few minutes and try again."),
}
RESET_SENT = _l("If the portal knows you, an e-mail with a link to set a new password is on its way. "
                "It may take a few minutes.")
HIDDEN_TYPES = ("device",)  # internal references, meaningless to a customer


def settings() -> dict[str, Any]:
    return current_mango().settings.section("selfcare")


# --- the portal's look: error pages of its own -----------------------------------------------------


def _error(error: Exception) -> tuple[str, int]:
    code = getattr(error, "code", 500) or 500
    return render_template("selfcare/error.html", code=code, csrf=isinstance(error, CSRFError)), code


@bp.app_context_processor
def _portal_context() -> dict[str, Any]:
    """What the portal's layout (also extended by plugins' portal pages) reads."""
    from flask import g

    from mango_core.selfcare.menu import visible_items

    return {"selfcare_menu": visible_items, "selfcare_principal": lambda: g.get("selfcare")}


def use_portal_error_pages(blueprint: Blueprint) -> None:
    """Errors of a portal blueprint's views (404, a stale form…) shown in the portal's look, not Opcare's."""
    for code in (400, 403, 404, 405):
        blueprint.register_error_handler(code, _error)
    blueprint.register_error_handler(CSRFError, _error)


use_portal_error_pages(bp)


def _location_or_404(code: str) -> Location:
    location = db().scalar(select(Location).where(Location.code == (code or "").strip().upper()[:20],
                                                  Location.is_active.is_(True)))
    if location is None:
        abort(404)
    return location


def _page(template: str, location: Location, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, location=location, **context), status)
    remember_location(response, location.code)
    response.headers["Cache-Control"] = "no-store"  # a password page names the account
    return response


# --- before login ---------------------------------------------------------------------------------


@bp.get("/<code>/")
@public
def entry(code: str):  # noqa: ANN201
    """The address an ISP links from its website: on to the login page."""
    location = _location_or_404(code)
    return redirect(url_for(".login", code=location.code))


@bp.get("/welcome")
@public
def no_location():  # noqa: ANN201
    """A visitor without a session and without a location: the portal cannot tell whose it is."""
    return render_template("selfcare/no_location.html")


@bp.route("/<code>/login", methods=["GET", "POST"])
@public
def login(code: str):  # noqa: ANN201
    location = _location_or_404(code)
    form = forms.LoginForm()
    status = 400 if request.method == "POST" else 200
    back_to = registration.safe_next(request.args.get("next"))  # e.g. a plugin's page that sent the visitor here
    if form.validate_on_submit():
        s = db()
        rules = throttle.ThrottleRules.from_config(current_mango().settings.section("login_throttle"))
        with location_scope(location.id):
            result = accounts.login(s, location, form.login.data, form.password.data, rules=rules, ip=client_ip(),
                                    user_agent=user_agent())
            locale = result.account.locale if result.account is not None else None
            s.commit()
        if result.failure is None:
            if locale in current_mango().settings["locales"]:
                session["locale"] = locale
            response = redirect(back_to or url_for(".dashboard"))
            set_session_cookie(response, result.token)
            remember_location(response, location.code)
            return response
        flash(LOGIN_FAILED[result.failure], "danger")
        status = 429 if result.failure is accounts.LoginFailure.THROTTLED else 200
    with location_scope(location.id):
        can_register = registration.is_open(db())
    return _page("selfcare/login.html", location, status, form=form, can_register=can_register, back_to=back_to)


@bp.route("/<code>/password/<token>", methods=["GET", "POST"])
@public
def set_password(code: str, token: str):  # noqa: ANN201
    """The page of an invitation or reset link: choose a password (the link works once)."""
    location = _location_or_404(code)
    s = db()
    form = forms.PasswordForm()
    with location_scope(location.id):
        link = accounts.valid_token(s, token)
        if link is None:
            return _page("selfcare/link_invalid.html", location, 404)
        account = link.account
        if form.validate_on_submit():
            try:
                accounts.set_password(s, token, form.password.data)
            except accounts.InvalidLink:
                s.rollback()
                return _page("selfcare/link_invalid.html", location, 404)
            except accounts.SelfcareError as exc:
                s.rollback()
                form_error(form, exc)
            else:
                s.commit()
                flash(_("Your password is set. Log in with it now."), "success")
                return redirect(url_for(".login", code=location.code))
        return _page("selfcare/password.html", location, 400 if form.errors else 200, form=form,
                     email=account.email, number=account.customer.number, purpose=link.purpose)


@bp.route("/<code>/reset", methods=["GET", "POST"])
@public
def reset(code: str):  # noqa: ANN201
    """Ask for a new password. The answer is the same whether or not an account was found."""
    location = _location_or_404(code)
    form = forms.ResetForm()
    if form.validate_on_submit():
        s = db()
        cfg = settings()
        lifetime = timedelta(minutes=float(cfg["reset_minutes"]))
        with location_scope(location.id):
            found = accounts.request_reset(s, form.login.data, lifetime=lifetime,
                                           max_per_hour=int(cfg["max_resets_per_hour"]))
            if found is not None:
                account, token = found
                mail.send_reset(s, account, token, location=location, base=mail.base_url(cfg.get("base_url")),
                                valid_until=utcnow() + lifetime)
            s.commit()
        flash(RESET_SENT, "info")
        return redirect(url_for(".login", code=location.code))
    return _page("selfcare/reset.html", location, 400 if form.errors else 200, form=form)


@bp.post("/language")
@public
def language():  # noqa: ANN201
    """The language switch; a logged-in customer's choice is kept for its e-mails and next logins."""
    code = request.form.get("locale", "")
    if code not in current_mango().settings["locales"]:
        abort(400)
    session["locale"] = code
    found = lookup()
    if found.record is not None:
        s = db()
        with location_scope(found.record.location_id):
            account = s.get(SelfcareAccount, found.record.account_id)
            if account is not None:
                account.locale = code
                s.commit()
    target = request.form.get("next") or ""
    if not (target.startswith("/selfcare/") and "//" not in target and "\\" not in target):
        target = url_for(".dashboard")
    return redirect(target)


# --- after login ----------------------------------------------------------------------------------


@bp.post("/logout")
@customer_required
def logout():  # noqa: ANN201
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    principal = current()
    s = db()
    accounts.logout(s, principal.record, principal.account)
    s.commit()
    flash(_("You have been logged out."), "success")
    response = redirect(url_for(".login", code=principal.location.code))
    clear_session_cookie(response)
    return response


@bp.post("/switch")
@customer_required
def switch():  # noqa: ANN201
    """A parent customer looks at one of its children (or back at itself)."""
    form = forms.SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    principal = current()
    try:
        wanted = int(form.customer_id.data)
    except ValueError:
        abort(400)
    if wanted not in {c.id for c in principal.customers}:
        abort(404)
    principal.record.customer_id = wanted
    db().commit()
    return redirect(url_for(".dashboard"))


def param_rows(service: Service) -> list[dict[str, Any]]:
    """The service's parameters as the customer sees them (label and value in the page's language)."""
    locale = str(get_locale())
    rows = []
    for pdef in portal.definitions(db(), service):
        value = (service.params or {}).get(pdef.key)
        if pdef.type in HIDDEN_TYPES or value is None:
            continue
        rows.append({"key": pdef.key, "label": pdef.label, "value": pdef.display(pdef.from_json(value), locale),
                     "editable": pdef.customer_editable})
    return rows


@bp.get("/")
@customer_required
def dashboard():  # noqa: ANN201
    principal = current()
    rows = [(service, param_rows(service)) for service in portal.services_of(db(), principal.customer)]
    return render_template("selfcare/dashboard.html", services=rows, states=state_labels())


def _service_or_404(service_id: int) -> Service:
    try:
        return portal.service_of(db(), current().customer, service_id)
    except portal.NotFound:
        abort(404)


def _params_form(service: Service, editable: list) -> Any:
    return build_form(editable, service.params or {}, prefix="p", only_customer_editable=True) if editable else None


def _tariff_form(service: Service) -> forms.TariffRequestForm | None:
    offered = tariffs.offered_products(db(), service)
    if not offered:
        return None
    form = forms.TariffRequestForm(prefix="t")
    form.product_id.choices = [(str(p.id), p.name) for p in offered]
    return form


def _service_page(service: Service, *, params_form: Any = None, tariff_form: Any = None, status: int = 200):  # noqa: ANN202
    s = db()
    editable = portal.editable_definitions(s, service)
    params_form = params_form if params_form is not None else _params_form(service, editable)
    tariff_form = tariff_form if tariff_form is not None else _tariff_form(service)
    return render_template("selfcare/service.html", service=service, rows=param_rows(service), states=state_labels(),
                           params_form=params_form, tariff_form=tariff_form,
                           pending=tariffs.pending_for(s, service.id),
                           history=tariffs.requests_of_service(s, service.id),
                           request_states=request_state_labels()), status


def request_state_labels() -> dict[str, Any]:
    return {"pending": _l("waiting for our answer"), "approved": _l("approved"), "rejected": _l("not approved"),
            "cancelled": _l("cancelled by you")}


@bp.get("/services/<int:service_id>")
@customer_required
def service(service_id: int):  # noqa: ANN201
    return _service_page(_service_or_404(service_id))


@bp.post("/services/<int:service_id>/params")
@customer_required
def service_params(service_id: int):  # noqa: ANN201
    """Change the parameters the class lets customers change (validated; history; plugins told)."""
    service = _service_or_404(service_id)
    s = db()
    editable = portal.editable_definitions(s, service)
    if not editable:
        abort(404)
    form = _params_form(service, editable)
    if not form.validate_on_submit():
        return _service_page(service, params_form=form, status=400)
    values = form_values(form, editable)
    try:
        validate_values(editable, values, partial=True, resolvers=services.resolvers(s))
        portal.change_params(s, service, values)
    except ParamValidationError as exc:
        s.rollback()
        for message in attach_errors(form, exc.errors).values():
            flash(message, "danger")
        return _service_page(service, params_form=form, status=400)
    except InvalidValue as exc:
        s.rollback()
        flash(str(exc), "warning")
        return _service_page(_service_or_404(service_id), params_form=form, status=400)
    s.commit()
    flash(_("Saved. The change is on its way to your service."), "success")
    return redirect(url_for(".service", service_id=service.id))


@bp.post("/services/<int:service_id>/tariff")
@customer_required
def tariff_request(service_id: int):  # noqa: ANN201
    service = _service_or_404(service_id)
    form = _tariff_form(service)
    if form is None:
        abort(404)
    if not form.validate_on_submit():
        return _service_page(service, tariff_form=form, status=400)
    s = db()
    try:
        tariffs.request_change(s, service, form.product_id.data, form.note.data)
    except InvalidValue as exc:  # not offered, or a request waits already (then the page shows that one)
        s.rollback()
        flash(str(exc), "danger")
        return _service_page(_service_or_404(service_id), tariff_form=form, status=400)
    s.commit()
    flash(_("Thank you: we have your request and will answer soon."), "success")
    return redirect(url_for(".service", service_id=service.id))


@bp.post("/requests/<int:request_id>/cancel")
@customer_required
def tariff_cancel(request_id: int):  # noqa: ANN201
    s = db()
    try:
        found = tariffs.request_of(s, request_id, customer_id=current().customer.id)
    except portal.NotFound:
        abort(404)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        tariffs.cancel(s, found)
    except InvalidValue as exc:
        s.rollback()
        flash(str(exc), "warning")
    else:
        s.commit()
        flash(_("Your request was cancelled."), "success")
    return redirect(url_for(".service", service_id=found.service_id))


# --- contact details --------------------------------------------------------------------------------


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _contact_forms(bound: tuple[int | None, forms.ContactForm] | None = None) -> list[tuple[Any, forms.ContactForm]]:
    rows = []
    for contact in portal.contacts_of(current().customer):
        if bound is not None and bound[0] == contact.id:
            rows.append((contact, bound[1]))
            continue
        form = forms.ContactForm(prefix=f"c{contact.id}", formdata=None, name=contact.name)
        form.emails.data = "\n".join(c.value for c in contact.emails)
        form.phones.data = "\n".join(c.value for c in contact.phones)
        rows.append((contact, form))
    new = bound[1] if bound is not None and bound[0] is None else forms.ContactForm(prefix="new", formdata=None)
    return [*rows, (None, new)]


@bp.get("/contact")
@customer_required
def contact():  # noqa: ANN201
    return render_template("selfcare/contact.html", rows=_contact_forms())


def _save_contact(contact_id: int | None):  # noqa: ANN202
    s = db()
    customer = current().customer
    item = None
    if contact_id is not None:
        try:
            item = portal.contact_of(s, customer, contact_id)
        except portal.NotFound:
            abort(404)
    form = forms.ContactForm(prefix=f"c{contact_id}" if contact_id is not None else "new")
    if form.validate_on_submit():
        args = {"name": form.name.data, "emails": _lines(form.emails.data), "phones": _lines(form.phones.data)}
        try:
            if item is None:
                portal.add_contact(s, customer, **args)
            else:
                portal.update_contact(s, item, **args)
        except InvalidValue as exc:
            s.rollback()
            form_error(form, exc)
        else:
            s.commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".contact"))
    return render_template("selfcare/contact.html", rows=_contact_forms((contact_id, form))), 400


@bp.post("/contact/<int:contact_id>")
@customer_required
def contact_save(contact_id: int):  # noqa: ANN201
    return _save_contact(contact_id)


@bp.post("/contact/new")
@customer_required
def contact_add():  # noqa: ANN201
    return _save_contact(None)


# --- archived documents -----------------------------------------------------------------------------


@bp.get("/documents/")
@customer_required
def documents_list():  # noqa: ANN201
    return render_template("selfcare/documents.html", rows=portal.documents_of(db(), current().customer))


@bp.get("/documents/<int:document_id>")
@customer_required
def document(document_id: int):  # noqa: ANN201
    try:
        found, content = portal.open_document(db(), current().customer, document_id)
    except portal.NotFound:
        abort(404)
    except documents.IntegrityFailure:
        return render_template("selfcare/error.html", code=409, integrity=True), 409
    response = Response(content, mimetype=found.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.file_name}"'
    response.headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(found.sha256)).decode()}:"
    return response
