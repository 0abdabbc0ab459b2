"""Demo network of a location: sites with GPS, a core router, distribution switches, access
points and customers' CPEs, with the partner's device types (``mango demo``).

Idempotent: a location that has sites already is left alone; device types are matched by name.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.devices import service, types
from mango_core.devices.models import DeviceType, Site
from mango_core.params import ParamDef
from mango_core.tenancy import location_scope

_VENDOR = ParamDef("vendor", "Výrobce", "text", max=60)
_MODEL = ParamDef("model", "Model", "text", max=60)
TYPES = {
    "Router": ("Páteřní a hraniční směrovače", [
        _VENDOR, _MODEL, ParamDef("firmware", "Firmware", "text", max=40),
        ParamDef("loopback", "Loopback", "ipv4"),
        ParamDef("capacity", "Kapacita uplinku", "integer", unit="Mbit/s", min=0),
    ]),
    "Switch": ("Distribuční a přístupové přepínače", [
        _VENDOR, _MODEL, ParamDef("ports", "Počet portů", "integer", required=True, default=24, min=1, max=96),
        ParamDef("poe", "PoE", "boolean"),
    ]),
    "Access point": ("Sektorové antény a přístupové body", [
        _VENDOR, _MODEL,
        ParamDef("band", "Pásmo", "choice", required=True, default="5",
                 choices=(("2.4", "2,4 GHz"), ("5", "5 GHz"), ("60", "60 GHz"))),
        ParamDef("frequency", "Frekvence", "integer", unit="MHz", min=2400, max=71000),
        ParamDef("ssid", "SSID", "text", max=32),
    ]),
    "CPE": ("Koncová zařízení u zákazníků", [
        _VENDOR, _MODEL, ParamDef("signal", "Signál", "integer", unit="dBm", min=-100, max=0),
    ]),
}

# location code -> sites (name, address, lat, lon) and devices
# (name, type, site index, uplink name, ip, serial, params)
NETWORKS = {
    "PRAHA": {
        "sites": [("DC Praha – Sitel", "Konevova 2660/141, Praha 3", 50.0893, 14.4718),
                  ("Stožár Žižkov", "Cimburkova 8, Praha 3", 50.0842, 14.4512),
                  ("Střecha Vinohradská 120", "Vinohradská 120, Praha 3", 50.0768, 14.4566)],
        "devices": [
            ("PRG-CORE-1", "Router", 0, None, "10.10.0.1", "HD0860AB12",
             {"vendor": "MikroTik", "model": "CCR2004-16G-2S+", "firmware": "7.14", "loopback": "10.255.0.1",
              "capacity": "10000"}),
            ("PRG-SW-DC", "Switch", 0, "PRG-CORE-1", "10.10.0.2", "SW7731001",
             {"vendor": "MikroTik", "model": "CRS326-24S+2Q+", "ports": "26"}),
            ("PRG-SW-ZIZKOV", "Switch", 1, "PRG-SW-DC", "10.10.1.2", "SW7731002",
             {"vendor": "MikroTik", "model": "CRS112-8P-4S", "ports": "12", "poe": "yes"}),
            ("PRG-AP-ZIZKOV-S", "Access point", 1, "PRG-SW-ZIZKOV", "10.10.1.10", "UB-E063D1",
             {"vendor": "Ubiquiti", "model": "airMAX Rocket 5AC", "band": "5", "frequency": "5500", "ssid": "alfa-zizkov-s"}),
            ("PRG-AP-ZIZKOV-60", "Access point", 1, "PRG-SW-ZIZKOV", "10.10.1.11", "UB-E063D2",
             {"vendor": "Ubiquiti", "model": "Wave AP", "band": "60", "frequency": "60480", "ssid": "alfa-wave"}),
            ("PRG-SW-VINOHRADSKA", "Switch", 2, "PRG-SW-DC", "10.10.2.2", "SW7731003",
             {"vendor": "TP-Link", "model": "TL-SG3428", "ports": "24"}),
            ("CPE Novák Jan", "CPE", None, "PRG-AP-ZIZKOV-S", "10.20.1.21", "UB-LB5-0001",
             {"vendor": "Ubiquiti", "model": "LiteBeam 5AC Gen2", "signal": "-58"}),
            ("CPE Svobodová Marie", "CPE", None, "PRG-AP-ZIZKOV-S", "10.20.1.22", "UB-LB5-0002",
             {"vendor": "Ubiquiti", "model": "LiteBeam 5AC Gen2", "signal": "-63"}),
            ("CPE Kavárna U Zvonu", "CPE", None, "PRG-AP-ZIZKOV-60", "10.20.1.23", "UB-WN-0003",
             {"vendor": "Ubiquiti", "model": "Wave Nano", "signal": "-49"}),
        ],
    },
    "KLADNO": {
        "sites": [("Věž Kladno-Kročehlavy", "Americká 2290, Kladno", 50.1391, 14.0893),
                  ("Stožár Švermov", "Hlavní 1, Kladno-Švermov", 50.1667, 14.1105)],
        "devices": [
            ("KLA-CORE-1", "Router", 0, None, "10.30.0.1", "HD0860AC77",
             {"vendor": "MikroTik", "model": "CCR2116-12G-4S+", "firmware": "7.14", "loopback": "10.255.1.1",
              "capacity": "10000"}),
            ("KLA-SW-VEZ", "Switch", 0, "KLA-CORE-1", "10.30.0.2", "SW8841001",
             {"vendor": "MikroTik", "model": "CRS310-8G+2S+", "ports": "10", "poe": "yes"}),
            ("KLA-AP-VEZ-N", "Access point", 0, "KLA-SW-VEZ", "10.30.0.10", "CA-5301A",
             {"vendor": "Cambium", "model": "ePMP 3000", "band": "5", "frequency": "5745", "ssid": "alfa-kladno-n"}),
            ("KLA-AP-SVERMOV", "Access point", 1, "KLA-SW-VEZ", "10.30.1.10", "CA-5301B",
             {"vendor": "Cambium", "model": "ePMP 3000L", "band": "5", "frequency": "5180", "ssid": "alfa-svermov"}),
            ("CPE Dvořák Petr", "CPE", None, "KLA-AP-VEZ-N", "10.40.0.21", "CA-F300-0001",
             {"vendor": "Cambium", "model": "Force 300-25", "signal": "-61"}),
            ("CPE Autoservis Kladno", "CPE", None, "KLA-AP-SVERMOV", "10.40.1.22", "CA-F300-0002",
             {"vendor": "Cambium", "model": "Force 300-19", "signal": "-67"}),
        ],
    },
    "BRNO": {
        "sites": [("DC Brno – Kounicova", "Kounicova 688/38, Brno", 49.2087, 16.5990),
                  ("Stožár Lesná", "Haškova 5, Brno-Lesná", 49.2238, 16.6237)],
        "devices": [
            ("BRN-CORE-1", "Router", 0, None, "10.50.0.1", "JN1F2A3B4C",
             {"vendor": "Juniper", "model": "MX204", "firmware": "22.4R3", "loopback": "10.255.2.1",
              "capacity": "40000"}),
            ("BRN-SW-DC", "Switch", 0, "BRN-CORE-1", "10.50.0.2", "JN-EX-0001",
             {"vendor": "Juniper", "model": "EX3400-24T", "ports": "24"}),
            ("BRN-AP-LESNA", "Access point", 1, "BRN-SW-DC", "10.50.1.10", "MT-NRAY-01",
             {"vendor": "MikroTik", "model": "nRAY 60", "band": "60", "frequency": "58320", "ssid": "beta-lesna"}),
            ("CPE Horáková Eva", "CPE", None, "BRN-AP-LESNA", "10.60.1.21", "MT-WAP60-01",
             {"vendor": "MikroTik", "model": "wAP 60G", "signal": "-55"}),
        ],
    },
}


def _mac(index: int, location_code: str) -> str:
    """A stable, locally administered MAC for a demo device."""
    seed = sum(ord(c) for c in location_code) % 256
    return f"02:4d:47:{seed:02x}:{index // 256:02x}:{index % 256:02x}"


def _device_types(session: Session) -> dict[str, str]:
    """The partner's demo device types by name (created when missing): name -> type key."""
    keys = {}
    for name, (description, params) in TYPES.items():
        row = session.scalar(select(DeviceType).where(DeviceType.name == name))
        if row is None:
            row = service.create_device_type(session, name=name, description=description, params=params)
        keys[name] = types.ui_key(row.id)
    return keys


def load_devices(session: Session, location_id: int, location_code: str) -> int:
    """Create the demo network of a location (nothing when it has sites already); the number made."""
    network = NETWORKS.get(location_code)
    if network is None:
        return 0
    with location_scope(location_id):
        if session.scalar(select(Site.id).limit(1)) is not None:
            return 0
        type_keys = _device_types(session)
        sites = [service.create_site(session, name=name, address=address, latitude=lat, longitude=lon)
                 for name, address, lat, lon in network["sites"]]
        made: dict[str, int] = {}
        for index, (name, type_name, site, uplink, ip, serial, params) in enumerate(network["devices"], start=1):
            device = service.create_device(
                session, type_key=type_keys[type_name], params=params, name=name, serial_number=serial,
                mac=_mac(index, location_code), management_ip=ip,
                site_id=sites[site].id if site is not None else None,
                parent_id=made[uplink] if uplink else None, state="active")
            made[name] = device.id
        session.commit()
    return len(made)
