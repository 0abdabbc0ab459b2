"""Opcare pages of service events (list, new, an event with its affected customers, state and
notification by e-mail and SMS, the automatic notices' settings) and technician visits (a week
calendar, a new visit, the outcome, the work order PDF); the customer card's events tab and the
Selfcare notice. Views read forms and call :mod:`.service`, :mod:`.notices` and :mod:`.visits`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, NumberRange, Optional

from mango_callcenter.events import notices, visits
from mango_callcenter.events import service as events
from mango_callcenter.events.models import (
    ALL,
    CANCELLED,
    DONE,
    EMAIL,
    FAILED,
    FINISHED,
    MANUAL,
    ONGOING,
    OUTAGE,
    PLANNED,
    PLANNED_WORK,
    PRODUCT,
    SCHEDULED,
    SMS,
    TOPOLOGY,
    VISIT_CANCELLED,
)
from mango_callcenter.helpdesk.views import staff
from mango_core.auth.access import permission_required
from mango_core.catalog.models import Product
from mango_core.customers.models import Customer
from mango_core.devices.models import Device
from mango_core.tenancy import clock
from mango_core.tenancy.validators import InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import save
from mango_core.web.request import current_location_id, db

bp = Blueprint("callcenter_events", __name__, url_prefix="/callcenter/events", template_folder="../templates")

VIEW, MANAGE = "callcenter.events.view", "callcenter.events.manage"
VISITS_VIEW, VISITS_MANAGE = "callcenter.visits.view", "callcenter.visits.manage"
FORMAT = "%Y-%m-%dT%H:%M"


def kind_labels() -> dict[str, str]:
    return {PLANNED_WORK: _("Planned works"), OUTAGE: _("Outage")}


def state_labels() -> dict[str, str]:
    return {PLANNED: _("planned"), ONGOING: _("ongoing"), FINISHED: _("finished"), CANCELLED: _("cancelled")}


def scope_labels() -> dict[str, str]:
    return {TOPOLOGY: _("by the network topology"), MANUAL: _("chosen services"), PRODUCT: _("services of a product"),
            ALL: _("all services")}


def channel_labels() -> dict[str, str]:
    return {EMAIL: _("e-mail"), SMS: _("SMS")}


def stage_labels() -> dict[str, str]:
    return {events.ANNOUNCE: _("announcement"), events.END: _("end notice")}


def visit_state_labels() -> dict[str, str]:
    return {SCHEDULED: _("visit scheduled"), DONE: _("done"), FAILED: _("failed"), VISIT_CANCELLED: _("cancelled")}


class EventForm(FlaskForm):
    kind = SelectField(_l("Kind"))
    title = StringField(_l("Title"), validators=[DataRequired()])
    description = TextAreaField(_l("Description for customers"))
    starts_at = DateTimeLocalField(_l("Starts at"), format=FORMAT, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends at"), format=FORMAT, validators=[Optional()])
    state = SelectField(_l("State"))
    scope = SelectField(_l("Affected services"))
    device_ids = SelectMultipleField(_l("Devices"), validate_choice=False)
    product_id = SelectField(_l("Product"), validate_choice=False)
    service_ids = StringField(_l("Service numbers (comma separated)"))


class SettingsForm(FlaskForm):
    auto_notify = BooleanField(_l("Tell customers of outages from monitoring alerts automatically"))
    auto_delay_minutes = IntegerField(_l("Only after the alert has been open for (minutes)"),
                                      validators=[NumberRange(min=0, max=notices.MAX_DELAY)])
    auto_email = BooleanField(_l("By e-mail"))
    auto_sms = BooleanField(_l("By SMS"))


class StateForm(FlaskForm):
    state = SelectField(_l("State"))


class VisitForm(FlaskForm):
    technician_id = SelectField(_l("Technician"), validate_choice=False)
    starts_at = DateTimeLocalField(_l("Starts at"), format=FORMAT, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends at"), format=FORMAT, validators=[DataRequired()])
    title = StringField(_l("Task"), validators=[DataRequired()])
    place = StringField(_l("Place"))
    note = TextAreaField(_l("Note"))
    customer_id = StringField(_l("Customer (id)"))
    service_id = StringField(_l("Service (id)"))
    device_id = StringField(_l("Device (id)"))
    ticket_number = StringField(_l("Ticket number"))
    event_id = StringField(_l("Event (id)"))


class OutcomeForm(FlaskForm):
    state = SelectField(_l("Result"))
    outcome = TextAreaField(_l("What was done"), validators=[DataRequired()])


def _zone() -> ZoneInfo:
    return clock.zone_of(db(), current_location_id())


def to_utc(value: datetime | None) -> datetime | None:
    """A time typed in the location's time zone, in UTC (as stored)."""
    if value is None:
        return None
    return value.replace(tzinfo=_zone()).astimezone(UTC)


