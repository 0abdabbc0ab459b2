"""The core's REST API module, registered through the hooks like any plugin."""

from __future__ import annotations

import click
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem


@hookimpl
def mango_models() -> list[type]:
    from mango_core.api import models

    return [models.ApiToken, models.ApiIdempotencyKey]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.api.use", _l("Use the REST API with own personal tokens")),
        Permission("core.api.manage", _l("See and revoke other users' API tokens")),
    ]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.api.token_views import bp as tokens_bp
    from mango_core.api.views import bp

    return [bp, tokens_bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [MenuItem(_l("API tokens"), "core_api_tokens.index", "core.api.use", section="admin", order=940,
                     icon="key")]


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_core.api.cli import api

    cli.add_command(api)


@hookimpl
def mango_jobs():  # noqa: ANN201
    from mango_core.api.jobs import PURGE_IDEMPOTENCY_KEYS

    return [PURGE_IDEMPOTENCY_KEYS]


@hookimpl
def mango_api_resources():  # noqa: ANN201
    from mango_core.api import catalog, customers, devices, services

    return [*customers.RESOURCES, *services.RESOURCES, *catalog.RESOURCES, *devices.RESOURCES]
