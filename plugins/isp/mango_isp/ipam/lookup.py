"""Who had an address at a time: the question of data retention and of the NetFlow plugin.

``who_had(session, address, at)`` answers from the assignment history, and through CGNAT: a
public address of a CGNAT pool (with a port, exactly one subscriber; without one, everyone who
shared it) is mapped back by the configuration valid at that time. Every lookup is an indexed
``IN`` over the at most 33 (129) prefixes that can hold an address. The answer covers the
locations of the caller's scope (one location in Opcare; the command line may use all).
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mango_core.customers.models import Customer
from mango_core.services.models import Service
from mango_isp.ipam import addresses as ad
from mango_isp.ipam.models import Assignment, CgnatConfig, MacBinding

MAX_SHARING = 4096  # inside addresses looked up per public address without a port


@dataclass(frozen=True)
class NatUse:
    """How a subscriber reached the Internet through CGNAT."""

    public: str
    first_port: int
    last_port: int
    inside: str
    config_id: int


@dataclass(frozen=True)
class Holder:
    """A service (and its customer) that held the address at the time asked about."""

    location_id: int
    service_id: int
    customer_id: int
    customer_number: int
    customer_name: str
    assigned: str
    valid_from: datetime
    valid_to: datetime | None
    assignment_id: int
    nat: NatUse | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["valid_from"] = self.valid_from.isoformat()
        data["valid_to"] = self.valid_to.isoformat() if self.valid_to else None
        return data


def _open_at(model, at: datetime):  # noqa: ANN001, ANN202
    return (model.valid_from <= at) & or_(model.valid_to.is_(None), model.valid_to > at)


def assignments_at(session: Session, address: ad.IPAddress, at: datetime) -> list[Assignment]:
    """Assignments holding ``address`` at ``at`` (one per location, unless the data are wrong)."""
    family, value = address.version, int(address)
    pairs = set(ad.containing_pairs(value, family))
    keys = sorted({k for k, _ in pairs})
    rows = session.scalars(select(Assignment).where(Assignment.family == family, Assignment.network.in_(keys),
                                                    _open_at(Assignment, at)).order_by(Assignment.id))
    return [a for a in rows if (a.network, a.prefixlen) in pairs]


def _many_at(session: Session, inside: list[ipaddress.IPv4Address], at: datetime,
             location_id: int) -> dict[str, Assignment]:
    """Assignments of many inside addresses at once (host assignments or prefixes holding them)."""
    wanted: dict[tuple[str, int], list[str]] = {}
    for address in inside:
        for pair in ad.containing_pairs(int(address), 4):
            wanted.setdefault(pair, []).append(str(address))
    keys = sorted({k for k, _ in wanted})
    found: dict[str, Assignment] = {}
    for start in range(0, len(keys), 500):
        rows = session.scalars(select(Assignment).where(
            Assignment.location_id == location_id, Assignment.family == 4,
            Assignment.network.in_(keys[start:start + 500]), _open_at(Assignment, at)))
        for row in rows:
            for text in wanted.get((row.network, row.prefixlen), ()):
                found[text] = row
    return found


def _holder(session: Session, row: Assignment, nat: NatUse | None = None) -> Holder | None:
    service = session.get(Service, row.service_id)
    customer = session.get(Customer, service.customer_id) if service is not None else None
    if customer is None:
        return None
    return Holder(location_id=row.location_id, service_id=row.service_id, customer_id=customer.id,
                  customer_number=customer.number, customer_name=customer.display_name, assigned=row.text,
                  valid_from=row.valid_from, valid_to=row.valid_to, assignment_id=row.id, nat=nat)


def cgnat_configs_at(session: Session, address: ad.IPAddress, at: datetime) -> list[CgnatConfig]:
    """CGNAT configurations whose public prefix held ``address`` at ``at``."""
    if address.version != 4:
        return []
    pairs = set(ad.containing_pairs(int(address), 4))
    keys = sorted({k for k, _ in pairs})
    rows = session.scalars(select(CgnatConfig).where(CgnatConfig.public_network.in_(keys),
                                                     _open_at(CgnatConfig, at)).order_by(CgnatConfig.id))
    return [c for c in rows if (c.public_network, c.public_prefixlen) in pairs]


def who_had(session: Session, address: Any, at: datetime, port: int | None = None) -> list[Holder]:
    """Everyone who held ``address`` at ``at``: directly, or through CGNAT (see the module doc).

    ``address`` is an address (text or ``ipaddress``); ``at`` an aware datetime; ``port`` narrows
    a CGNAT public address to the one subscriber whose port block holds it.
    """
    ip = ad.parse_address(address, "ip")
    if at.tzinfo is None:
        raise ValueError("who_had needs an aware datetime")
    found: list[Holder] = []
    for row in assignments_at(session, ip, at):
        holder = _holder(session, row)
        if holder is not None:
            found.append(holder)
    for config in cgnat_configs_at(session, ip, at):
        plan = config.plan()
        if port is not None:
            blocks = [b for b in [plan.reverse(ip, port)] if b is not None]
        else:
            blocks = plan.sharing(ip)[:MAX_SHARING]
        if not blocks:
            continue
        held = _many_at(session, [b.inside for b in blocks], at, config.location_id)
        for block in blocks:
            row = held.get(str(block.inside))
            if row is None:
                continue
            nat = NatUse(public=str(block.public), first_port=block.first_port, last_port=block.last_port,
                         inside=str(block.inside), config_id=config.id)
            holder = _holder(session, row, nat)
            if holder is not None:
                found.append(holder)
    return found


def customers_by_address(session: Session, text: str, at: datetime) -> set[int]:
    """Customers whose services hold the address (or any address of the prefix) in ``text`` at
    ``at``; an empty set when ``text`` is no address. For the Opcare search box."""
    candidate = (text or "").strip()
    if not candidate or len(candidate) > 50 or not any(c in candidate for c in ".:"):
        return set()
    try:
        network = ipaddress.ip_network(candidate, strict=False)
    except ValueError:
        return set()
    if "/" not in candidate:
        rows = assignments_at(session, network.network_address, at)
    else:
        first, last = ad.bounds(network)
        rows = list(session.scalars(select(Assignment).where(
            Assignment.family == network.version, Assignment.network >= first, Assignment.network <= last,
            _open_at(Assignment, at)).limit(500)))
        rows += assignments_at(session, network.network_address, at)
    service_ids = {r.service_id for r in rows}
    if not service_ids:
        return set()
    return set(session.scalars(select(Service.customer_id).where(Service.id.in_(service_ids))))


def customers_by_mac(session: Session, text: str, at: datetime) -> set[int]:
    """Customers with ``text`` (a MAC address in any common notation) bound to a service at ``at``."""
    from mango_core.devices.service import normalize_mac
    from mango_core.params import ParamValueError

    candidate = (text or "").strip()
    if len(candidate) < 12 or len(candidate) > 20:
        return set()
    try:
        mac = normalize_mac(candidate)
    except ParamValueError:
        return set()
    if mac is None:
        return set()
    service_ids = set(session.scalars(select(MacBinding.service_id).where(MacBinding.mac == mac,
                                                                          _open_at(MacBinding, at))))
    if not service_ids:
        return set()
    return set(session.scalars(select(Service.customer_id).where(Service.id.in_(service_ids))))
