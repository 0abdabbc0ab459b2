"""The provisioning pipeline end to end against real network namespaces: a service activated in the
database reaches the router through the queue and the worker job; a block lands in the nft set and
real traffic stops; a router that is not there yet keeps its task with a backoff until it appears;
drift made by hand is repaired by the reconcile job."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from netns_helpers import GATEWAY4, NOTICE4, OUTSIDE4, Topology, mac_of, sh, skip_reason
from sqlalchemy import select
from test_isp_queue_helpers import pool, router, service_on, speed_product

from mango_core.db import utcnow
from mango_core.services import lifecycle
from mango_isp.ipam import assignments as asg
from mango_isp.queue import tasks, worker
from mango_isp.queue.models import DONE, QUEUED, ProvisionTask

REASON = skip_reason()
pytestmark = [pytest.mark.netns, pytest.mark.skipif(REASON is not None, reason=REASON or "")]


@pytest.fixture
def topo():  # noqa: ANN201
    t = Topology()
    try:
        yield t
    finally:
        t.close()


def task_of(db, service) -> ProvisionTask:  # noqa: ANN001
    return db.scalars(select(ProvisionTask).where(ProvisionTask.service_id == service.id)
                      .order_by(ProvisionTask.id.desc())).first()


def test_activation_block_and_drift_reach_the_router(db, world, in_loc, topo):
    with in_loc(world.loc_a):
        product = speed_product(db)  # 100/20 Mbit/s
        device, interface = router(db, netns=topo.router, gateway6="2001:db8:64::1/64")
        device.params = {**device.params, "notice_ipv4": NOTICE4}
        p = pool(db, gateway=GATEWAY4.split("/")[0])
        service = service_on(db, product, device, interface, address="100.64.0.11", mac=mac_of(11))
        db.commit()
        assert task_of(db, service).state == QUEUED
        assert "100.64.0.11" not in topo.ip("route", "show", "proto", "77")

        result = worker.run_queue(db)
        assert (result.done, result.retried, result.failed) == (1, 0, 0), str(result)
        task = task_of(db, service)
        assert task.state == DONE and task.result.startswith("subscriber 2:")
        classes = topo.tc("class", "show", "dev", "sub0")
        assert "class htb 1:2 " in classes and "rate 100Mbit" in classes
        assert "rate 20Mbit" in topo.tc("class", "show", "dev", "ifb-sub0")
        routes = topo.ip("route", "show", "proto", "77")
        assert "100.64.0.11 dev sub0" in routes
        assert "100.64.0.1/24" in topo.ip("-4", "addr", "show", "dev", "sub0")
        assert mac_of(11) in topo.ip("neigh", "show", "100.64.0.11", "dev", "sub0")
        assert topo.ping(topo.subs[11], OUTSIDE4)
        del p

        lifecycle.block(db, service, "debt", effective=date.today(), reason="unpaid 2025-05")
        db.commit()
        assert worker.run_queue(db).done == 1
        listing = sh("ip", "netns", "exec", topo.router, "nft", "list", "set", "inet", "mango", "blocked4").stdout
        assert "100.64.0.11" in listing
        assert not topo.ping(topo.subs[11], OUTSIDE4, tries=1)

        lifecycle.unblock(db, service, "debt", effective=date.today())
        db.commit()
        assert worker.run_queue(db).done == 1  # the applied snapshot had the block: it is lifted
        # the last blocked subscriber took the whole table with it
        assert "mango" not in sh("ip", "netns", "exec", topo.router, "nft", "list", "tables").stdout
        assert topo.ping(topo.subs[11], OUTSIDE4)

        # a second address, then released again: the snapshot knows the route to take off
        extra = asg.assign(db, service, "100.64.0.13", valid_from=utcnow() - timedelta(seconds=1))
        db.commit()
        assert worker.run_queue(db).done == 1
        assert "100.64.0.13 dev sub0" in topo.ip("route", "show", "proto", "77")
        asg.release(db, extra)
        db.commit()
        assert worker.run_queue(db, now=utcnow() + timedelta(seconds=1)).done == 1
        routes = topo.ip("route", "show", "proto", "77")
        assert "100.64.0.13" not in routes and "100.64.0.11 dev sub0" in routes

        # drift by hand: the route and the class go; the reconcile job puts them back
        sh("ip", "-n", topo.router, "route", "del", "100.64.0.11/32", "dev", "sub0", "proto", "77")
        sh("tc", "-n", topo.router, "class", "change", "dev", "sub0", "classid", "1:2", "htb",
           "rate", "1mbit", "ceil", "1mbit")
        assert "100.64.0.11" not in topo.ip("route", "show", "proto", "77")
        repaired = worker.reconcile(db)
        assert repaired.repaired[device.name] >= 2
        assert "100.64.0.11 dev sub0" in topo.ip("route", "show", "proto", "77")
        assert "rate 100Mbit" in topo.tc("class", "show", "dev", "sub0", "classid", "1:2")
        assert worker.reconcile(db).repaired[device.name] == 0  # a second pass finds nothing

        # termination: the worker removes the subscriber's objects from the router
        lifecycle.terminate(db, service, effective=date.today(), reason="moved away")
        db.commit()
        assert worker.run_queue(db, now=utcnow() + timedelta(days=1)).done == 1
        assert "100.64.0.11" not in topo.ip("route", "show", "proto", "77")
        assert "1:2" not in topo.tc("class", "show", "dev", "sub0")


def test_a_router_that_is_not_there_keeps_its_task_until_it_appears(db, world, in_loc):
    name = f"mgq{uuid.uuid4().hex[:6]}r"
    policy = tasks.Policy(base_seconds=20)
    try:
        with in_loc(world.loc_a):
            product = speed_product(db)
            device, interface = router(db, netns=name)
            service = service_on(db, product, device, interface, address="100.64.0.12")
            db.commit()
            result = worker.run_queue(db, policy)
            assert result.routers_down == [device.name] and result.retried == 1
            task = task_of(db, service)
            assert task.state == QUEUED and task.attempts == 1 and name in task.last_error or "netlink" in task.last_error
            due = task.next_attempt_at
            assert due > utcnow() + timedelta(seconds=15)
            assert worker.run_queue(db, policy).retried == 0  # waits for its time
            # still missing at the next attempt: the wait doubles
            result = worker.run_queue(db, policy, now=due + timedelta(seconds=1))
            db.refresh(task)
            assert result.retried == 1 and task.attempts == 2
            assert task.next_attempt_at >= due + timedelta(seconds=40)

            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "add", "sub0", "type", "veth", "peer", "name", "sub0p")
            sh("ip", "-n", name, "link", "set", "sub0", "up")
            sh("ip", "-n", name, "link", "set", "sub0p", "up")
            result = worker.run_queue(db, policy, now=task.next_attempt_at + timedelta(seconds=1))
            db.refresh(task)
            assert result.done == 1 and task.state == DONE and task.attempts == 3 and task.last_error is None
            assert "100.64.0.12 dev sub0" in sh("ip", "-n", name, "route", "show", "proto", "77").stdout
            assert "class htb 1:2 " in sh("tc", "-n", name, "class", "show", "dev", "sub0").stdout
    finally:
        sh("ip", "netns", "del", name, check=False)
