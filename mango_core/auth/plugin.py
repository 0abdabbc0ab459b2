"""The core's authentication module, registered through the plugin hooks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.auth import models
from mango_core.permissions import Permission
from mango_core.plugins import hookimpl


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
    from mango_core.auth.views import bp

    return [bp]
