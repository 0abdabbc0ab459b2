"""Device services: validation of fields, parameters, MAC, GPS and topology; type versioning; code types."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mango_core.devices import service
from mango_core.devices.models import Device
from mango_core.devices.types import DeviceTypeDef, DeviceTypeRegistryError, collect
from mango_core.params import ParamDef, ParamValidationError, validate_values
from mango_core.tenancy import location_scope
from mango_core.tenancy.validators import InvalidValue

SWITCH = "code:example.switch"
PARAMS = [ParamDef("ports", "Ports", "integer", required=True, min=1, max=48),
          ParamDef("band", "Band", "choice", choices=(("5", "5 GHz"), ("60", "60 GHz")))]


def make(db, name="sw1", **data):
    data.setdefault("type_key", SWITCH)
    data.setdefault("params", {"ports": "24"})
    return service.create_device(db, name=name, **data)


# --- fields -------------------------------------------------------------------------------------


def test_create_device_normalises_fields(db, in_a):
    device = make(db, name="  Přepínač Žižkov ", mac="00-1A-2B-3C-4D-5E", management_ip=" 2001:DB8::0:1 ",
                  serial_number=" SN1 ")
    assert device.location_id == in_a.id
    assert device.name == "Přepínač Žižkov" and device.sort_name == "prepinac zizkov"
    assert device.mac == "00:1a:2b:3c:4d:5e" and device.management_ip == "2001:db8::1"
    assert device.serial_number == "SN1" and device.state == "planned"
    assert device.type_code == "example.switch" and device.type_id is None
    assert device.params == {"ports": 24, "uplink_speed": 10000, "poe": False} and device.params_version == 1


@pytest.mark.parametrize(("field", "value"), [
    ("mac", "00:1a:2b:3c:4d"), ("mac", "zz:1a:2b:3c:4d:5e"), ("management_ip", "10.0.0.256"),
    ("management_ip", "fe80::1%eth0"), ("state", "lost"), ("name", "  "),
])
def test_bad_fields_are_refused_on_their_field(db, in_a, field, value):
    with pytest.raises(InvalidValue) as caught:
        make(db, **{field: value})
    assert caught.value.field == field


def test_mac_is_unique_per_location(db, in_a):
    first = make(db, "a", mac="00:1a:2b:3c:4d:5e")
    make(db, "no-mac-1")
    make(db, "no-mac-2")  # several devices without a MAC are fine
    with pytest.raises(InvalidValue) as caught:
        make(db, "b", mac="001A.2B3C.4D5E")
    assert caught.value.field == "mac"
    assert service.update_device(db, first, name="a", mac="001a2b3c4d5e") is False  # its own MAC


def test_same_mac_in_another_location(db, in_loc, world):
    with in_loc(world.loc_b):
        kind = service.create_device_type(db, name="CPE", params=[])
        service.create_device(db, type_key=f"ui:{kind.id}", name="cpe", mac="00:1a:2b:3c:4d:5e")
    with in_loc(world.loc_a):
        assert make(db, "a", mac="00:1a:2b:3c:4d:5e").mac == "00:1a:2b:3c:4d:5e"


# --- parameters ---------------------------------------------------------------------------------


def test_parameters_are_validated_all_at_once(db, in_a):
    with pytest.raises(ParamValidationError) as caught:
        make(db, params={"ports": "0", "poe": "maybe", "colour": "red"})
    assert set(caught.value.errors) == {"ports", "poe", "colour"}
    assert make(db, "defaults", params={}).params["ports"] == 24  # a missing key gets the default
    with pytest.raises(ParamValidationError) as caught:
        make(db, params={"ports": ""})
    assert set(caught.value.errors) == {"ports"}


def test_device_references_are_resolved_in_the_location(db, in_loc, world):
    with in_loc(world.loc_a):
        kind = service.create_device_type(db, name="CPE", params=[ParamDef("ap", "AP", "device")])
        ap = make(db, "ap")
        cpe = service.create_device(db, type_key=f"ui:{kind.id}", name="cpe", params={"ap": str(ap.id)})
        assert cpe.params == {"ap": ap.id}
        resolvers = service.param_resolvers(db)
        assert resolvers["device"](ap.id) and not resolvers["device"](ap.id + 1000)
        with pytest.raises(ParamValidationError):
            service.create_device(db, type_key=f"ui:{kind.id}", name="cpe2", params={"ap": str(ap.id + 1000)})
    with in_loc(world.loc_a2):
        assert not service.param_resolvers(db)["device"](ap.id)  # same partner, other location
        with pytest.raises(ParamValidationError):
            validate_values([ParamDef("ap", "AP", "device")], {"ap": ap.id}, resolvers=service.param_resolvers(db))


# --- sites and GPS ------------------------------------------------------------------------------


def test_site_coordinates(db, in_a):
    site = service.create_site(db, name="Stožár", latitude="50,0755", longitude=" 14.4378 ")
    assert (site.latitude, site.longitude) == (50.0755, 14.4378)
    assert service.update_site(db, site, name="Stožár", latitude="", longitude="") is True
    assert site.latitude is None and site.longitude is None


@pytest.mark.parametrize(("lat", "lon", "field"), [
    ("90.1", "14", "latitude"), ("-91", "14", "latitude"), ("50", "180.5", "longitude"), ("50", "-181", "longitude"),
    ("50", "", "longitude"), ("", "14", "latitude"), ("north", "14", "latitude"), ("50", "1e3", "longitude"),
    ("nan", "14", "latitude"),
])
def test_bad_coordinates_are_refused(db, in_a, lat, lon, field):
    with pytest.raises(InvalidValue) as caught:
        service.create_site(db, name="X", latitude=lat, longitude=lon)
    assert caught.value.field == field


def test_site_names_are_unique_and_used_sites_stay(db, in_a):
    site = service.create_site(db, name="DC")
    with pytest.raises(InvalidValue):
        service.create_site(db, name="dc")
    make(db, site_id=site.id)
    with pytest.raises(service.InUse):
        service.delete_site(db, site)


def test_site_of_another_location_is_refused(db, in_loc, world):
    with in_loc(world.loc_a2):
        far = service.create_site(db, name="Kladno")
    with in_loc(world.loc_a), pytest.raises(InvalidValue) as caught:
        make(db, site_id=far.id)
    assert caught.value.field == "site_id"


# --- topology -----------------------------------------------------------------------------------


def test_uplinks_form_no_cycles(db, in_a):
    core = make(db, "core")
    dist = make(db, "dist", parent_id=core.id)
    access = make(db, "access", parent_id=dist.id)
    assert service.uplink_chain(access) == [dist, core]
    assert service.children_of(db, core) == [dist]
    for new_parent in (core.id, dist.id, access.id):
        with pytest.raises(InvalidValue) as caught:
            service.update_device(db, core, name="core", parent_id=new_parent)
        assert caught.value.field == "parent_id"
    with pytest.raises(service.InUse):
        service.delete_device(db, core)
    service.update_device(db, access, name="access", parent_id=core.id)
    assert access.parent_id == core.id


def test_uplink_in_another_location_is_refused(db, in_loc, world):
    with in_loc(world.loc_a2):
        kind = service.create_device_type(db, name="Router")
        router = service.create_device(db, type_key=f"ui:{kind.id}", name="r")
    with in_loc(world.loc_a), pytest.raises(InvalidValue) as caught:
        make(db, parent_id=router.id)
    assert caught.value.field == "parent_id"


def test_find_device_ref(db, in_a):
    one = make(db, "Věž Kladno")
    make(db, "twin")
    make(db, "Twin")
    assert service.find_device_ref(db, str(one.id)) == one.id
    assert service.find_device_ref(db, "vez kladno") == one.id
    assert service.find_device_ref(db, "") is None
    for text in ("nothing", "twin"):
        with pytest.raises(InvalidValue):
            service.find_device_ref(db, text)


# --- UI-defined types and versions --------------------------------------------------------------


def test_ui_type_versions_keep_existing_values(db, in_a):
    kind = service.create_device_type(db, name="AP", params=PARAMS)
    key = f"ui:{kind.id}"
    ok = service.create_device(db, type_key=key, name="ok", params={"ports": "8", "band": "5"})
    bad = service.create_device(db, type_key=key, name="bad", params={"ports": "40", "band": "60"})
    assert bad.params_version == 1
    assert service.save_type_definitions(db, kind, PARAMS).version == 1  # nothing changed
    new = service.save_type_definitions(db, kind, [
        ParamDef("ports", "Ports", "integer", required=True, min=1, max=24),
        ParamDef("band", "Band", "choice", choices=(("5", "5 GHz"),)),
        ParamDef("ssid", "SSID", "text", required=True),
    ])
    assert new.version == 2 and kind.version == 2
    db.expire_all()
    assert bad.params == {"ports": 40, "band": "60"} and bad.params_version == 1  # kept as entered
    assert set(service.invalid_params(db, bad)) == {"ports", "band", "ssid"}
    assert set(service.invalid_params(db, ok)) == {"ssid"}
    assert [d.name for d, _errors in service.devices_needing_attention(db, kind)] == ["bad", "ok"]
    old = service.stored_definitions(db, bad)
    assert old.version == 1 and old.get("band").choices == (("5", "5 GHz"), ("60", "60 GHz"))
    with pytest.raises(ParamValidationError):
        service.update_device(db, ok, name="ok", params={"ports": "8", "band": "5"})
    service.update_device(db, ok, name="ok", params={"ports": "8", "band": "5", "ssid": "alfa"})
    assert ok.params_version == 2 and service.invalid_params(db, ok) == {}


def test_ui_types_are_shared_by_the_partner_and_deleted_only_unused(db, in_loc, world):
    with in_loc(world.loc_a):
        kind = service.create_device_type(db, name="Router")
        with pytest.raises(InvalidValue):
            service.create_device_type(db, name="router")
    with in_loc(world.loc_a2):
        assert [t.name for t in service.list_ui_types(db)] == ["Router"]
        service.create_device(db, type_key=f"ui:{kind.id}", name="r")
    with in_loc(world.loc_b):
        assert service.list_ui_types(db) == []
        with pytest.raises(service.NotFound):
            service.resolve_type(db, f"ui:{kind.id}")
    with in_loc(world.loc_a):
        with pytest.raises(service.InUse):  # used in Kladno, not here
            service.delete_device_type(db, kind)


# --- code-defined types -------------------------------------------------------------------------


def test_code_types_come_from_enabled_plugins(db, in_loc, world, mango):
    with in_loc(world.loc_a):
        infos = {t.key: t for t in service.code_types()}
        switch = infos[SWITCH]
        assert switch.label == "Example switch" and switch.plugin == "example" and switch.code_defined
        assert switch.definitions.keys() == ["ports", "uplink_speed", "poe"]
    with in_loc(world.loc_a2):  # the example module is not enabled there
        assert SWITCH not in {t.key for t in service.available_types(db)}
        with pytest.raises(service.NotFound):
            make(db)
        assert SWITCH in {t.key for t in service.code_types(only_active=False)}


def test_code_type_codes_are_checked():
    class Plugin:
        name = "example"

    class FakeManager:
        def __init__(self, items):
            self.items = items

        def contributed_list(self, _hook):
            return [(Plugin, item) for item in self.items]

    good = DeviceTypeDef("example.router", "Router", [ParamDef("a", "A", "text")])
    assert collect(FakeManager([good]))["example.router"][1].params.version == 1
    for items in ([DeviceTypeDef("other.router", "R")], [DeviceTypeDef("example.Router", "R")], [good, good],
                  ["example.router"]):
        with pytest.raises(DeviceTypeRegistryError):
            collect(FakeManager(items))


def test_unknown_type_keys(db, in_a):
    for key in ("", "code:nothing.here", "ui:999999", "ui:x", "switch", None):
        with pytest.raises(service.NotFound):
            service.resolve_type(db, key)


def test_devices_of_other_locations_are_invisible(db, in_loc, world):
    with in_loc(world.loc_a):
        device = make(db)
    with in_loc(world.loc_b), pytest.raises(service.NotFound):
        service.get_device(db, device.id)
    with location_scope(world.loc_a2.id):
        assert db.scalars(select(Device)).all() == []
