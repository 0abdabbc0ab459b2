"""The core's mail module, registered through the hooks like any plugin."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler.jobs import Job
from mango_core.web.menu import MenuItem


@hookimpl
def mango_models() -> list[type]:
    from mango_core.mail import models

    return [models.MailMessage, models.MailAttachment]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.mail.view", _l("View the e-mail outbox")),
        Permission("core.mail.retry", _l("Send failed e-mail again")),
    ]


@hookimpl
def mango_jobs() -> list[Job]:
    from mango_core.mail.jobs import SEND_MAIL

    return [SEND_MAIL]


@hookimpl
def mango_blueprints() -> list[Blueprint]:
    from mango_core.mail.views import bp

    return [bp]


@hookimpl
def mango_menu_items() -> list[MenuItem]:
    return [MenuItem(_l("E-mail outbox"), "core_mail.outbox", "core.mail.view", section="admin", order=82,
                     icon="envelope")]
