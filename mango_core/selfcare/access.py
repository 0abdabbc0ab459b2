"""Who is looking at the portal: the customer session of a request, and the guard of portal views.

The portal's identity lives in its own cookie (:data:`COOKIE`, path ``/selfcare``, HttpOnly,
SameSite=Lax, Secure when configured), never in Opcare's Flask-Login session: a member of
staff logged in to Opcare in the same browser is nobody here, and a customer is nobody in
Opcare. The cookie holds a random token; the session record (its hash) is in the database.

:func:`customer_required` guards every portal view, the core's and the plugins' (blueprints
``<plugin>_selfcare`` under ``/selfcare/<plugin>``): it finds the live session, enters the
account's location scope for the whole view (so the tenant guard scopes every query), answers
404 when the blueprint's module is not enabled in that location, and marks the response
``no-store``. Views then name the customer in every query (:func:`current_customer`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, Response, abort, current_app, flash, g, make_response, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from mango_core.auth import audit, sessions
from mango_core.customers.models import Customer
from mango_core.kernel import current_mango
from mango_core.selfcare import accounts, portal
from mango_core.selfcare.models import SelfcareAccount, SelfcareSession
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import Location
from mango_core.web.request import db

COOKIE = "mango_selfcare"
LOCATION_COOKIE = "mango_selfcare_location"  # where to send a visitor without a session (a location code)
COOKIE_PATH = "/selfcare"
LOCATION_COOKIE_DAYS = 365

END_MESSAGES = {
    sessions.REPLACED: _l("You were logged out because your account logged in elsewhere."),
    sessions.EXPIRED: _l("Your session has expired. Please log in again."),
    sessions.IDLE: _l("You were logged out after a period of inactivity."),
    sessions.DISABLED: _l("Your access to the portal has been ended. Please contact us."),
    sessions.PASSWORD_CHANGED: _l("Your password was changed. Please log in with the new one."),
}


@dataclass
class Principal:
    """The logged-in account, its location and the customer it is looking at."""

    record: SelfcareSession
    account: SelfcareAccount
    location: Location
    customers: list[Customer]  # visible: the account's own first, then its children
    customer: Customer  # the one being looked at


def current() -> Principal:
    principal = g.get("selfcare")
    if principal is None:
        raise RuntimeError("no Selfcare customer in this request: guard the view with @customer_required")
    return principal


def current_customer() -> Customer:
    """The customer whose data the request may show (the account's own or one of its children)."""
    return current().customer


def limits() -> sessions.SessionLimits:
    return sessions.SessionLimits.for_realm(current_mango().settings.section("sessions"), accounts.REALM)


def cookie_secure(app: Flask | None = None) -> bool:
    return bool((app or current_app).config["SESSION_COOKIE_SECURE"])


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=int(limits().absolute.total_seconds()), path=COOKIE_PATH,
                        secure=cookie_secure(), httponly=True, samesite="Lax")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=cookie_secure(), httponly=True, samesite="Lax")


def remember_location(response: Response, code: str) -> None:
    response.set_cookie(LOCATION_COOKIE, code, max_age=LOCATION_COOKIE_DAYS * 86400, path=COOKIE_PATH,
                        secure=cookie_secure(), httponly=True, samesite="Lax")


def login_location_code(record: SelfcareSession | None = None) -> str | None:
    """The location whose login page a visitor without a session is sent to."""
    if record is not None:
        location = db().get(Location, record.location_id)
        if location is not None:
            return location.code
    code = request.cookies.get(LOCATION_COOKIE, "")
    return code if code and len(code) <= 20 and code.replace("-", "").replace("_", "").isalnum() else None


def _to_login(record: SelfcareSession | None, reason: str | None) -> Response:
    if reason in END_MESSAGES:
        flash(END_MESSAGES[reason], "warning")
    code = login_location_code(record)
    target = url_for("core_selfcare.login", code=code) if code else url_for("core_selfcare.no_location")
    response = redirect(target)
    clear_session_cookie(response)
    return response


def lookup() -> accounts.Lookup:
    """The session of the request's cookie (needs no scope: the session decides it)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return accounts.Lookup(None)
    s = db()
    found = accounts.find_session(s, token, limits())
    if found.ended_now:
        audit.record(s, audit.SESSION_ENDED, location_id=found.ended.location_id, realm=accounts.REALM,
                     detail=found.ended_reason or "")
    s.commit()
    return found


def _principal(record: SelfcareSession) -> Principal | None:
    """Inside the location's scope: the account (still active) and the customers it may see."""
    s = db()
    location = s.get(Location, record.location_id)
    account = s.get(SelfcareAccount, record.account_id)
    if location is None or not location.is_active or account is None or not account.is_active:
        accounts.end_session(record, sessions.DISABLED)
        s.commit()
        return None
    visible = portal.visible_customers(s, account)
    if not visible:  # the customer was anonymised
        accounts.end_session(record, sessions.DISABLED)
        s.commit()
        return None
    customer = portal.customer_in_view(visible, record.customer_id)
    if customer.id != record.customer_id:
        record.customer_id = customer.id
    s.commit()
    return Principal(record=record, account=account, location=location, customers=visible, customer=customer)


def _owner(blueprint: str | None) -> str | None:
    if not blueprint:
        return None
    return current_app.extensions["mango_blueprint_owners"].get(blueprint.split(".")[0])


def customer_required(view: Callable) -> Callable:
    """Guard a portal view: a live customer session, its location's scope, the module enabled there."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        found = lookup()
        if found.record is None:
            return _to_login(found.ended, found.ended_reason)
        record, mango = found.record, current_mango()
        with location_scope(record.location_id):
            principal = _principal(record)
            if principal is None:
                return _to_login(record, sessions.DISABLED)
            owner = _owner(request.blueprint)
            active = mango.plugins.active_names(principal.location.id)
            if owner is not None and owner not in active:
                abort(404)
            g.selfcare, g.location_id, g.active_modules = principal, principal.location.id, active
            response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        return response

    wrapped.mango_selfcare = True  # read by the contract test "every view is guarded"
    return wrapped
