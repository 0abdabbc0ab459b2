"""The example page: the current location's notes and a form to add one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from mango_core.auth.access import permission_required
from mango_core.kernel import current_mango
from mango_core.web.access import has_permission
from mango_core.web.request import db
from mango_example import service

bp = Blueprint("example", __name__, url_prefix="/example", template_folder="templates")


class NoteForm(FlaskForm):
    text = StringField(_l("Note"), validators=[DataRequired(), Length(max=500)])


@bp.get("/")
@permission_required("example.notes.view")
def notes():  # noqa: ANN201
    limit = int(current_mango().plugin_settings("example")["notes_per_page"])
    return render_template(
        "example/notes.html",
        notes=service.latest_notes(db(), limit),
        form=NoteForm(),
        can_manage=has_permission("example.notes.manage"),
    )


@bp.post("/")
@permission_required("example.notes.manage")
def add():  # noqa: ANN201
    form = NoteForm()
    if not form.validate_on_submit():
        limit = int(current_mango().plugin_settings("example")["notes_per_page"])
        return render_template("example/notes.html", notes=service.latest_notes(db(), limit), form=form,
                               can_manage=True), 400
    s = db()
    service.add_note(s, form.text.data, current_user.id)
    s.commit()
    flash(_l("Note saved."), "success")
    return redirect(url_for("example.notes"))
