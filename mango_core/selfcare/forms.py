"""Forms of the portal and of the staff's Selfcare pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from mango_core.auth.passwords import MIN_LENGTH
from mango_core.web.forms import options


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


class RegisterForm(FlaskForm):
    """A new customer's registration; the service checks the values (IČO, DIČ, e-mail, postal code)."""

    kind = RadioField(_l("I register as"), choices=options([("person", _l("a person")), ("company", _l("a company"))]),
                      default="person", validate_choice=False)
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=100)])
    company_name = StringField(_l("Company name"), validators=[Optional(), Length(max=200)])
    ico = StringField(_l("IČO"), validators=[Optional(), Length(max=20)])
    dic = StringField(_l("DIČ (optional)"), validators=[Optional(), Length(max=20)])
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=40)])
    street = StringField(_l("Street and number"), validators=[DataRequired(), Length(max=200)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])
    postal_code = StringField(_l("Postal code"), validators=[DataRequired(), Length(max=10)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=1024)])
    confirm = PasswordField(_l("The password again"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])
    terms = BooleanField(_l("I accept the terms"))
    # the honeypot: hidden from people, filled in by bots (a filled one is answered as usual, and ignored)
    website = StringField(_l("Leave this field empty"), validators=[Optional(), Length(max=200)])
    next = HiddenField(validators=[Optional(), Length(max=300)])


class ConfirmRegistrationForm(FlaskForm):
    """The button on the confirmation link's page (a GET never creates anything)."""


class RegistrationSettingsForm(FlaskForm):
    enabled = BooleanField(_l("New customers may register in the portal"))
    allow_person = BooleanField(_l("People"))
    allow_company = BooleanField(_l("Companies"))
    terms_text = TextAreaField(_l("Terms the customer must accept"), validators=[Optional(), Length(max=20000)])
    terms_url = StringField(_l("Address of the terms (optional)"), validators=[Optional(), Length(max=500)])
