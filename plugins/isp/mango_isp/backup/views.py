"""Opcare pages of config backup: the device card section, versions, a version, a diff, restore.

Reading the device (backup now, restore) happens in the request: the operator asked for it and waits
for the answer; the scheduled job ``isp:backup_configs`` does the rest.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from mango_core.auth.access import permission_required
from mango_core.web.access import has_permission
from mango_core.web.request import db
from mango_isp.backup import render
from mango_isp.backup import service as backup
from mango_isp.backup.models import KEY, PASSWORD
from mango_isp.queue import secrets

bp = Blueprint("isp_backup", __name__, url_prefix="/isp/backup", template_folder="../templates")

VIEW, MANAGE = "isp.backup.view", "isp.backup.manage"


class ConfirmForm(FlaskForm):
    """Only the CSRF token."""


class AccessForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    port = IntegerField(_l("Port"), default=830, validators=[DataRequired(), NumberRange(1, 65535)])
    secret_kind = SelectField(_l("Sign in with"), choices=[], validate_choice=True)
    secret = PasswordField(_l("Password or private key"), validators=[Optional(), Length(max=20000)])
    host_key = TextAreaField(_l("Host key of the device (base64)"), validators=[Optional(), Length(max=4000)])
    template = SelectField(_l("Configuration template"), choices=[], validate_choice=True)
    confirm_timeout = IntegerField(_l("Confirmed commit timeout (s)"), default=120,
                                   validators=[DataRequired(), NumberRange(10, 3600)])
    provision = BooleanField(_l("Provision subscribers from Mango"))

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.secret_kind.choices = [(PASSWORD, _l("password")), (KEY, _l("SSH private key"))]
        self.template.choices = [(n, n) for n in render.template_names()]


def _device(device_id: int):  # noqa: ANN202
    try:
        return backup.get_device(db(), device_id)
    except backup.NotFound:
        abort(404)


def _version(device_id: int, version_id: int):  # noqa: ANN202
    try:
        return backup.get_version(db(), device_id, version_id)
    except backup.NotFound:
        abort(404)


def _to_list(device_id: int):  # noqa: ANN202
    return redirect(url_for("isp_backup.versions", device_id=device_id))


def render_device_slot(device) -> str:  # noqa: ANN001
    """The device card's backup section (empty for a user without the permission)."""
    if not has_permission(VIEW):
        return ""
    session = db()
    source = backup.source_of(session, device)
    return render_template("isp/backup/_card.html", device=device, source=source,
                           latest=backup.latest(session, device.id), count=backup.count_versions(session, device.id),
                           can_manage=has_permission(MANAGE), confirm=ConfirmForm())


@bp.get("/devices/<int:device_id>")
@permission_required(VIEW)
def versions(device_id: int):  # noqa: ANN201
    device = _device(device_id)
    session = db()
    access = backup.access_of(session, device.id)
    form = AccessForm(formdata=None, obj=access) if access else AccessForm(formdata=None)
    return render_template("isp/backup/versions.html", device=device, versions=backup.versions(session, device.id),
                           source=backup.source_of(session, device), access=access, form=form,
                           masked=secrets.mask(access.secret_token if access else ""),
                           can_manage=has_permission(MANAGE), confirm=ConfirmForm())


@bp.post("/devices/<int:device_id>/run")
@permission_required(MANAGE)
def run(device_id: int):  # noqa: ANN201
    device = _device(device_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = db()
    try:
        stored = backup.backup_device(session, device.id, user_id=current_user.id)
    except backup.BackupError as exc:
        session.rollback()
        flash(_("Backup failed: %(error)s", error=str(exc)), "danger")
        return _to_list(device.id)
    session.commit()
    if stored is None:
        flash(_("The configuration has not changed; no new version stored."), "info")
    else:
        flash(_("Version %(version)d stored.", version=stored.version), "success")
    return _to_list(device.id)


@bp.post("/devices/<int:device_id>/access")
@permission_required(MANAGE)
def access(device_id: int):  # noqa: ANN201
    device = _device(device_id)
    form = AccessForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return _to_list(device.id)
    session = db()
    try:
        backup.set_access(session, device.id, username=form.username.data, secret=form.secret.data or None,
                          port=form.port.data, secret_kind=form.secret_kind.data, host_key=form.host_key.data or "",
                          template=form.template.data, confirm_timeout=form.confirm_timeout.data,
                          provision=bool(form.provision.data))
    except (backup.BackupError, secrets.SecretsError) as exc:
        session.rollback()
        flash(str(exc), "danger")
        return _to_list(device.id)
    session.commit()
    flash(_("NETCONF access saved."), "success")
    return _to_list(device.id)


@bp.get("/devices/<int:device_id>/versions/<int:version_id>")
@permission_required(VIEW)
def version(device_id: int, version_id: int):  # noqa: ANN201
    device = _device(device_id)
    found = _version(device.id, version_id)
    return render_template("isp/backup/version.html", device=device, version=found,
                           restorable=backup.restorable(found), can_manage=has_permission(MANAGE))


@bp.get("/devices/<int:device_id>/diff")
@permission_required(VIEW)
def diff(device_id: int):  # noqa: ANN201
    device = _device(device_id)
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    if a is None or b is None:
        abort(404)
    old, new = _version(device.id, a), _version(device.id, b)
    if old.version > new.version:
        old, new = new, old
    return render_template("isp/backup/diff.html", device=device, old=old, new=new, lines=backup.diff(old, new))


@bp.route("/devices/<int:device_id>/versions/<int:version_id>/restore", methods=["GET", "POST"])
@permission_required(MANAGE)
def restore(device_id: int, version_id: int):  # noqa: ANN201
    device = _device(device_id)
    found = _version(device.id, version_id)
    form = ConfirmForm()
    session = db()
    newest = backup.latest(session, device.id)
    if request.method == "POST" and form.validate_on_submit():
        try:
            backup.restore(session, device.id, found.id, user_id=current_user.id)
        except backup.BackupError as exc:
            session.rollback()
            flash(_("Restore failed: %(error)s", error=str(exc)), "danger")
            return _to_list(device.id)
        session.commit()
        flash(_("Version %(version)d restored to the device.", version=found.version), "success")
        return _to_list(device.id)
    lines = backup.diff(newest, found) if newest is not None and newest.id != found.id else []
    return render_template("isp/backup/restore.html", device=device, version=found, newest=newest, lines=lines,
                           restorable=backup.restorable(found), form=form)
