"""Forms of the service pages (Flask-WTF, CSRF on every one); the rules live in the service layer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from mango_core.services.models import BLOCK_KINDS
from mango_core.web.forms import options


def block_kind_labels() -> dict[str, str]:
    return {"manual": _l("Manual"), "debt": _l("Debt"), "prepaid": _l("Prepaid credit used up"),
            "other": _l("Other")}


def state_labels() -> dict[str, str]:
    return {"pending": _l("Pending"), "active": _l("Active"), "blocked": _l("Blocked"),
            "terminated": _l("Terminated")}


def kind_labels() -> dict[str, str]:
    """Names of the lifecycle operations (scheduled changes, history)."""
    return {"activate": _l("Activation"), "terminate": _l("Termination"), "block": _l("Block"),
            "unblock": _l("Unblock"), "change_product": _l("Tariff change"), "transfer": _l("Transfer"),
            "commitment": _l("Fixed term"), "price": _l("Price change"), "billing_plan": _l("Billing plan"),
            "payment_period": _l("Payment period"), "params": _l("Parameters")}


def change_state_labels() -> dict[str, str]:
    return {"scheduled": _l("Scheduled"), "applied": _l("Done"), "cancelled": _l("Cancelled"),
            "failed": _l("Failed")}


def period_choices() -> list[tuple[str, str]]:
    return [("", _l("as billing decides")), ("1", _l("monthly")), ("2", _l("every 2 months")),
            ("3", _l("quarterly")), ("4", _l("every 4 months")), ("6", _l("half-yearly")), ("12", _l("yearly"))]


class ChangeForm(FlaskForm):
    """The common part of every lifecycle form: when, and why."""

    effective = DateField(_l("Effective date"), validators=[Optional()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class TerminateForm(ChangeForm):
    effective = DateField(_l("Effective date"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class BlockForm(ChangeForm):
    kind = SelectField(_l("Kind of block"), choices=[])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.kind.choices = options([(k, block_kind_labels()[k]) for k in BLOCK_KINDS])


class ProductChangeForm(ChangeForm):
    product_id = SelectField(_l("New product"), choices=[], coerce=int)
    keep_price = BooleanField(_l("Keep the service's own price"))


class TransferForm(ChangeForm):
    customer_number = IntegerField(_l("Number of the new customer"), validators=[DataRequired()])


class CommitmentForm(ChangeForm):
    commitment_until = DateField(_l("Fixed term until"), validators=[Optional()])


class PriceForm(ChangeForm):
    price = StringField(_l("Own price without VAT (empty: the product's price)"), validators=[Optional(),
                                                                                             Length(max=20)])


class BillingPlanForm(ChangeForm):
    billing_plan = StringField(_l("Billing plan (empty: the product's)"), validators=[Optional(), Length(max=200)])


class PaymentPeriodForm(ChangeForm):
    payment_period = SelectField(_l("Payment period"), choices=[])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.payment_period.choices = options(period_choices())


class DeviceForm(FlaskForm):
    """The device chosen in the picker (a hidden id; the picker's search finds it)."""

    device_id = IntegerField(_l("Device"), widget=HiddenInput(),
                             validators=[DataRequired(message=_l("Choose a device from the search results."))])


class ConfirmForm(FlaskForm):
    """Just the CSRF token of a button that changes something."""


class NewServiceForm(FlaskForm):
    price = StringField(_l("Own price without VAT (empty: the product's price)"), validators=[Optional(),
                                                                                             Length(max=20)])
    start_date = DateField(_l("Start date"), validators=[Optional()])
    commitment_until = DateField(_l("Fixed term until"), validators=[Optional()])
    service_place_id = SelectField(_l("Service place"), choices=[], validate_choice=False)
    payment_period = SelectField(_l("Payment period"), choices=[])
    activate = BooleanField(_l("Activate on the start date"), default=True)
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.payment_period.choices = options(period_choices())