def _flash_errors(form) -> None:  # noqa: ANN001
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "danger")


def event_or_404(event_id: int):  # noqa: ANN201
    event = events.get_event(db(), event_id)
    if event is None:
        abort(404)
    return event


def _event_form(formdata=None) -> EventForm:  # noqa: ANN001
    session = db()
    form = EventForm() if formdata is None else EventForm(formdata=formdata)
    form.kind.choices = list(kind_labels().items())
    form.state.choices = [(PLANNED, state_labels()[PLANNED]), (ONGOING, state_labels()[ONGOING])]
    scopes = scope_labels()
    if not events.isp_active():
        scopes.pop(TOPOLOGY)
    form.scope.choices = list(scopes.items())
    form.device_ids.choices = [(str(d.id), d.name) for d in session.scalars(select(Device).order_by(Device.name)
                                                                            .limit(2000))]
    form.product_id.choices = [("", "—")] + [(str(p.id), p.name) for p in session.scalars(
        select(Product).order_by(Product.name))]
    return form


# --- events -------------------------------------------------------------------------------------------------


@bp.get("/")
@permission_required(VIEW)
def events_list():  # noqa: ANN201
    rows = events.list_events(db(), current_only=request.args.get("all") != "1")
    return render_template("callcenter/events/events.html", rows=rows, kinds=kind_labels(), states=state_labels(),
                           form=_event_form() if has_permission(MANAGE) else None, isp=events.isp_active())


@bp.post("/new")
@permission_required(MANAGE)
def new_event():  # noqa: ANN201
    form = _event_form()
    if not form.validate_on_submit():
        _flash_errors(form)
        return redirect(url_for(".events_list"))
    services = [s for s in (form.service_ids.data or "").replace(";", ",").split(",") if s.strip()]
    saved = save(form, lambda: events.create_event(
        db(), kind=form.kind.data, title=form.title.data, description=form.description.data,
        starts_at=to_utc(form.starts_at.data), ends_at=to_utc(form.ends_at.data), scope=form.scope.data,
        state=form.state.data, device_ids=form.device_ids.data, product_id=form.product_id.data,
        service_ids=[s.strip() for s in services], actor=current_user.id), _("Event saved."))
    _flash_errors(form)
    return redirect(url_for(".detail", event_id=saved.value.id) if saved else url_for(".events_list"))


@bp.get("/<int:event_id>")
@permission_required(VIEW)
def detail(event_id: int):  # noqa: ANN201
    session = db()
    event = event_or_404(event_id)
    state_form = StateForm(formdata=None, state=event.state)
    state_form.state.choices = [(s, label) for s, label in state_labels().items()
                                if s == event.state or s in events.TRANSITIONS[event.state]]
    return render_template("callcenter/events/event.html", event=event, kinds=kind_labels(), states=state_labels(),
                           scopes=scope_labels(), services=events.affected_services(session, event),
                           customers=events.affected_customers(session, event), state_form=state_form,
                           can_manage=has_permission(MANAGE), action_form=FlaskForm(formdata=None),
                           counts=notices.counts(session, event), channels=channel_labels(), stages=stage_labels())


