"""Forms of the IPAM pages (Flask-WTF; CSRF on every form that changes something).

Only the shape of the input is checked here; the rules live in the service modules, whose errors
the views put back on the fields.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from mango_core.web.forms import options


def kind_labels() -> dict[str, str]:
    return {"public": _l("public"), "private": _l("private"), "cgnat": _l("CGNAT")}


def origin_labels() -> dict[str, str]:
    return {"manual": _l("by hand"), "pool": _l("from the pool"), "lifecycle": _l("on activation"),
            "transfer": _l("by a transfer"), "demo": _l("demo data")}


class _PrefixFields(FlaskForm):
    kind = SelectField(_l("Kind"))
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    site_id = SelectField(_l("Site"), choices=[], validate_choice=False)
    gateway = StringField(_l("Gateway"), validators=[Optional(), Length(max=60)],
                          description=_l("An address of the prefix that is never assigned"))
    auto_assign = BooleanField(_l("Assign on activation of internet services"))
    quarantine_hours = StringField(_l("Quarantine after release (hours)"), validators=[Optional(), Length(max=6)],
                                   default="0")

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.kind.choices = options(list(kind_labels().items()))


class PrefixForm(_PrefixFields):
    prefix = StringField(_l("Prefix"), validators=[DataRequired(), Length(max=60)],
                         description=_l("In CIDR notation, e.g. 192.0.2.0/24 or 2001:db8::/48"))
    is_pool = BooleanField(_l("Pool (hands out addresses to services)"))
    unit_prefixlen = StringField(_l("Unit of the pool (prefix length)"), validators=[Optional(), Length(max=3)],
                                 description=_l("32 or 128 for single addresses, e.g. 56 for IPv6 delegations"))


class PrefixEditForm(_PrefixFields):
    pass


class CgnatForm(FlaskForm):
    public = StringField(_l("Public prefix"), validators=[DataRequired(), Length(max=60)])
    port_first = StringField(_l("First port"), validators=[DataRequired(), Length(max=5)], default="1024")
    port_last = StringField(_l("Last port"), validators=[DataRequired(), Length(max=5)], default="65535")
    block_size = StringField(_l("Ports per subscriber"), validators=[DataRequired(), Length(max=5)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class AssignForm(FlaskForm):
    address = StringField(_l("Address or prefix"), validators=[Optional(), Length(max=60)])
    pool_id = SelectField(_l("Or the next free one from the pool"), choices=[], validate_choice=False)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class ReleaseForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=300)])


class MacForm(FlaskForm):
    mac = StringField(_l("MAC address"), validators=[DataRequired(), Length(max=40)])
    assignment_id = SelectField(_l("For the address"), choices=[], validate_choice=False)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: for buttons that change something."""


class WhoForm(FlaskForm):
    """The lookup "who had X at T" (a GET form: it changes nothing)."""

    class Meta:
        csrf = False

    ip = StringField(_l("IP address"), validators=[DataRequired(), Length(max=60)])
    at = StringField(_l("Time"), validators=[Optional(), Length(max=30)],
                     description=_l("Local time, e.g. 2025-03-01 14:30; empty: now"))
    port = StringField(_l("Port (CGNAT)"), validators=[Optional(), Length(max=5)])
