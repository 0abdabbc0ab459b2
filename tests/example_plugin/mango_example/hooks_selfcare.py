"""The example plugin's Selfcare entry: the location's notes as news for its customers (read-only).

It shows the whole path a third-party plugin takes to the customer portal: a blueprint named
``example_selfcare`` under ``/selfcare/example``, views guarded by ``customer_required``, an
entry in the portal's navigation and a fragment on the portal's overview.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl
from mango_core.selfcare.access import current_customer, customer_required
from mango_core.selfcare.menu import SelfcareMenuItem
from mango_core.selfcare.views import use_portal_error_pages
from mango_core.web.request import db

bp = Blueprint("example_selfcare", __name__, url_prefix="/selfcare/example", template_folder="templates")
use_portal_error_pages(bp)
NEWS_LIMIT = 20


@bp.get("/")
@customer_required
def news():  # noqa: ANN201
    from mango_example import service

    # notes are the location's (the guard's scope decides which); nothing here is per customer
    return render_template("example/selfcare_news.html", notes=service.latest_notes(db(), NEWS_LIMIT),
                           customer=current_customer())


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    return [bp]


@hookimpl
def mango_selfcare_menu_items() -> list[SelfcareMenuItem]:
    return [SelfcareMenuItem(_l("News"), "example_selfcare.news", order=70, icon="megaphone")]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    if slot != "selfcare_dashboard":
        return None
    from markupsafe import Markup

    return Markup('<div class="col-12" id="example-selfcare-slot"><span class="small text-muted">'
                  'Example: {}</span></div>').format(context["customer"].number)