def _event_action(event_id: int, action, message: str):  # noqa: ANN001, ANN202
    event = event_or_404(event_id)
    form = FlaskForm()
    if form.validate_on_submit():
        save(form, lambda: action(db(), event), message)
        _flash_errors(form)
    return redirect(url_for(".detail", event_id=event.id))


@bp.post("/<int:event_id>/state")
@permission_required(MANAGE)
def change_state(event_id: int):  # noqa: ANN201
    return _event_action(event_id, lambda s, e: events.change_state(s, e, request.form.get("state")),
                         _("State changed."))


@bp.post("/<int:event_id>/recompute")
@permission_required(MANAGE)
def recompute(event_id: int):  # noqa: ANN201
    return _event_action(event_id, lambda s, e: events.recompute(s, e), _("Affected customers computed again."))


@bp.post("/<int:event_id>/notify")
@permission_required(MANAGE)
def notify(event_id: int):  # noqa: ANN201
    stage = events.END if request.form.get("stage") == events.END else events.ANNOUNCE
    event = event_or_404(event_id)
    form = FlaskForm()
    if form.validate_on_submit():
        saved = save(form, lambda: notices.notify(db(), event, stage=stage, channels=request.form.getlist("channel")),
                     lambda r: _("Customers told by e-mail: %(email)d, by SMS: %(sms)d. "
                                 "Without an e-mail address: %(no_email)d, without a mobile number: %(no_sms)d.",
                                 email=r.sent[EMAIL], sms=r.sent[SMS], no_email=r.unreachable[EMAIL],
                                 no_sms=r.unreachable[SMS]))
        if saved is None:
            _flash_errors(form)
    return redirect(url_for(".detail", event_id=event.id))


@bp.route("/settings", methods=["GET", "POST"])
@permission_required(MANAGE)
def settings():  # noqa: ANN201
    session = db()
    current = notices.settings(session)
    form = SettingsForm(obj=current) if current is not None else SettingsForm(auto_delay_minutes=10, auto_email=True)
    if form.validate_on_submit():
        saved = save(form, lambda: notices.save_settings(
            session, auto_notify=form.auto_notify.data, delay_minutes=form.auto_delay_minutes.data,
            email=form.auto_email.data, sms=form.auto_sms.data), _("Settings saved."))
        if saved:
            return redirect(url_for(".settings"))
    _flash_errors(form)
    return render_template("callcenter/events/settings.html", form=form)


# --- technician visits ------------------------------------------------------------------------------------


def _week_start(raw: str | None) -> date:
    try:
        day = date.fromisoformat(raw) if raw else date.today()
    except ValueError:
        day = date.today()
    return day - timedelta(days=day.weekday())


def _visit_form() -> VisitForm:
    form = VisitForm()
    form.technician_id.choices = [("", "—")] + [(str(u.id), u.name) for u in staff(db())]
    return form


@bp.get("/visits")
@permission_required(VISITS_VIEW)
def calendar():  # noqa: ANN201
    monday = _week_start(request.args.get("week"))
    zone = _zone()
    start = datetime.combine(monday, time(0), zone).astimezone(UTC)
    rows = visits.between(db(), start, start + timedelta(days=7),
                          technician_id=request.args.get("technician", type=int))
    days = [monday + timedelta(days=i) for i in range(7)]
    by_day = {d: [v for v in rows if v.starts_at.astimezone(zone).date() == d] for d in days}
    form = None
    if has_permission(VISITS_MANAGE):
        form = _visit_form()
        form.customer_id.data = request.args.get("customer_id", "")
        form.ticket_number.data = request.args.get("ticket", "")
        form.event_id.data = request.args.get("event_id", "")
    return render_template("callcenter/events/calendar.html", days=days, by_day=by_day, monday=monday,
                           prev=monday - timedelta(days=7), next=monday + timedelta(days=7), zone=zone,
                           states=visit_state_labels(), form=form, technicians=staff(db()),
                           technician=request.args.get("technician", type=int))


