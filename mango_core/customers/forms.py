"""Forms of the customer pages (Flask-WTF, CSRF on every one).

Only the shape of the input is checked here; the rules (IČO, birth number, unique variable
symbol, …) live in the service, whose errors the views put back on the fields.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from mango_core.customers.models import ADDRESS_KINDS, STATES


def kind_labels() -> dict[str, str]:
    return {"person": _l("Person"), "company": _l("Company")}


def state_labels() -> dict[str, str]:
    return {"lead": _l("Lead"), "active": _l("Active"), "former": _l("Former")}


def address_kind_labels() -> dict[str, str]:
    return {"permanent": _l("Permanent address"), "billing": _l("Billing address"),
            "service_place": _l("Service place")}


def role_labels() -> dict[str, str]:
    return {"billing": _l("Billing"), "technical": _l("Technical"), "owner": _l("Owner")}


class CustomerForm(FlaskForm):
    kind = RadioField(_l("Customer is"), default="person", choices=[])
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=100)])
    company_name = StringField(_l("Company name"), validators=[Optional(), Length(max=200)])
    ico = StringField(_l("IČO"), validators=[Optional(), Length(max=20)])
    dic = StringField(_l("DIČ"), validators=[Optional(), Length(max=20)])
    birth_number = StringField(_l("Birth number"), validators=[Optional(), Length(max=20)])
    birth_date = DateField(_l("Birth date"), validators=[Optional()])
    variable_symbol = StringField(_l("Variable symbol"), validators=[Optional(), Length(max=20)])
    marketing_consent = BooleanField(_l("Consents to marketing"))
    processing_basis = StringField(_l("Legal basis of processing"), validators=[Optional(), Length(max=2000)])
    retain_until = DateField(_l("Keep data until"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])
    reason = StringField(_l("Reason of the change"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.kind.choices = list(kind_labels().items())


class StateForm(FlaskForm):
    state = SelectField(_l("New state"), choices=[])
    on = DateField(_l("Effective date"), validators=[Optional()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.state.choices = [(s, state_labels()[s]) for s in STATES]


class ParentForm(FlaskForm):
    parent_number = IntegerField(_l("Parent customer number"), validators=[Optional()])
    bill_to_parent = BooleanField(_l("Bill to the parent"))
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role_billing = BooleanField(_l("Billing"))
    role_technical = BooleanField(_l("Technical"))
    role_owner = BooleanField(_l("Owner"))
    emails = TextAreaField(_l("E-mails (one per line)"), validators=[Optional(), Length(max=2000)])
    phones = TextAreaField(_l("Phones (one per line)"), validators=[Optional(), Length(max=2000)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])


class AddressForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[])
    street = StringField(_l("Street and number"), validators=[DataRequired(), Length(max=200)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    country = StringField(_l("Country"), default="CZ", validators=[DataRequired(), Length(min=2, max=2)])
    latitude = StringField(_l("Latitude"), validators=[Optional(), Length(max=20)])
    longitude = StringField(_l("Longitude"), validators=[Optional(), Length(max=20)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k, address_kind_labels()[k]) for k in ADDRESS_KINDS]


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=5000)])


class TagForm(FlaskForm):
    name = StringField(_l("Tag"), validators=[DataRequired(), Length(max=50)])


class AnonymiseForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class ConfirmForm(FlaskForm):
    """Just the CSRF token of a button that changes something."""


class FieldDefForm(FlaskForm):
    """One custom field (a typed parameter) of the partner's customer form."""

    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=40)])
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Type"), choices=[])
    required = BooleanField(_l("Required"))
    choices = TextAreaField(_l("Choices (value=label, one per line)"), validators=[Optional(), Length(max=5000)])
    min = StringField(_l("Minimum"), validators=[Optional(), Length(max=40)])
    max = StringField(_l("Maximum"), validators=[Optional(), Length(max=40)])
    regex = StringField(_l("Pattern (regular expression)"), validators=[Optional(), Length(max=500)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    help = StringField(_l("Help text"), validators=[Optional(), Length(max=500)])
