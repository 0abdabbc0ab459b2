"""Forms of the tenancy pages (Flask-WTF; CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from mango_core.tenancy import validators as v


def checked(normalizer, *args):  # noqa: ANN001, ANN201
    """A WTForms validator from a tenancy normaliser (empty values are left to Optional/DataRequired)."""

    def check(_form, field) -> None:  # noqa: ANN001
        if not (field.data or "").strip():
            return
        try:
            normalizer(field.data, *args)
        except v.InvalidValue as exc:
            raise ValidationError(str(exc)) from exc

    return check


class PartnerForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), checked(v.normalize_code)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    company_name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    ico = StringField(_l("IČO"), validators=[Optional(), checked(v.normalize_ico)])
    dic = StringField(_l("DIČ"), validators=[Optional(), checked(v.normalize_dic)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    is_active = BooleanField(_l("Active"), default=True)


class LicenceForm(FlaskForm):
    module = SelectField(_l("Module"), validators=[DataRequired()])
    valid_from = DateField(_l("Valid from"), validators=[DataRequired()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])


class EndLicenceForm(FlaskForm):
    valid_until = DateField(_l("Last day"), validators=[DataRequired()])


class LocationForm(FlaskForm):
    partner_id = SelectField(_l("Partner"), coerce=int)
    code = StringField(_l("Code"), validators=[DataRequired(), checked(v.normalize_code)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    company_name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    ico = StringField(_l("IČO"), validators=[Optional(), checked(v.normalize_ico)])
    dic = StringField(_l("DIČ"), validators=[Optional(), checked(v.normalize_dic)])
    vat_payer = BooleanField(_l("VAT payer"))
    street = StringField(_l("Street and number"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    country = StringField(_l("Country"), default="CZ", validators=[DataRequired(), Length(min=2, max=2)])
    mailing_address = TextAreaField(_l("Mailing address (if different)"), validators=[Optional(), Length(max=2000)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    currency = StringField(_l("Currency"), default="CZK", validators=[DataRequired(), checked(v.normalize_currency)])
    locale = SelectField(_l("Language of documents"))
    timezone = StringField(_l("Time zone"), default="Europe/Prague",
                           validators=[DataRequired(), checked(v.normalize_timezone)])
    invoice_series = TextAreaField(_l("Invoice series settings (JSON)"),
                                   validators=[Optional(), checked(v.parse_invoice_series)])
    is_active = BooleanField(_l("Active"), default=True)


class BankAccountForm(FlaskForm):
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=100)])
    account = StringField(_l("Account number or IBAN"), validators=[DataRequired(), checked(v.parse_bank_account)])
    currency = StringField(_l("Currency"), default="CZK", validators=[DataRequired(), checked(v.normalize_currency)])
    is_default = BooleanField(_l("Default account"))


class ConfirmForm(FlaskForm):
    """An empty form: just the CSRF token of a button that changes something."""
