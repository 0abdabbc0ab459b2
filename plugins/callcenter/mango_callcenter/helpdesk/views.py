"""Opcare helpdesk: the ticket list with filters and counts, a ticket's page (thread, reply and note,
state, assignee, priority, queue, merge, split, files), a new ticket (from the customer card with the
customer preset), the settings of queues, categories, SLA and business hours, and the customer card's tab.

Views hold no rules: they read forms and call :mod:`mango_callcenter.helpdesk.service`; every
ticket is looked up by its number inside the request's location (another location's is 404).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mango_callcenter.helpdesk import business_hours, forms, sla
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.attachments import Upload
from mango_callcenter.helpdesk.models import CLOSED, PRIORITIES, Category, Queue, Ticket, TicketAttachment
from mango_core.auth.access import permission_required
from mango_core.auth.models import RoleAssignment, User
from mango_core.customers.models import Customer
from mango_core.kernel import current_mango
from mango_core.services import service as services
from mango_core.tenancy.validators import N_, InvalidValue
from mango_core.web.access import has_permission
from mango_core.web.forms import save
from mango_core.web.request import current_location_id, db

bp = Blueprint("callcenter", __name__, url_prefix="/callcenter", template_folder="../templates")

VIEW, MANAGE, SETTINGS = "callcenter.tickets.view", "callcenter.tickets.manage", "callcenter.settings.manage"
MAX_ROWS = 500


def actor() -> helpdesk.Actor:
    return helpdesk.Actor(user_id=current_user.id)


def limits() -> dict:
    return current_mango().plugin_settings("callcenter")


def uploads(field) -> list[Upload]:  # noqa: ANN001
    """The files of a MultipleFileField (an empty file input sends one nameless part: skipped)."""
    return [Upload(f.filename or "", f.read(), f.mimetype or "") for f in (field.data or []) if f and f.filename]


def staff(session) -> list[User]:  # noqa: ANN001
    """Active members of staff with a role in this location (whom a ticket can be given)."""
    return list(session.scalars(
        select(User).where(User.is_active.is_(True),
                           User.id.in_(select(RoleAssignment.user_id)
                                       .where(RoleAssignment.location_id == current_location_id())))
        .order_by(User.name)))


def ticket_or_404(number: int) -> Ticket:
    ticket = helpdesk.ticket_by_number(db(), number)
    if ticket is None:
        abort(404)
    return ticket


def _fill(form, session) -> None:  # noqa: ANN001
    """Choices of the select fields a form has."""
    if hasattr(form, "queue_id"):
        form.queue_id.choices = forms.choices([(str(q.id), q.name) for q in helpdesk.queues(session, active_only=True)],
                                              empty="—")
    if hasattr(form, "category_id"):
        form.category_id.choices = forms.choices(
            [(str(c.id), c.name) for c in helpdesk.categories(session, active_only=True)], empty="—")
    if hasattr(form, "priority"):
        form.priority.choices = forms.choices(list(forms.priority_labels().items()))
    if hasattr(form, "assignee_id"):
        form.assignee_id.choices = forms.choices([(str(u.id), u.name) for u in staff(session)], empty=_("nobody"))
    if hasattr(form, "channel"):
        labels = forms.channel_labels()
        form.channel.choices = forms.choices([(c, labels[c]) for c in ("phone", "opcare", "email")])


def _flash_errors(form) -> None:  # noqa: ANN001
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "danger")


# --- the list ------------------------------------------------------------------------------------------


def _filter_from_args() -> helpdesk.TicketFilter:
    args = request.args
    state = args.get("state", "active")
    f = helpdesk.TicketFilter(
        queue_id=args.get("queue", type=int), priority=args.get("priority") if args.get("priority") in PRIORITIES else None,
        state=state if state in {*forms.state_labels(), "active"} else None,
        assignee_id=args.get("assignee", type=int), overdue=args.get("overdue") == "1",
        unassigned=args.get("assignee") == "none")
    if args.get("mine") == "1":
        f.assignee_id = current_user.id
    return f


@bp.get("/")
@permission_required(VIEW)
def tickets():  # noqa: ANN201
    session = db()
    f = _filter_from_args()
    rows = helpdesk.list_tickets(session, f, limit=MAX_ROWS)
    return render_template("callcenter/tickets.html", rows=rows, f=f, counts=helpdesk.counts(session, f),
                           queues=helpdesk.queues(session), staff=staff(session), states=forms.state_labels(),
                           priorities=forms.priority_labels(), overdue=helpdesk.is_overdue, args=request.args,
                           limit=MAX_ROWS, can_manage=has_permission(MANAGE))


# --- a new ticket -----------------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new():  # noqa: ANN201
    session = db()
    form = forms.TicketForm()
    if request.method == "GET" and request.args.get("customer_id"):
        form.customer_id.data = request.args.get("customer_id", "")
    customer = None
    raw = (form.customer_id.data or "").strip()
    if raw.isdigit():
        customer = session.scalar(select(Customer).where(Customer.id == int(raw)))
    _fill(form, session)
    form.service_id.choices = forms.choices(
        [(str(s.id), f"{s.product.name} #{s.id}") for s in services.services_of_customer(session, customer.id)]
        if customer else [], empty="—")
    def create() -> Ticket:
        customer_id = form.customer_id.data or helpdesk.customer_id_by_number(session, form.customer_number.data)
        return helpdesk.create_ticket(
            session, subject=form.subject.data, body=form.body.data, actor=actor(), customer_id=customer_id,
            requester_email=form.requester_email.data, queue_id=form.queue_id.data, category_id=form.category_id.data,
            priority=form.priority.data, channel=form.channel.data, service_id=form.service_id.data,
            device_id=form.device_id.data, assignee_id=form.assignee_id.data, uploads=uploads(form.attachments),
            limits=limits(), notify=bool(form.notify.data))

    if form.validate_on_submit():
        saved = save(form, create, lambda t: _("Ticket #%(number)d created.", number=t.number),
                     aliases={"customer_id": "customer_number"})
        if saved:
            return redirect(url_for(".detail", number=saved.value.number))
    return render_template("callcenter/new.html", form=form, customer=customer)


# --- a ticket ------------------------------------------------------------------------------------------------


@bp.get("/<int:number>")
@permission_required(VIEW)
def detail(number: int):  # noqa: ANN201
    session = db()
    ticket = ticket_or_404(number)
    state_form = forms.StateForm(formdata=None, state=ticket.state)
    state_form.state.choices = forms.choices(
        [(s, label) for s, label in forms.state_labels().items()
         if s == ticket.state or s in helpdesk.TRANSITIONS[ticket.state]])
    assign_form = forms.AssignForm(formdata=None, assignee_id=str(ticket.assignee_id or ""))
    priority_form = forms.PriorityForm(formdata=None, priority=ticket.priority)
    queue_form = forms.QueueChangeForm(formdata=None, queue_id=str(ticket.queue_id or ""))
    for form in (assign_form, priority_form, queue_form):
        _fill(form, session)
    merged_from = list(session.scalars(select(Ticket).where(Ticket.merged_into_id == ticket.id)))
    return render_template("callcenter/ticket.html", ticket=ticket, thread=helpdesk.thread(session, ticket, public_only=False),
                           events=helpdesk.events(session, ticket), message_form=forms.MessageForm(formdata=None),
                           state_form=state_form, assign_form=assign_form, priority_form=priority_form,
                           queue_form=queue_form, merge_form=forms.MergeForm(formdata=None), merged_from=merged_from,
                           split_form=forms.SplitForm(formdata=None, subject=f"Re: {ticket.subject}"[:200]),
                           states=forms.state_labels(), priorities=forms.priority_labels(),
                           channels=forms.channel_labels(), kinds=forms.event_labels(), overdue=helpdesk.is_overdue(ticket),
                           can_manage=has_permission(MANAGE), closed=ticket.state == CLOSED)


def _act(number: int, form_class, action, message: str):  # noqa: ANN001, ANN202
    """Run a change of a ticket's page form and go back to the ticket."""
    session = db()
    ticket = ticket_or_404(number)
    form = form_class()
    _fill(form, session)
    if isinstance(form, forms.StateForm):
        form.state.choices = forms.choices(list(forms.state_labels().items()))
    if not form.validate_on_submit():
        _flash_errors(form)
    else:
        save(form, lambda: action(session, ticket, form), message)
        _flash_errors(form)  # a service error put on a field is shown as a message here
    return redirect(url_for(".detail", number=ticket.number))


