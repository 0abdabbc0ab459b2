"""The NETCONF driver against a real NETCONF-over-SSH server (yuma123 netconfd behind sshd on loopback):
candidate, validate, confirmed commit and the rollback on failure; the sandboxed device templates."""

from __future__ import annotations

import os
import time

import pytest

from mango_isp.backup import netconf, render
from mango_isp.backup.testserver import NetconfServer, missing

REASON = missing()
# in CI (CI=true, .ci/run installs netconfd and openssh-server) a missing server fails instead of skipping
needs_server = pytest.mark.skipif(REASON is not None and not os.environ.get("CI"), reason=REASON or "")

NS = "urn:mango:params:xml:ns:yang:mango-generic-device"


def device_xml(body: str, attrs: str = "") -> str:
    return (f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><device xmlns="{NS}" '
            f'xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" {attrs}>{body}</device></config>')


@pytest.fixture
def server():  # noqa: ANN201
    with NetconfServer() as running:
        yield running


def target(server, **kw) -> netconf.Target:  # noqa: ANN001
    values = {"name": "core-r1", "host": "127.0.0.1", "port": server.port, "username": server.username,
              "secret": server.private_key, "secret_kind": "key", "host_key": server.host_key, "timeout": 20}
    return netconf.Target(**{**values, **kw})


@needs_server
def test_commit_changes_running_through_the_candidate(server):  # noqa: ANN001
    t = target(server, confirm_timeout=2)
    assert "<hostname>" not in netconf.get_config(t)
    netconf.apply(t, device_xml("<hostname>core-r1</hostname><vlan><id>10</id><name>mgmt</name></vlan>"
                                "<interface><name>eth0</name><vlan>10</vlan></interface>"))
    running = netconf.get_config(t)
    assert "<hostname>core-r1</hostname>" in running and "<name>mgmt</name>" in running
    assert netconf.get_config(t, "candidate") == running
    # the commit was confirmed: after the confirm timeout the change is still there
    time.sleep(3)
    assert netconf.get_config(t) == running


@needs_server
@pytest.mark.parametrize(("body", "step", "words"), [
    # a leafref to a VLAN that does not exist: the device's validate refuses it
    ("<hostname>x</hostname><interface><name>eth1</name><vlan>99</vlan></interface>", "validate",
     "required value instance not found"),
    # out of the YANG range
    ("<hostname>x</hostname><vlan><id>5000</id></vlan>", "validate", "5000"),
])
def test_invalid_config_is_refused_and_running_stays(server, body, step, words):  # noqa: ANN001
    t = target(server)
    netconf.apply(t, device_xml("<hostname>before</hostname>"))
    before = netconf.get_config(t)
    with pytest.raises(netconf.NetconfError) as caught:
        netconf.apply(t, device_xml(body))
    err = caught.value
    assert err.device == "core-r1" and err.step == step and err.rolled_back
    assert words in str(err) and "core-r1" in str(err)
    assert server.private_key.splitlines()[1] not in str(err)
    assert netconf.get_config(t) == before
    assert netconf.get_config(t, "candidate") == before


@needs_server
def test_edit_config_error_discards_the_candidate(server):  # noqa: ANN001
    """Valid data, but ``create`` of what exists: the edit-config fails, nothing is left in the candidate."""
    t = target(server)
    netconf.apply(t, device_xml("<hostname>before</hostname>"))
    before = netconf.get_config(t)
    with pytest.raises(netconf.NetconfError) as caught:
        netconf.apply(t, device_xml("<hostname>after</hostname>", 'nc:operation="create"'))
    assert caught.value.step == "edit-config" and caught.value.rolled_back
    assert "data-exists" in caught.value.detail
    assert netconf.get_config(t) == before == netconf.get_config(t, "candidate")
    # the lock was released: the next change goes through
    netconf.apply(t, device_xml("<hostname>after</hostname>"))
    assert "<hostname>after</hostname>" in netconf.get_config(t)


@needs_server
def test_replace_makes_a_backup_the_whole_configuration(server):  # noqa: ANN001
    t = target(server)
    netconf.apply(t, device_xml("<hostname>one</hostname><vlan><id>10</id></vlan>"))
    saved = netconf.get_config(t)
    netconf.apply(t, device_xml("<hostname>two</hostname><vlan><id>20</id></vlan>"))
    assert "<id>20</id>" in netconf.get_config(t) and "<id>10</id>" in netconf.get_config(t)  # merged
    netconf.replace(t, saved)
    assert netconf.get_config(t) == saved


