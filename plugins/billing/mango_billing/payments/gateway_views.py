"""Online card payments on the web: the customer's pay button and return, the gateway's notification,
and the Opcare pages (the list of online payments, the location's gateway settings).

* Selfcare (``billing_selfcare.gateway`` under ``/selfcare/billing/gateway``, :func:`customer_required`):
  ``POST /pay/<invoice id>`` stores the payment and COMMITS it, then asks the gateway and sends the
  customer to its page (through ``/payments/<reference>/go``, see :func:`go`); ``GET /return?id=<transId>&refId=<reference>`` is the return URL set in
  the gateway's portal — it settles the payment with the gateway's own status (the parameters only
  name the payment; the customer's own payments only) and redirects to ``/payments/<reference>``,
  which shows the result. The return is a GET because the gateway sends the browser back with one;
  it only brings our record in line with the gateway's, so repeating it changes nothing.
* The notification (``POST /billing/gateway/hook/notify/<location code>``, no login, no CSRF: the
  gateway is not a browser) must carry the location's merchant id and secret; it names a transaction,
  whose status is then asked of the gateway. 200 ``code=0&message=OK`` when handled (a repeat too),
  401 for a wrong secret, 404 for an unknown transaction, 503 when the gateway could not be asked
  (the gateway sends the notification again later).
* Opcare (``billing_gateway`` under ``/billing/gateway``): the list (``billing.payments.view``), "ask
  the gateway now" for one payment (``billing.payments.manage``), settings (``billing.gateway.manage``).
"""

from __future__ import annotations

import logging
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from mango_billing.models import Invoice
from mango_billing.payments import gateway_models as gm
from mango_billing.payments import gateway_service as service
from mango_billing.payments.gateway import GatewayError
from mango_billing.selfcare_views import bp as billing_selfcare
from mango_core.auth.access import permission_required, public
from mango_core.customers.models import Customer
from mango_core.kernel import current_mango
from mango_core.secrets import SecretsError
from mango_core.selfcare.access import current, current_customer, customer_required
from mango_core.selfcare.views import use_portal_error_pages
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import Location
from mango_core.web.access import has_permission
from mango_core.web.forms import save
from mango_core.web.request import current_location_id, db
from mango_core.web.shell import csrf

# billing's portal pages are one blueprint (``billing_selfcare``, the plugin contract's name for
# /selfcare/billing): the gateway's pages are its child, endpoints ``billing_selfcare.gateway.*``
selfcare_bp = Blueprint("gateway", __name__, url_prefix="/gateway")
use_portal_error_pages(selfcare_bp)
billing_selfcare.register_blueprint(selfcare_bp)
hook_bp = Blueprint("billing_gateway_hook", __name__, url_prefix="/billing/gateway/hook")
csrf.exempt(hook_bp)  # the gateway's server, not a browser: the merchant id and secret authenticate it
bp = Blueprint("billing_gateway", __name__, url_prefix="/billing/gateway", template_folder="../templates")

log = logging.getLogger(__name__)
VIEW, MANAGE, SETTINGS = "billing.payments.view", "billing.payments.manage", "billing.gateway.manage"
MAX_NOTIFICATION = 16 * 1024


def _plugin_settings() -> dict:
    return current_mango().plugin_settings("billing")


# --- Selfcare -------------------------------------------------------------------------------------------


class PayForm(FlaskForm):
    reference = HiddenField(validators=[DataRequired(), Length(min=32, max=32)])


@selfcare_bp.app_template_global("billing_pay_by_card")
def pay_by_card(invoice_id: int | None) -> Markup:
    """The "Pay by card" button of one of the current customer's documents, for any portal page
    (billing's invoice page and dashboard through ``_pay.html``, a print order's advance, a retry after
    a decline); empty when nothing is unpaid or the location has no gateway."""
    if not invoice_id or g.get("selfcare") is None:
        return Markup("")
    session, customer = db(), current_customer()
    if "billing_gateway_ready" not in g:
        g.billing_gateway_ready = service.active_settings(session) is not None
    invoice = session.get(Invoice, invoice_id) if g.billing_gateway_ready else None
    if invoice is None or invoice.customer_id != customer.id:
        return Markup("")
    unpaid = service.unpaid_of(session, invoice)
    if unpaid <= 0:
        return Markup("")
    form = PayForm(formdata=None, reference=uuid.uuid4().hex)
    return Markup(render_template("billing/gateway/_pay_form.html", invoice=invoice, unpaid=unpaid,  # noqa: S704
                                  pay_form=form))


