"""Forms of the device pages (Flask-WTF, CSRF on every one).

Only the shape of the input is checked here; the rules (MAC, IP, coordinates, topology,
parameter values) live in :mod:`mango_core.devices.service`, whose errors the views put back on
the fields. Parameter values have their own form built from the type's definitions
(:func:`mango_core.params.forms.build_form`).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from mango_core.devices.models import STATES
from mango_core.web.forms import options


def state_labels() -> dict[str, str]:
    return {"planned": _l("Planned"), "active": _l("In operation"), "broken": _l("Broken"),
            "retired": _l("Retired")}


class DeviceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    mac = StringField(_l("MAC address"), validators=[Optional(), Length(max=40)])
    management_ip = StringField(_l("Management IP"), validators=[Optional(), Length(max=60)])
    site_id = SelectField(_l("Site"), choices=[], validate_choice=False)
    uplink = StringField(_l("Uplink device"), validators=[Optional(), Length(max=200)],
                         description=_l("ID or exact name of the device this one is connected to"))
    state = SelectField(_l("State"), choices=options([(s, s) for s in STATES]))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.state.choices = options(list(state_labels().items()))


class SiteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    latitude = StringField(_l("Latitude"), validators=[Optional(), Length(max=30)],
                           description=_l("Degrees north, e.g. 50.0755"))
    longitude = StringField(_l("Longitude"), validators=[Optional(), Length(max=30)],
                            description=_l("Degrees east, e.g. 14.4378"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])


class DeviceTypeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class ParamDefForm(FlaskForm):
    """One parameter (a typed definition) of a device type."""

    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=40)])
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Type"), choices=[])
    required = BooleanField(_l("Required"))
    default = StringField(_l("Default value"), validators=[Optional(), Length(max=200)])
    choices = TextAreaField(_l("Choices (value=label, one per line)"), validators=[Optional(), Length(max=5000)])
    min = StringField(_l("Minimum"), validators=[Optional(), Length(max=40)])
    max = StringField(_l("Maximum"), validators=[Optional(), Length(max=40)])
    regex = StringField(_l("Pattern (regular expression)"), validators=[Optional(), Length(max=500)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    help = StringField(_l("Help text"), validators=[Optional(), Length(max=500)])


class ConfirmForm(FlaskForm):
    """Just the CSRF token of a button that changes something."""
