"""The jobs of the pipeline: ``isp:provision`` works the queue, ``isp:reconcile`` repairs drift.

Linux routers and NETCONF devices share the queue; a NETCONF device's tasks are all covered by one
transactional push of its rendered configuration (:mod:`mango_isp.queue.netconf_devices`; candidate,
validate, confirmed commit, discard on failure), whose outcome is every task's. Its reconcile
compares get-config with the rendered configuration and pushes when they differ.

The worker claims due tasks and commits the claim, then per router builds the desired state once,
opens a driver session (one read of the router) and puts or removes each task's subscriber, writing
each router's outcomes in a commit of their own: what the device did is never lost by a rollback
of a later router's work. A router that cannot be reached gets its tasks back with a backoff.

The session starts from what Mango believes the router holds: the desired state, with the tasks'
own subscribers as last applied (``RouterSubscriber.applied``). ``put`` then takes off what went
away (a released address, a lifted block) and ``remove`` finds everything of a subscriber. A removal
without a snapshot falls back to one reconcile of the router (the session's read is reused, so it
costs a diff, not another read).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_isp.backup import netconf
from mango_isp.backup import service as backup
from mango_isp.provisioning import InvalidDesiredState, ProvisioningError, RouterState, Subscriber
from mango_isp.queue import desired, netconf_devices, snapshots, tasks
from mango_isp.queue.models import FAILED, ProvisionTask, RouterSubscriber
from mango_isp.queue.routers import LINUX_ROUTER

log = logging.getLogger("mango.isp.provisioning")


@dataclass
class WorkerResult:
    done: int = 0
    retried: int = 0
    failed: int = 0
    recovered: int = 0
    routers_down: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"done {self.done}, retry later {self.retried}, failed {self.failed}"
        if self.recovered:
            text += f", recovered {self.recovered}"
        if self.routers_down:
            text += f"; unreachable: {', '.join(self.routers_down)}"
        return text


def _rows(session: Session, router_id: int) -> dict[int, RouterSubscriber]:
    return {r.service_id: r for r in session.scalars(select(RouterSubscriber)
                                                     .where(RouterSubscriber.router_id == router_id))}


def _record_reconciled(session: Session, router_id: int, rb: desired.RouterBuild) -> None:
    """After a full reconcile the router holds exactly the desired state: snapshots follow it."""
    for service_id, row in _rows(session, router_id).items():
        number = rb.numbers.get(service_id)
        if number is not None:
            row.applied = snapshots.dump(rb.state.subscriber(number))
        elif service_id in rb.errors:
            row.applied = None  # kept for its number, but nothing of it is on the router now
        else:
            session.delete(row)
    session.flush()


def _snapshot(row: RouterSubscriber | None) -> Subscriber | None:
    if row is None or not row.applied:
        return None
    try:
        return snapshots.load(row.applied)
    except (InvalidDesiredState, KeyError, TypeError, ValueError):
        return None


def _believed_state(rb: desired.RouterBuild, rows: dict[int, RouterSubscriber],
                    task_services: set[int]) -> tuple[RouterState, bool]:
    """What the router holds as far as Mango knows: the desired state, except the tasks' own
    subscribers as last applied (absent if never). The flag says a removal lacks its snapshot and
    needs a full reconcile instead."""
    by_number = {n: sid for sid, n in rb.numbers.items()}
    subs, blind = [], False
    for sub in rb.state.subscribers:
        if by_number[sub.id] not in task_services:
            subs.append(sub)
        elif (old := _snapshot(rows.get(by_number[sub.id]))) is not None:
            subs.append(old)
    for service_id in task_services:
        if service_id not in rb.numbers and service_id not in rb.errors and service_id in rows:
            old = _snapshot(rows[service_id])
            if old is None:
                blind = True
            else:
                subs.append(old)
    try:
        return RouterState(rb.state.interfaces, tuple(subs), rb.state.block_policy), blind
    except InvalidDesiredState:  # a snapshot no longer fits the router (an interface was dropped)
        return rb.state, True


def run_queue(session: Session, policy: tasks.Policy | None = None, now: datetime | None = None) -> WorkerResult:
    """Work the due tasks of the session's location (the job ``isp:provision``)."""
    policy = policy or tasks.Policy()
    result = WorkerResult()
    result.recovered = tasks.recover_stale(session, policy, now)
    claimed = tasks.claim(session, policy.batch, now)
    session.commit()
    by_router: dict[int, list[ProvisionTask]] = {}
    for task in claimed:
        by_router.setdefault(task.router_id, []).append(task)
    if not by_router:
        return result
    # Linux routers by type; every other device is (or was) a NETCONF device
    linux = set(session.scalars(select(Device.id).where(Device.id.in_(list(by_router)),
                                                        Device.type_code == LINUX_ROUTER)))
    others = set(by_router) - linux
    build = desired.build(session, now, router_ids=linux) if linux else desired.Build()
    nc_build = netconf_devices.build(session, now, only=others) if others else None
    for router_id, router_tasks in by_router.items():
        if router_id in others:
            _work_netconf(session, nc_build, router_id, router_tasks, policy, result, now)
        else:
            _work_router(session, build, router_id, router_tasks, policy, result, now)
        session.commit()
    return result


