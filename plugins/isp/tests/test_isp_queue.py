"""The provisioning pipeline without a real router: credentials encryption, router registry and
desired state from the data, the durable queue (coalescing, claiming, backoff, stale claims), the
worker and reconcile jobs against a recording driver, hooks and the Opcare pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from test_isp_queue_helpers import pool, router, service_on, speed_product

from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.services import lifecycle
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post
from mango_isp.ipam import assignments as asg
from mango_isp.provisioning import ApplyResult, InvalidDesiredState, Plan, ProvisioningError, Shaping
from mango_isp.queue import credentials, desired, secrets, tasks, worker
from mango_isp.queue.models import (
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    DeviceCredential,
    ProvisionTask,
    RouterSubscriber,
)
from mango_isp.queue.routers import RouterConfig, router_config

KEY1, KEY2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()


# --- secrets -------------------------------------------------------------------------------------


def test_secrets_round_trip_rotation_and_mask():
    token = secrets.encrypt("s3cret-pass", keys=[KEY1])
    assert "s3cret" not in token and secrets.decrypt(token, keys=[KEY1]) == "s3cret-pass"
    assert secrets.encrypt("s3cret-pass", keys=[KEY1]) != token  # random IV: equal secrets do not show
    # rotation: a new key first, the old one still opens old tokens; rotate() rewrites to the new key
    assert secrets.decrypt(token, keys=[KEY2, KEY1]) == "s3cret-pass"
    rotated = secrets.rotate(token, keys=[KEY2, KEY1])
    assert secrets.decrypt(rotated, keys=[KEY2]) == "s3cret-pass"
    with pytest.raises(secrets.SecretsError) as err:
        secrets.decrypt(token, keys=[KEY2])
    assert "s3cret" not in str(err.value)
    with pytest.raises(secrets.SecretsError, match="secret_keys"):
        secrets.encrypt("x", keys=[])
    with pytest.raises(secrets.SecretsError, match="not a Fernet key"):
        secrets.encrypt("x", keys=["short"])
    assert secrets.mask("s3cret-pass") == "••••••ss" and secrets.mask("abc") == "••••••" and secrets.mask("") == ""


def test_credentials_stored_encrypted_with_keys_from_configuration(app, db, world, in_loc, mango, monkeypatch):
    configured = dict(mango.plugin_settings("isp"))
    monkeypatch.setattr(mango, "plugin_settings", lambda name: configured if name == "isp" else {})
    with in_loc(world.loc_a):
        device, _ = router(db)
        with pytest.raises(secrets.SecretsError, match=r"\[plugin_settings.isp\] secret_keys"):
            credentials.set_login(db, device.id, "admin", "hunter22")
        configured["secret_keys"] = [KEY1]
        row = credentials.set_login(db, device.id, "admin", "hunter22")
        stored = db.scalar(select(DeviceCredential.secret).where(DeviceCredential.id == row.id))
        assert "hunter22" not in stored and "hunter22" not in repr(row)
        assert credentials.login_of(db, device.id) == ("admin", "hunter22")
        configured["secret_keys"] = [KEY2]  # the key was lost: a clear error, not garbage
        with pytest.raises(secrets.SecretsError, match="cannot be decrypted"):
            credentials.login_of(db, device.id)


# --- registry and desired state ------------------------------------------------------------------


def test_router_config_is_checked(db, world, in_loc):
    with in_loc(world.loc_a):
        device, _ = router(db, netns="r-ns", gateway4="100.64.0.1/24", interfaces="sub0, sub1")
        config = router_config(device)
        assert (config.netns, config.interfaces) == ("r-ns", ("sub0", "sub1"))
        assert [str(g) for g in config.gateways] == ["100.64.0.1/24"]
        device.params = {**device.params, "gateway6": "nonsense"}
        with pytest.raises(InvalidDesiredState, match="gateway6"):
            router_config(device)


def test_desired_state_from_services_addresses_speeds_macs_and_blocks(db, world, in_loc):
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db, gateway6="2001:db8:64::1/64")
        p = pool(db)
        first = service_on(db, product, device, interface, pool=p, mac="02:00:00:00:00:0b")
        asg.assign(db, first, "2001:db8:64::b/128", valid_from=utcnow() - timedelta(days=1))
        second = service_on(db, product, device, interface, address="100.64.0.12", last_name="Druhý")
        lifecycle.block(db, second, "debt", effective=date.today(), reason="unpaid 2025-05")
        pending = service_on(db, product, device, interface, address="100.64.0.13", activate=False, last_name="Třetí")
        build = desired.build(db)
        rb = build.routers[device.id]
        assert set(rb.numbers) == {first.id, second.id} and pending.id not in rb.numbers
        assert sorted(rb.numbers.values()) == [2, 3]
        sub = rb.state.subscriber(rb.numbers[first.id])
        assert sub.interface == "sub0"
        assert sorted(str(n.prefix) for n in sub.networks) == ["100.64.0.2/32", "2001:db8:64::b/128"]
        # the pool's gateway for IPv4, the router's for IPv6
        assert sorted(str(g) for g in sub.gateways) == ["100.64.0.1/24", "2001:db8:64::1/64"]
        assert sub.shaping == Shaping(100_000, 20_000)  # Mbit/s -> kbit/s
        # a binding to no particular address pins the MAC to each single address of the service
        assert {(str(n.address), n.mac) for n in sub.neighbours} == {("100.64.0.2", "02:00:00:00:00:0b"),
                                                                    ("2001:db8:64::b", "02:00:00:00:00:0b")}
        assert sub.block is None
        blocked = rb.state.subscriber(rb.numbers[second.id])
        assert blocked.block is not None and blocked.block.reason == "unpaid 2025-05"
        # numbers stay with their services across builds
        assert desired.build(db).routers[device.id].numbers == rb.numbers


def test_speeds_in_kbit_and_bad_data_leave_only_that_service_out(db, world, in_loc):
    with in_loc(world.loc_a):
        kbit_product = speed_product(db, unit="kbit/s", defaults={"download": 4096, "upload": 1024})
        device, interface = router(db)
        ok = service_on(db, kbit_product, device, interface, address="100.64.0.20")
        tiny = service_on(db, kbit_product, device, interface, address="100.64.0.21", last_name="Malý")
        lifecycle.change_params(db, tiny, {"download": 4, "upload": 4}, effective=date.today())
        rb = desired.build(db).routers[device.id]
        assert rb.state.subscriber(rb.numbers[ok.id]).shaping == Shaping(4096, 1024)
        assert tiny.id not in rb.numbers and "download_kbit" in rb.errors[tiny.id]
    assert desired.kbit(2.5, "Gbit/s") == 2_500_000
    with pytest.raises(InvalidDesiredState):
        desired.kbit(5, "furlongs")


def test_service_without_a_router_above_is_not_placed(db, world, in_loc, make_service):
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        service_on(db, product, device, interface, address="100.64.0.30")
    lonely = make_service(world.loc_a)
    with in_loc(world.loc_a):
        asg.assign(db, lonely, "100.64.0.31")
        assert tasks.routers_to_tell(db, lonely) == set()
        assert not db.scalars(select(ProvisionTask).where(ProvisionTask.service_id == lonely.id)).all()
        assert lonely.id not in desired.build(db).placements


# --- the queue -----------------------------------------------------------------------------------


def test_service_changes_enqueue_and_coalesce(db, world, in_loc):
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        service = service_on(db, product, device, interface, address="100.64.0.40")
        queued = db.scalars(select(ProvisionTask).where(ProvisionTask.service_id == service.id)).all()
        assert len(queued) == 1  # the dependency, the address and the activation fold into one task
        task = queued[0]
        assert (task.router_id, task.state, task.kind, task.requests) == (device.id, QUEUED, "activate", 3)
        lifecycle.block(db, service, "manual", effective=date.today(), reason="test")
        lifecycle.change_params(db, service, {"download": 50, "upload": 10}, effective=date.today())
        db.flush()
        assert db.scalars(select(ProvisionTask).where(ProvisionTask.service_id == service.id)).all() == [task]
        assert (task.kind, task.requests) == ("params", 5)
        # a running task does not absorb a change: it may have read the data before it
        task.state = RUNNING
        lifecycle.unblock(db, service, "manual", effective=date.today())
        db.flush()
        rows = db.scalars(select(ProvisionTask).where(ProvisionTask.service_id == service.id)
                          .order_by(ProvisionTask.id)).all()
        assert [(r.state, r.kind) for r in rows] == [(RUNNING, "params"), (QUEUED, "unblock")]


def test_claim_takes_each_due_task_once(db, world, in_loc):
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        services = [service_on(db, product, device, interface, address=f"100.64.0.{50 + i}", last_name=f"N{i}")
                    for i in range(3)]
        later = db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == services[2].id))
        later.next_attempt_at = utcnow() + timedelta(minutes=5)
        db.commit()
        first = tasks.claim(db, limit=1)
        second = tasks.claim(db, limit=10)
        assert len(first) == 1 and len(second) == 1 and first[0].id != second[0].id
        assert {t.state for t in first + second} == {RUNNING} and all(t.attempts == 1 for t in first + second)
        assert first[0].claim != second[0].claim
        assert tasks.claim(db) == []  # the third is not due yet
        assert [t.id for t in tasks.claim(db, now=utcnow() + timedelta(minutes=6))] == [later.id]


def test_claim_loses_the_race_for_a_task_taken_meanwhile(db, world, in_loc, monkeypatch):
    """The conditional UPDATE decides: a candidate another worker took in between is skipped."""
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        service = service_on(db, product, device, interface, address="100.64.0.60")
        task = db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == service.id))
        original = db.scalars

        def scalars_then_steal(query, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            result = list(original(query, *args, **kwargs))
            if result == [task.id]:
                db.execute(update(ProvisionTask).where(ProvisionTask.id == task.id)
                           .values(state=RUNNING, claim="other-worker"))
            return result

        monkeypatch.setattr(db, "scalars", scalars_then_steal)
        assert tasks.claim(db) == []
        monkeypatch.undo()
        db.refresh(task)
        assert (task.state, task.claim, task.attempts) == (RUNNING, "other-worker", 0)


def test_backoff_doubles_up_to_the_cap_then_fails():
    policy = tasks.Policy(base_seconds=10, max_seconds=60, max_attempts=4)
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 60, 60]
    assert policy.delay(500).total_seconds() == 60
    task = ProvisionTask(state=RUNNING, attempts=3)
    now = utcnow()
    tasks.fail(task, "EBUSY", policy, now=now)
    assert (task.state, task.next_attempt_at) == (QUEUED, now + timedelta(seconds=40))
    task.attempts = 4
    tasks.fail(task, "EBUSY", policy, now=now)
    assert task.state == FAILED and task.finished_at == now and task.last_error == "EBUSY"
    down = ProvisionTask(state=RUNNING, attempts=40)
    tasks.postpone(down, "no route", policy, now=now)  # an unreachable router never loses its task
    assert down.state == QUEUED and down.next_attempt_at == now + timedelta(seconds=60)


def test_stale_running_tasks_are_queued_again(db, world, in_loc):
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        service = service_on(db, product, device, interface, address="100.64.0.70")
        [task] = tasks.claim(db)
        policy = tasks.Policy(lease_seconds=60)
        assert tasks.recover_stale(db, policy) == 0
        assert tasks.recover_stale(db, policy, now=utcnow() + timedelta(seconds=61)) == 1
        db.refresh(task)
        assert task.state == QUEUED and "worker stopped" in task.last_error and task.service_id == service.id


# --- worker and reconcile against a recording driver ---------------------------------------------


class FakeRouter:
    """Stands in for a LinuxRouterDriver: records calls; ``down`` makes opening fail."""

    down: set[str] = set()
    broken_put: set[int] = set()
    log: list[tuple] = []

    def __init__(self, config: RouterConfig) -> None:
        self.config = config

    def session(self, state):  # noqa: ANN001, ANN201
        if self.config.name in FakeRouter.down:
            raise ProvisioningError("cannot open netlink in the router's namespace: No such file",
                                    router=self.config.name)
        FakeRouter.log.append(("open", self.config.name, tuple(s.id for s in state.subscribers)))
        return self

    def put(self, sub):  # noqa: ANN001, ANN201
        if sub.id in FakeRouter.broken_put:
            raise ProvisioningError("RTNETLINK answers: Device or resource busy", router=self.config.name)
        FakeRouter.log.append(("put", sub.id, sub.block is not None))
        return ApplyResult(created=3)

    def remove(self, number: int) -> ApplyResult:
        FakeRouter.log.append(("remove", number))
        return ApplyResult(deleted=5)

    def reconcile(self, state=None):  # noqa: ANN001, ANN201
        if state is not None:  # the driver's own reconcile opens the router first
            self.session(state)
        FakeRouter.log.append(("reconcile", self.config.name))
        return Plan(), ApplyResult(deleted=2)

    def close(self) -> None:
        pass


@pytest.fixture
def fake_driver(monkeypatch):  # noqa: ANN001, ANN201
    FakeRouter.down, FakeRouter.broken_put, FakeRouter.log = set(), set(), []
    monkeypatch.setattr(RouterConfig, "driver", lambda self: FakeRouter(self))
    return FakeRouter


def test_worker_applies_backs_off_while_down_and_removes(db, world, in_loc, fake_driver):
    policy = tasks.Policy(base_seconds=30)
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        service = service_on(db, product, device, interface, address="100.64.0.80")
        db.commit()
        fake_driver.down.add("r1")
        result = worker.run_queue(db, policy)
        assert (result.retried, result.routers_down) == (1, ["r1"])
        task = db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == service.id))
        assert task.state == QUEUED and task.attempts == 1 and "netlink" in task.last_error
        assert task.next_attempt_at > utcnow() + timedelta(seconds=25)
        assert str(worker.run_queue(db, policy)).startswith("done 0, retry later 0")  # not due yet
        fake_driver.down.clear()
        result = worker.run_queue(db, policy, now=utcnow() + timedelta(seconds=31))
        db.refresh(task)
        assert result.done == 1 and task.state == DONE and task.attempts == 2 and task.last_error is None
        assert ("put", 2, False) in fake_driver.log
        row = db.scalar(select(RouterSubscriber).where(RouterSubscriber.service_id == service.id))
        assert row.applied["networks"] == [["100.64.0.80/32", None]] and row.applied["shaping"][:2] == [100_000, 20_000]
        # terminated: the subscriber goes as last applied, its number is freed
        lifecycle.terminate(db, service, effective=date.today(), reason="moved away")
        db.commit()
        later = utcnow() + timedelta(days=2)
        result = worker.run_queue(db, policy, now=later)
        assert result.done == 1 and ("remove", 2) in fake_driver.log and ("reconcile", "r1") not in fake_driver.log
        assert fake_driver.log[-2][2] == (2,)  # the session started from the applied subscriber
        assert db.scalar(select(RouterSubscriber).where(RouterSubscriber.service_id == service.id)) is None


def test_worker_retries_a_failed_change_and_fails_bad_data_for_good(db, world, in_loc, fake_driver):
    policy = tasks.Policy(base_seconds=10, max_attempts=2)
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        good = service_on(db, product, device, interface, address="100.64.0.90")
        bad = service_on(db, product, device, interface, address="100.64.0.91", last_name="Zlý")
        lifecycle.change_params(db, bad, {"download": 10_000_000, "upload": 1}, effective=date.today())
        db.commit()
        fake_driver.broken_put.add(desired.build(db).routers[device.id].numbers[good.id])
        result = worker.run_queue(db, policy)
        assert (result.done, result.retried, result.failed) == (0, 1, 1)
        bad_task = db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == bad.id))
        assert bad_task.state == FAILED and "download_kbit" in bad_task.last_error
        result = worker.run_queue(db, policy, now=utcnow() + timedelta(seconds=11))
        good_task = db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == good.id))
        assert result.failed == 1 and good_task.state == FAILED and good_task.attempts == 2
        fake_driver.broken_put.clear()
        tasks.retry_now(db, good_task)
        db.commit()
        assert worker.run_queue(db, policy).done == 1
        db.refresh(good_task)
        assert good_task.state == DONE
        with pytest.raises(tasks.TaskError):
            tasks.retry_now(db, good_task)


def test_reconcile_job_repairs_each_router_and_names_the_unreachable(db, world, in_loc, fake_driver):
    with in_loc(world.loc_a):
        product = speed_product(db)
        r1, if1 = router(db, name="r1")
        r2, if2 = router(db, name="r2")
        service_on(db, product, r1, if1, address="100.64.0.100")
        db.commit()
        assert str(worker.reconcile(db)) == "r1: 2 changes; r2: 2 changes"
        fake_driver.down.add("r2")
        with pytest.raises(worker.ReconcileFailed, match="r2: cannot open netlink"):
            worker.reconcile(db)
        assert ("reconcile", "r1") in fake_driver.log


def test_jobs_permissions_and_device_type_are_registered(mango):
    assert {"isp:provision", "isp:reconcile"} <= set(mango.jobs)
    assert {"isp.provisioning.view", "isp.provisioning.manage"} <= set(mango.permissions)
    settings = mango.plugin_settings("isp")
    assert settings["provision_max_attempts"] == 12 and settings["secret_keys"] == []


# --- Opcare --------------------------------------------------------------------------------------


def _enter(client, world, location, user) -> None:  # noqa: ANN001
    login(client, user.email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


def test_router_page_card_and_retry_are_permission_checked_and_scoped(client, db, world, in_loc, fake_driver):
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db, name="edge-r1")
        service = service_on(db, product, device, interface, address="100.64.0.110")
        task = db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == service.id))
        task.state, task.last_error = FAILED, "RTNETLINK answers: File exists"
        db.commit()
    with in_loc(world.loc_b):
        other = make_row(db, Device, name="brn-r1", type_id=None, type_code="isp.linux_router",
                         params={"interfaces": "sub0"})
        db.commit()
    _enter(client, world, world.loc_a, world.admin_a)
    page = client.get(f"/isp/provisioning/routers/{device.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'data-task="{task.id}"' in body and "File exists" in body
    assert client.get(f"/isp/provisioning/routers/{other.id}").status_code == 404
    card = client.get(f"/customers/{service.customer_id}?tab=isp_provisioning")
    assert f'data-task="{task.id}"' in card.get_data(as_text=True)
    device_card = client.get(f"/devices/{device.id}").get_data(as_text=True)
    assert 'id="isp-provisioning"' in device_card
    assert client.get(f"/isp/provisioning/tasks/{task.id}/retry").status_code == 405  # nothing changes on GET
    assert client.post(f"/isp/provisioning/tasks/{task.id}/retry").status_code == 400  # no CSRF token
    resp = post(client, f"/isp/provisioning/tasks/{task.id}/retry", token_from=f"/isp/provisioning/routers/{device.id}")
    assert resp.status_code == 302
    with in_loc(world.loc_a):
        db.refresh(task)
        assert (task.state, task.attempts) == (QUEUED, 0)
    assert post(client, "/logout").status_code == 302
    _enter(client, world, world.loc_a, world.clerk_a)
    assert client.get(f"/isp/provisioning/routers/{device.id}").status_code == 403
    assert post(client, f"/isp/provisioning/tasks/{task.id}/retry").status_code == 403


def test_task_ids_of_another_location_are_404(client, db, world, in_loc, make_service):
    service = make_service(world.loc_b)
    with in_loc(world.loc_b):
        device = make_row(db, Device, name="brn-r1", type_id=None, type_code="isp.linux_router",
                          params={"interfaces": "sub0"})
        task = tasks.enqueue(db, service.id, device.id, "sync")
        task.state = FAILED
        db.commit()
    _enter(client, world, world.loc_a, world.admin_a)
    assert post(client, f"/isp/provisioning/tasks/{task.id}/retry").status_code == 404
    assert client.get(f"/isp/provisioning/routers/{device.id}").status_code == 404
    with in_loc(world.loc_b):
        db.refresh(task)
        assert task.state == FAILED


def test_two_workers_on_postgresql_never_share_a_task(mango):
    """Real row locks on committed rows: while one worker holds its claim uncommitted, a second
    worker's claim skips those rows (SKIP LOCKED) instead of waiting or taking them twice."""
    if mango.db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set MANGO_TEST_DATABASE_URL=postgresql+psycopg://…")
    from sqlalchemy import delete, insert, text
    from sqlalchemy.orm import sessionmaker

    from mango_core.tenancy import guard, location_scope

    engine, location = mango.db.engine, 987_654
    now = utcnow()
    with engine.begin() as conn:  # rows without their location/router/service: FK triggers off here
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(insert(ProvisionTask), [
            {"location_id": location, "router_id": 1, "service_id": n, "kind": "sync", "state": QUEUED,
             "attempts": 0, "requests": 1, "next_attempt_at": now, "created_at": now} for n in range(40)])
    factory = sessionmaker(engine, expire_on_commit=False)
    guard.install(factory)
    first, second = factory(), factory()
    try:
        with location_scope(location):
            taken_first = tasks.claim(first, limit=25)
            second.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting on a lock would fail the test
            taken_second = tasks.claim(second, limit=25)
            second.commit()
            first.commit()
            ids_first, ids_second = {t.id for t in taken_first}, {t.id for t in taken_second}
            assert len(ids_first) == 25 and len(ids_second) == 15 and not ids_first & ids_second
            assert tasks.claim(factory(), limit=100) == []
    finally:
        first.close()
        second.close()
        with engine.begin() as conn:
            conn.execute(delete(ProvisionTask).where(ProvisionTask.location_id == location))


