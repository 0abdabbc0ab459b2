"""The iXpos plugin's registration with the Mango kernel."""

from __future__ import annotations

from pathlib import Path

from mango_core.plugins import PluginMeta, hookimpl

HERE = Path(__file__).resolve().parent

PLUGIN = PluginMeta(
    title="iXpos",
    description="Mango iXpos: cash desk and card payment terminal.",
    requires=("billing",),
    # each area registers its own hooks beside its code
    parts=(
        "mango_ixpos.cashdesk.hooks",  # cash sessions, payments, receipts, closing reports
    ),
)


@hookimpl
def mango_models() -> list[type]:
    from mango_ixpos.models import MODELS

    return MODELS


@hookimpl
def mango_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def mango_translations() -> str:
    return str(HERE / "translations")
