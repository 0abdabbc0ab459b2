"""Forms of the document pages (Flask-WTF, CSRF on every one); the rules live in the service."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class TemplateForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    body = TextAreaField(_l("HTML (Jinja2)"), validators=[DataRequired()])
    css = TextAreaField(_l("CSS"), validators=[Optional()])
    is_active = BooleanField(_l("Active"), default=True)
    note = StringField(_l("Note on the change"), validators=[Optional(), Length(max=200)])
    preview_customer = StringField(_l("Preview with customer number"), validators=[Optional(), Length(max=12)])


class GenerateForm(FlaskForm):
    template = SelectField(_l("Template"), choices=[], validate_choice=False, validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    pass
