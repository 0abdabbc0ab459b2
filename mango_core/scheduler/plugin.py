"""The core's scheduler module, registered through the hooks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mango_core.permissions import Permission
from mango_core.plugins import hookimpl
from mango_core.scheduler import models


@hookimpl
def mango_models() -> list[type]:
    return [models.JobRun]


@hookimpl
def mango_permissions() -> list[Permission]:
    return [
        Permission("core.jobs.view", _l("View scheduled jobs and their runs")),
        Permission("core.jobs.run", _l("Run a scheduled job by hand")),
    ]
