"""The "Network" tab of the Opcare customer card: per service its addresses (now and before), MAC
bindings, the devices it depends on, the installed end devices, and the forms to change them.

Read in the request's location scope (the card answers 404 for another location's customer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import render_template
from flask_babel import lazy_gettext as _l

from mango_core.customers.card import TAB, CardPart
from mango_core.services import service as services
from mango_core.services.forms import state_labels
from mango_core.web.access import has_permission
from mango_core.web.request import db
from mango_isp.ipam import assignments, forms
from mango_isp.ipam import prefixes as px

if TYPE_CHECKING:
    from mango_core.customers.models import Customer


def render_network(customer: Customer) -> str:
    from mango_isp.stock import service as stock
    from mango_isp.topology import service as topology

    session = db()
    rows = []
    for service in services.services_of_customer(session, customer.id):
        held = assignments.assignments_of(session, service.id)
        assign_form = forms.AssignForm(formdata=None)
        mac_form = forms.MacForm(formdata=None)
        open_rows = [a for a in held if a.valid_to is None]
        mac_form.assignment_id.choices = [("", "—")] + [(str(a.id), a.text) for a in open_rows]
        rows.append({"service": service, "assignments": held, "bindings": assignments.bindings_of(session, service.id),
                     "dependencies": topology.dependencies_of(session, service.id),
                     "path": topology.path_of_service(session, service),
                     "assign_form": assign_form, "mac_form": mac_form})
    pools = [p for p in px.list_prefixes(session) if p.is_pool]
    pool_choices = [("", "—")] + [(str(p.id), f"{p.cidr} {p.description}".strip()) for p in pools]
    for row in rows:
        row["assign_form"].pool_id.choices = pool_choices
    can_stock = has_permission("isp.stock.view")
    return render_template("isp/card_network.html", customer=customer, rows=rows,
                           items=stock.items_of_customer(session, customer.id) if can_stock else [],
                           can_stock=can_stock, can_manage=has_permission("isp.ipam.manage"),
                           can_topology=has_permission("isp.topology.view"),
                           release_form=forms.ReleaseForm(), confirm=forms.ConfirmForm(),
                           origins=forms.origin_labels(), states=state_labels())


def card_parts() -> list[CardPart]:
    return [CardPart("isp_network", _l("Network"), render_network, kind=TAB, order=30,
                     permission="isp.ipam.view", icon="diagram-3")]