def _failed(task: ProvisionTask, error: str, policy: tasks.Policy, result: WorkerResult,
            now: datetime | None) -> None:
    tasks.fail(task, error, policy, now=now)
    if task.state == FAILED:
        result.failed += 1
    else:
        result.retried += 1


def _work_router(session: Session, build: desired.Build, router_id: int, router_tasks: list[ProvisionTask],
                 policy: tasks.Policy, result: WorkerResult, now: datetime | None) -> None:
    rb = build.routers.get(router_id)
    if rb is None:
        why = build.router_errors.get(router_id) or "the device is no longer a Linux router provisioned by Mango"
        for task in router_tasks:
            tasks.fail(task, why, policy, permanent=True, now=now)
            result.failed += 1
        return
    rows = _rows(session, router_id)
    believed, blind = _believed_state(rb, rows, {t.service_id for t in router_tasks})
    driver = rb.config.driver()
    try:
        try:
            router = driver.session(believed)
        except (ProvisioningError, OSError) as exc:  # unreachable (no namespace, no route), or an interface missing
            log.warning("router %s: %s", rb.config.name, exc)
            result.routers_down.append(rb.config.name)
            for task in router_tasks:
                tasks.postpone(task, str(exc), policy, now=now)
                result.retried += 1
            return
        pending: list[ProvisionTask] = []
        for task in router_tasks:
            service_id = task.service_id
            number = rb.numbers.get(service_id)
            if service_id in rb.errors:
                tasks.fail(task, rb.errors[service_id], policy, permanent=True, now=now)
                result.failed += 1
                continue
            try:
                if number is not None:
                    sub = rb.state.subscriber(number)
                    applied = router.put(sub)
                    rows[service_id].applied = snapshots.dump(sub)
                    text = f"subscriber {number}: {applied.changes} changes"
                elif service_id in rows and not blind:
                    applied = router.remove(rows[service_id].number)
                    session.delete(rows.pop(service_id))
                    text = f"removed: {applied.changes} changes"
                elif service_id in rows:
                    pending.append(task)
                    continue
                else:
                    text = "nothing on this router"
            except InvalidDesiredState as exc:
                tasks.fail(task, str(exc), policy, permanent=True, now=now)
                result.failed += 1
            except (ProvisioningError, OSError) as exc:
                _failed(task, str(exc), policy, result, now)
            else:
                tasks.succeed(task, text, now=now)
                result.done += 1
        if pending or blind:  # a removal (or a change) Mango has no snapshot of: compare the router as a whole
            try:
                _plan, applied = router.reconcile()
            except (ProvisioningError, OSError) as exc:
                for task in pending:
                    _failed(task, str(exc), policy, result, now)
            else:
                session.flush()
                _record_reconciled(session, router_id, rb)
                for task in pending:
                    tasks.succeed(task, f"removed; router reconciled: {applied.changes} changes", now=now)
                    result.done += 1
        session.flush()
    finally:
        driver.close()


def _record_pushed(session: Session, device_id: int, nb: netconf_devices.DeviceBuild) -> None:
    """After a push the device holds the build's subscribers: the rows follow it."""
    for service_id, row in _rows(session, device_id).items():
        if service_id in nb.by_service:
            row.applied = nb.by_service[service_id]
        elif service_id in nb.errors:
            row.applied = None
        else:
            session.delete(row)
    session.flush()