def _lang() -> str:
    return "cs" if str(get_locale()).startswith("cs") else "en"


@selfcare_bp.post("/pay/<int:invoice_id>")
@customer_required
def pay(invoice_id: int):  # noqa: ANN201
    session, customer = db(), current_customer()
    form = PayForm()
    if not form.validate_on_submit():
        abort(400)
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.customer_id != customer.id:
        abort(404)
    back = url_for("billing_selfcare.invoice_detail", invoice_id=invoice.id)
    try:
        payment = service.start(session, customer=customer, invoice_id=invoice.id, reference=form.reference.data)
    except service.OnlinePaymentError as exc:
        session.rollback()
        flash(str(exc), "warning")
        return redirect(back)
    # stored before the gateway hears of it: whatever happens next, the reference is known
    session.commit()
    found = service.active_settings(session)
    if payment.state == gm.NEW:
        try:
            if found is None:
                raise GatewayError("the gateway was switched off")
            driver = service.driver_for(found, _plugin_settings())
        except (GatewayError, SecretsError):
            flash(_("Card payments are not available."), "warning")
            return redirect(back)
        service.create_at_gateway(session, payment, driver, email=current().account.email, lang=_lang())
        session.commit()
    if payment.state == gm.PENDING and payment.redirect_url:
        return redirect(url_for(".go", reference=payment.reference))
    if payment.state == gm.FAILED:
        flash(_("The payment gateway is not answering. Please try again later."), "danger")
        return redirect(back)
    return redirect(url_for(".result", reference=payment.reference))


def _own_payment(reference: str) -> gm.OnlinePayment:
    payment = service.by_reference(db(), reference) if service.REFERENCE_RE.match(reference or "") else None
    if payment is None or payment.customer_id != current_customer().id:
        abort(404)
    return payment


@selfcare_bp.get("/payments/<reference>/go")
@customer_required
def go(reference: str):  # noqa: ANN201
    """The hand-over to the gateway's page: a same-origin page that moves on by itself.

    The portal's CSP allows forms to post only to the portal (``form-action 'self'``), and browsers
    apply that to where a form's redirect leads; so the pay form redirects here, and this page sends
    the browser on (a ``Refresh`` header, and a link for the case it does not).
    """
    payment = _own_payment(reference)
    if payment.state != gm.PENDING or not payment.redirect_url:
        return redirect(url_for(".result", reference=payment.reference))
    response = make_response(render_template("billing/gateway/go.html", payment=payment,
                                              invoice=db().get(Invoice, payment.invoice_id)))
    response.headers["Refresh"] = f"0; url={payment.redirect_url}"
    return response


@selfcare_bp.get("/return")
@customer_required
def back():  # noqa: ANN201
    """The gateway's return URL (``?id=${id}&refId=${refId}``): settle with the gateway, then show the result."""
    session = db()
    payment = _own_payment(request.args.get("refId", ""))
    trans_id = request.args.get("id")
    if trans_id and payment.trans_id and trans_id != payment.trans_id:
        abort(404)
    found = service.active_settings(session)
    if payment.state == gm.PENDING and found is not None:
        try:
            service.settle(session, payment, service.driver_for(found, _plugin_settings()))
        except SecretsError as exc:
            # the page says "waiting"; the job settles it once the keys are right
            log.error("online payment %s: %s", payment.reference, exc)
        session.commit()
    return redirect(url_for(".result", reference=payment.reference))


@selfcare_bp.get("/payments/<reference>")
@customer_required
def result(reference: str):  # noqa: ANN201
    payment = _own_payment(reference)
    invoice = db().get(Invoice, payment.invoice_id)
    return render_template("billing/gateway/result.html", payment=payment, invoice=invoice)


# --- the gateway's notification -------------------------------------------------------------------------


def _answer(status: int, code: str, message: str) -> Response:
    return Response(f"code={code}&message={message.replace(' ', '+')}", status=status,
                    content_type="application/x-www-form-urlencoded; charset=UTF-8")


