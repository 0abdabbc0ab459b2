"""Every hook a Mango plugin may implement.

Hooks are called with keyword arguments only; an implementation may accept fewer arguments
than the spec lists, so specs can grow without breaking plugins. A plugin implements hooks as
module-level functions decorated with :data:`mango_core.plugins.hookimpl`.

Two kinds of hooks:

* **Contributions** (``mango_models``, ``mango_blueprints``, …) are called once at start-up for
  every loaded plugin. What they return is registered process-wide; whether it is *active* for
  a location is decided per request/job from the location's enabled modules.
* **Events** (``mango_auth_event``, and later ``mango_customer_created``, …) are called through
  :meth:`mango_core.plugins.PluginManager.emit`, which leaves out plugins that are not enabled
  for the location the event belongs to.

The README's plugin author's guide documents each hook with an example; a test asserts that
every hook here is documented there and implemented by at least one plugin under test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from datetime import date

    import click
    from flask import Blueprint
    from sqlalchemy.orm import Session

    from mango_core.api.resources import ApiResource
    from mango_core.catalog.kinds import ServiceClassKind
    from mango_core.customers.card import CardPart
    from mango_core.customers.models import Customer
    from mango_core.devices.types import DeviceTypeDef
    from mango_core.documents.kinds import DocumentKind
    from mango_core.kernel import Mango
    from mango_core.permissions import Permission
    from mango_core.scheduler.jobs import Job
    from mango_core.selfcare.menu import SelfcareMenuItem
    from mango_core.services.events import ServiceChangeInfo
    from mango_core.services.models import Service
    from mango_core.tenancy.models import Location
    from mango_core.web.menu import MenuItem

hookspec = pluggy.HookspecMarker("mango")


# --- contributions -------------------------------------------------------------------------


@hookspec
def mango_models() -> list[type]:
    """Return the SQLAlchemy model classes the plugin owns.

    Their tables must be named ``<plugin>_…``; tenant-owned ones inherit
    :class:`mango_core.db.TenantMixin`. The contract tests and the tenant-isolation matrix
    discover models through this hook.
    """


@hookspec
def mango_migrations() -> str:
    """Return the path of the plugin's Alembic ``versions`` directory's parent (``migrations/``).

    Each plugin has its own lineage and version table ``alembic_version_<plugin>``;
    ``mango db upgrade`` applies core first, then plugins in ``requires`` order.
    """


@hookspec
def mango_blueprints() -> list[Blueprint]:
    """Return Flask blueprints. Each must be named ``<plugin>`` or ``<plugin>_<part>``.

    Requests to a blueprint of a module not enabled for the current location answer 404.
    """


@hookspec
def mango_permissions() -> list[Permission]:
    """Return the named permissions the plugin declares (codes ``<plugin>.<what>``).

    Roles are made of these permissions; views check them with ``permission_required``.
    """


@hookspec
def mango_menu_items() -> list[MenuItem]:
    """Return Opcare menu items; each names its endpoint and the permission it needs.

    Items are hidden when the user lacks the permission or the module is not enabled.
    """


@hookspec
def mango_jobs() -> list[Job]:
    """Return scheduled jobs (ids ``<plugin>:<name>``) with their APScheduler trigger.

    The scheduler process (``mango scheduler``) runs each job once per active location that has
    the module enabled, in its own transaction inside that location's scope, and records the run
    (shown on the Opcare page "Scheduled jobs"). ``job.func(ctx)`` gets a
    :class:`mango_core.scheduler.jobs.JobContext` and returns a short result text; an exception
    rolls back the job's work and is recorded. Jobs must be safe to run again. Operators may
    re-time a job in ``[scheduler.triggers]``; ``mango jobs run ID`` runs it by hand.
    """


@hookspec
def mango_settings() -> dict[str, Any]:
    """Return the defaults of the plugin's settings namespace (``[plugin_settings.<plugin>]``)."""


@hookspec
def mango_cli(cli: click.Group) -> None:
    """Add commands to the ``mango`` command line (as a group named after the plugin)."""


@hookspec
def mango_translations() -> str:
    """Return the path of the plugin's ``translations`` folder (gettext catalogues)."""


@hookspec
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
    """Return an HTML fragment for a named slot of a core page, or None.

    Slots so far: ``dashboard`` (the Opcare home page), ``device_card`` (the device card;
    ``context["device"]``), ``product_form`` (the catalogue's product form, under its fields;
    ``context["product"]``, None for a new product), and the customer portal's
    ``selfcare_dashboard`` and ``selfcare_service`` (see :func:`mango_selfcare_menu_items`).
    ``context`` holds the page's objects.
    Only plugins enabled for the current location are asked.
    """


