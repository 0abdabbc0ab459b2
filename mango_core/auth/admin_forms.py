"""Forms of the staff administration pages (users, roles, audit log filters)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from mango_core.auth.passwords import MIN_LENGTH
from mango_core.web.forms import options

LOCALE_CHOICES = options([("", _l("Default (Czech)")), ("cs", "Čeština"), ("en", "English")])


def _password_length():  # noqa: ANN202
    # WTForms fills in %(min)d.
    return Length(min=MIN_LENGTH, max=1024, message=_l("The password must have at least %(min)d characters."))


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), _password_length()])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class UserCreateForm(PasswordForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, default="")
    # Shown to operator staff only; partner staff always create users of their own partner.
    kind = RadioField(
        _l("Account"),
        choices=options([("partner", _l("Partner staff")), ("operator", _l("Operator staff"))]),
        default="partner",
    )
    partner_id = SelectField(_l("Partner"), coerce=int, validate_choice=False, default=0)
    password = PasswordField(_l("Password"), validators=[DataRequired(), _password_length()])


class UserEditForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, default="")


class AssignRoleForm(FlaskForm):
    location_id = SelectField(_l("Location"), coerce=int, validate_choice=False)
    role_id = SelectField(_l("Role"), coerce=int, validate_choice=False)


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RoleForm(FlaskForm):
    name = StringField(_l("Role name"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    # Operator staff choose the owner of a new role: 0 = an operator template.
    partner_id = SelectField(_l("Owner"), coerce=int, validate_choice=False, default=0)
    permissions = MultiCheckboxField(_l("Permissions"), validate_choice=False)


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    state = SelectField(
        _l("State"),
        choices=options([("active", _l("Active")), ("disabled", _l("Disabled")), ("all", _l("All"))]),
        default="active",
    )
    partner_id = SelectField(_l("Partner"), coerce=int, validate_choice=False, default=0)


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    event = SelectField(_l("Event"), default="")
    email = StringField(_l("User e-mail"), validators=[Optional(), Length(max=254)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
