"""What plugins are told about a service change (``mango_service_changed``), and telling them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context

if TYPE_CHECKING:
    from mango_core.services.models import Service


@dataclass(frozen=True)
class ServiceChangeInfo:
    """One change of a service as plugins see it.

    ``kind`` is the operation (``created``, ``activate``, ``terminate``, ``block``, ``unblock``,
    ``change_product``, ``transfer``, ``commitment``, ``price``, ``billing_plan``,
    ``payment_period``, ``params``, ``devices``); ``changes`` maps a field to ``(before, after)``;
    ``change_id`` is the :class:`~mango_core.services.models.ServiceChange` it came from (None for
    ``created`` and ``devices``); ``user_id`` who asked for it (None: the system).
    """

    kind: str
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    reason: str | None = None
    user_id: int | None = None
    change_id: int | None = None


def emit_changed(service: Service, info: ServiceChangeInfo, effective: date) -> None:
    """Tell the plugins enabled in the service's location (before the caller commits)."""
    if has_app_context() and "mango" in current_app.extensions:
        current_app.extensions["mango"].plugins.emit("mango_service_changed", location_id=service.location_id,
                                                     service=service, change=info, effective=effective)
