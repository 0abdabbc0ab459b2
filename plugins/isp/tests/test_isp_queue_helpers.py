"""Shared set-up of the provisioning queue tests (no tests here): a speed-parametrised internet class, a Linux
router device with an interface, and services depending on it with an address from a pool."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mango_core.catalog import service as catalog
from mango_core.customers import service as customers
from mango_core.devices import service as devices
from mango_core.params import ParamDef
from mango_core.services import service as services
from mango_isp.ipam import assignments as asg
from mango_isp.ipam import prefixes as px
from mango_isp.topology import service as topology

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def speed_product(db, unit: str = "Mbit/s", defaults: dict | None = None) -> int:  # noqa: ANN001
    cls = catalog.create_class(db, name=f"Internet {unit}", kind="internet", params=[
        ParamDef("download", "Download", "integer", min=1, max=10_000_000, unit=unit),
        ParamDef("upload", "Upload", "integer", min=1, max=10_000_000, unit=unit),
    ])
    from mango_core.tenancy.context import scope_or_none

    scope = scope_or_none()
    product = catalog.create_product(db, class_id=cls.id, name=f"Net {unit}", code=f"N{len(unit)}{cls.id}",
                                     price="400.00", valid_from=date(2020, 1, 1),
                                     location_ids=[scope.write_location_id],
                                     defaults=defaults if defaults is not None else {"download": 100, "upload": 20})
    return product.id


def router(db, *, netns: str = "", name: str = "r1", gateway4: str = "", gateway6: str = "",  # noqa: ANN001
           interfaces: str = "sub0"):  # noqa: ANN201
    """A Linux router device with its first interface, and (once) the address space behind routers."""
    if not px.list_prefixes(db):
        px.create_prefix(db, prefix="100.64.0.0/16", kind="cgnat")
        px.create_prefix(db, prefix="2001:db8:64::/48", kind="public")
    device = devices.create_device(db, type_key="code:isp.linux_router", name=name,
                                   params={"netns": netns, "interfaces": interfaces, "gateway4": gateway4,
                                           "gateway6": gateway6})
    interface = topology.add_interface(db, device, name=interfaces.split(",")[0])
    return device, interface


def service_on(db, product_id: int, device, interface, *, activate: bool = True, address: str | None = None,  # noqa: ANN001, ANN201
               pool=None, mac: str | None = None, last_name: str = "Novák"):  # noqa: ANN001
    customer = customers.create_customer(db, kind="person", first_name="Jan", last_name=last_name)
    service = services.create_service(db, customer_id=customer.id, product_id=product_id,
                                      start_date=date(2024, 1, 1), activate=False)
    topology.depend(db, service, device, interface=interface)
    if address:
        asg.assign(db, service, address, valid_from=T0)
    elif pool is not None:
        asg.allocate(db, service, pool, valid_from=T0)
    if mac:
        asg.bind_mac(db, service, mac, valid_from=T0)
    if activate:
        from mango_core.services import lifecycle

        lifecycle.activate(db, service, effective=date(2024, 1, 1))
    db.flush()
    return service


def pool(db, prefix: str = "100.64.0.0/24", gateway: str | None = "100.64.0.1"):  # noqa: ANN001, ANN201
    return px.create_prefix(db, prefix=prefix, kind="cgnat", is_pool=True, unit_prefixlen=32, gateway=gateway)
