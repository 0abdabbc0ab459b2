"""The provisioning queue and the configuration backup pages in a real browser against a real `mango
serve`, with a NETCONF device served by a real NETCONF-over-SSH server (netconfd behind sshd): a
device's tasks, "retry now" and the worker's outcome, the customer's Provisioning tab; the versions
list, the diff of two versions and a restore after its confirmation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from mango_core.app import create_app
from mango_core.config import load_settings
from mango_core.devices.models import Device
from mango_core.services.models import ACTIVE, Service
from mango_core.tenancy import location_scope, operator_scope
from mango_core.tenancy.models import Location
from mango_core.testing import live
from mango_core.testing.browser import log_in
from mango_core.testing.factories import make_row
from mango_core.testing.fixtures import CHROMIUM
from mango_isp.backup import netconf
from mango_isp.backup import service as backup
from mango_isp.backup.testserver import NetconfServer, missing
from mango_isp.ipam import assignments as asg
from mango_isp.ipam import prefixes as px
from mango_isp.queue import worker
from mango_isp.queue.models import ProvisionTask
from mango_isp.topology import service as topology

pytestmark = pytest.mark.browser

REASON = missing()
KEY = Fernet.generate_key().decode()


class Site:
    """The live server, the NETCONF server and a way to work the queue like the scheduler does."""

    def __init__(self, base: str, url: str, instance: Path, plugins: list[str], nc: NetconfServer) -> None:
        self.base, self.nc = base, nc
        self.app = create_app(settings=load_settings({"database_url": url, "plugins": plugins}, instance_path=instance))
        self.mango = self.app.extensions["mango"]
        self.ids: dict[str, int] = {}

    def session(self):  # noqa: ANN201
        return self.mango.db.session()

    def in_prg(self):  # noqa: ANN201
        return location_scope(self.ids["prg"])

    def run_queue(self) -> worker.WorkerResult:
        with self.app.app_context(), self.session() as session, self.in_prg():
            return worker.run_queue(session)

    def running(self) -> str:
        target = netconf.Target(name="olt-b", host="127.0.0.1", port=self.nc.port, username=self.nc.username,
                                secret=self.nc.private_key, secret_kind="key", host_key=self.nc.host_key)
        return netconf.get_config(target)


def _data(site: Site) -> None:
    """In PRG: a NETCONF device serving two demo services, whose first push was refused (a VLAN the
    template cannot render), then fixed and pushed by hand; two stored versions of its configuration."""
    nc = site.nc
    with site.app.app_context(), site.session() as session:
        with operator_scope():
            site.ids["prg"] = session.scalar(select(Location).where(Location.code == "PRG")).id
        with site.in_prg():
            px.create_prefix(session, prefix="100.64.0.0/16", kind="cgnat")
            olt = make_row(session, Device, name="olt-b", sort_name="olt-b", management_ip="127.0.0.1",
                           params={"vlans": "5000 broken"})
            port = topology.add_interface(session, olt, name="pon0")
            backup.set_access(session, olt.id, username=nc.username, secret=nc.private_key, secret_kind="key",
                              port=nc.port, host_key=nc.host_key, provision=True)
            first = backup.backup_device(session, olt.id)
            served = list(session.scalars(select(Service).where(Service.state == ACTIVE).order_by(Service.id).limit(2)))
            for number, service in enumerate(served, start=21):
                topology.depend(session, service, olt, interface=port)
                asg.assign(session, service, f"100.64.0.{number}", valid_from=datetime(2025, 1, 1, tzinfo=UTC))
            session.commit()
            result = worker.run_queue(session)
            assert result.failed == 2, str(result)  # the template refuses VLAN 5000: failed for good
            olt.params = {"vlans": "10 mgmt"}
            backup.push(session, olt.id)
            second = backup.backup_device(session, olt.id)
            session.commit()
            site.ids.update(olt=olt.id, v1=first.id, v2=second.id, service=served[0].id,
                            customer=served[0].customer_id, other=served[1].id)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mango_test_plugins: list[str]) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    if REASON is not None and not os.environ.get("CI"):
        pytest.skip(REASON)
    instance = tmp_path_factory.mktemp("provisioning-live")
    # the server and this process decrypt the device's key with the same Fernet key
    (instance / "mango.toml").write_text(f'[plugin_settings.isp]\nsecret_keys = ["{KEY}"]\n')
    url, drop = live.server_database(instance, "provisioning")
    try:
        with NetconfServer() as nc:
            live.prepare(url, instance, mango_test_plugins)
            port = live.free_port()
            running = Site(f"http://127.0.0.1:{port}", url, instance, mango_test_plugins, nc)
            try:
                _data(running)
                proc = live.start([live.venv_bin("mango"), "serve", "--port", str(port)],
                                  live.server_env(url, instance, mango_test_plugins), port, instance / "server.log")
                try:
                    yield running
                finally:
                    live.stop(proc)
            finally:
                running.mango.db.dispose()
    finally:
        drop()


@pytest.fixture
def page(site, chromium):  # noqa: ANN001, ANN201
    ctx = chromium.new_context(base_url=site.base, viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(90_000)
    ctx.set_default_navigation_timeout(90_000)
    tab = ctx.new_page()
    tab.problems = []
    tab.on("pageerror", lambda exc: tab.problems.append(str(exc)))
    log_in(tab, "admin@alfa.test")
    if tab.eval_on_selector("#location_id", "s => s.options[s.selectedIndex].text") != "PRG – Praha":
        with tab.expect_navigation():
            tab.select_option("#location_id", label="PRG – Praha")
        tab.wait_for_load_state("load")
    yield tab
    ctx.close()


def _state(page, task_id: int) -> str:  # noqa: ANN001
    return page.get_attribute(f"tr[data-task='{task_id}']", "data-state")


def test_queue_page_retry_and_the_customers_tab(site, page):  # noqa: ANN001
    with site.app.app_context(), site.session() as session, site.in_prg():
        task_id = session.scalar(select(ProvisionTask.id).where(ProvisionTask.service_id == site.ids["service"],
                                                                ProvisionTask.router_id == site.ids["olt"]))
    page.goto(f"/devices/{site.ids['olt']}")
    with page.expect_navigation():
        page.click("#provisioning-link")  # the device card's section leads to the device's tasks
    assert page.url.endswith(f"/isp/provisioning/routers/{site.ids['olt']}")
    assert page.locator("#router-netconf").is_visible()
    assert page.locator("tr[data-state='failed']").count() == 2
    row = page.locator(f"tr[data-task='{task_id}']")
    assert "5000" in row.inner_text() and "selhala" in row.inner_text()  # the render error, in Czech UI
    with page.expect_navigation():
        row.locator("button", has_text="Opakovat hned").click()
    assert "Úloha je ve frontě" in page.locator(".alert-success").inner_text()
    assert _state(page, task_id) == "queued"
    assert page.locator(f"tr[data-task='{task_id}'] button").count() == 1  # still waiting: can be retried

    result = site.run_queue()  # the scheduler's next pass
    assert result.done == 1, str(result)
    page.reload()
    assert _state(page, task_id) == "done"
    assert page.locator(f"tr[data-task='{task_id}'] button").count() == 0
    assert f"service-{site.ids['service']}" in site.running()

    page.goto(f"/customers/{site.ids['customer']}?tab=isp_provisioning")
    card = page.locator("#isp-provisioning-card")
    card.wait_for()
    assert card.locator(f"tr[data-task='{task_id}']").get_attribute("data-state") == "done"
    assert card.locator(f"tr[data-task='{task_id}'] a", has_text="olt-b").get_attribute("href") \
        == f"/isp/provisioning/routers/{site.ids['olt']}"
    assert page.problems == []


def test_versions_diff_and_restore_with_confirmation(site, page):  # noqa: ANN001
    page.goto(f"/isp/backup/devices/{site.ids['olt']}")
    assert page.locator("#backup-versions tbody tr[data-version]").count() == 2
    assert page.locator("#netconf-provisioned").is_visible() and page.is_checked("#nc-provision")
    # the newest two are preselected: v1 → v2
    with page.expect_navigation():
        page.click("#diff-submit")
    diff = page.locator("#config-diff").inner_text()
    assert "--- v1" in diff and "+++ v2" in diff
    assert "+  <hostname>olt-b</hostname>" in diff and f"<name>service-{site.ids['service']}</name>" in diff
    assert page.locator("#config-diff .text-success").count() > 5

    page.goto(f"/isp/backup/devices/{site.ids['olt']}")
    with page.expect_navigation():
        page.locator("tr[data-version='1'] a", has_text="Obnovit").click()
    # the confirmation shows what the restore takes away, and changes nothing yet
    assert "-  <hostname>olt-b</hostname>" in page.locator("#config-diff").inner_text()
    assert "<hostname>olt-b</hostname>" in site.running()
    with page.expect_navigation():
        page.click("#restore-confirm")
    assert "Verze 1" in page.locator(".alert-success").inner_text()
    assert page.locator("#backup-versions tbody tr[data-version]").count() == 3
    assert "po obnovení" in page.locator("tr[data-version='3']").inner_text()
    assert "<hostname>" not in site.running()
    assert page.problems == []
