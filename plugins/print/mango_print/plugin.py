"""The Mango Print plugin's registration with the Mango kernel."""

from __future__ import annotations

from pathlib import Path

from mango_core.plugins import PluginMeta, hookimpl

HERE = Path(__file__).resolve().parent

PLUGIN = PluginMeta(
    title="Mango Print",
    description="Mango Print: web-to-print for print shops.",
    requires=("billing",),
    # each area registers its own hooks beside its code
    parts=(
        "mango_print.shop.hooks",  # print products, price rules, orders, preflight, production
    ),
)


@hookimpl
def mango_models() -> list[type]:
    from mango_print.models import MODELS

    return MODELS


@hookimpl
def mango_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def mango_translations() -> str:
    return str(HERE / "translations")
