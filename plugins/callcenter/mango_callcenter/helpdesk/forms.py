"""Forms of the helpdesk pages (Opcare and Selfcare); choices are filled by the views."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from mango_callcenter.helpdesk.models import HIGH, LOW, NORMAL, URGENT
from mango_core.web.forms import options


def priority_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {LOW: _("low priority"), NORMAL: _("normal priority"), HIGH: _("high priority"),
            URGENT: _("urgent priority")}


def state_labels() -> dict[str, str]:
    from mango_callcenter.helpdesk.service import STATE_NAMES

    return {state: str(name) for state, name in STATE_NAMES.items()}


def event_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {"created": _("ticket created"), "state": _("state changed"), "assignee": _("assignee changed"),
            "priority": _("priority changed"), "queue": _("queue changed"), "merged": _("merged into"), "merged_from": _("merged from"),
            "response_breach": _("response time missed"), "resolution_breach": _("resolution time missed"),
            "split_to": _("messages moved to"), "split_from": _("split from")}


def clock_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {"24x7": _("around the clock (24/7)"), "business": _("business hours")}


def weekday_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {"mon": _("Monday"), "tue": _("Tuesday"), "wed": _("Wednesday"), "thu": _("Thursday"),
            "fri": _("Friday"), "sat": _("Saturday"), "sun": _("Sunday")}


def channel_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {"opcare": _("Opcare"), "selfcare": _("Selfcare"), "email": _("e-mail"), "phone": _("phone")}


class TicketForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Description"), validators=[DataRequired()])
    customer_id = HiddenField(validators=[Optional(), Length(max=12)])  # preset from the customer card
    customer_number = StringField(_l("Customer number"), validators=[Optional(), Length(max=12)])
    requester_email = StringField(_l("Requester e-mail (without a customer)"), validators=[Optional(), Length(max=254)])
    channel = SelectField(_l("Received by"), default="phone")
    queue_id = SelectField(_l("Queue"), default="")
    category_id = SelectField(_l("Category"), default="")
    priority = SelectField(_l("Priority"), default=NORMAL)
    assignee_id = SelectField(_l("Assignee"), default="")
    service_id = SelectField(_l("Service"), default="")
    device_id = StringField(_l("Device id"), validators=[Optional(), Length(max=12)])
    attachments = MultipleFileField(_l("Attachments"))
    notify = BooleanField(_l("Notify the customer by e-mail"), default=False)


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired()])
    attachments = MultipleFileField(_l("Attachments"))


class StateForm(FlaskForm):
    state = SelectField(_l("State"))


class AssignForm(FlaskForm):
    assignee_id = SelectField(_l("Assignee"), default="")


class PriorityForm(FlaskForm):
    priority = SelectField(_l("Priority"))


class QueueChangeForm(FlaskForm):
    queue_id = SelectField(_l("Queue"), default="")


class MergeForm(FlaskForm):
    target = StringField(_l("Merge into ticket number"), validators=[DataRequired(), Length(max=10)])


class SplitForm(FlaskForm):
    """The chosen messages come as repeated ``messages`` values (checkboxes in the thread)."""

    subject = StringField(_l("Subject of the new ticket"), validators=[Optional(), Length(max=200)])


class QueueForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    email = StringField(_l("E-mail for alerts of unassigned tickets"), validators=[Optional(), Length(max=500)])
    is_active = BooleanField(_l("Active"), default=True)


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    is_active = BooleanField(_l("Active"), default=True)


class SlaForm(FlaskForm):
    low_response = StringField(_l("Response (hours)"), validators=[DataRequired(), Length(max=5)])
    low_resolution = StringField(_l("Resolution (hours)"), validators=[DataRequired(), Length(max=5)])
    normal_response = StringField(_l("Response (hours)"), validators=[DataRequired(), Length(max=5)])
    normal_resolution = StringField(_l("Resolution (hours)"), validators=[DataRequired(), Length(max=5)])
    high_response = StringField(_l("Response (hours)"), validators=[DataRequired(), Length(max=5)])
    high_resolution = StringField(_l("Resolution (hours)"), validators=[DataRequired(), Length(max=5)])
    urgent_response = StringField(_l("Response (hours)"), validators=[DataRequired(), Length(max=5)])
    urgent_resolution = StringField(_l("Resolution (hours)"), validators=[DataRequired(), Length(max=5)])
    low_clock = SelectField(_l("Hours counted"), default="24x7")
    normal_clock = SelectField(_l("Hours counted"), default="24x7")
    high_clock = SelectField(_l("Hours counted"), default="24x7")
    urgent_clock = SelectField(_l("Hours counted"), default="24x7")


def _clock_field(label) -> StringField:  # noqa: ANN001
    return StringField(label, validators=[Optional(), Length(max=5)])


class BusinessHoursForm(FlaskForm):
    """Opening and closing time per weekday (``mon_opens`` … ``sun_closes``; both empty: closed)."""

    mon_opens, mon_closes = _clock_field(_l("Opens")), _clock_field(_l("Closes"))
    tue_opens, tue_closes = _clock_field(_l("Opens")), _clock_field(_l("Closes"))
    wed_opens, wed_closes = _clock_field(_l("Opens")), _clock_field(_l("Closes"))
    thu_opens, thu_closes = _clock_field(_l("Opens")), _clock_field(_l("Closes"))
    fri_opens, fri_closes = _clock_field(_l("Opens")), _clock_field(_l("Closes"))
    sat_opens, sat_closes = _clock_field(_l("Opens")), _clock_field(_l("Closes"))
    sun_opens, sun_closes = _clock_field(_l("Opens")), _clock_field(_l("Closes"))


class ClosedDayForm(FlaskForm):
    day = DateField(_l("Closed day"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A button that changes state (CSRF only)."""


class SelfcareTicketForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("How can we help?"), validators=[DataRequired()])
    service_id = SelectField(_l("Service"), default="")
    attachments = MultipleFileField(_l("Attachments"))


def choices(pairs: list[tuple[str, str]], *, empty: str | None = None) -> list:
    return options(([("", empty)] if empty is not None else []) + pairs)
