"""The durable provisioning queue: enqueue (coalescing), claim, record the outcome, retry with backoff.

A task says "make service S on router R what the data says"; it holds no payload, so whatever waited
applies the newest data. Enqueueing runs in the caller's transaction (the service change or IPAM
change commits with its task, or neither). A queued task of the same service and router absorbs a
new request (``requests`` + 1, due now); a running one does not, since it may have read the data
before the change.

Claiming is safe with several workers: candidates are read ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, and each is taken by a conditional ``UPDATE … WHERE state = 'queued'`` that only one
claimer can win (SQLite has one writer anyway). A worker that died leaves ``running`` tasks; after
``lease`` they are queued again. Transient errors retry after ``base · 2^(attempts-1)`` (capped);
after ``max_attempts`` the task fails and waits for "retry now" (the reconcile job still repairs
the router meanwhile). A router that cannot be reached keeps its tasks, whatever their number.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.services.models import Service
from mango_core.tenancy.validators import N_, InvalidValue
from mango_isp.queue.models import DONE, FAILED, KINDS, QUEUED, RUNNING, ProvisionTask, RouterSubscriber

MAX_ERROR = 2000


class TaskError(InvalidValue):
    default_message = N_("The provisioning task cannot be changed.")


class NotFound(TaskError):
    default_message = N_("Provisioning task not found.")


@dataclass(frozen=True)
class Policy:
    """Retry policy (``[plugin_settings.isp]`` ``provision_*``)."""

    base_seconds: int = 30
    max_seconds: int = 3600
    max_attempts: int = 12
    lease_seconds: int = 900
    batch: int = 500

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Policy:
        return cls(base_seconds=int(settings.get("provision_backoff_seconds", cls.base_seconds)),
                   max_seconds=int(settings.get("provision_backoff_max_seconds", cls.max_seconds)),
                   max_attempts=int(settings.get("provision_max_attempts", cls.max_attempts)),
                   lease_seconds=int(settings.get("provision_lease_seconds", cls.lease_seconds)),
                   batch=int(settings.get("provision_batch", cls.batch)))

    def delay(self, attempts: int) -> timedelta:
        """The wait before the next attempt after ``attempts`` failed ones."""
        exponent = max(0, attempts - 1)
        seconds = self.max_seconds if exponent >= 30 else min(self.max_seconds, self.base_seconds * 2 ** exponent)
        return timedelta(seconds=seconds)


def enqueue(session: Session, service_id: int, router_id: int, kind: str, *, actor: int | None = None,
            now: datetime | None = None) -> ProvisionTask:
    """A queued task for the service on the router: a pending one absorbs the request."""
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}")
    now = now or utcnow()
    pending = session.scalar(select(ProvisionTask).where(
        ProvisionTask.service_id == service_id, ProvisionTask.router_id == router_id,
        ProvisionTask.state == QUEUED).order_by(ProvisionTask.id).limit(1))
    if pending is not None:
        pending.kind = kind
        pending.requests += 1
        pending.next_attempt_at = min(pending.next_attempt_at, now)
        session.flush()
        return pending
    task = ProvisionTask(service_id=service_id, router_id=router_id, kind=kind, state=QUEUED, attempts=0,
                         requests=1, next_attempt_at=now, created_by_id=actor, created_at=now)
    session.add(task)
    session.flush()
    return task


def routers_to_tell(session: Session, service: Service) -> set[int]:
    """Devices that serve the service now — the Linux router and the NETCONF device above it — and
    those that still carry it (moved away, terminated)."""
    from mango_isp.queue.netconf_devices import device_of
    from mango_isp.queue.routers import router_of

    found = set(session.scalars(select(RouterSubscriber.router_id).where(RouterSubscriber.service_id == service.id)))
    for current in (router_of(session, service), device_of(session, service)):
        if current is not None:
            found.add(current)
    return found


def enqueue_service(session: Session, service: Service, kind: str, *, actor: int | None = None) -> list[ProvisionTask]:
    """Tasks for every device concerned with the service (none if no device is)."""
    return [enqueue(session, service.id, router_id, kind, actor=actor)
            for router_id in sorted(routers_to_tell(session, service))]


def recover_stale(session: Session, policy: Policy, now: datetime | None = None) -> int:
    """Queue again the tasks whose worker vanished (running longer than the lease)."""
    now = now or utcnow()
    result = session.execute(update(ProvisionTask)
                             .where(ProvisionTask.state == RUNNING,
                                    ProvisionTask.claimed_at < now - timedelta(seconds=policy.lease_seconds))
                             .values(state=QUEUED, claim=None, next_attempt_at=now,
                                     last_error="the worker stopped before finishing; queued again")
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def claim(session: Session, limit: int = 500, now: datetime | None = None,
          router_ids: Iterable[int] | None = None) -> list[ProvisionTask]:
    """Take up to ``limit`` due queued tasks as ``running`` under a fresh claim token.

    The caller commits: from then on no other worker takes them. Returns the claimed tasks.
    """
    now = now or utcnow()
    token = uuid.uuid4().hex
    query = (select(ProvisionTask.id).where(ProvisionTask.state == QUEUED, ProvisionTask.next_attempt_at <= now)
             .order_by(ProvisionTask.next_attempt_at, ProvisionTask.id).limit(limit))
    if router_ids is not None:
        query = query.where(ProvisionTask.router_id.in_(list(router_ids)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for task_id in list(session.scalars(query)):
        won = session.execute(update(ProvisionTask).where(ProvisionTask.id == task_id, ProvisionTask.state == QUEUED)
                              .values(state=RUNNING, claim=token, claimed_at=now,
                                      attempts=ProvisionTask.attempts + 1)
                              .execution_options(synchronize_session=False))
        if won.rowcount == 1:
            claimed.append(task_id)
    if not claimed:
        return []
    tasks = list(session.scalars(select(ProvisionTask).where(ProvisionTask.id.in_(claimed))
                                 .order_by(ProvisionTask.id).execution_options(populate_existing=True)))
    return tasks


def succeed(task: ProvisionTask, result: str = "", now: datetime | None = None) -> None:
    task.state = DONE
    task.result = result[:300]
    task.last_error = None
    task.claim = None
    task.finished_at = now or utcnow()


def fail(task: ProvisionTask, error: str, policy: Policy, *, permanent: bool = False,
         now: datetime | None = None) -> None:
    """Record a failed attempt: back to the queue after the backoff, or ``failed`` for good."""
    now = now or utcnow()
    task.last_error = error[:MAX_ERROR]
    task.claim = None
    if permanent or task.attempts >= policy.max_attempts:
        task.state = FAILED
        task.finished_at = now
    else:
        task.state = QUEUED
        task.next_attempt_at = now + policy.delay(task.attempts)


def postpone(task: ProvisionTask, error: str, policy: Policy, now: datetime | None = None) -> None:
    """The router could not be reached: wait with backoff but never give the task up."""
    now = now or utcnow()
    task.last_error = error[:MAX_ERROR]
    task.claim = None
    task.state = QUEUED
    task.next_attempt_at = now + policy.delay(task.attempts)


def get_task(session: Session, task_id: Any) -> ProvisionTask:
    try:
        wanted = int(task_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    task = session.scalar(select(ProvisionTask).where(ProvisionTask.id == wanted))
    if task is None:
        raise NotFound()
    return task


def retry_now(session: Session, task: ProvisionTask, *, actor: int | None = None) -> ProvisionTask:
    """An operator's "retry now": a failed or waiting task is due at once with fresh attempts."""
    if task.state not in (QUEUED, FAILED):
        raise TaskError(N_("Only a waiting or failed task can be retried."))
    task.state = QUEUED
    task.attempts = 0
    task.next_attempt_at = utcnow()
    task.finished_at = None
    task.created_by_id = task.created_by_id or actor
    session.flush()
    return task


def tasks_of_router(session: Session, router_id: int, limit: int = 200) -> list[ProvisionTask]:
    return list(session.scalars(select(ProvisionTask).where(ProvisionTask.router_id == router_id)
                                .order_by(ProvisionTask.id.desc()).limit(limit)))


def tasks_of_service(session: Session, service_id: int, limit: int = 50) -> list[ProvisionTask]:
    return list(session.scalars(select(ProvisionTask).where(ProvisionTask.service_id == service_id)
                                .order_by(ProvisionTask.id.desc()).limit(limit)))
