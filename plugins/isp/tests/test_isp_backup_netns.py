"""Backup of a Linux router: a text dump of a real network namespace that the test creates and removes
(addresses, routes, tc qdiscs/classes/filters, nftables), a version only on change, and its diff."""

from __future__ import annotations

import shutil
import time
import uuid

import pytest
from netns_helpers import sh, skip_reason

from mango_core.devices.models import Device
from mango_core.testing.factories import make_row
from mango_isp.backup import linux
from mango_isp.backup import service as backup

REASON = skip_reason() or (None if shutil.which("nft") else "needs nft (nftables)")
pytestmark = [pytest.mark.netns, pytest.mark.skipif(REASON is not None, reason=REASON or "")]


@pytest.fixture
def router_ns():  # noqa: ANN201
    name = f"mgbk{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "add", "sub0", "type", "veth", "peer", "name", "sub0p")
        sh("ip", "-n", name, "link", "set", "sub0p", "up")
        sh("ip", "-n", name, "link", "set", "sub0", "up")
        sh("ip", "-n", name, "address", "add", "100.64.0.1/24", "dev", "sub0")
        sh("ip", "-n", name, "route", "add", "198.51.100.0/24", "via", "100.64.0.254")
        sh("tc", "-n", name, "qdisc", "add", "dev", "sub0", "root", "handle", "1:", "htb", "default", "99")
        sh("tc", "-n", name, "class", "add", "dev", "sub0", "parent", "1:", "classid", "1:11", "htb",
           "rate", "100mbit")
        sh("tc", "-n", name, "filter", "add", "dev", "sub0", "parent", "1:", "protocol", "ip", "prio", "1",
           "u32", "match", "ip", "dst", "100.64.0.11/32", "flowid", "1:11")
        sh("ip", "netns", "exec", name, "nft", "add table inet mango; add chain inet mango subscribers "
           "{ type filter hook forward priority 0; }; add rule inet mango subscribers ip saddr 100.64.0.12 drop")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


def test_dump_holds_every_section(router_ns):  # noqa: ANN001
    text = linux.dump(router_ns)
    for part in ("### addresses", "100.64.0.1/24", "198.51.100.0/24 via 100.64.0.254", "### qdiscs sub0",
                 "qdisc htb 1:", "class htb 1:11", "### filters sub0", "flowid 1:11", "table inet mango",
                 "ip saddr 100.64.0.12 drop"):
        assert part in text, part
    time.sleep(2)  # DAD ends, HTB counts packets, lifetimes tick: none of it is configuration
    assert linux.dump(router_ns) == text
    with pytest.raises(linux.LinuxDumpError, match="failed"):
        linux.dump("mgbk-does-not-exist")
    with pytest.raises(linux.LinuxDumpError, match="not a network namespace name"):
        linux.dump("../etc")


def test_router_backup_versions_and_diff(db, world, in_loc, router_ns):  # noqa: ANN001
    with in_loc(world.loc_a):
        router = make_row(db, Device, name="gw-1", sort_name="gw-1", type_code="isp.linux_router",
                          params={"netns": router_ns})
        first = backup.backup_device(db, router.id)
        assert first.source == "linux" and first.version == 1
        assert backup.backup_device(db, router.id) is None
        sh("ip", "-n", router_ns, "address", "add", "100.64.1.1/24", "dev", "sub0")
        sh("ip", "netns", "exec", router_ns, "nft", "add rule inet mango subscribers ip saddr 100.64.0.13 drop")
        second = backup.backup_device(db, router.id)
        assert second.version == 2
        added = [line for line in backup.diff(first, second) if line.startswith("+") and not line.startswith("+++")]
        assert any("100.64.1.1/24" in line for line in added)
        assert any("ip saddr 100.64.0.13 drop" in line for line in added)
        with pytest.raises(backup.BackupError, match="cannot be restored"):
            backup.restore(db, router.id, first.id)
        result = backup.backup_all(db)
        assert (result.stored, result.unchanged, result.failed) == (0, 1, [])
        # a router whose namespace is gone fails with the command's words, the others go on
        make_row(db, Device, name="gw-gone", sort_name="gw-gone", type_code="isp.linux_router",
                 params={"netns": "mgbk-gone"})
        result = backup.backup_all(db)
        assert result.unchanged == 1 and len(result.failed) == 1 and "mgbk-gone" in result.failed[0]
