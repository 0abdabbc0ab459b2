"""The portal's registration pages (``/selfcare/<CODE>/register…``), on the portal's blueprint.

Public pages that answer 404 where the location does not allow registration. The form's answer
is the same whatever the e-mail (see :mod:`mango_core.selfcare.registration`); the link in the
e-mail opens a page whose button (a POST with a CSRF token) confirms, so a mail scanner that
fetches links creates nothing.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from mango_core.auth import throttle
from mango_core.auth.access import public
from mango_core.kernel import current_mango
from mango_core.selfcare import accounts, forms, mail, registration
from mango_core.selfcare.access import lookup, remember_location, set_session_cookie
from mango_core.selfcare.models import Registration, RegistrationSettings
from mango_core.selfcare.views import LOGIN_FAILED, _location_or_404, _page, bp, settings
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import Location
from mango_core.web.forms import form_error
from mango_core.web.request import client_ip, db, user_agent

FIELDS = ("kind", "first_name", "last_name", "company_name", "ico", "dic", "email", "phone", "street", "city",
          "postal_code", "password", "terms", "next")


def _open_or_404() -> RegistrationSettings:
    found = registration.settings_of(db())
    if not registration.allowed_kinds(found):
        abort(404)
    return found


@bp.route("/<code>/register", methods=["GET", "POST"])
@public
def register(code: str):  # noqa: ANN201
    location = _location_or_404(code)
    s = db()
    with location_scope(location.id):
        found = _open_or_404()
        kinds = registration.allowed_kinds(found)
        form = forms.RegisterForm()
        if request.method == "GET":
            form.next.data = registration.safe_next(request.args.get("next")) or ""
            form.kind.data = kinds[0]
        status = 400 if request.method == "POST" else 200
        if form.validate_on_submit():
            if form.website.data:  # a bot: answered like anybody, nothing stored or sent
                return redirect(url_for(".register_sent", code=location.code))
            cfg = settings()
            data = {name: getattr(form, name).data for name in FIELDS}
            try:
                outcome = registration.submit(s, location, data, rules=throttle.ThrottleRules.from_config(
                    current_mango().settings.section("login_throttle")), valid_for=registration.lifetime(cfg),
                    base=mail.base_url(cfg.get("base_url")), ip=client_ip(), locale=str(get_locale()))
            except registration.RegistrationError as exc:
                s.rollback()
                form_error(form, exc)
            else:
                s.commit()
                if outcome is registration.Outcome.MAILED:
                    return redirect(url_for(".register_sent", code=location.code))
                flash(LOGIN_FAILED[accounts.LoginFailure.THROTTLED], "danger")
                status = 429
        return _page("selfcare/register.html", location, status, form=form, kinds=kinds, settings=found)


@bp.get("/<code>/register/sent")
@public
def register_sent(code: str):  # noqa: ANN201
    location = _location_or_404(code)
    with location_scope(location.id):
        _open_or_404()
    return _page("selfcare/register_sent.html", location)


@bp.route("/<code>/register/<token>", methods=["GET", "POST"])
@public
def register_confirm(code: str, token: str):  # noqa: ANN201
    """The link of the e-mail: a button that creates the account and logs the customer in (once)."""
    location = _location_or_404(code)
    s = db()
    form = forms.ConfirmRegistrationForm()
    with location_scope(location.id):
        found = registration.find(s, token)
        if found is None:
            return _page("selfcare/register_invalid.html", location, 404)
        if found.confirmed_at is not None:
            return _already(location, found)
        if request.method == "GET":
            return _page("selfcare/register_confirm.html", location, form=form, email=found.email)
        if not form.validate_on_submit():
            abort(400)
        try:
            done = registration.confirm(s, location, token, ip=client_ip(), user_agent=user_agent())
        except registration.AlreadyConfirmed as exc:
            s.rollback()
            return _already(location, exc.registration)
        except accounts.InvalidLink:
            s.rollback()
            return _page("selfcare/register_invalid.html", location, 404)
        except registration.RegistrationClosed:
            s.rollback()
            abort(404)
        except accounts.SelfcareError as exc:  # the e-mail got an account meanwhile, or bad data
            s.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".login", code=location.code))
        locale = done.account.locale
        s.commit()
    if locale in current_mango().settings["locales"]:
        session["locale"] = locale
    flash(_("Welcome! Your account is ready and you are logged in."), "success")
    response = redirect(done.next_path or url_for(".dashboard"))
    set_session_cookie(response, done.token)
    remember_location(response, location.code)
    return response


def _already(location: Location, found: Registration):  # noqa: ANN202
    """A second click: the customer of this registration goes on in the portal, anybody else to the login."""
    live = lookup().record
    if live is not None and found.customer_id is not None and live.customer_id == found.customer_id:
        return redirect(found.next_path or url_for(".dashboard"))
    flash(_("Your registration is confirmed already. Log in with your e-mail and password."), "info")
    return redirect(url_for(".login", code=location.code))
