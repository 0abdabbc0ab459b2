"""Tables of the provisioning pipeline: the durable task queue, subscriber numbers per router, and
encrypted device credentials (registered through mango_isp.models).

Only :mod:`mango_isp.queue.tasks`, :mod:`mango_isp.queue.desired` and :mod:`mango_isp.queue.credentials`
write them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mango_core.db import Base, TenantMixin, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
# what made the task (the service change, an IPAM change, an operator's "retry", the reconcile job)
KINDS = ("activate", "block", "unblock", "terminate", "params", "change_product", "transfer", "devices",
         "ipam", "retry", "sync")


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ProvisionTask(TenantMixin, Base):
    """Bring one service's subscriber on one router to what the data says now.

    A task carries no payload: the worker builds the desired state when it runs, so a task that
    waited (device down) applies the newest data, and queued duplicates add nothing (they are
    coalesced: ``requests`` counts the changes folded into one task).
    """

    __tablename__ = "isp_provision_task"
    __table_args__ = (
        # the worker's claim: due queued tasks in order
        Index("ix_isp_provision_task_due", "state", "next_attempt_at", "id"),
        Index("ix_isp_provision_task_router", "location_id", "router_id", "id"),
        Index("ix_isp_provision_task_service", "location_id", "service_id", "id"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint("attempts >= 0", name="attempts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=1)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    claim: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()

    @classmethod
    def __mango_test_factory__(cls, session, **overrides):  # noqa: ANN001, ANN206
        """A queued task of a new service on a new router device (the kind obeys its check constraint)."""
        from mango_core.devices.models import Device
        from mango_core.services.models import Service
        from mango_core.testing.factories import make_row
        from mango_isp.ipam.models import require_scope

        require_scope()  # no scope: the guard's error, before any row is made
        if "router_id" not in overrides:
            overrides["router_id"] = make_row(session, Device).id
        if "service_id" not in overrides:
            overrides["service_id"] = make_row(session, Service).id
        return cls(**{"kind": KINDS[0], "state": QUEUED, **overrides})



class RouterSubscriber(TenantMixin, Base):
    """A service's subscriber number on a router (its tc class minor, 2..0xfffe), kept stable so a
    rebuild of the desired state does not renumber (and so recreate) anyone's classes.

    ``applied`` is the subscriber as last applied (:mod:`mango_isp.queue.snapshots`): the worker
    compares the new state with it, so an address or a block that went away is taken off the router
    without reading and diffing the whole router.
    """

    __tablename__ = "isp_router_subscriber"
    __table_args__ = (
        UniqueConstraint("location_id", "router_id", "number"),
        UniqueConstraint("location_id", "router_id", "service_id"),
        Index("ix_isp_router_subscriber_service", "location_id", "service_id"),
        CheckConstraint("number >= 2 AND number <= 65534", name="number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("core_service.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    applied: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceCredential(TenantMixin, Base):
    """Login of a managed device; ``secret`` is a token of :mod:`mango_isp.queue.secrets`, never plain."""

    __tablename__ = "isp_device_credential"
    __table_args__ = (UniqueConstraint("location_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("core_device.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(100), default="")
    secret: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:  # the token is not the secret, but nothing of it belongs in a log
        return f"<DeviceCredential device={self.device_id} user={self.username!r} secret=***>"


MODELS = [ProvisionTask, RouterSubscriber, DeviceCredential]
