"""The call centre plugin's registration with the Mango kernel."""

from __future__ import annotations

from pathlib import Path

from mango_core.plugins import PluginMeta, hookimpl

HERE = Path(__file__).resolve().parent

PLUGIN = PluginMeta(
    title="Call centre",
    description="Helpdesk tickets with queues and SLA, service events and outages, calls, customer communication.",
    # each area registers its own hooks beside its code
    parts=(
        "mango_callcenter.helpdesk.hooks",  # tickets: queues, categories, SLA, replies, notes, attachments
        "mango_callcenter.comms.hooks",     # incoming e-mail, templates, SMS, outbound queue, communication log
        "mango_callcenter.events.hooks",    # planned works and outages, affected customers, technician visits
        "mango_callcenter.calls.hooks",     # incoming-call webhook, pop-up, call log, click-to-call
    ),
)


@hookimpl
def mango_models() -> list[type]:
    from mango_callcenter.models import MODELS

    return MODELS


@hookimpl
def mango_migrations() -> str:
    return str(HERE / "migrations")


@hookimpl
def mango_translations() -> str:
    return str(HERE / "translations")
