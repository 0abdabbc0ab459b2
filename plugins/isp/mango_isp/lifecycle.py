"""What the ISP plugin does when a service changes (``mango_service_changed``).

* ``terminate``: the service's addresses and MAC bindings end at the start of its end date (the
  first day without the service) in the location's time zone; the history keeps them.
* ``transfer``: the old service's addresses end and the new customer's service holds the same
  ones from the transfer on, so "who had X at T" names the right customer on either side.
* ``activate``: an internet service (a class of kind ``internet``) gets one unit from the
  location's auto-assign pool of each family it has no address of. A full pool refuses the
  activation with a message naming the pool.

Runs in the caller's transaction, before it commits.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import object_session

from mango_core.catalog.models import ServiceClass
from mango_core.db import utcnow
from mango_core.services.events import ServiceChangeInfo
from mango_core.services.models import Service
from mango_isp.ipam import assignments

INTERNET = "internet"


def is_internet(session, service: Service) -> bool:  # noqa: ANN001
    cls = session.get(ServiceClass, service.class_id)
    return cls is not None and cls.kind == INTERNET


def on_service_changed(service: Service, change: ServiceChangeInfo, effective: date) -> None:
    session = object_session(service)
    if session is None:  # pragma: no cover - lifecycle operations always work on a session's objects
        return
    if change.kind == "terminate":
        at = assignments.local_midnight(session, service.location_id, effective)
        assignments.close_service(session, service, at, actor=change.user_id, reason=change.reason)
    elif change.kind == "transfer":
        new_id = (change.changes.get("transferred_to") or (None, None))[1]
        new = session.get(Service, new_id) if new_id else None
        if new is not None:
            at = assignments.local_midnight(session, service.location_id, effective)
            assignments.carry_over(session, service, new, at, actor=change.user_id)
    elif change.kind == "activate" and is_internet(session, service):
        assignments.auto_assign(session, service, utcnow(), actor=change.user_id)
