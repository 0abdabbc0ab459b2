"""NETCONF devices in the provisioning queue, against a real NETCONF-over-SSH server (yuma123 netconfd
behind sshd on loopback): service changes and IPAM changes make tasks, one transactional push per
device covers them, a refused change leaves running as it was and backs off to ``failed``, and the
reconcile job repairs drift made on the device behind Mango's back."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from test_isp_queue_helpers import router, service_on, speed_product

from mango_core.db import utcnow
from mango_core.devices.models import Device
from mango_core.services import lifecycle
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post
from mango_isp.backup import netconf
from mango_isp.backup import service as backup
from mango_isp.backup.testserver import NetconfServer, missing
from mango_isp.ipam import assignments as asg
from mango_isp.queue import netconf_devices, tasks, worker
from mango_isp.queue.models import DONE, FAILED, QUEUED, ProvisionTask, RouterSubscriber
from mango_isp.topology import service as topology

REASON = missing()
# in CI (CI=true, .ci/run installs netconfd and openssh-server) a missing server fails instead of skipping
needs_server = pytest.mark.skipif(REASON is not None and not os.environ.get("CI"), reason=REASON or "")
NS = "urn:mango:params:xml:ns:yang:mango-generic-device"
KEY = Fernet.generate_key().decode()


@pytest.fixture
def keys(mango, monkeypatch):  # noqa: ANN001, ANN201
    configured = {**mango.settings.section("plugin_settings"), "isp": {"secret_keys": [KEY]}}
    monkeypatch.setitem(mango.settings.data, "plugin_settings", configured)  # as [plugin_settings.isp]


@pytest.fixture
def server():  # noqa: ANN201
    with NetconfServer() as running:
        yield running


def olt(db, server, *, name: str = "olt1", provision: bool = True):  # noqa: ANN001, ANN201
    """A NETCONF device with a subscriber-facing port, and the address space services come from."""
    from mango_isp.ipam import prefixes as px

    if not px.list_prefixes(db):
        px.create_prefix(db, prefix="100.64.0.0/16", kind="cgnat")
        px.create_prefix(db, prefix="2001:db8:64::/48", kind="public")
    device = make_row(db, Device, name=name, sort_name=name, management_ip="127.0.0.1", params={})
    port = topology.add_interface(db, device, name="pon0")
    backup.set_access(db, device.id, username=server.username, secret=server.private_key, secret_kind="key",
                      port=server.port, host_key=server.host_key, provision=provision)
    return device, port


def target(db, device) -> netconf.Target:  # noqa: ANN001
    return backup.target_of(device, backup.access_of(db, device.id))


def subscribers(db, device) -> dict[str, dict]:  # noqa: ANN001
    """The device's running subscribers: name -> leaves (addresses as a sorted list)."""
    data = netconf.get_data(target(db, device))
    found = {}
    for sub in data.iter(f"{{{NS}}}subscriber"):
        leaves: dict = {"address": []}
        for leaf in sub:
            key = leaf.tag.split("}")[1]
            if key == "address":
                leaves["address"].append(leaf.text)
            else:
                leaves[key] = leaf.text
        leaves["address"].sort()
        found[leaves.pop("name")] = leaves
    return found


def task_of(db, service, device) -> ProvisionTask:  # noqa: ANN001
    return db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == service.id,
                                                 ProvisionTask.router_id == device.id)
                     .order_by(ProvisionTask.id.desc()).limit(1))


@needs_server
def test_activate_block_ipam_terminate_each_pushed_once_per_device(db, world, in_loc, keys, server, monkeypatch):  # noqa: ANN001
    pushes = []
    real_apply = netconf.apply
    monkeypatch.setattr(netconf, "apply", lambda t, config, **kw: (pushes.append(t.name), real_apply(t, config, **kw)))
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, port = olt(db, server)
        first = service_on(db, product, device, port, address="100.64.0.5")
        second = service_on(db, product, device, port, address="100.64.0.6", last_name="Druhý")
        db.commit()
        task = task_of(db, first, device)
        assert (task.state, task.kind) == (QUEUED, "activate")
        assert subscribers(db, device) == {}
        result = worker.run_queue(db)
        assert (result.done, result.failed) == (2, 0) and pushes == ["olt1"]  # one push for both tasks
        db.refresh(task)
        assert task.state == DONE and "2 subscribers" in task.result
        assert subscribers(db, device) == {
            f"service-{first.id}": {"address": ["100.64.0.5/32"], "blocked": "false", "download-kbit": "100000",
                                    "upload-kbit": "20000"},
            f"service-{second.id}": {"address": ["100.64.0.6/32"], "blocked": "false", "download-kbit": "100000",
                                     "upload-kbit": "20000"}}
        row = db.scalar(select(RouterSubscriber).where(RouterSubscriber.service_id == first.id))
        assert row.router_id == device.id and row.applied["addresses"] == ["100.64.0.5/32"]
        # the rest of the template is there too
        assert "<hostname>olt1</hostname>" in netconf.get_config(target(db, device))

        lifecycle.block(db, first, "debt", effective=date.today(), reason="unpaid")
        db.commit()
        assert task_of(db, first, device).kind == "block"
        assert worker.run_queue(db).done == 1
        assert subscribers(db, device)[f"service-{first.id}"]["blocked"] == "true"

        asg.assign(db, first, "2001:db8:64::5/128", valid_from=utcnow() - timedelta(minutes=1))
        db.commit()
        assert task_of(db, first, device).kind == "ipam"
        assert worker.run_queue(db).done == 1
        assert subscribers(db, device)[f"service-{first.id}"]["address"] == ["100.64.0.5/32", "2001:db8:64::5/128"]

        lifecycle.terminate(db, first, effective=date.today(), reason="moved away")
        db.commit()
        assert task_of(db, first, device).kind in ("terminate", "ipam")  # the release of its addresses follows
        assert worker.run_queue(db).done == 1
        assert set(subscribers(db, device)) == {f"service-{second.id}"}
        assert db.scalar(select(RouterSubscriber).where(RouterSubscriber.service_id == first.id)) is None
        assert len(pushes) == 4