def _work_netconf(session: Session, build: netconf_devices.NetconfBuild, device_id: int,
                  device_tasks: list[ProvisionTask], policy: tasks.Policy, result: WorkerResult,
                  now: datetime | None) -> None:
    """One transactional push of the device's whole configuration covers all its tasks."""
    nb = build.devices.get(device_id)
    if nb is None:
        why = build.device_errors.get(device_id)
        if why is None:  # handed back (provision off, access removed): Mango no longer carries anyone there
            why = "the device is no longer provisioned (not a Linux router, no NETCONF access to provision)"
            for row in _rows(session, device_id).values():
                session.delete(row)
        for task in device_tasks:
            tasks.fail(task, why, policy, permanent=True, now=now)
            result.failed += 1
        return
    pending = []
    for task in device_tasks:
        if task.service_id in nb.errors:
            tasks.fail(task, nb.errors[task.service_id], policy, permanent=True, now=now)
            result.failed += 1
        else:
            pending.append(task)
    if not pending:
        return
    try:
        target = backup.target_of(nb.device, backup.access_of(session, device_id))
    except backup.BackupError as exc:  # no management address, an undecryptable secret: the operator's turn
        for task in pending:
            tasks.fail(task, str(exc), policy, permanent=True, now=now)
            result.failed += 1
        return
    try:
        netconf.apply(target, nb.config)
    except netconf.NetconfError as exc:
        log.warning("NETCONF device %s: %s", nb.device.name, exc)
        if exc.step == "connect":  # unreachable: wait, never give up
            result.routers_down.append(nb.device.name)
            for task in pending:
                tasks.postpone(task, str(exc), policy, now=now)
                result.retried += 1
        else:  # refused (login, validate, commit…): running is unchanged, retry with backoff
            for task in pending:
                _failed(task, str(exc), policy, result, now)
        return
    except ValueError as exc:  # the template made no well-formed XML: nothing was sent
        for task in pending:
            tasks.fail(task, f"device {nb.device.name}: {exc}", policy, permanent=True, now=now)
            result.failed += 1
        return
    _record_pushed(session, device_id, nb)
    for task in pending:
        state = "present" if task.service_id in nb.by_service else "absent"
        tasks.succeed(task, f"configuration committed ({len(nb.subscribers)} subscribers; this one {state})", now=now)
        result.done += 1
    session.flush()


@dataclass
class ReconcileResult:
    repaired: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [f"{name}: {n} changes" for name, n in sorted(self.repaired.items())]
        parts += [f"{name}: {error}" for name, error in sorted(self.errors.items())]
        return "; ".join(parts) or "no routers"


class ReconcileFailed(RuntimeError):
    pass


def reconcile(session: Session, now: datetime | None = None) -> ReconcileResult:
    """Compare each router with the data and repair what differs (the job ``isp:reconcile``).

    Each router's outcome commits on its own; routers that could not be repaired are named in the
    raised :class:`ReconcileFailed` after all were tried, so the job run shows them.
    """
    now = now or utcnow()
    build = desired.build(session, now)
    nc_build = netconf_devices.build(session, now)
    result = ReconcileResult()
    for device_id, why in {**build.router_errors, **nc_build.device_errors}.items():
        result.errors[desired.device_name(session, device_id)] = why
    session.commit()
    for router_id, rb in build.routers.items():
        driver = rb.config.driver()
        try:
            _plan, applied = driver.reconcile(rb.state)
        except (ProvisioningError, OSError) as exc:
            log.warning("reconcile of router %s: %s", rb.config.name, exc)
            result.errors[rb.config.name] = str(exc)
        else:
            _record_reconciled(session, router_id, rb)
            result.repaired[rb.config.name] = applied.changes
            session.commit()
        finally:
            driver.close()
    for device_id, nb in nc_build.devices.items():
        try:
            result.repaired[nb.device.name] = _reconcile_netconf(session, device_id, nb)
        except (netconf.NetconfError, backup.BackupError, ValueError) as exc:
            log.warning("reconcile of NETCONF device %s: %s", nb.device.name, exc)
            result.errors[nb.device.name] = str(exc)
        else:
            session.commit()
    if result.errors:
        raise ReconcileFailed(str(result))
    return result


def _reconcile_netconf(session: Session, device_id: int, nb: netconf_devices.DeviceBuild) -> int:
    """Compare the device's running configuration with the rendered one; push when they differ."""
    target = backup.target_of(nb.device, backup.access_of(session, device_id))
    changes = netconf.drift(nb.config, netconf.get_data(target))
    if changes:
        netconf.apply(target, nb.config)
    _record_pushed(session, device_id, nb)
    return changes