@needs_server
def test_wrong_key_or_host_key_is_a_clear_error_without_secrets(server):  # noqa: ANN001
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                       serialization.NoEncryption()).decode()
    with pytest.raises(netconf.NetconfError) as caught:
        netconf.get_config(target(server, secret=other))
    assert caught.value.step == "login" and "core-r1" in str(caught.value)
    assert other.splitlines()[1] not in str(caught.value) and other.splitlines()[1] not in repr(caught.value.args)
    with pytest.raises(netconf.NetconfError) as caught:
        netconf.get_config(target(server, secret="hunter2-secret", secret_kind="password"))
    assert "hunter2-secret" not in str(caught.value)
    wrong_host = "AAAAC3NzaC1lZDI1NTE5AAAAIDrRcYHcXEV7E2wFuq6M4rU1mNDw0z8u7m1qDWKG9cyX"
    with pytest.raises(netconf.NetconfError) as caught:
        netconf.get_config(target(server, host_key=wrong_host))
    assert caught.value.step == "connect"
    assert "hunter2" not in repr(target(server, secret="hunter2"))


def test_unreachable_device():
    t = netconf.Target(name="gone", host="127.0.0.1", port=1, username="u", secret="pw-secret", timeout=3)
    with pytest.raises(netconf.NetconfError) as caught:
        netconf.get_config(t)
    assert caught.value.step == "connect" and "gone" in str(caught.value) and "pw-secret" not in str(caught.value)


class _Dev:
    def __init__(self, name: str, params: dict) -> None:
        self.name, self.params, self.type_code, self.management_ip = name, params, "isp.switch", "192.0.2.1"


class _If:
    def __init__(self, name: str, description: str = "") -> None:
        self.name, self.description = name, description


def test_generic_template_escapes_values_and_refuses_unknown_names():
    context = render.device_context(_Dev("Core <R1> & co", {"vlans": "10 mgmt, 20 zákazníci"}),
                                    [_If("eth0", 'uplink "<ISP>"')],
                                    subscribers=[{"name": "s1", "addresses": ["100.64.0.11/32"], "blocked": True,
                                                  "download_kbit": 100000, "upload_kbit": 20000}])
    text = render.render("generic", context)
    assert "<hostname>Core-R1-co</hostname>" in text
    assert "<description>uplink &#34;&lt;ISP&gt;&#34;</description>" in text
    assert "<name>zákazníci</name>" in text and "<blocked>true</blocked>" in text
    assert "<download-kbit>100000</download-kbit>" in text
    from lxml import etree

    assert etree.fromstring(text.encode()) is not None  # well-formed
    with pytest.raises(render.RenderError, match="no device template"):
        render.render("../generic", context)
    with pytest.raises(render.RenderError, match="no device template"):
        render.render("nonexistent", context)
    with pytest.raises(render.RenderError, match="VLAN"):
        render.device_context(_Dev("r", {"vlans": "10 ok, 5000 bad"}))
    with pytest.raises(render.RenderError, match="cannot render"):
        render.render("generic", {"hostname": "x"})  # undefined names are refused


def test_templates_run_in_the_sandbox():
    from jinja2.exceptions import SecurityError

    tpl = render._env.from_string("{{ hostname.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(SecurityError):
        tpl.render(hostname="x")
    assert render.template_names()[0] == "generic"
    assert render.template_for("isp.switch", None) == "generic"


@needs_server
def test_rendered_generic_config_commits_on_the_device(server):  # noqa: ANN001
    context = render.device_context(_Dev("ap-1", {"vlans": "10 mgmt, 20 customers"}),
                                    [_If("eth0", "uplink"), _If("wlan0")],
                                    subscribers=[{"name": "cust-7", "addresses": ["100.64.0.7/32"], "blocked": False,
                                                  "download_kbit": 50000, "upload_kbit": 10000}])
    t = target(server)
    netconf.apply(t, render.render("generic", context))
    running = netconf.get_config(t)
    for part in ("<hostname>ap-1</hostname>", "<name>customers</name>", "<name>wlan0</name>",
                 "<address>100.64.0.7/32</address>", "<download-kbit>50000</download-kbit>"):
        assert part in running
    # a second render without a subscriber removes it: Mango owns the <device> subtree (replace)
    context["subscribers"] = []
    netconf.apply(t, render.render("generic", context))
    assert "cust-7" not in netconf.get_config(t)


def test_drift_ignores_order_attributes_and_other_subtrees():
    from lxml import etree

    wanted = device_xml("<hostname>a</hostname><subscriber><name>s1</name><address>10.0.0.1/32</address>"
                        "<address>10.0.0.2/32</address></subscriber><subscriber><name>s2</name></subscriber>",
                        'nc:operation="replace"')

    def data(body: str) -> etree._Element:
        return etree.fromstring(f'<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</data>'.encode())

    same = (f'<device xmlns="{NS}"><subscriber><name>s2</name></subscriber><hostname>a</hostname>'
            "<subscriber><name>s1</name><address>10.0.0.2/32</address><address>10.0.0.1/32</address></subscriber>"
            '</device><other xmlns="urn:x">kept</other>')
    assert netconf.drift(wanted, data(same)) == 0
    changed = same.replace("<name>s2</name>", "<name>s3</name>")
    assert netconf.drift(wanted, data(changed)) == 2  # s2 missing, s3 extra
    assert netconf.drift(wanted, data('<other xmlns="urn:x"/>')) == 4  # <device> and its three children