@bp.post("/<int:number>/reply")
@permission_required(MANAGE)
def reply(number: int):  # noqa: ANN201
    return _act(number, forms.MessageForm, lambda s, t, f: helpdesk.reply(
        s, t, f.body.data, actor(), uploads=uploads(f.attachments), limits=limits()), _("Reply sent."))


@bp.post("/<int:number>/note")
@permission_required(MANAGE)
def note(number: int):  # noqa: ANN201
    return _act(number, forms.MessageForm, lambda s, t, f: helpdesk.add_note(
        s, t, f.body.data, actor(), uploads=uploads(f.attachments), limits=limits()), _("Note added."))


@bp.post("/<int:number>/state")
@permission_required(MANAGE)
def state(number: int):  # noqa: ANN201
    return _act(number, forms.StateForm, lambda s, t, f: helpdesk.change_state(s, t, f.state.data, actor()),
                _("State changed."))


@bp.post("/<int:number>/assign")
@permission_required(MANAGE)
def assign(number: int):  # noqa: ANN201
    return _act(number, forms.AssignForm, lambda s, t, f: helpdesk.assign(s, t, f.assignee_id.data, actor()),
                _("Assignee changed."))


@bp.post("/<int:number>/priority")
@permission_required(MANAGE)
def priority(number: int):  # noqa: ANN201
    return _act(number, forms.PriorityForm, lambda s, t, f: helpdesk.change_priority(s, t, f.priority.data, actor()),
                _("Priority changed."))


