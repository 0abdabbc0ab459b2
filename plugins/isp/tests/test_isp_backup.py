"""Config backup with a real NETCONF server (yuma123 netconfd behind sshd on loopback) and the database:
versions only on change, diff, restore, push of the rendered template, the job, the pages and the CLI;
and the encrypted credentials."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from mango_core.devices.models import Device
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import login, post
from mango_isp.backup import netconf
from mango_isp.backup import service as backup
from mango_isp.backup.models import DeviceConfig, NetconfAccess
from mango_isp.backup.testserver import NetconfServer, missing
from mango_isp.queue import secrets
from mango_isp.topology import service as topology

REASON = missing()
# in CI (CI=true, .ci/run installs netconfd and openssh-server) a missing server fails instead of skipping
needs_server = pytest.mark.skipif(REASON is not None and not os.environ.get("CI"), reason=REASON or "")
KEY1, KEY2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys(mango, monkeypatch):  # noqa: ANN001, ANN201
    configured = {**mango.settings.section("plugin_settings"), "isp": {"secret_keys": [KEY1, KEY2]}}
    monkeypatch.setitem(mango.settings.data, "plugin_settings", configured)  # as [plugin_settings.isp]
    return [KEY1, KEY2]


@pytest.fixture
def server():  # noqa: ANN201
    with NetconfServer() as running:
        yield running


@pytest.fixture
def switch(db, world, in_loc, keys, server):  # noqa: ANN001, ANN201
    """A device of PRG managed over NETCONF by the test server, with two interfaces."""
    with in_loc(world.loc_a):
        device = make_row(db, Device, name="sw-core", sort_name="sw-core", management_ip="127.0.0.1",
                          params={"vlans": "10 mgmt, 20 customers"})
        topology.add_interface(db, device, name="eth0")
        topology.add_interface(db, device, name="eth1")
        backup.set_access(db, device.id, username=server.username, secret=server.private_key, secret_kind="key",
                          port=server.port, host_key=server.host_key)
        db.commit()
    return device


def test_credentials_are_encrypted_with_the_configured_keys(app, keys):  # noqa: ANN001
    with app.app_context():
        token = secrets.encrypt("s3cret-pass")
        assert "s3cret" not in token and secrets.decrypt(token) == "s3cret-pass"
        # a token of the second (older) key still opens: rotation
        old = Fernet(KEY2.encode()).encrypt(b"older").decode()
        assert secrets.decrypt(old) == "older"
        assert secrets.mask("s3cret-pass") == "••••••ss" and secrets.mask("") == ""
        with pytest.raises(secrets.SecretsError, match="cannot be decrypted"):
            secrets.decrypt(Fernet(Fernet.generate_key()).encrypt(b"x").decode())
    with pytest.raises(secrets.SecretsError, match="not a Fernet key"):
        secrets.encrypt("x", keys=["short"])


def test_missing_key_is_a_clear_error_and_nothing_is_stored(app, db, world, in_loc):  # noqa: ANN001
    with in_loc(world.loc_a):
        device = make_row(db, Device, name="r-nokey", sort_name="r-nokey", management_ip="127.0.0.1")
        with pytest.raises(secrets.SecretsError, match=r"plugin_settings.isp\] secret_keys"):
            backup.set_access(db, device.id, username="admin", secret="pw")
        db.rollback()
        assert db.scalar(select(NetconfAccess)) is None


def test_access_is_checked_and_the_secret_kept_encrypted(db, world, in_loc, keys):  # noqa: ANN001
    with in_loc(world.loc_a):
        device = make_row(db, Device, name="r1", sort_name="r1", management_ip="127.0.0.1")
        for bad, words in [({"username": ""}, "user name"), ({"port": 0}, "port"),
                           ({"template": "nope"}, "template"), ({"secret": None}, "required"),
                           ({"secret_kind": "key"}, "private key")]:
            with pytest.raises(backup.BackupError, match=words):
                backup.set_access(db, device.id, **{"username": "admin", "secret": "pw-123456", **bad})
        access = backup.set_access(db, device.id, username="admin", secret="pw-123456")
        token = access.secret_token
        assert "pw-123456" not in token
        backup.set_access(db, device.id, username="admin2", secret=None)  # keeps the stored secret
        assert access.secret_token == token and access.username == "admin2"
        assert backup.target_of(device, access).secret == "pw-123456"
        with pytest.raises(backup.NotFound):
            backup.set_access(db, 999999, username="a", secret="b")
    with in_loc(world.loc_b), pytest.raises(backup.NotFound):
        backup.set_access(db, device.id, username="a", secret="b")  # another tenant's device


@needs_server
def test_backup_stores_versions_only_on_change_diff_and_restore(db, world, in_loc, switch, server):  # noqa: ANN001
    with in_loc(world.loc_a):
        first = backup.backup_device(db, switch.id)
        assert first.version == 1 and first.source == "netconf" and "<hostname>" not in first.content
        assert backup.backup_device(db, switch.id) is None  # unchanged: nothing stored
        # Mango pushes the device's rendered configuration (template with its parameters and interfaces)
        backup.push(db, switch.id, subscribers=[{"name": "cust-1", "addresses": ["100.64.0.11/32"],
                                                 "blocked": False, "download_kbit": 100000, "upload_kbit": 20000}])
        second = backup.backup_device(db, switch.id)
        assert second.version == 2 and "<hostname>sw-core</hostname>" in second.content
        lines = backup.diff(first, second)
        assert lines[0] == "--- v1" and lines[1] == "+++ v2"
        assert "+    <name>customers</name>" in lines and "+  <hostname>sw-core</hostname>" in lines
        assert backup.diff(second, second) == []
        # restore the first version: the device is back at it, and a restore version is recorded
        restored = backup.restore(db, switch.id, first.id)
        assert restored.version == 3 and restored.trigger == "restore" and restored.content == first.content
        target = backup.target_of(switch, backup.access_of(db, switch.id))
        assert netconf.get_config(target) == first.content
        assert backup.backup_device(db, switch.id) is None
        assert [v.version for v in backup.versions(db, switch.id)] == [3, 2, 1]
        db.commit()
    with in_loc(world.loc_b):
        with pytest.raises(backup.NotFound):
            backup.get_version(db, switch.id, first.id)
        assert db.scalar(select(DeviceConfig)) is None


@needs_server
def test_failed_push_rolls_back_and_keeps_running(db, world, in_loc, switch):  # noqa: ANN001
    with in_loc(world.loc_a):
        backup.push(db, switch.id)
        before = backup.backup_device(db, switch.id)
        with pytest.raises(netconf.NetconfError) as caught:
            # an interface in a VLAN the device does not have: the device refuses the whole change
            backup.push(db, switch.id, interfaces=[{"name": "eth9", "description": "", "enabled": True,
                                                    "mtu": 1500, "vlan": 99}])
        assert caught.value.rolled_back and "sw-core" in str(caught.value)
        assert backup.backup_device(db, switch.id) is None  # running is what it was
        assert backup.latest(db, switch.id).id == before.id


@needs_server
def test_job_backs_up_every_device_and_survives_a_failing_one(db, world, in_loc, switch):  # noqa: ANN001
    with in_loc(world.loc_a):
        broken = make_row(db, Device, name="sw-down", sort_name="sw-down", management_ip="127.0.0.1")
        backup.set_access(db, broken.id, username="admin", secret="pw-wrong-123", port=1)
        result = backup.backup_all(db)
        assert (result.stored, result.unchanged, len(result.failed)) == (1, 0, 1)
        assert "sw-down" in result.failed[0] and "pw-wrong-123" not in str(result)
        again = backup.backup_all(db)
        assert (again.stored, again.unchanged) == (0, 1)
        assert db.scalar(select(DeviceConfig).where(DeviceConfig.device_id == switch.id)).trigger == "scheduled"
    from mango_isp.backup.hooks import mango_jobs

    assert [j.id for j in mango_jobs()] == ["isp:backup_configs"]


def test_restore_of_a_linux_dump_is_refused(db, world, in_loc):  # noqa: ANN001
    with in_loc(world.loc_a):
        router = make_row(db, Device, name="gw", sort_name="gw", type_code="isp.linux_router", params={"netns": "x"})
        version = backup.store(db, router, "linux", "### addresses\n")
        with pytest.raises(backup.BackupError, match="cannot be restored"):
            backup.restore(db, router.id, version.id)
        assert backup.store(db, router, "linux", "### addresses\n") is None


def enter(client, world, location, user=None) -> None:  # noqa: ANN001
    login(client, (user or world.admin_a).email)
    assert post(client, "/location", {"location_id": location.id}).status_code == 302


@needs_server
def test_pages_backup_diff_restore(app, client, db, world, in_loc, switch):  # noqa: ANN001
    enter(client, world, world.loc_a)
    card = client.get(f"/devices/{switch.id}").get_data(as_text=True)
    assert 'id="isp-backup"' in card and 'id="backup-run"' in card
    page = f"/isp/backup/devices/{switch.id}"
    assert client.get(f"{page}/run").status_code == 405  # nothing changes on GET
    resp = post(client, f"{page}/run", token_from=page, follow_redirects=True)
    assert "v1" in resp.get_data(as_text=True)
    resp = post(client, f"{page}/run", token_from=page, follow_redirects=True)
    assert "not changed" in resp.get_data(as_text=True) or "nezměnila" in resp.get_data(as_text=True)
    with in_loc(world.loc_a):
        assert backup.latest(db, switch.id).version == 1
    with in_loc(world.loc_a):
        backup.push(db, switch.id)
        db.commit()
    post(client, f"{page}/run", token_from=page)
    with in_loc(world.loc_a):
        v1, v2 = sorted(backup.versions(db, switch.id), key=lambda v: v.version)
    html = client.get(page).get_data(as_text=True)
    assert "••••••" in html and server_key_line(switch, db, world, in_loc) not in html
    diff = client.get(f"{page}/diff?a={v1.id}&b={v2.id}").get_data(as_text=True)
    assert "+  &lt;hostname&gt;sw-core&lt;/hostname&gt;" in diff
    view = client.get(f"{page}/versions/{v2.id}").get_data(as_text=True)
    assert "&lt;hostname&gt;sw-core&lt;/hostname&gt;" in view
    confirm = client.get(f"{page}/versions/{v1.id}/restore")
    assert confirm.status_code == 200 and 'id="restore-confirm"' in confirm.get_data(as_text=True)
    with in_loc(world.loc_a):
        assert backup.latest(db, switch.id).version == 2  # GET changed nothing
    post(client, f"{page}/versions/{v1.id}/restore", token_from=f"{page}/versions/{v1.id}/restore")
    with in_loc(world.loc_a):
        newest = backup.latest(db, switch.id)
        assert newest.version == 3 and newest.content == v1.content and newest.created_by_id == world.admin_a.id
    # another location's user sees nothing of it
    other = app.test_client()
    enter(other, world, world.loc_b, world.admin_b)
    assert other.get(page).status_code == 404
    assert other.get(f"{page}/versions/{v1.id}").status_code == 404
    assert post(other, f"{page}/run").status_code == 404


def server_key_line(switch, db, world, in_loc) -> str:  # noqa: ANN001
    with in_loc(world.loc_a):
        access = backup.access_of(db, switch.id)
        return backup.target_of(switch, access).secret.splitlines()[1]


def test_pages_need_the_permissions(app, client, db, world, in_loc, keys):  # noqa: ANN001
    with in_loc(world.loc_a):
        device = make_row(db, Device, name="r5", sort_name="r5")
        db.commit()
    enter(client, world, world.loc_a, world.clerk_a)
    assert client.get(f"/isp/backup/devices/{device.id}").status_code == 403
    assert 'id="isp-backup"' not in client.get(f"/devices/{device.id}").get_data(as_text=True)
    client = app.test_client()
    enter(client, world, world.loc_a)
    page = f"/isp/backup/devices/{device.id}"
    assert client.get(page).status_code == 200
    assert client.get(f"{page}/versions/999999").status_code == 404
    resp = post(client, f"{page}/access", {"username": "admin", "port": "830", "secret_kind": "password",
                                            "secret": "pw-abcdef", "template": "generic", "confirm_timeout": "60"},
                token_from=page, follow_redirects=True)
    assert resp.status_code == 200
    with in_loc(world.loc_a):
        access = backup.access_of(db, device.id)
        assert access.username == "admin" and "pw-abcdef" not in access.secret_token
    assert "pw-abcdef" not in client.get(page).get_data(as_text=True)


@needs_server
def test_cli_backs_up_a_device(app, db, world, in_loc, switch):  # noqa: ANN001
    from mango_isp.cli import isp

    runner = app.test_cli_runner()
    result = runner.invoke(isp, ["backup", "sw-core", "--location", world.loc_a.code])
    assert result.exit_code == 0, result.output
    assert "stored version 1" in result.output
    result = runner.invoke(isp, ["backup", str(switch.id), "--location", world.loc_a.code])
    assert result.exit_code == 0 and "unchanged" in result.output
    result = runner.invoke(isp, ["backup", "nonexistent", "--location", world.loc_a.code])
    assert result.exit_code != 0 and "no device" in result.output