@hookspec
def mango_customer_search(session: Session, query: str) -> list[int] | set[int] | None:
    """Return ids of customers that ``query`` (the Opcare search box) finds by the plugin's keys.

    The core finds by name, number, variable symbol, IČO, e-mail, phone and address; a plugin
    adds its own (the ISP plugin: an IP address). Runs in the location's scope, so a query on
    the plugin's tenant tables sees only this location. Keep it to indexed lookups: it runs on
    every search. Only plugins enabled for the location are asked.
    """


@hookspec
def mango_customer_card(customer: Customer) -> list[CardPart] | None:
    """Return tabs and overview panels for the Opcare customer card (:class:`CardPart`).

    A part names its key, label, order and needed permission, and renders HTML for the
    customer. ``kind="tab"`` adds a tab (services, documents, invoices, tickets…),
    ``kind="panel"`` a card on the overview tab. Only plugins enabled for the customer's
    location are asked; a part whose permission the user lacks is left out.
    """


@hookspec
def mango_device_types() -> list[DeviceTypeDef]:
    """Return device types defined in code (:class:`mango_core.devices.types.DeviceTypeDef`).

    Each has a code ``<plugin>.<name>``, a label and its typed parameters (a versioned
    :class:`mango_core.params.DefinitionSet`: raise the version when the parameters change, and
    existing devices keep their values, reported where they no longer fit). Such types are
    read-only in the UI and offered only in locations where the plugin is enabled; partners
    define further types in the UI.
    """


@hookspec
def mango_service_class_kinds() -> list[ServiceClassKind]:
    """Return kinds of service classes (:class:`mango_core.catalog.kinds.ServiceClassKind`).

    A kind (``internet``, ``voice``, ``tv``, ``print``…) tells which plugin acts on services of a
    class: the partner chooses it when defining the class. The core contributes ``other``. Only
    kinds of plugins enabled in the current location are offered; a key contributed twice keeps
    the first contributor.
    """


@hookspec
def mango_document_kinds() -> list[DocumentKind]:
    """Return kinds of documents (:class:`mango_core.documents.kinds.DocumentKind`).

    A kind has a key, a label, ``context(session, customer)`` returning the template context
    (plain values only: templates run in a sandbox) and a default template (HTML and CSS) that a
    location starts from. The core contributes ``contract``, ``handover`` and ``letter``;
    billing adds invoices and reminders, the call centre work orders. Kinds with
    ``subject="customer"`` are offered on the customer card; others are rendered by their plugin
    through :func:`mango_core.documents.service.generate`/``archive``. Only kinds of plugins
    enabled in the location are offered; a key contributed twice keeps the first contributor.
    """


@hookspec
def mango_demo(session: Session, mango: Mango, locations: list[Location]) -> None:
    """Add the plugin's demo data to ``locations``: the demo locations where the plugin is enabled.

    ``mango demo`` (and ``make demo``) calls it after the core's demo data (partners, locations,
    users, customers, devices, the catalogue and services), plugin by plugin in ``requires``
    order, never in production. The implementation enters each location's scope itself
    (``mango_core.tenancy.location_scope``), goes through its own services and commits its work.
    It must be idempotent: what exists is left alone, so a second ``mango demo`` changes nothing.
    Keep it deterministic (seeded) and quick: a new user waits for it.
    """


# --- events --------------------------------------------------------------------------------


@hookspec
def mango_auth_event(event: str, user_id: int | None, location_id: int | None, detail: str) -> None:
    """An authentication event was recorded (``login_ok``, ``logout``, ``session_ended``, …).

    Called only for plugins enabled in ``location_id`` (operator-level events with no location
    reach no licensed plugin).
    """


@hookspec
def mango_location_module_changed(location_id: int, module: str, enabled: bool) -> None:
    """A module was enabled or disabled for a location (e.g. to seed the module's data)."""


@hookspec
def mango_customer_created(customer: Customer) -> None:
    """A customer was created (called before the transaction commits; raise to refuse it).

    Called only for plugins enabled in the customer's location.
    """


@hookspec
def mango_customer_changed(customer: Customer, changes: dict[str, tuple[Any, Any]]) -> None:
    """Key data of a customer changed: ``changes`` maps a field to ``(before, after)``.

    Fields of contacts and addresses are prefixed (``contact.emails``, ``address.city``); the
    state is ``state``, tags ``tags``, custom fields ``custom.<key>``, anonymisation
    ``anonymised_at``. Called before the transaction commits, only for plugins enabled in the
    customer's location.
    """


