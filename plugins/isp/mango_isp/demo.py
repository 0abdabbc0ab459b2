"""The ISP plugin's demo data (``mango demo`` through ``mango_demo``): a small network that works.

Per location: a public IPv4 range (documentation addresses), a pool of static public addresses,
a CGNAT pool (auto-assigned on activation) with its deterministic mapping, a management range,
an IPv6 /48 with a pool of /56 delegations; the demo's Internet class becomes of kind
``internet``; active internet services get a CGNAT address and a /56 (every tenth a static
public address instead), terminated ones their past addresses (history for "who had X at T");
interfaces and links along the core demo network's uplinks, with access points serving some
services; a main warehouse and a technician's van with routers, ONTs, set-top boxes and spare
parts, a few routers installed at customers (registered as network devices, their MAC bound),
one with the technician, one written off.

Everything goes through the plugin's services. Deterministic (ordered by id and code, fixed
serial numbers and MACs) and idempotent: each part looks for what it would make first
(prefixes by address, classes by kind, assignments by service, interfaces by device, warehouses
and articles by code, the delivery by its reference), so a second ``mango demo`` changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.auth.models import User
from mango_core.catalog import service as catalog
from mango_core.catalog.models import ServiceClass
from mango_core.devices.models import Device, DeviceType, Site
from mango_core.services.models import ACTIVE, BLOCKED, TERMINATED, Service
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import Location
from mango_isp.ipam import addresses as ad
from mango_isp.ipam import assignments, nat
from mango_isp.ipam import prefixes as px
from mango_isp.ipam.models import DEMO, Assignment, Prefix
from mango_isp.lifecycle import INTERNET
from mango_isp.stock import service as stock
from mango_isp.stock.models import RECEIVED, StockMovement
from mango_isp.topology import service as topology
from mango_isp.topology.models import Interface, ServiceDependency

log = logging.getLogger(__name__)

# location code -> (number, public /24, management /16)
NETWORKS = {
    "PRAHA": (1, "192.0.2.0/24", "10.10.0.0/16"),
    "KLADNO": (2, "198.51.100.0/24", "10.30.0.0/16"),
    "BRNO": (3, "203.0.113.0/24", "10.50.0.0/16"),
}
CGNAT_PORTS = (1024, 65535, 2016)  # 32 blocks per public address: a /26 serves a /22
STATIC_EVERY = 10  # every tenth internet service has a static public address instead of CGNAT
DELIVERY = "DL-DEMO-0001"
WAREHOUSES = (("HLAVNI", "Hlavní sklad"), ("VUZ1", "Servisní vůz 1"))
# code, name, category, serialised, (serial prefix, pieces) or quantity
ARTICLES = (
    ("RB-HAPAX2", "MikroTik hAP ax²", "router", True, ("HAX", 8)),
    ("ONT-HG8010", "Huawei EchoLife HG8010H", "ont", True, ("ONT", 4)),
    ("STB-KAON", "Kaon KSTB6077", "stb", True, ("STB", 3)),
    ("CAT6-20", "Patch kabel Cat6 20 m", "spare", False, 50),
    ("POE-24", "PoE injektor 24 V", "spare", False, 20),
    ("SFP-LX", "SFP modul 1G LX", "spare", False, 10),
)
INSTALLED = 3  # routers installed at customers


@dataclass
class DemoSummary:
    prefixes: int = 0
    cgnat: int = 0
    classes: int = 0
    assignments: int = 0
    interfaces: int = 0
    links: int = 0
    dependencies: int = 0
    items: int = 0
    movements: int = 0


def load(session: Session, locations: list[Location]) -> DemoSummary:
    """The ISP demo data in ``locations`` (see the module doc); commits per location."""
    summary = DemoSummary()
    for location in sorted(locations, key=lambda loc: loc.code):
        if location.code not in NETWORKS:
            continue
        with location_scope(location.id):
            load_prefixes(session, location.code, summary)
            load_classes(session, summary)
            load_assignments(session, location, summary)
            load_topology(session, summary)
            load_stock(session, location, summary)
            session.commit()
        log.info("isp demo data of %s loaded", location.code)
    return summary


# --- addresses -----------------------------------------------------------------------------------


def _plan(code: str) -> list[dict]:
    n, public, management = NETWORKS[code]
    base = public.rsplit(".", 1)[0]
    cgnat = f"100.64.{(n - 1) * 4}.0/22"
    return [
        {"prefix": public, "kind": "public", "description": "Veřejný rozsah"},
        {"prefix": f"{base}.0/25", "kind": "public", "description": "Veřejné IP zákazníků", "is_pool": True,
         "unit_prefixlen": 32, "gateway": f"{base}.1"},
        {"prefix": f"{base}.192/26", "kind": "public", "description": "CGNAT – veřejné adresy"},
        {"prefix": cgnat, "kind": "cgnat", "description": "Sdílený prostor CGNAT", "is_pool": True,
         "unit_prefixlen": 32, "gateway": cgnat.replace(".0/22", ".1"), "auto_assign": True,
         "quarantine_hours": 24},
        {"prefix": management, "kind": "private", "description": "Správa sítě"},
        {"prefix": f"2001:db8:{n}00::/48", "kind": "public", "description": "IPv6 rozsah"},
        {"prefix": f"2001:db8:{n}00:8000::/49", "kind": "public", "description": "Delegace IPv6 /56",
         "is_pool": True, "unit_prefixlen": 56, "auto_assign": True},
    ]


def _existing(session: Session, text: str) -> Prefix | None:
    network = ad.parse_network(text)
    first, _last = ad.bounds(network)
    return session.scalar(select(Prefix).where(Prefix.family == network.version, Prefix.network == first,
                                               Prefix.prefixlen == network.prefixlen))


def load_prefixes(session: Session, code: str, summary: DemoSummary) -> None:
    site = session.scalar(select(Site).order_by(Site.id).limit(1))
    for spec in _plan(code):
        if _existing(session, spec["prefix"]) is None:
            px.create_prefix(session, site_id=site.id if site else None, **spec)
            summary.prefixes += 1
    _n, public, _management = NETWORKS[code]
    inside = next(p for p in px.list_prefixes(session, family=4) if p.kind == "cgnat")
    if nat.current(session, inside) is None:
        first, last, block = CGNAT_PORTS
        nat.configure(session, inside, public=f"{public.rsplit('.', 1)[0]}.192/26", port_first=first,
                      port_last=last, block_size=block, at=datetime(2020, 1, 1, tzinfo=UTC),
                      note="Deterministický CGNAT, 2016 portů na zákazníka")
        summary.cgnat += 1


def load_classes(session: Session, summary: DemoSummary) -> None:
    """The demo's class "Internet" (made by the core's demo as ``other``) is an internet class."""
    cls = session.scalar(select(ServiceClass).where(ServiceClass.name == "Internet"))
    if cls is not None and cls.kind != INTERNET:
        catalog.update_class(session, cls, name=cls.name, kind=INTERNET, description=cls.description,
                             is_active=cls.is_active)
        summary.classes += 1


def _day_start(session: Session, location: Location, day) -> datetime:  # noqa: ANN001
    return assignments.local_midnight(session, location.id, day)


def load_assignments(session: Session, location: Location, summary: DemoSummary) -> None:
    """Addresses of the internet services that have none (their whole history for ended ones)."""
    internet = session.scalar(select(ServiceClass.id).where(ServiceClass.kind == INTERNET))
    if internet is None:
        return
    pools = {p.description: p for p in px.list_prefixes(session) if p.is_pool}
    static, shared, delegations = (pools["Veřejné IP zákazníků"], pools["Sdílený prostor CGNAT"],
                                   pools["Delegace IPv6 /56"])
    have = set(session.scalars(select(Assignment.service_id).distinct()))
    services = session.scalars(select(Service).where(Service.class_id == internet,
                                                     Service.state.in_((ACTIVE, BLOCKED, TERMINATED)),
                                                     Service.activated_on.is_not(None)).order_by(Service.id))
    for number, service in enumerate(services, start=1):
        if service.id in have:
            continue
        start = _day_start(session, location, service.activated_on)
        end = _day_start(session, location, service.end_date) if service.state == TERMINATED else None
        if end is not None and end <= start:
            continue
        v4 = static if number % STATIC_EVERY == 0 else shared
        for pool in (v4, delegations):
            assignments.allocate(session, service, pool, valid_from=start, valid_to=end, origin=DEMO)
            summary.assignments += 1


# --- topology --------------------------------------------------------------------------------------


def load_topology(session: Session, summary: DemoSummary) -> None:
    """Interfaces and links along the core demo's uplinks; access points serve some internet services."""
    if session.scalar(select(Interface.id).limit(1)) is not None:
        return
    devices = list(session.scalars(select(Device).order_by(Device.id)))
    if not devices:
        return
    access_point_type = session.scalar(select(DeviceType.id).where(DeviceType.name == "Access point"))
    is_ap = {d.id: d.type_id is not None and d.type_id == access_point_type for d in devices}
    ports: dict[int, int] = {}
    uplinks: dict[int, Interface] = {}
    radios: dict[int, Interface] = {}
    for device in devices:
        if device.parent_id is not None:
            radio = is_ap.get(device.parent_id, False)  # a CPE hangs on its access point's radio
            uplinks[device.id] = topology.add_interface(session, device, name="wlan1" if radio else "ether1",
                                                        kind="wireless" if radio else "ethernet",
                                                        speed_mbps=None if radio else 1000)
            summary.interfaces += 1
        if is_ap[device.id]:
            radios[device.id] = topology.add_interface(session, device, name="wlan1", kind="wireless")
            summary.interfaces += 1
    for device in devices:
        parent = device.parent_id
        if parent is None:
            continue
        if is_ap.get(parent):
            upstream, kind = radios[parent], "wireless"
        else:
            ports[parent] = ports.get(parent, 1) + 1
            upstream = topology.add_interface(session, session.get(Device, parent), name=f"ether{ports[parent]}",
                                              kind="sfp" if ports[parent] > 8 else "ethernet", speed_mbps=1000)
            summary.interfaces += 1
            kind = "copper"
        topology.connect(session, upstream, uplinks[device.id], kind=kind)
        summary.links += 1
    aps = [d for d in devices if is_ap[d.id]]
    if not aps or session.scalar(select(ServiceDependency.id).limit(1)) is not None:
        return
    internet = session.scalar(select(ServiceClass.id).where(ServiceClass.kind == INTERNET))
    served = session.scalars(select(Service).where(Service.class_id == internet, Service.state == ACTIVE)
                             .order_by(Service.id).limit(12))
    for index, service in enumerate(served):
        ap = aps[index % len(aps)]
        topology.depend(session, service, ap, interface=radios[ap.id])
        summary.dependencies += 1


