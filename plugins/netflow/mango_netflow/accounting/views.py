"""Traffic of services in Opcare (a tab of the customer card) and in Selfcare (a page of the portal
and a panel on a service's page): daily bars of the last 30 days, hourly bars of the last 48 hours,
and the totals of this month — all read from the accounted hours, never from raw flows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mango_core.customers.card import TAB, CardPart
from mango_core.db import utcnow
from mango_core.selfcare.access import current_customer, customer_required
from mango_core.selfcare.views import use_portal_error_pages
from mango_core.services import service as services
from mango_core.tenancy import clock
from mango_core.web.request import db
from mango_netflow.accounting import service as accounting
from mango_netflow.accounting.chart import human, traffic_chart

if TYPE_CHECKING:
    from mango_core.customers.models import Customer
    from mango_core.services.models import Service

VIEW = "netflow.traffic.view"
DAYS, HOURS = 30, 48

selfcare_bp = Blueprint("netflow_selfcare", __name__, url_prefix="/selfcare/netflow", template_folder="../templates")
use_portal_error_pages(selfcare_bp)


def traffic_of(service: Service, *, today: date | None = None, hours: bool = True) -> dict[str, Any]:
    """The charts and this month's totals of one service (in its location's time zone)."""
    session = db()
    zone = clock.zone_of(session, service.location_id)
    now = utcnow()
    today = today or now.astimezone(zone).date()
    labels = (_("download"), _("upload"))
    days = accounting.daily(session, service.id, today - timedelta(days=DAYS - 1), today, zone)
    month = accounting.daily(session, service.id, today.replace(day=1), today, zone)
    data: dict[str, Any] = {
        "service": service,
        "daily": traffic_chart(days, title=_("Traffic per day of service #%(id)d", id=service.id),
                               label_format="%d.%m.", labels=labels, chart_id=f"traffic-daily-{service.id}"),
        "month_in": human(sum(v.bytes_in for v in month)), "month_out": human(sum(v.bytes_out for v in month)),
        "has_traffic": any(v.total for v in days),
    }
    if hours:
        end = accounting.floor_hour(now) + accounting.HOUR
        rows = {v.start: v for v in accounting.hourly(session, service.id, end - timedelta(hours=HOURS), end)}
        filled = [rows.get(end - timedelta(hours=HOURS - i),
                           accounting.Volume(end - timedelta(hours=HOURS - i), 0, 0)) for i in range(HOURS)]
        data["hourly"] = traffic_chart([accounting.Volume(v.start.astimezone(zone), v.bytes_in, v.bytes_out)
                                        for v in filled], title=_("Traffic per hour of service #%(id)d", id=service.id),
                                       label_format="%d.%m. %H:%M", labels=labels,
                                       chart_id=f"traffic-hourly-{service.id}")
    return data


def render_card(customer: Customer) -> str:
    rows = [traffic_of(s) for s in services.services_of_customer(db(), customer.id)]
    return render_template("netflow/accounting/card.html", customer=customer, rows=rows)


def card_parts() -> list[CardPart]:
    return [CardPart("netflow_traffic", _l("Traffic"), render_card, kind=TAB, order=35, permission=VIEW,
                     icon="bar-chart")]


@selfcare_bp.get("/traffic")
@customer_required
def traffic():  # noqa: ANN201
    customer = current_customer()
    rows = [traffic_of(s, hours=False) for s in services.services_of_customer(db(), customer.id)]
    return render_template("netflow/accounting/selfcare.html", rows=rows)


def render_service(service: Service) -> str:
    return render_template("netflow/accounting/selfcare_service.html", row=traffic_of(service, hours=False))
