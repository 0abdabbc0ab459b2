"""The core's history module: its table, its tab on the customer card and the CSV export."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.plugins import hookimpl


@hookimpl
def mango_models() -> list[type]:
    from mango_core.history.models import HistoryEntry

    return [HistoryEntry]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.history.views import bp

    return [bp]


@hookimpl
def mango_customer_card(customer):  # noqa: ANN001, ANN201
    from mango_core.customers.card import CardPart
    from mango_core.history.views import render_tab

    return [CardPart("history", _l("History"), render_tab, order=900, permission="core.customers.view",
                     icon="clock-history")]