# --- stock ---------------------------------------------------------------------------------------


def _mac(location_number: int, article_index: int, piece: int) -> str:
    return f"02:4d:49:{location_number:02x}:{article_index:02x}:{piece:02x}"


def load_stock(session: Session, location: Location, summary: DemoSummary) -> None:
    n = NETWORKS[location.code][0]
    site = session.scalar(select(Site).order_by(Site.id).limit(1))
    houses = {}
    for code, name in WAREHOUSES:
        houses[code] = stock.find_warehouse(session, code) or stock.save_warehouse(
            session, None, code=code, name=name, site_id=site.id if site and code == "HLAVNI" else None)
    articles = {}
    for code, name, category, serialised, _pieces in ARTICLES:
        articles[code] = stock.find_article(session, code) or stock.save_article(
            session, None, code=code, name=name, category=category, serialised=serialised)
    main = houses["HLAVNI"]
    if session.scalar(select(StockMovement.id).where(StockMovement.reference == DELIVERY,
                                                     StockMovement.kind == RECEIVED).limit(1)) is not None:
        return
    received_at = datetime.combine(datetime.now(UTC).date() - timedelta(days=60), time(9, 0), tzinfo=UTC)
    for index, (code, _name, _category, serialised, pieces) in enumerate(ARTICLES, start=1):
        if serialised:
            prefix, count = pieces
            for piece in range(1, count + 1):
                stock.receive(session, main, articles[code], serial_number=f"{prefix}{n}{piece:04d}",
                              mac=_mac(n, index, piece), configured_by_mango=code != "STB-KAON",
                              reference=DELIVERY, at=received_at)
                summary.items += 1
                summary.movements += 1
        else:
            stock.receive(session, main, articles[code], quantity=pieces, reference=DELIVERY, at=received_at)
            summary.movements += 1
    routers = stock.find_items(session, query=f"HAX{n}", warehouse_id=main.id, state="in_stock")
    internet = session.scalar(select(ServiceClass.id).where(ServiceClass.kind == INTERNET))
    customers_services = list(session.scalars(select(Service).where(Service.class_id == internet,
                                                                    Service.state == ACTIVE)
                                              .order_by(Service.id).limit(INSTALLED)))
    installed_at = received_at + timedelta(days=7)
    for item, service in zip(routers, customers_services, strict=False):
        stock.issue_to_customer(session, customer_id=service.customer_id, service_id=service.id, item=item,
                                register_device=True, configured_by_mango=True, note="Instalace u zákazníka",
                                at=installed_at)
        v4 = next((a for a in assignments.assignments_of(session, service.id, with_history=False)
                   if a.family == 4), None)
        assignments.bind_mac(session, service, item.mac, assignment_id=v4.id if v4 else None,
                             valid_from=installed_at)
        summary.movements += 1
    spare = [i for i in routers if i.state == "in_stock"]
    technician = session.scalar(select(User).where(User.email == "technik@alfanet.example"))
    if technician is not None and spare and location.id in _allowed(session, technician):
        stock.issue_to_technician(session, technician_id=technician.id, item=spare[0],
                                  note="Rezerva do auta", at=installed_at)
        stock.issue_to_technician(session, technician_id=technician.id, article=articles["CAT6-20"], quantity=5,
                                  warehouse=main, note="Rezerva do auta", at=installed_at)
        summary.movements += 2
        spare = spare[1:]
    if spare:
        stock.write_off(session, item=spare[-1], note="Poškozen při dopravě", at=installed_at)
        summary.movements += 1
    stock.transfer(session, source=main, target=houses["VUZ1"], article=articles["POE-24"], quantity=4,
                   note="Doplnění vozu", at=installed_at)
    summary.movements += 1


def _allowed(session: Session, user: User) -> list[int]:
    from mango_core.auth.access import allowed_location_ids

    return allowed_location_ids(session, user)


def describe(summary: DemoSummary) -> list[str]:
    out = []
    for label, value in (("prefixes", summary.prefixes), ("CGNAT configurations", summary.cgnat),
                         ("internet classes", summary.classes), ("address assignments", summary.assignments),
                         ("interfaces", summary.interfaces), ("links", summary.links),
                         ("service dependencies", summary.dependencies), ("end devices", summary.items),
                         ("stock movements", summary.movements)):
        if value:
            out.append(f"{value} {label}")
    return out
