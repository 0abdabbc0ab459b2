"""The example plugin's registration: every hook a typical third-party plugin implements.

Event hooks append what they were told to module-level lists, so tests can see who was called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import PluginMeta, hookimpl
from mango_core.scheduler.jobs import Job
from mango_core.web.menu import MenuItem

HERE = Path(__file__).resolve().parent

PLUGIN = PluginMeta(
    title="Example notes",
    description="A third-party example: notes per location.",
    parts=("mango_example.hooks_api", "mango_example.hooks_selfcare"),
)

# What the event hooks heard (read by tests; a real plugin would act on the event instead).
AUTH_EVENTS: list[dict[str, Any]] = []
MODULE_CHANGES: list[dict[str, Any]] = []
CUSTOMER_EVENTS: list[dict[str, Any]] = []
SERVICE_EVENTS: list[dict[str, Any]] = []
MONEY_EVENTS: list[dict[str, Any]] = []


@hookimpl
def mango_models() -> list[type]:
    from mango_example.models import ExampleCategory, ExampleNote

    return [ExampleCategory, ExampleNote]


@hookimpl
def mango_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def mango_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {"notes_per_page": 50}


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("example.notes.view", _l("View notes")),
        Permission("example.notes.manage", _l("Add notes")),
    ]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_example.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [MenuItem(_l("Notes"), "example.notes", "example.notes.view", section="main", order=50, icon="sticky")]


@hookimpl
def mango_jobs() -> list[Job]:
    from mango_example.jobs import COUNT_NOTES

    return [COUNT_NOTES]


@hookimpl
def mango_device_types():  # noqa: ANN201
    """An "Example switch": a code-defined device type, read-only in the UI."""
    from mango_core.devices.types import DeviceTypeDef
    from mango_core.params import DefinitionSet, ParamDef

    params = DefinitionSet((
        ParamDef("ports", "Ports", "integer", required=True, default=24, min=1, max=96),
        ParamDef("uplink_speed", "Uplink speed", "integer", default=10000, unit="Mbit/s"),
        ParamDef("poe", "PoE", "boolean"),
    ), version=1)
    return [DeviceTypeDef("example.switch", "Example switch", params, description="A managed switch.",
                          icon="ethernet")]


@hookimpl
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    if slot == "device_card":
        from markupsafe import Markup

        return Markup('<div class="card card-body" id="example-device-slot">Example: {}</div>').format(
            context["device"].name)
    if slot != "dashboard":
        return None
    from mango_core.web.access import has_permission
    from mango_core.web.request import db
    from mango_example import service

    if not has_permission("example.notes.view"):
        return None
    return render_template("example/dashboard.html", count=service.count_notes(db()))


@hookimpl
def mango_auth_event(event: str, user_id: int | None, location_id: int | None, detail: str) -> None:
    AUTH_EVENTS.append({"event": event, "user_id": user_id, "location_id": location_id, "detail": detail})


@hookimpl
def mango_location_module_changed(location_id: int, module: str, enabled: bool) -> None:
    MODULE_CHANGES.append({"location_id": location_id, "module": module, "enabled": enabled})


@hookimpl
def mango_customer_created(customer) -> None:  # noqa: ANN001
    CUSTOMER_EVENTS.append({"event": "created", "customer_id": customer.id, "location_id": customer.location_id})


@hookimpl
def mango_customer_changed(customer, changes: dict[str, tuple[Any, Any]]) -> None:  # noqa: ANN001
    CUSTOMER_EVENTS.append({"event": "changed", "customer_id": customer.id, "location_id": customer.location_id,
                            "changes": dict(changes)})


@hookimpl
def mango_customer_search(session, query: str) -> list[int]:  # noqa: ANN001
    """Finds a customer by an "EX-<number>" reference (a stand-in for a plugin's own key)."""
    from sqlalchemy import select

    from mango_core.customers.models import Customer

    text = query.strip().upper()
    if not (text.startswith("EX-") and text[3:].isdigit()):
        return []
    return list(session.scalars(select(Customer.id).where(Customer.number == int(text[3:]))))


@hookimpl
def mango_customer_card(customer):  # noqa: ANN001, ANN201
    from mango_core.customers.card import PANEL, CardPart

    def panel(c) -> str:  # noqa: ANN001
        return render_template("example/customer_panel.html", customer=c)

    def tab(c) -> str:  # noqa: ANN001
        return render_template("example/customer_tab.html", customer=c)

    return [CardPart("example_panel", _l("Example panel"), panel, kind=PANEL, permission="example.notes.view"),
            CardPart("example_notes", _l("Notes"), tab, order=500, permission="example.notes.view", icon="sticky")]


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_example.commands import example

    cli.add_command(example)


@hookimpl
def mango_service_class_kinds():  # noqa: ANN201
    from mango_core.catalog.kinds import ServiceClassKind

    # a plain string: a third-party label need not be translated to be offered
    return [ServiceClassKind("example", "Example", icon="sticky")]


@hookimpl
def mango_service_changed(service, change, effective) -> None:  # noqa: ANN001
    SERVICE_EVENTS.append({"service_id": service.id, "location_id": service.location_id, "kind": change.kind,
                           "changes": dict(change.changes), "user_id": change.user_id, "effective": effective})


@hookimpl
def mango_document_kinds():  # noqa: ANN201
    from mango_core.documents.kinds import DocumentKind

    def context(session, customer):  # noqa: ANN001, ANN202
        return {"customer": {"name": customer.display_name, "number": customer.number}}

    # a plain string label, like the service class kind above
    return [DocumentKind("example", "Example confirmation", context,
                         "<h1>Example</h1><p>{{ customer.name }} ({{ customer.number }})</p>")]


@hookimpl
def mango_invoices_issued(session, location_id: int, invoice_ids: list[int]) -> None:  # noqa: ANN001
    MONEY_EVENTS.append({"event": "invoices_issued", "location_id": location_id, "ids": list(invoice_ids)})


@hookimpl
def mango_payments_matched(session, location_id: int, payment_ids: list[int]) -> None:  # noqa: ANN001
    MONEY_EVENTS.append({"event": "payments_matched", "location_id": location_id, "ids": list(payment_ids)})


# What mango_usage_counters reports: tests put {"service_id": …, "key": …, …} here.
USAGE_COUNTERS: list[dict[str, Any]] = []


@hookimpl
def mango_usage_counters(session, location_id: int, period_start, period_end):  # noqa: ANN001, ANN201
    return [c for c in USAGE_COUNTERS if period_start <= c["started_at"].date() < period_end]


DEMO_NOTE = "Vítejte v ukázkové lokaci: tuto poznámku přidal ukázkový modul."


@hookimpl
def mango_demo(session, mango, locations) -> None:  # noqa: ANN001
    """One welcome note per demo location, added once (a second `mango demo` finds it and adds nothing)."""
    from sqlalchemy import select

    from mango_core.tenancy import location_scope
    from mango_example.models import ExampleNote

    for location in locations:
        with location_scope(location.id):
            if session.scalar(select(ExampleNote.id).where(ExampleNote.text == DEMO_NOTE).limit(1)) is None:
                session.add(ExampleNote(text=DEMO_NOTE, author_id=None))
                session.commit()
