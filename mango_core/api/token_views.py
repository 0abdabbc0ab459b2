"""The Opcare page "API tokens": own tokens (create, shown once; revoke) and, for managers, everybody's."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from mango_core.api import tokens
from mango_core.api.access import MANAGE, USE
from mango_core.api.models import ApiToken
from mango_core.auth.access import allowed_location_ids, permission_required, permissions_in
from mango_core.kernel import current_mango
from mango_core.tenancy.models import Location
from mango_core.web.access import has_permission
from mango_core.web.forms import form_error, options
from mango_core.web.request import db

bp = Blueprint("core_api_tokens", __name__, url_prefix="/admin/api-tokens")


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[DataRequired(), Length(max=100)])
    location_id = SelectField(_l("Where it works"), coerce=int)
    expires = IntegerField(_l("Expires after (days)"), validators=[Optional(), NumberRange(min=1, max=3650)])


class RevokeForm(FlaskForm):
    """A button that revokes a token: only the CSRF token."""


def _usable_locations() -> list[Location]:
    """Locations where the current user may use the API (holds core.api.use), by code."""
    s = db()
    user = current_user.user
    declared = set(current_mango().permissions)
    ids = [loc for loc in allowed_location_ids(s, user) if USE in permissions_in(s, user, loc, declared)]
    if not ids:
        return []
    return list(s.scalars(select(Location).where(Location.id.in_(ids)).order_by(Location.code)))


def _form(locations: list[Location]) -> TokenForm:
    form = TokenForm()
    form.location_id.choices = options([(0, _("All my locations where I may use the API")),
                                        *[(loc.id, f"{loc.code} – {loc.name}") for loc in locations]])
    return form


def _page(form: TokenForm, locations: list[Location], status: int = 200):  # noqa: ANN202
    s = db()
    user = current_user.user
    others: list[ApiToken] = []
    if has_permission(MANAGE):
        others = [t for t in tokens.all_tokens(s, partner_id=user.partner_id, include_operator=user.is_operator,
                                               live_only=True) if t.user_id != user.id]
    codes = dict(s.execute(select(Location.id, Location.code)).all())
    return render_template("api/tokens.html", form=form, mine=tokens.tokens_of(s, user.id), others=others,
                           codes=codes, revoke_form=RevokeForm(), has_locations=bool(locations)), status


@bp.get("/")
@permission_required(USE)
def index():  # noqa: ANN201
    locations = _usable_locations()
    return _page(_form(locations), locations)


@bp.post("/")
@permission_required(USE)
def create():  # noqa: ANN201
    locations = _usable_locations()
    form = _form(locations)
    if not form.validate_on_submit():
        return _page(form, locations, 400)
    s = db()
    try:
        created = tokens.create_token(s, current_user.user, name=form.name.data,
                                      location_id=form.location_id.data or None, expires_in_days=form.expires.data,
                                      created_by=current_user.user)
    except tokens.TokenError as exc:
        s.rollback()
        form_error(form, exc)
        return _page(form, locations, 400)
    s.commit()
    # Shown in this answer only: never stored, never put in the session or a flash message.
    location = next((loc for loc in locations if loc.id == created.token.location_id), None)
    return render_template("api/token_created.html", created=created, location=location)


@bp.post("/<int:token_id>/revoke")
@permission_required(USE)
def revoke(token_id: int):  # noqa: ANN201
    s = db()
    user = current_user.user
    token = tokens.get_token(s, token_id)
    if token is None:
        abort(404)
    own = token.user_id == user.id
    managed = has_permission(MANAGE) and (user.is_operator or (
        user.partner_id is not None and token.user.partner_id == user.partner_id))
    if not (own or managed):
        abort(404)  # another partner's token: not there, as far as this user can tell
    if tokens.revoke(s, token, by=user):
        s.commit()
        flash(_("Token %(prefix)s… revoked; it no longer works.", prefix=token.prefix), "success")
    else:
        flash(_("The token was revoked already."), "info")
    return redirect(url_for(".index"))
