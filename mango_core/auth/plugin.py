"""The core's authentication module, registered through the plugin hooks."""

from __future__ import annotations

import click
from flask_babel import lazy_gettext as _l

from mango_core.auth import models
from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.web.menu import MenuItem


@hookimpl
def mango_models() -> list[type]:
    return [models.User, models.Role, models.RolePermission, models.RoleAssignment,
            models.UserSession, models.LoginAttempt, models.AuthEvent]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.users.view", _l("View staff users and roles")),
        Permission("core.users.manage", _l("Create, edit and disable staff users; assign roles")),
        Permission("core.roles.manage", _l("Define roles and their permissions")),
        Permission("core.audit.view", _l("View the audit log of logins and access")),
    ]


@hookimpl
def mango_blueprints():  # noqa: ANN201
    from mango_core.auth.admin_views import bp as staff_bp
    from mango_core.auth.audit_views import bp as audit_bp
    from mango_core.auth.views import bp

    return [bp, staff_bp, audit_bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [
        MenuItem(_l("Users"), "core_staff.users", "core.users.view", section="admin", order=910, icon="people"),
        MenuItem(_l("Roles"), "core_staff.roles", "core.users.view", section="admin", order=920,
                 icon="shield-lock"),
        MenuItem(_l("Audit log"), "core_audit.events", "core.audit.view", section="admin", order=930,
                 icon="journal-text"),
    ]


@hookimpl
def mango_cli(cli: click.Group) -> None:
    from mango_core.auth.cli import user

    cli.add_command(user)