def test_jobs_run_through_the_scheduler_runner(db, world, in_loc, mango, fake_driver):
    from mango_core.scheduler.runner import run_job

    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        service = service_on(db, product, device, interface, address="100.64.0.130")
        db.commit()
    run = run_job(mango, mango.jobs["isp:provision"], world.loc_a.id, trigger="cli")
    assert (run.status, run.result) == ("ok", "done 1, retry later 0, failed 0"), run.error
    with in_loc(world.loc_a):
        assert db.scalar(select(ProvisionTask.state).where(ProvisionTask.service_id == service.id)) == DONE
    fake_driver.down.add("r1")
    run = run_job(mango, mango.jobs["isp:reconcile"], world.loc_a.id, trigger="cli")
    assert run.status == "failed" and "r1: cannot open netlink" in run.error


def test_a_transfer_and_dependency_changes_queue_the_services(db, world, in_loc):
    from mango_core.customers import service as customers
    from mango_isp.topology import service as topology

    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        service = service_on(db, product, device, interface, address="100.64.0.140")
        for task in db.scalars(select(ProvisionTask)):
            task.state = DONE
        heir = customers.create_customer(db, kind="person", first_name="Eva", last_name="Nová")
        lifecycle.transfer(db, service, heir.id, effective=date.today())
        db.flush()
        queued = db.scalars(select(ProvisionTask).where(ProvisionTask.state == QUEUED)).all()
        # the transfer and the addresses leaving the old service fold into one task
        assert [(t.service_id, t.router_id) for t in queued] == [(service.id, device.id)]
        assert queued[0].kind in ("transfer", "ipam") and queued[0].requests >= 2
        # the new service depends on nothing yet; once it does, its router is told
        new = lifecycle.transferred_to(db, service)
        topology.depend(db, new, device, interface=interface)
        task = db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == new.id))
        assert (task.router_id, task.kind, task.state) == (device.id, "devices", QUEUED)
        task.state = DONE
        db.flush()
        topology.remove_dependency(db, topology.dependencies_of(db, new.id)[0])
        # no router serves it now, and none carries it yet: nothing to tell
        assert db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == new.id,
                                                     ProvisionTask.state == QUEUED)) is None


def test_a_removal_without_a_snapshot_reconciles_the_router(db, world, in_loc, fake_driver):
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, interface = router(db)
        service = service_on(db, product, device, interface, address="100.64.0.150")
        db.commit()
        assert worker.run_queue(db).done == 1
        row = db.scalar(select(RouterSubscriber).where(RouterSubscriber.service_id == service.id))
        row.applied = None  # e.g. written by an older version, or lost
        lifecycle.terminate(db, service, effective=date.today(), reason="moved away")
        db.commit()
        result = worker.run_queue(db, now=utcnow() + timedelta(days=2))
        task = db.scalars(select(ProvisionTask).where(ProvisionTask.service_id == service.id)
                          .order_by(ProvisionTask.id.desc())).first()
        assert result.done == 1 and task.result.startswith("removed; router reconciled")
        assert ("reconcile", "r1") in fake_driver.log and not any(e[0] == "remove" for e in fake_driver.log)
        assert db.scalar(select(RouterSubscriber).where(RouterSubscriber.service_id == service.id)) is None