@bp.post("/<int:number>/queue")
@permission_required(MANAGE)
def queue(number: int):  # noqa: ANN201
    return _act(number, forms.QueueChangeForm, lambda s, t, f: helpdesk.change_queue(s, t, f.queue_id.data, actor()),
                _("Queue changed."))


@bp.post("/<int:number>/merge")
@permission_required(MANAGE)
def merge(number: int):  # noqa: ANN201
    def action(session, ticket, form):  # noqa: ANN001, ANN202
        raw = (form.target.data or "").strip().lstrip("#")
        target = helpdesk.ticket_by_number(session, int(raw)) if raw.isdigit() else None
        if target is None:
            raise InvalidValue(N_("Not found in this location."), field="target")
        helpdesk.merge(session, ticket, target, actor())

    return _act(number, forms.MergeForm, action, _("Tickets merged."))


@bp.post("/<int:number>/split")
@permission_required(MANAGE)
def split(number: int):  # noqa: ANN201
    """Move the checked messages into a new ticket and show it (an error: back to this ticket, nothing moved)."""
    session = db()
    ticket = ticket_or_404(number)
    form = forms.SplitForm()
    if form.validate_on_submit():
        saved = save(form, lambda: helpdesk.split(session, ticket, request.form.getlist("messages"), actor(),
                                                  subject=form.subject.data),
                     lambda new: _("Messages moved to the new ticket #%(number)d.", number=new.number))
        if saved:
            return redirect(url_for(".detail", number=saved.value.number))
    _flash_errors(form)
    return redirect(url_for(".detail", number=ticket.number))


@bp.get("/<int:number>/files/<int:attachment_id>")
@permission_required(VIEW)
def download(number: int, attachment_id: int):  # noqa: ANN201
    ticket = ticket_or_404(number)
    return send_attachment(ticket, attachment_id, public_only=False)