@needs_server
def test_a_refused_change_keeps_running_backs_off_then_fails(db, world, in_loc, keys, server):  # noqa: ANN001
    policy = tasks.Policy(base_seconds=10, max_attempts=2)
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, port = olt(db, server)
        service = service_on(db, product, device, port, address="100.64.0.7")
        db.commit()
        assert worker.run_queue(db, policy).done == 1
        before = netconf.get_config(target(db, device))
        # 200 Gbit/s: the YANG range of download-kbit (1..100000000) refuses it on the device
        lifecycle.change_params(db, service, {"download": 200_000, "upload": 20}, effective=date.today())
        db.commit()
        result = worker.run_queue(db, policy)
        assert (result.done, result.retried, result.failed) == (0, 1, 0)
        task = task_of(db, service, device)
        assert task.state == QUEUED and task.attempts == 1 and task.kind == "params"
        assert "olt1" in task.last_error and "running configuration unchanged" in task.last_error
        assert "validate" in task.last_error and "download-kbit" in task.last_error and "not in range" in task.last_error
        assert task.next_attempt_at > utcnow() + timedelta(seconds=5)
        assert netconf.get_config(target(db, device)) == before
        assert netconf.get_config(target(db, device), "candidate") == before
        assert worker.run_queue(db, policy).retried == 0  # not due yet
        result = worker.run_queue(db, policy, now=utcnow() + timedelta(seconds=11))
        db.refresh(task)
        assert result.failed == 1 and task.state == FAILED and task.attempts == 2
        assert netconf.get_config(target(db, device)) == before
        # the data is fixed and the operator retries: it goes through
        lifecycle.change_params(db, service, {"download": 50, "upload": 10}, effective=date.today())
        tasks.retry_now(db, task)
        db.commit()
        assert worker.run_queue(db, policy).done >= 1
        assert subscribers(db, device)[f"service-{service.id}"]["download-kbit"] == "50000"


@needs_server
def test_data_the_device_cannot_take_fails_only_that_service(db, world, in_loc, keys, server):  # noqa: ANN001
    with in_loc(world.loc_a):
        device, port = olt(db, server)
        good = service_on(db, speed_product(db), device, port, address="100.64.0.12")
        odd = service_on(db, speed_product(db, unit="bit/fortnight"), device, port, address="100.64.0.13",
                         last_name="Divný")
        db.commit()
        result = worker.run_queue(db)
        assert (result.done, result.failed) == (1, 1)
        bad = task_of(db, odd, device)
        assert bad.state == FAILED and "unknown speed unit" in bad.last_error
        assert task_of(db, good, device).state == DONE
        assert set(subscribers(db, device)) == {f"service-{good.id}"}


@needs_server
def test_reconcile_repairs_drift_made_on_the_device(db, world, in_loc, keys, server):  # noqa: ANN001
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, port = olt(db, server)
        service = service_on(db, product, device, port, address="100.64.0.8")
        db.commit()
        # nothing of Mango's on the device yet: <device> and its hostname, port and subscriber
        assert worker.reconcile(db).repaired == {"olt1": 4}
        assert worker.reconcile(db).repaired == {"olt1": 0}  # in sync: nothing pushed
        wanted = netconf.get_config(target(db, device))
        # someone edits the device directly: unblocks nobody but changes a speed and adds a subscriber
        netconf.apply(target(db, device), (
            f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><device xmlns="{NS}">'
            f"<subscriber><name>service-{service.id}</name><download-kbit>1</download-kbit></subscriber>"
            "<subscriber><name>intruder</name><address>100.64.0.99/32</address></subscriber></device></config>"))
        drifted = subscribers(db, device)
        assert "intruder" in drifted and drifted[f"service-{service.id}"]["download-kbit"] == "1"
        result = worker.reconcile(db)
        assert result.repaired["olt1"] == 3  # the changed subscriber (both versions) and the intruder
        assert netconf.get_config(target(db, device)) == wanted
        assert str(worker.reconcile(db)) == "olt1: 0 changes"