@hook_bp.post("/notify/<code>")
@public
def notify(code: str):  # noqa: ANN201
    session = db()
    location_id = session.scalar(select(Location.id).where(Location.code == code))
    if location_id is None or (request.content_length or 0) > MAX_NOTIFICATION:
        return _answer(401, "1401", "unauthorized")  # no hint whether the location exists
    with location_scope(location_id):
        found = service.active_settings(session)
        if found is None or not current_mango().is_active("billing", location_id) or \
                not service.secret_matches(found, request.form.get("merchant"), request.form.get("secret")):
            session.rollback()
            return _answer(401, "1401", "unauthorized")
        payment = service.by_trans_id(session, (request.form.get("transId") or "")[:64])
        if payment is None:
            session.rollback()
            return _answer(404, "1400", "unknown transaction")
        payment.notifications += 1
        service.settle(session, payment, service.driver_for(found, _plugin_settings()))
        session.commit()
        if payment.state == gm.PENDING and payment.error and payment.error.startswith("status:"):
            return _answer(503, "1500", "status not available, send again")
    return _answer(200, "0", "OK")


# --- Opcare ---------------------------------------------------------------------------------------------


class SettingsForm(FlaskForm):
    merchant = StringField(_l("Merchant id"), validators=[DataRequired(), Length(max=60)])
    secret = PasswordField(_l("Secret (password of the shop connection)"), validators=[Optional(), Length(max=200)])
    test_mode = BooleanField(_l("Test mode"), default=True)
    api_url = StringField(_l("API address"), validators=[Optional(), Length(max=200)])
    method = StringField(_l("Payment method"), default="ALL", validators=[Optional(), Length(max=60)])
    is_active = BooleanField(_l("Card payments in Selfcare"), default=True)


@bp.get("/")
@permission_required(VIEW)
def index():  # noqa: ANN201
    session = db()
    state = request.args.get("state") if request.args.get("state") in gm.STATES else None
    rows = service.payments(session, state=state)
    names = {c.id: c.display_name for c in session.scalars(
        select(Customer).where(Customer.id.in_({p.customer_id for p in rows})))} if rows else {}
    numbers = {i.id: i.number for i in session.scalars(
        select(Invoice).where(Invoice.id.in_({p.invoice_id for p in rows})))} if rows else {}
    return render_template("billing/gateway/payments.html", rows=rows, names=names, numbers=numbers, state=state,
                           states=gm.STATES, can_manage=has_permission(MANAGE),
                           can_configure=has_permission(SETTINGS), form=FlaskForm(formdata=None),
                           configured=service.settings_of(session) is not None)


@bp.post("/<int:payment_id>/check")
@permission_required(MANAGE)
def check(payment_id: int):  # noqa: ANN201
    session = db()
    payment = session.get(gm.OnlinePayment, payment_id)
    if payment is None or payment.location_id != current_location_id():
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    found = service.settings_of(session)
    if found is None:
        flash(_("No payment gateway is set up."), "warning")
        return redirect(url_for(".index"))
    try:
        service.settle(session, payment, service.driver_for(found, _plugin_settings()))
    except SecretsError as exc:
        flash(str(exc), "danger")
        return redirect(url_for(".index"))
    session.commit()
    flash(_("The gateway was asked; the payment is now: %(state)s.", state=state_label(payment.state)), "info")
    return redirect(url_for(".index"))


def state_label(state: str) -> str:
    return str({gm.NEW: _l("being started"), gm.PENDING: _l("waiting for the gateway"), gm.PAID: _l("paid"),
                gm.CANCELLED: _l("not paid"), gm.FAILED: _l("not started"),
                gm.MISMATCH: _l("amount differs")}.get(state, state))


bp.add_app_template_global(state_label, "billing_gateway_state")


@bp.route("/settings", methods=["GET", "POST"])
@permission_required(SETTINGS)
def settings():  # noqa: ANN201
    session = db()
    found = service.settings_of(session)
    form = SettingsForm(obj=found) if request.method == "GET" and found is not None else SettingsForm()
    if form.validate_on_submit():
        saved = save(form, lambda: service.save_settings(
            session, merchant=form.merchant.data, secret=form.secret.data, test_mode=form.test_mode.data,
            api_url=form.api_url.data, method=form.method.data, is_active=form.is_active.data,
            actor=current_user.id), _("Gateway settings saved."))
        if saved is not None:
            return redirect(url_for(".settings"))
    code = session.get(Location, current_location_id()).code
    return_url = url_for("billing_selfcare.gateway.back", _external=True) + "?id=${id}&refId=${refId}"
    return render_template("billing/gateway/settings.html", form=form, found=found,
                           notify_url=url_for("billing_gateway_hook.notify", code=code, _external=True),
                           return_url=return_url)