@bp.post("/visits/new")
@permission_required(VISITS_MANAGE)
def new_visit():  # noqa: ANN201
    form = _visit_form()
    if not form.validate_on_submit():
        _flash_errors(form)
        return redirect(url_for(".calendar"))
    saved = save(form, lambda: visits.schedule(
        db(), technician_id=form.technician_id.data, starts_at=to_utc(form.starts_at.data),
        ends_at=to_utc(form.ends_at.data), title=form.title.data, note=form.note.data, place=form.place.data,
        customer_id=form.customer_id.data, service_id=form.service_id.data, device_id=form.device_id.data,
        ticket_number=form.ticket_number.data, event_id=form.event_id.data, actor=current_user.id),
        _("Visit scheduled."))
    _flash_errors(form)
    if saved:
        return redirect(url_for(".visit", visit_id=saved.value.id))
    return redirect(url_for(".calendar"))


def visit_or_404(visit_id: int):  # noqa: ANN201
    found = visits.get_visit(db(), visit_id)
    if found is None:
        abort(404)
    return found


def _outcome_form(formdata=None) -> OutcomeForm:  # noqa: ANN001
    form = OutcomeForm() if formdata is None else OutcomeForm(formdata=formdata)
    labels = visit_state_labels()
    form.state.choices = [(s, labels[s]) for s in visits.OUTCOMES]
    return form


@bp.get("/visits/<int:visit_id>")
@permission_required(VISITS_VIEW)
def visit(visit_id: int):  # noqa: ANN201
    found = visit_or_404(visit_id)
    return render_template("callcenter/events/visit.html", visit=found, states=visit_state_labels(),
                           form=_outcome_form(formdata=None), can_manage=has_permission(VISITS_MANAGE),
                           print_form=FlaskForm(formdata=None))


@bp.post("/visits/<int:visit_id>/outcome")
@permission_required(VISITS_MANAGE)
def outcome(visit_id: int):  # noqa: ANN201
    found = visit_or_404(visit_id)
    form = _outcome_form()
    if form.validate_on_submit():
        save(form, lambda: visits.finish(db(), found, state=form.state.data, outcome=form.outcome.data),
             _("Outcome recorded."))
    _flash_errors(form)
    return redirect(url_for(".visit", visit_id=found.id))


@bp.post("/visits/<int:visit_id>/work-order.pdf")
@permission_required(VISITS_VIEW)
def work_order(visit_id: int):  # noqa: ANN201
    """The work order as PDF (a POST: it is archived on the customer's documents when the visit has one)."""
    from mango_core.documents.service import DocumentError

    found = visit_or_404(visit_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    session = db()
    try:
        name, pdf = visits.work_order_pdf(session, found, actor=current_user.id)
    except (DocumentError, InvalidValue) as exc:
        session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for(".visit", visit_id=found.id))
    session.commit()
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "X-Content-Type-Options": "nosniff"})


# --- the customer card ---------------------------------------------------------------------------------------


def render_customer_events(customer: Customer) -> str:
    """The card tab: events that affect(ed) the customer, with what the customer was told of each."""
    session = db()
    rows = events.events_of_customer(session, customer.id)
    return render_template("callcenter/events/card_events.html", rows=rows, kinds=kind_labels(),
                           states=state_labels(), channels=channel_labels(), stages=stage_labels(),
                           notices=notices.notices_of_customer(session, customer.id, [e.id for e in rows]))


# --- Selfcare -------------------------------------------------------------------------------------------------


def render_selfcare_notice(customer: Customer) -> str:
    """Planned works and outages of the customer's services (the portal overview; empty without any)."""
    rows = events.current_events_of_customer(db(), customer.id)
    if not rows:
        return ""
    return render_template("callcenter/events/selfcare_notice.html", rows=rows, kinds=kind_labels(),
                           states=state_labels())
