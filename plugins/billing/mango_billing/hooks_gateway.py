"""Hooks of online card payments through a payment gateway (listed in `PLUGIN.parts`).

Tables ``billing_gateway_settings`` and ``billing_online_payment``, the Selfcare pay button and
return, the gateway's notification, the Opcare list and settings, the job ``billing:gateway_settle``.
Settings ``[plugin_settings.billing]``: ``secret_keys`` (Fernet keys of the gateway secrets, see
:mod:`mango_core.secrets`) and ``gateway_timeout`` (seconds to wait for the gateway, default 15).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

# imported with the plugin, before any app registers blueprints: the views put the gateway's portal
# pages under billing's portal blueprint (``billing_selfcare.gateway``), which must happen first
from mango_billing.payments import gateway_views
from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem

if TYPE_CHECKING:
    from flask import Blueprint

    from mango_core.scheduler.jobs import Job


@hookimpl
def mango_models() -> list[type]:
    from mango_billing.payments.gateway_models import MODELS

    return MODELS


@hookimpl
def mango_settings() -> dict[str, Any]:
    return {"secret_keys": [], "gateway_timeout": 15}


@hookimpl
def mango_permissions() -> list[Permission]:
    return [Permission("billing.gateway.manage", _l("Configure the payment gateway"))]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    return [gateway_views.bp, gateway_views.hook_bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [MenuItem(_l("Online card payments"), "billing_gateway.index", "billing.payments.view", section="billing",
                     order=33, icon="credit-card")]


@hookimpl
def mango_jobs() -> list[Job]:
    from mango_billing.payments.gateway_jobs import GATEWAY_SETTLE

    return [GATEWAY_SETTLE]
