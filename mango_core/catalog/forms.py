"""Forms of the catalogue pages (Flask-WTF, CSRF on every one); the rules live in the service."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from mango_core.web.forms import options


class ConfirmForm(FlaskForm):
    """Just the CSRF token of a button that changes something."""


class ClassForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=[])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    is_active = BooleanField(_l("Offered"), default=True)


class ParamDefForm(FlaskForm):
    """One typed parameter of a class (added or replaced by its key)."""

    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=40)])
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Type"), choices=[])
    required = BooleanField(_l("Required"))
    default = StringField(_l("Default value"), validators=[Optional(), Length(max=2000)])
    choices = TextAreaField(_l("Choices (value=label, one per line)"), validators=[Optional(), Length(max=5000)])
    min = StringField(_l("Minimum"), validators=[Optional(), Length(max=40)])
    max = StringField(_l("Maximum"), validators=[Optional(), Length(max=40)])
    places = StringField(_l("Decimal places"), validators=[Optional(), Length(max=2)])
    regex = StringField(_l("Pattern (regular expression)"), validators=[Optional(), Length(max=500)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    help = StringField(_l("Help text"), validators=[Optional(), Length(max=500)])
    customer_editable = BooleanField(_l("Customer may edit in Selfcare"))
    on_invoice = BooleanField(_l("Printed on invoice"))


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ProductForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=30)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    price = StringField(_l("Price without VAT"), validators=[DataRequired(), Length(max=20)])
    vat_rate = SelectField(_l("VAT rate"), choices=options([("21.00", "21 %"), ("12.00", "12 %"), ("0.00", "0 %")]),
                           default="21.00")
    second_price = StringField(_l("Second price without VAT"), validators=[Optional(), Length(max=20)])
    second_price_label = StringField(_l("Second price is"), validators=[Optional(), Length(max=100)])
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    locations = MultiCheckboxField(_l("Sold in locations"), choices=[], coerce=int, validate_choice=False)
