"""Login and logout pages of Opcare."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from mango_core.auth import service, throttle
from mango_core.auth.access import authenticated, public
from mango_core.auth.forms import LoginForm
from mango_core.kernel import current_mango
from mango_core.web.access import Principal
from mango_core.web.plugin import _safe_next
from mango_core.web.request import client_ip, db, user_agent

bp = Blueprint("core_auth", __name__)

FAILURE_MESSAGES = {
    service.LoginFailure.BAD_CREDENTIALS: _l("Wrong e-mail or password."),
    service.LoginFailure.THROTTLED: _l("Too many failed attempts. Please wait a few minutes and try again."),
    service.LoginFailure.DISABLED: _l("This account has been disabled."),
}


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        s = db()
        rules = throttle.ThrottleRules.from_config(current_mango().settings.section("login_throttle"))
        result = service.login(
            s, form.email.data, form.password.data, rules=rules, ip=client_ip(), user_agent=user_agent()
        )
        s.commit()
        if result.failure:
            flash(FAILURE_MESSAGES[result.failure], "danger")
            return render_template("auth/login.html", form=form), 429 if result.failure is service.LoginFailure.THROTTLED else 200
        login_user(Principal(user=result.user, record=result.record, token=result.token))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@authenticated
def logout():  # noqa: ANN201
    s = db()
    service.logout(s, current_user.record)
    s.commit()
    logout_user()
    flash(_l("You have been logged out."), "success")
    return redirect(url_for("core_auth.login"))