@hookspec
def mango_service_changed(service: Service, change: ServiceChangeInfo, effective: date) -> None:
    """A service was created or changed by a lifecycle operation, effective on ``effective``.

    ``change`` (:class:`mango_core.services.events.ServiceChangeInfo`) names the operation
    (``created``, ``activate``, ``terminate``, ``block``, ``unblock``, ``change_product``,
    ``transfer``, ``commitment``, ``price``, ``billing_plan``, ``payment_period``, ``params``,
    ``devices``), the fields changed as ``(before, after)``, the reason and the author. Called
    when the change takes effect (at once, or by the job ``core:apply_service_changes`` for a
    future date), before the transaction commits, only for plugins enabled in the service's
    location; raise to refuse the change.
    """


@hookspec
def mango_invoices_issued(session: Session, location_id: int, invoice_ids: list[int]) -> None:
    """Documents (invoices, credit notes) were issued in ``location_id``, in the issuing transaction.

    A batch event: a billing run issues thousands of invoices at once. The billing plugin
    emits it; prepaid credit settles from it, delivery queues e-mails from it. Raise to
    refuse the issue (the whole batch rolls back).
    """


@hookspec
def mango_payments_matched(session: Session, location_id: int, payment_ids: list[int]) -> None:
    """Payments were matched to customers (and booked in their ledger) in the same transaction.

    Emitted by billing for bank imports, manual pairing, cash desk and card payments alike;
    dunning unblocks paid-up customers from it, prepaid credit tops up from it.
    """


@hookspec
def mango_usage_counters(session: Session, location_id: int, period_start: date,
                         period_end: date) -> list[dict[str, Any]] | None:
    """Usage of services in [period_start, period_end) that billing should rate (data volume, …).

    Each item is a dict: ``service_id``, ``key`` (unique per plugin: the same key reported
    again is stored once), ``quantity`` (a Decimal ≥ 0), ``unit`` (e.g. ``"GB"``), ``description``
    and ``started_at`` (an aware datetime inside the period). Billing prices them with the
    product's unit prices and free units; called before a billing run, for plugins enabled in
    the location.
    """


# --- REST API --------------------------------------------------------------------------------


@hookspec
def mango_api_resources() -> list[ApiResource]:
    """Return the plugin's REST API resources (:class:`mango_core.api.resources.ApiResource`).

    A resource declares its model (tenant- or partner-owned), its fields
    (:class:`mango_core.api.fields.Field`: type, input mode, filters, sorting), its read and write
    permissions and the callables that do the work through the domain's service functions
    (``create``, ``update``, ``delete``, :class:`~mango_core.api.resources.Action` for POST
    operations, :class:`~mango_core.api.resources.Download` for files). The core serves it under
    ``/api/v1/<name>`` with token authentication, the location scope (objects of other
    locations answer 404), pagination, filtering, sorting, problem+json errors and
    ``Idempotency-Key``, and describes it in ``/api/v1/openapi.json``. Names are lower-case words
    joined by ``-``, unique across plugins (a plugin prefixes its own: ``example-notes``; billing
    owns ``invoices`` and ``payments``); start-up fails on a duplicate or an undeclared
    permission. Called once at start-up; a resource answers 404 in locations where its module
    is not enabled.
    """


# --- Selfcare --------------------------------------------------------------------------------


@hookspec
def mango_selfcare_menu_items() -> list[SelfcareMenuItem]:
    """Return entries of the Selfcare (customer portal) navigation (:class:`SelfcareMenuItem`).

    An entry names a view of the plugin's portal blueprint ``<plugin>_selfcare`` (URL prefix
    ``/selfcare/<plugin>``; the templates extend ``selfcare/layout.html``), and that view is
    guarded by :func:`mango_core.selfcare.access.customer_required`: it enters the customer's
    location scope and answers 404 where the plugin is not enabled; the view reads the customer
    with ``current_customer()`` and must name it in every query (another customer's id → 404);
    ``mango_core.selfcare.views.use_portal_error_pages(bp)`` shows the blueprint's errors in the
    portal's look.
    Checked at the first request: an entry pointing elsewhere, or to an unguarded view, fails.
    Fragments for the portal's pages come through :func:`mango_template_slot`: slot
    ``selfcare_dashboard`` (the overview; ``context["customer"]``, ``context["principal"]``) and
    ``selfcare_service`` (a service's page; also ``context["service"]``). Shown only where the
    plugin is enabled in the customer's location.
    """
