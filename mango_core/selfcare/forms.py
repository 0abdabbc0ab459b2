"""Forms of the portal and of the staff's Selfcare pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from mango_core.auth.passwords import MIN_LENGTH


class LoginForm(FlaskForm):
    # an e-mail or a customer number; only looked up, never checked for syntax
    login = StringField(_l("E-mail or customer number"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=1024)])
    confirm = PasswordField(_l("The password again"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


class ResetForm(FlaskForm):
    login = StringField(_l("E-mail or customer number"), validators=[DataRequired(), Length(max=254)])


class ConfirmForm(FlaskForm):
    """A bare POST (log out, cancel a request, ask for payment details): only the CSRF token."""


class SwitchForm(FlaskForm):
    customer_id = HiddenField(validators=[DataRequired()])


class TariffRequestForm(FlaskForm):
    product_id = SelectField(_l("New tariff"), choices=[], validate_choice=False, validators=[DataRequired()])
    note = TextAreaField(_l("Message for us (optional)"), validators=[Optional(), Length(max=1000)])


class ContactForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    emails = TextAreaField(_l("E-mails (one per line)"), validators=[Optional(), Length(max=2000)])
    phones = TextAreaField(_l("Phones (one per line)"), validators=[Optional(), Length(max=2000)])


class InviteForm(FlaskForm):
    email = StringField(_l("E-mail for the portal"), validators=[Optional(), Length(max=254)])


class ApproveForm(FlaskForm):
    effective = DateField(_l("Effective from"), validators=[Optional()])
    note = StringField(_l("Note for the customer"), validators=[Optional(), Length(max=1000)])


class RejectForm(FlaskForm):
    note = StringField(_l("Reason for the customer"), validators=[Optional(), Length(max=1000)])