def send_attachment(ticket: Ticket, attachment_id: int, *, public_only: bool):  # noqa: ANN201
    """One file of the ticket as a download (Selfcare: only files of public messages)."""
    import io

    session = db()
    row = session.get(TicketAttachment, attachment_id)
    if row is None or row.ticket_id != ticket.id:
        abort(404)
    if public_only and (row.message is None or row.message.internal):
        abort(404)
    response = send_file(io.BytesIO(row.content), mimetype=row.content_type, as_attachment=True,
                         download_name=row.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- settings --------------------------------------------------------------------------------------------


def _sla_form(session, formdata=None) -> forms.SlaForm:  # noqa: ANN001
    table, clocks = sla.sla_table(session), sla.clocks(session)
    values = {}
    for p, (response, resolution) in table.items():
        values[f"{p}_response"], values[f"{p}_resolution"] = str(response), str(resolution)
        values[f"{p}_clock"] = clocks[p]
    form = forms.SlaForm(formdata=formdata, **values)
    _clock_choices(form)
    return form


def _clock_choices(form: forms.SlaForm) -> None:
    for p in PRIORITIES:
        form[f"{p}_clock"].choices = forms.choices(list(forms.clock_labels().items()))


def _hours_form(session) -> forms.BusinessHoursForm:  # noqa: ANN001
    stored = business_hours.weekday_hours(session) or business_hours.DEFAULT_HOURS
    values = {}
    for weekday, key in enumerate(business_hours.WEEKDAYS):
        if weekday in stored:
            opens, closes = stored[weekday]
            values[f"{key}_opens"] = business_hours.format_clock(opens)
            values[f"{key}_closes"] = business_hours.format_clock(closes)
    return forms.BusinessHoursForm(formdata=None, **values)


@bp.get("/settings")
@permission_required(SETTINGS)
def settings():  # noqa: ANN201
    session = db()
    calendar = business_hours.location_calendar(session)
    today = datetime.now(calendar.zone).date()
    return render_template("callcenter/settings.html", queues=helpdesk.queues(session),
                           categories=helpdesk.categories(session), queue_form=forms.QueueForm(formdata=None),
                           category_form=forms.CategoryForm(formdata=None), sla_form=_sla_form(session),
                           priorities=forms.priority_labels(), hours_form=_hours_form(session),
                           weekdays=forms.weekday_labels(), closed_form=forms.ClosedDayForm(formdata=None),
                           closed_days=business_hours.closed_days(session, since=today),
                           remove_form=forms.ConfirmForm(formdata=None), zone=str(calendar.zone),
                           holidays=business_hours.upcoming_holidays(calendar.country, today))


@bp.post("/settings/queues")
@bp.post("/settings/queues/<int:queue_id>")
@permission_required(SETTINGS)
def save_queue(queue_id: int | None = None):  # noqa: ANN201
    session = db()
    existing = None
    if queue_id is not None:
        existing = session.get(Queue, queue_id)
        if existing is None:
            abort(404)
    form = forms.QueueForm()
    if form.validate_on_submit():
        save(form, lambda: helpdesk.save_queue(session, name=form.name.data, email=form.email.data,
                                               is_active=form.is_active.data, queue=existing), _("Queue saved."))
    _flash_errors(form)
    return redirect(url_for(".settings"))


@bp.post("/settings/categories")
@bp.post("/settings/categories/<int:category_id>")
@permission_required(SETTINGS)
def save_category(category_id: int | None = None):  # noqa: ANN201
    session = db()
    existing = None
    if category_id is not None:
        existing = session.get(Category, category_id)
        if existing is None:
            abort(404)
    form = forms.CategoryForm()
    if form.validate_on_submit():
        save(form, lambda: helpdesk.save_category(session, name=form.name.data, is_active=form.is_active.data,
                                                  category=existing), _("Category saved."))
    _flash_errors(form)
    return redirect(url_for(".settings"))


@bp.post("/settings/sla")
@permission_required(SETTINGS)
def save_sla():  # noqa: ANN201
    session = db()
    form = forms.SlaForm()
    _clock_choices(form)
    if form.validate_on_submit():
        def action() -> None:
            for p in PRIORITIES:
                sla.save_sla(session, p, response_hours=getattr(form, f"{p}_response").data,
                             resolution_hours=getattr(form, f"{p}_resolution").data,
                             clock=getattr(form, f"{p}_clock").data)

        save(form, action, _("SLA saved."))
    _flash_errors(form)
    return redirect(url_for(".settings"))


@bp.post("/settings/hours")
@permission_required(SETTINGS)
def save_hours():  # noqa: ANN201
    form = forms.BusinessHoursForm()
    if form.validate_on_submit():
        values = {key: (form[f"{key}_opens"].data, form[f"{key}_closes"].data) for key in business_hours.WEEKDAYS}
        save(form, lambda: business_hours.save_hours(db(), values), _("Business hours saved."))
    _flash_errors(form)
    return redirect(url_for(".settings"))


@bp.post("/settings/closed-days")
@permission_required(SETTINGS)
def add_closed_day():  # noqa: ANN201
    form = forms.ClosedDayForm()
    if form.validate_on_submit():
        save(form, lambda: business_hours.add_closed_day(db(), form.day.data, form.note.data), _("Closed day added."))
    _flash_errors(form)
    return redirect(url_for(".settings"))


@bp.post("/settings/closed-days/<int:closed_day_id>/remove")
@permission_required(SETTINGS)
def remove_closed_day(closed_day_id: int):  # noqa: ANN201
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        removed = save(form, lambda: business_hours.remove_closed_day(db(), closed_day_id))
        if removed is None or not removed.value:
            abort(404)
        flash(_("Closed day removed."), "success")
    _flash_errors(form)
    return redirect(url_for(".settings"))


# --- the customer card ---------------------------------------------------------------------------------


def render_customer_tickets(customer: Customer) -> str:
    session = db()
    return render_template("callcenter/card_tickets.html", customer=customer,
                           rows=helpdesk.tickets_of_customer(session, customer.id), states=forms.state_labels(),
                           priorities=forms.priority_labels(), overdue=helpdesk.is_overdue,
                           can_manage=has_permission(MANAGE))


# --- the dashboard --------------------------------------------------------------------------------------


def render_dashboard() -> str:
    """The home page card: tickets of the location and of the user (empty without the permission)."""
    if not has_permission(VIEW):
        return ""
    session = db()
    everyone = helpdesk.counts(session, helpdesk.TicketFilter())
    mine = helpdesk.counts(session, helpdesk.TicketFilter(assignee_id=current_user.id))
    return render_template("callcenter/dashboard.html", everyone=everyone, mine=mine)