@needs_server
def test_unreachable_device_waits_and_backup_only_access_is_left_alone(db, world, in_loc, keys, server):  # noqa: ANN001
    policy = tasks.Policy(base_seconds=10, max_attempts=1)
    with in_loc(world.loc_a):
        product = speed_product(db)
        quiet, quiet_port = olt(db, server, name="sw-backup", provision=False)
        service = service_on(db, product, quiet, quiet_port, address="100.64.0.9")
        assert db.scalar(select(ProvisionTask).where(ProvisionTask.service_id == service.id)) is None
        assert netconf_devices.device_ids(db) == set()
        # handed to the queue: a sync task for every service it serves
        backup.set_access(db, quiet.id, username=server.username, secret=None, secret_kind="key",
                          port=1, host_key=server.host_key, provision=True)
        task = task_of(db, service, quiet)
        assert (task.kind, task.state) == ("sync", QUEUED)
        db.commit()
        result = worker.run_queue(db, policy)
        db.refresh(task)
        # nothing listens on port 1: waits with backoff and is never given up (max_attempts=1)
        assert result.routers_down == ["sw-backup"] and task.state == QUEUED and task.attempts == 1
        assert "connect failed" in task.last_error and "127.0.0.1:1" in task.last_error
        with pytest.raises(worker.ReconcileFailed, match="sw-backup"):
            worker.reconcile(db)
        backup.set_access(db, quiet.id, username=server.username, secret=None, secret_kind="key",
                          port=server.port, host_key=server.host_key)
        db.commit()
        assert worker.run_queue(db, policy, now=utcnow() + timedelta(seconds=11)).done == 1
        assert set(subscribers(db, quiet)) == {f"service-{service.id}"}
        # handed back to backup only: a pending task fails, and the device is no longer told of changes
        lifecycle.block(db, service, "debt", effective=date.today(), reason="unpaid")
        backup.set_access(db, quiet.id, username=server.username, secret=None, secret_kind="key",
                          port=server.port, host_key=server.host_key, provision=False)
        db.commit()
        assert worker.run_queue(db, policy).failed == 1
        assert "no longer provisioned" in task_of(db, service, quiet).last_error
        assert db.scalar(select(RouterSubscriber).where(RouterSubscriber.router_id == quiet.id)) is None
        lifecycle.unblock(db, service, "debt", effective=date.today())
        assert task_of(db, service, quiet).state == FAILED  # no new task
        assert subscribers(db, quiet)[f"service-{service.id}"]["blocked"] == "false"  # untouched since


@needs_server
def test_netconf_device_below_a_linux_router_gets_tasks_of_its_own(db, world, in_loc, keys, server):  # noqa: ANN001
    """Both kinds serve: the switch its subscriber entry, the router above it its routes and shaping."""
    with in_loc(world.loc_a):
        product = speed_product(db)
        bras, bras_port = router(db, name="bras")
        device, port = olt(db, server)
        topology.connect(db, bras_port, topology.add_interface(db, device, name="uplink"))
        service = service_on(db, product, device, port, address="100.64.0.10")
        db.commit()
        assert {t.router_id for t in db.scalars(select(ProvisionTask).where(ProvisionTask.service_id == service.id))} \
            == {bras.id, device.id}
        # (no worker here: the router's empty netns is this host) a manual push carries the subscribers the data puts on the device
        backup.push(db, device.id)
        assert set(subscribers(db, device)) == {f"service-{service.id}"}


def _enter(client, world, location, user) -> None:  # noqa: ANN001
    login(client, user.email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


@needs_server
def test_pages_show_a_netconf_devices_tasks(client, db, world, in_loc, keys, server):  # noqa: ANN001
    with in_loc(world.loc_a):
        product = speed_product(db)
        device, port = olt(db, server)
        service = service_on(db, product, device, port, address="100.64.0.11")
        backup_only = make_row(db, Device, name="sw2", sort_name="sw2", management_ip="127.0.0.1")
        backup.set_access(db, backup_only.id, username="admin", secret="pw-123456")
        db.commit()
        task = task_of(db, service, device)
    _enter(client, world, world.loc_a, world.admin_a)
    body = client.get(f"/isp/provisioning/routers/{device.id}").get_data(as_text=True)
    assert f'data-task="{task.id}"' in body and 'id="router-netconf"' in body
    assert client.get(f"/isp/provisioning/routers/{backup_only.id}").status_code == 404
    assert 'id="isp-provisioning"' in client.get(f"/devices/{device.id}").get_data(as_text=True)
    assert 'id="isp-provisioning"' not in client.get(f"/devices/{backup_only.id}").get_data(as_text=True)
    card = client.get(f"/customers/{service.customer_id}?tab=isp_provisioning").get_data(as_text=True)
    assert f'data-task="{task.id}"' in card and ">olt1</a>" in card
    versions = client.get(f"/isp/backup/devices/{device.id}").get_data(as_text=True)
    assert 'id="netconf-provisioned"' in versions and 'id="nc-provision"' in versions
