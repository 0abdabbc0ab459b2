"""Declaring REST API resources: what a plugin returns from ``mango_api_resources``.

A resource names its model, its fields (:class:`~mango_core.api.fields.Field`), the permissions
to read and to change it, and the callables that do the work — always through the domain's
service functions, never by writing tables. The core does the rest the same way for every
resource: token authentication, the location scope, 404 for objects of other locations,
pagination, filters, sorting, problem+json errors, ``Idempotency-Key`` and the OpenAPI document.

URLs (``name`` is the resource's name)::

    GET    /api/v1/<name>                       list (limit, offset, sort, filters)
    POST   /api/v1/<name>                       create           -> 201 + Location
    GET    /api/v1/<name>/<id>                  one object
    PATCH  /api/v1/<name>/<id>                  update (the fields given)
    DELETE /api/v1/<name>/<id>                  delete           -> 204
    POST   /api/v1/<name>/<id>/actions/<action> an operation     -> 200 + the object
    GET    /api/v1/<name>/<id>/<download>       a file (a PDF…)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from mango_core.api.fields import CREATE, WRITE, Field
from mango_core.db.base import PartnerMixin, TenantMixin
from mango_core.plugins import CORE, PluginError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mango_core.api.models import ApiToken
    from mango_core.auth.models import User
    from mango_core.kernel import Mango

NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass
class ApiCall:
    """What a resource's callables get: the session in the request's scope, who asks, and where.

    ``location_id`` is the location written to (None for reads); the tenant guard limits the
    session to it, so a service function sees nothing of other locations.
    """

    session: Session
    user: User
    token: ApiToken
    location_id: int | None = None
    idempotency_key: str | None = None

    @property
    def actor(self) -> int:
        return self.user.id


@dataclass(frozen=True)
class Action:
    """``POST /<name>/<id>/actions/<action>``: an operation on one object (a lifecycle step…).

    ``run(call, obj, data)`` gets the checked input (``fields``) and returns the object to show
    (None: ``obj`` again, re-read). Needs ``permission`` (default: the resource's write permission).
    """

    name: str
    run: Callable[[ApiCall, Any, dict[str, Any]], Any]
    fields: tuple[Field, ...] = ()
    summary: str = ""
    description: str = ""
    permission: str | None = None


@dataclass(frozen=True)
class Download:
    """``GET /<name>/<id>/<download>``: a file made from the object (``render`` -> bytes, file name).

    A ``ValueError`` from ``render`` (the data needed for the file are incomplete) answers 409.
    """

    name: str
    media_type: str
    render: Callable[[ApiCall, Any], tuple[bytes, str]]
    summary: str = ""
    permission: str | None = None


@dataclass
class ApiResource:
    """One collection of the API, e.g. ``customers``.

    ``create(call, data)`` returns the new object; ``update(call, obj, data)`` gets only the
    fields sent; ``delete(call, obj)`` removes it. Leave one out and its method answers 405.
    ``options`` are loader options of the query (eager loading); the rows shown are always
    every row of ``model`` the scope allows, narrowed only by the request's filters and
    ``search(session, text)`` (``?q=``, a WHERE clause). ``errors`` are exception classes of the
    domain (besides ``InvalidValue``) that mean bad input: answered 422, the error's field
    renamed by ``aliases``.
    """

    name: str
    model: type
    fields: tuple[Field, ...]
    read_permission: str
    write_permission: str | None = None
    title: str = ""
    description: str = ""
    schema_name: str = ""  # the component name in OpenAPI (default: from the model)
    options: tuple[Any, ...] = ()
    search: Callable[[Session, str], Any] | None = None
    create: Callable[[ApiCall, dict[str, Any]], Any] | None = None
    update: Callable[[ApiCall, Any, dict[str, Any]], Any] | None = None
    delete: Callable[[ApiCall, Any], None] | None = None
    actions: tuple[Action, ...] = ()
    downloads: tuple[Download, ...] = ()
    default_sort: str = "id"
    errors: tuple[type[Exception], ...] = ()
    # the domain's names of fields in its errors -> the API's (a service says "customer", the API "customer_id")
    aliases: dict[str, str] = field(default_factory=dict)
    plugin: str = ""  # set when collected

    def __post_init__(self) -> None:
        if not self.schema_name:
            self.schema_name = self.model.__name__

    # --- what the resource is --------------------------------------------------------------

    @property
    def tenant_owned(self) -> bool:
        return issubclass(self.model, TenantMixin)

    @property
    def partner_owned(self) -> bool:
        return issubclass(self.model, PartnerMixin)

    @property
    def output_fields(self) -> list[Field]:
        return [f for f in self.fields if f.output]

    def input_fields(self, mode: str) -> list[Field]:
        """Fields accepted when creating (``create``) or updating (``write``)."""
        if mode == CREATE:
            return [f for f in self.fields if f.input in (CREATE, WRITE)]
        return [f for f in self.fields if f.input == WRITE]

    @property
    def filters(self) -> list[Field]:
        return [f for f in self.fields if f.filter]

    @property
    def sortable(self) -> list[Field]:
        return [f for f in self.fields if f.sort]

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)

    def download(self, name: str) -> Download | None:
        return next((d for d in self.downloads if d.name == name), None)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def column(self, f: Field) -> Any:
        return f.column if f.column is not None else getattr(self.model, f.name)

    def base_query(self) -> Select:
        return select(self.model).options(*self.options)

    def collection_methods(self) -> list[str]:
        return ["GET", *(["POST"] if self.create else [])]

    def item_methods(self) -> list[str]:
        return ["GET", *(["PATCH"] if self.update else []), *(["DELETE"] if self.delete else [])]


@dataclass
class Registry:
    """The resources of every loaded plugin, by name (built once per application)."""

    resources: dict[str, ApiResource] = field(default_factory=dict)

    def get(self, name: str) -> ApiResource | None:
        return self.resources.get(name)

    def __iter__(self):  # noqa: ANN204
        return iter(self.resources.values())


def collect(mango: Mango) -> Registry:
    """Gather ``mango_api_resources``; fail loudly on a bad name, a duplicate or an unknown permission."""
    registry = Registry()
    for plugin, resource in mango.plugins.contributed_list("mango_api_resources"):
        where = f"Plugin {plugin.name!r}: API resource {resource.name!r}"
        if not isinstance(resource, ApiResource):
            raise PluginError(f"Plugin {plugin.name!r}: mango_api_resources must return ApiResource objects.")
        if not NAME_RE.fullmatch(resource.name):
            raise PluginError(f"{where}: a name is lower-case words joined by '-'.")
        if resource.name in registry.resources:
            raise PluginError(f"{where} is declared twice (also by {registry.resources[resource.name].plugin!r}).")
        if not (resource.tenant_owned or resource.partner_owned):
            raise PluginError(f"{where}: the model must be owned by a location or a partner.")
        codes = [resource.read_permission, resource.write_permission,
                 *(a.permission for a in resource.actions), *(d.permission for d in resource.downloads)]
        for code in filter(None, codes):
            if code not in mango.permissions:
                raise PluginError(f"{where} needs undeclared permission {code!r}.")
        if (resource.create or resource.update or resource.delete or resource.actions) and not resource.write_permission:
            raise PluginError(f"{where} changes data but names no write_permission.")
        names = [f.name for f in resource.fields]
        if len(set(names)) != len(names) or "location" in names:
            raise PluginError(f"{where}: field names must be unique ('location' is the core's).")
        for f in resource.fields:
            if (f.filter or f.sort) and f.column is None and not hasattr(resource.model, f.name):
                raise PluginError(f"{where}: field {f.name!r} filters or sorts but has no column.")
        if resource.default_sort.lstrip("-") not in {"id", *(f.name for f in resource.sortable)}:
            raise PluginError(f"{where}: default_sort must be a sortable field.")
        for sub in (*resource.actions, *resource.downloads):
            if not NAME_RE.fullmatch(sub.name):
                raise PluginError(f"{where}: action/download {sub.name!r} is not a valid name.")
        if {a.name for a in resource.actions} & {d.name for d in resource.downloads} | (
                {d.name for d in resource.downloads} & {"actions"}):
            raise PluginError(f"{where}: a download may not be named like an action or 'actions'.")
        resource.plugin = plugin.name
        registry.resources[resource.name] = resource
    return registry


def plugins_of(resource: ApiResource, code: str | None, mango: Mango) -> set[str]:
    """Modules that must be active in a location for a permission of the resource to count there."""
    needed = {resource.plugin}
    if code:
        needed.add(mango.permissions[code].plugin)
    return needed - {CORE}
