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
)

# What the event hooks heard (read by tests; a real plugin would act on the event instead).
AUTH_EVENTS: list[dict[str, Any]] = []
MODULE_CHANGES: list[dict[str, Any]] = []


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
def mango_template_slot(slot: str, context: dict[str, Any]) -> str | None:
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
def mango_cli(cli: click.Group) -> None:
    from mango_example.commands import example

    cli.add_command(example)
