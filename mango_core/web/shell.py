"""The web shell: sessions and login, location scope, module gating, i18n, headers, errors."""

from __future__ import annotations

from flask import Flask, flash, g, redirect, render_template, request, session, url_for
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from mango_core.auth import audit, sessions
from mango_core.auth.access import allowed_location_ids, permissions_in
from mango_core.kernel import Mango
from mango_core.tenancy.context import TenantScope, _scope
from mango_core.web import i18n
from mango_core.web.access import Principal
from mango_core.web.request import close_db, db

csrf = CSRFProtect()

END_MESSAGES = {
    sessions.REPLACED: _l("You were logged out because your account logged in elsewhere."),
    sessions.EXPIRED: _l("Your session has expired. Please log in again."),
    sessions.IDLE: _l("You were logged out after a period of inactivity."),
    sessions.DISABLED: _l("Your account has been disabled."),
    sessions.PASSWORD_CHANGED: _l("Your password was changed. Please log in with the new one."),
}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask, mango: Mango) -> None:
    csrf.init_app(app)
    Babel(
        app,
        locale_selector=i18n.select_locale,
        timezone_selector=i18n.select_timezone,
        default_translation_directories=";".join(i18n.translation_dirs(mango)),
    )
    app.config["BABEL_DEFAULT_LOCALE"] = mango.settings["default_locale"]
    i18n.init_app(app)

    login = LoginManager(app)
    login.login_view = "core_auth.login"
    login.login_message = _l("Please log in to continue.")
    login.login_message_category = "info"
    login.session_protection = None  # the server-side session record is the protection
    login.user_loader(_load_principal)
    login.unauthorized_handler(_unauthorized)

    app.before_request(_enter_location)
    app.after_request(_security_headers)
    app.teardown_request(_leave_location)
    app.teardown_appcontext(close_db)
    app.context_processor(_shell_context)
    for code in (400, 403, 404, 405, 500):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)


def _limits(realm: str) -> sessions.SessionLimits:
    from mango_core.kernel import current_mango

    return sessions.SessionLimits.for_realm(current_mango().settings.section("sessions"), realm)


def _load_principal(token: str) -> Principal | None:
    s = db()
    found = sessions.lookup(s, token, _limits("opcare"))
    if found.record is None:
        if found.ended_reason:
            g.session_end_reason = found.ended_reason
        if found.ended_now is not None:
            audit.record(
                s, audit.SESSION_ENDED, user=found.ended_now.user,
                location_id=found.ended_now.location_id, detail=found.ended_reason or "",
            )
        session.pop("_user_id", None)
        s.commit()
        return None
    s.commit()
    return Principal(user=found.record.user, record=found.record, token=token)


def _unauthorized():  # noqa: ANN202
    reason = g.get("session_end_reason")
    if reason in END_MESSAGES:
        flash(END_MESSAGES[reason], "warning")
    elif request.endpoint != "core.home":
        flash(_l("Please log in to continue."), "info")
    return redirect(url_for("core_auth.login", next=request.full_path if request.method == "GET" else None))


def _enter_location() -> None:
    """Resolve the user's current location, set the tenant scope, and gate module routes."""
    from flask import abort

    from mango_core.kernel import current_mango

    mango = current_mango()
    g.location_id = None
    g.permissions = set()
    if (request.blueprint or "").split(".")[0].endswith("_selfcare"):
        return  # the customer portal: its own session and scope (mango_core.selfcare.access)
    if current_user.is_authenticated:
        s = db()
        user = current_user.user
        allowed = allowed_location_ids(s, user)
        g.allowed_location_ids = allowed
        location_id = current_user.record.location_id
        if location_id not in allowed:
            location_id = user.last_location_id if user.last_location_id in allowed else (allowed[0] if allowed else None)
            if location_id != current_user.record.location_id:
                current_user.record.location_id = location_id
                s.commit()
        g.location_id = location_id
        g.active_modules = mango.plugins.active_names(location_id)
        g.permissions = permissions_in(s, user, location_id, set(mango.permissions))
        if location_id is not None:
            g.scope_token = _scope.set(TenantScope(frozenset({location_id}), location_id))
    owner = _blueprint_owner(request.blueprint)
    if owner and not mango.is_active(owner, g.location_id) and current_user.is_authenticated:
        abort(404)


def _blueprint_owner(blueprint: str | None) -> str | None:
    from flask import current_app

    if not blueprint:
        return None
    return current_app.extensions["mango_blueprint_owners"].get(blueprint.split(".")[0])


def _leave_location(_exc: BaseException | None = None) -> None:
    token = g.pop("scope_token", None)
    if token is not None:
        _scope.reset(token)


def _security_headers(response):  # noqa: ANN001, ANN202
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    from flask import current_app

    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if current_user.is_authenticated:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _shell_context() -> dict:
    from mango_core.web import layout

    return layout.context()


def _error_page(error):  # noqa: ANN001, ANN202
    code = getattr(error, "code", 500) or 500
    if code == 500:
        session_ = g.get("db_session")
        if session_ is not None:
            session_.rollback()
    return render_template("errors/error.html", code=code, error=error), code


def _csrf_error(error: CSRFError):  # noqa: ANN202
    return render_template("errors/error.html", code=400, error=error, csrf=True), 400
