"""The helpdesk in the customer portal: the customer's tickets, a new one, the thread and a reply.

The portal's plugin mechanism as billing uses it: blueprint ``callcenter_selfcare`` under
``/selfcare/callcenter``, every view behind :func:`customer_required` (the customer's location
scope; 404 where the call centre is not enabled), and every query names the customer being looked
at — another customer's ticket answers 404, as one of another location. Internal notes are left
out by the query itself (``thread(..., public_only=True)``), and so are their files.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from mango_callcenter.helpdesk import forms
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.models import CLOSED, SELFCARE, Ticket
from mango_callcenter.helpdesk.views import limits, send_attachment, uploads
from mango_core.selfcare.access import current_customer, customer_required
from mango_core.selfcare.views import use_portal_error_pages
from mango_core.services import service as services
from mango_core.web.forms import save
from mango_core.web.request import db

bp = Blueprint("callcenter_selfcare", __name__, url_prefix="/selfcare/callcenter", template_folder="../templates")
use_portal_error_pages(bp)


def _actor() -> helpdesk.Actor:
    return helpdesk.Actor(customer_id=current_customer().id)


def _ticket_or_404(number: int) -> Ticket:
    ticket = db().scalar(select(Ticket).where(Ticket.number == number, Ticket.customer_id == current_customer().id))
    if ticket is None:
        abort(404)
    return ticket


@bp.get("/")
@customer_required
def tickets():  # noqa: ANN201
    rows = helpdesk.tickets_of_customer(db(), current_customer().id)
    return render_template("callcenter/selfcare/tickets.html", rows=rows, states=forms.state_labels())


@bp.route("/new", methods=["GET", "POST"])
@customer_required
def new():  # noqa: ANN201
    session, customer = db(), current_customer()
    form = forms.SelfcareTicketForm()
    form.service_id.choices = forms.choices(
        [(str(s.id), f"{s.product.name} #{s.id}") for s in services.services_of_customer(session, customer.id)],
        empty="—")
    if form.validate_on_submit():
        saved = save(form, lambda: helpdesk.create_ticket(
            session, subject=form.subject.data, body=form.body.data, actor=_actor(), customer_id=customer.id,
            service_id=form.service_id.data, channel=SELFCARE, uploads=uploads(form.attachments), limits=limits()),
            lambda t: _("Your request #%(number)d was received.", number=t.number))
        if saved:
            return redirect(url_for(".detail", number=saved.value.number))
    return render_template("callcenter/selfcare/new.html", form=form)


@bp.get("/<int:number>")
@customer_required
def detail(number: int):  # noqa: ANN201
    ticket = _ticket_or_404(number)
    return render_template("callcenter/selfcare/ticket.html", ticket=ticket,
                           thread=helpdesk.thread(db(), ticket, public_only=True), states=forms.state_labels(),
                           form=forms.MessageForm(formdata=None), closed=ticket.state == CLOSED)


@bp.post("/<int:number>/reply")
@customer_required
def reply(number: int):  # noqa: ANN201
    ticket = _ticket_or_404(number)
    form = forms.MessageForm()
    if form.validate_on_submit():
        saved = save(form, lambda: helpdesk.customer_message(db(), ticket, form.body.data, _actor(),
                                                             uploads=uploads(form.attachments), limits=limits()),
                     _("Your message was sent."))
        if saved:
            return redirect(url_for(".detail", number=ticket.number))
    return render_template("callcenter/selfcare/ticket.html", ticket=ticket,
                           thread=helpdesk.thread(db(), ticket, public_only=True), states=forms.state_labels(),
                           form=form, closed=ticket.state == CLOSED), 400


@bp.get("/<int:number>/files/<int:attachment_id>")
@customer_required
def download(number: int, attachment_id: int):  # noqa: ANN201
    return send_attachment(_ticket_or_404(number), attachment_id, public_only=True)


def render_dashboard(customer) -> str:  # noqa: ANN001
    """The portal overview's card: the customer's requests still being dealt with."""
    rows = [t for t in helpdesk.tickets_of_customer(db(), customer.id, limit=20) if t.is_active]
    return render_template("callcenter/selfcare/dashboard.html", rows=rows, states=forms.state_labels())
