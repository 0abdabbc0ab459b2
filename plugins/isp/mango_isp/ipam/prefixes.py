"""Prefixes and pools of a location: create, change, delete, the tree they form, and their usage.

CIDR prefixes never partly overlap: two either nest or are apart. So the only conflicts are the
same prefix twice, and a pool inside another pool (one address handed out twice). Each prefix
points to the smallest prefix holding it (``parent_id``); creating or deleting one re-hangs the
others. Every function works in the caller's transaction and location scope and raises
:class:`IpamError` (with the field it belongs to) before it changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.tenancy.validators import N_
from mango_isp.ipam import addresses as ad
from mango_isp.ipam.errors import IpamError, NotFound
from mango_isp.ipam.models import CGNAT, KINDS, Assignment, CgnatConfig, Prefix

MAX_SLOT_BITS = 62  # slots of a pool are numbered in a BIGINT
MAX_QUARANTINE_HOURS = 24 * 365


# --- reading ---------------------------------------------------------------------------------


def get_prefix(session: Session, prefix_id: Any) -> Prefix:
    """A prefix of the current location (the tenant guard hides all others): else NotFound."""
    try:
        wanted = int(prefix_id)
    except (TypeError, ValueError):
        raise NotFound(N_("Prefix not found."), field="prefix_id") from None
    found = session.scalar(select(Prefix).where(Prefix.id == wanted))
    if found is None:
        raise NotFound(N_("Prefix not found."), field="prefix_id")
    return found


def list_prefixes(session: Session, *, family: int | None = None) -> list[Prefix]:
    """Every prefix of the scope, in address order (a parent before its children)."""
    query = select(Prefix).order_by(Prefix.family, Prefix.network, Prefix.prefixlen, Prefix.id)
    if family in ad.FAMILIES:
        query = query.where(Prefix.family == family)
    return list(session.scalars(query))


def containing(session: Session, family: int, first: int, prefixlen: int, *, strict: bool = False) -> list[Prefix]:
    """Prefixes holding the range that starts at ``first`` and is ``/prefixlen`` long, most specific first.

    ``strict`` leaves out the prefix equal to the range.
    """
    longest = prefixlen - 1 if strict else prefixlen
    if longest < 0:
        return []
    pairs = set(ad.containing_pairs(first, family, longest))
    keys = sorted({k for k, _length in pairs})
    rows = session.scalars(select(Prefix).where(Prefix.family == family, Prefix.network.in_(keys)))
    found = [p for p in rows if (p.network, p.prefixlen) in pairs]
    return sorted(found, key=lambda p: -p.prefixlen)


def within(session: Session, family: int, first: str, last: str) -> list[Prefix]:
    """Prefixes lying inside ``[first, last]`` (the range's own prefix included)."""
    return list(session.scalars(select(Prefix).where(Prefix.family == family, Prefix.network >= first,
                                                     Prefix.network <= last, Prefix.last <= last)
                                .order_by(Prefix.network, Prefix.prefixlen)))


def children(session: Session, prefix: Prefix) -> list[Prefix]:
    return list(session.scalars(select(Prefix).where(Prefix.parent_id == prefix.id)
                                .order_by(Prefix.network, Prefix.prefixlen)))


def ancestors(prefix: Prefix) -> list[Prefix]:
    chain, node = [], prefix.parent
    while node is not None and len(chain) <= 128:
        chain.append(node)
        node = node.parent
    return chain


def pool_of(holders: list[Prefix]) -> Prefix | None:
    """The pool among prefixes holding something (pools never nest, so at most one)."""
    return next((p for p in holders if p.is_pool), None)


# --- pools: slots ------------------------------------------------------------------------------


def unit_bits(pool: Prefix) -> int:
    return ad.BITS[pool.family] - pool.unit_prefixlen


def slot_count(pool: Prefix) -> int:
    return 1 << (pool.unit_prefixlen - pool.prefixlen)


def slot_of(pool: Prefix, first: int) -> int:
    return (first - ad.unkey(pool.network)) >> unit_bits(pool)


def slot_start(pool: Prefix, slot: int) -> int:
    return ad.unkey(pool.network) + (slot << unit_bits(pool))


def reserved_slots(pool: Prefix) -> set[int]:
    """Slots a pool never hands out: IPv4 network and broadcast (below /31), the gateway."""
    reserved = set()
    if pool.family == 4 and pool.prefixlen <= 30 and pool.unit_prefixlen == 32:
        reserved |= {0, slot_count(pool) - 1}
    if pool.gateway:
        reserved.add(slot_of(pool, ad.unkey(pool.gateway)))
    return reserved


# --- validation --------------------------------------------------------------------------------


def _kind(value: Any, family: int) -> str:
    if value not in KINDS:
        raise IpamError(N_("Choose public, private or CGNAT."), field="kind")
    if value == CGNAT and family != 4:
        raise IpamError(N_("CGNAT address space is IPv4."), field="kind")
    return value


def _description(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > 200:
        raise IpamError(N_("At most %(max)d characters."), field="description", max=200)
    return text


def _site(session: Session, site_id: Any) -> int | None:
    if site_id in (None, "", 0, "0"):
        return None
    from mango_core.devices import service as devices

    try:
        return devices.get_site(session, int(site_id)).id
    except (devices.NotFound, TypeError, ValueError):
        raise IpamError(N_("The site does not exist here."), field="site_id") from None


def _whole(value: Any, field: str, low: int, high: int, default: int | None = None) -> int | None:
    if value in (None, ""):
        return default
    text = str(value).strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 9:
        raise IpamError(N_("Enter a whole number from %(low)d to %(high)d."), field=field, low=low, high=high)
    number = int(text)
    if not low <= number <= high:
        raise IpamError(N_("Enter a whole number from %(low)d to %(high)d."), field=field, low=low, high=high)
    return number


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "y", "yes", "on", "true")


def _gateway(value: Any, network: ad.IPNetwork) -> str | None:
    if value in (None, ""):
        return None
    address = ad.parse_address(value, "gateway")
    if address.version != network.version or address not in network:
        raise IpamError(N_("The gateway must lie in %(prefix)s."), field="gateway", prefix=str(network))
    return ad.key(int(address))


def _pool_settings(network: ad.IPNetwork, data: dict[str, Any]) -> dict[str, Any]:
    is_pool = _flag(data.get("is_pool"))
    bits = ad.BITS[network.version]
    if not is_pool:
        if _flag(data.get("auto_assign")):
            raise IpamError(N_("Only a pool can assign addresses on activation."), field="auto_assign")
        return {"is_pool": False, "unit_prefixlen": None, "auto_assign": False}
    unit = _whole(data.get("unit_prefixlen"), "unit_prefixlen", network.prefixlen, bits, default=bits)
    if unit - network.prefixlen > MAX_SLOT_BITS:
        raise IpamError(N_("A pool may hand out at most 2^%(bits)d units; take a longer unit prefix."),
                        field="unit_prefixlen", bits=MAX_SLOT_BITS)
    return {"is_pool": True, "unit_prefixlen": unit, "auto_assign": _flag(data.get("auto_assign"))}


def _holder_text(session: Session, assignment: Assignment) -> str:
    from mango_core.services.models import Service

    service = session.get(Service, assignment.service_id)
    return f"#{assignment.service_id} {service.customer.display_name}" if service is not None else f"#{assignment.service_id}"


def _open_assignments_in(session: Session, family: int, first: str, last: str, at=None) -> list[Assignment]:  # noqa: ANN001
    at = at or utcnow()
    return list(session.scalars(select(Assignment).where(
        Assignment.family == family, Assignment.network >= first, Assignment.network <= last,
        or_(Assignment.valid_to.is_(None), Assignment.valid_to > at)).order_by(Assignment.network)))


# --- changes -------------------------------------------------------------------------------------


def create_prefix(session: Session, *, prefix: Any, kind: Any = "private", description: Any = "",
                  site_id: Any = None, is_pool: Any = False, unit_prefixlen: Any = None, gateway: Any = None,
                  auto_assign: Any = False, quarantine_hours: Any = 0) -> Prefix:
    """A new prefix (or pool) of the location, hung into the tree; existing smaller prefixes and
    assignments inside it move under it."""
    network = ad.parse_network(prefix, "prefix")
    family = network.version
    first, last = ad.bounds(network)
    clean_kind = _kind(kind, family)
    pool = _pool_settings(network, {"is_pool": is_pool, "unit_prefixlen": unit_prefixlen,
                                    "auto_assign": auto_assign})
    values = {
        "family": family, "network": first, "last": last, "prefixlen": network.prefixlen, "kind": clean_kind,
        "description": _description(description), "site_id": _site(session, site_id),
        "gateway": _gateway(gateway, network),
        "quarantine_hours": _whole(quarantine_hours, "quarantine_hours", 0, MAX_QUARANTINE_HOURS, default=0),
        **pool,
    }
    holders = containing(session, family, int(network.network_address), network.prefixlen)
    if holders and holders[0].prefixlen == network.prefixlen:
        raise IpamError(N_("%(prefix)s exists already."), field="prefix", prefix=str(network))
    parent = holders[0] if holders else None
    inner = [p for p in within(session, family, first, last) if p.prefixlen > network.prefixlen]
    if pool["is_pool"]:
        if pool_of(holders) is not None:
            raise IpamError(N_("%(prefix)s lies in pool %(pool)s; pools cannot nest."), field="prefix",
                            prefix=str(network), pool=pool_of(holders).cidr)
        inner_pool = pool_of(inner)
        if inner_pool is not None:
            raise IpamError(N_("%(prefix)s holds pool %(pool)s; pools cannot nest."), field="prefix",
                            prefix=str(network), pool=inner_pool.cidr)
    _lock_tree(session, parent)
    row = Prefix(parent_id=parent.id if parent else None, **values)
    if pool["is_pool"]:
        _check_pool_fits(session, row)
    session.add(row)
    session.flush()
    for child in inner:
        if child.parent_id == (parent.id if parent else None):
            child.parent_id = row.id
    if row.is_pool:
        _attach_assignments(session, row)
    session.flush()
    return row


def _lock_tree(session: Session, prefix: Prefix | None) -> None:
    """Row lock of the outermost prefix above ``prefix`` (PostgreSQL; SQLite serialises writers)."""
    if prefix is None:
        return
    root = prefix
    for node in ancestors(prefix):
        root = node
    session.execute(select(Prefix.id).where(Prefix.id == root.id).with_for_update())


def _check_pool_fits(session: Session, pool: Prefix) -> None:
    """Assignments already in a new pool must be units of it, and none may hold the whole pool."""
    covering = session.scalars(select(Assignment).where(
        Assignment.family == pool.family, Assignment.network <= pool.network, Assignment.last >= pool.last,
        Assignment.prefixlen < pool.unit_prefixlen).limit(1)).first()
    if covering is not None:
        raise IpamError(N_("%(assigned)s is assigned to service %(holder)s and holds this pool."), field="prefix",
                        assigned=covering.text, holder=_holder_text(session, covering))
    odd = session.scalars(select(Assignment).where(
        Assignment.family == pool.family, Assignment.network >= pool.network, Assignment.network <= pool.last,
        Assignment.prefixlen != pool.unit_prefixlen).limit(1)).first()
    if odd is not None:
        raise IpamError(N_("%(assigned)s (service %(holder)s) is not a /%(unit)d unit of the pool."),
                        field="unit_prefixlen", assigned=odd.text, holder=_holder_text(session, odd),
                        unit=pool.unit_prefixlen)


def _attach_assignments(session: Session, pool: Prefix) -> None:
    rows = session.scalars(select(Assignment).where(
        Assignment.family == pool.family, Assignment.network >= pool.network, Assignment.network <= pool.last))
    for row in rows:
        row.pool_id = pool.id
        row.slot = slot_of(pool, ad.unkey(row.network))


def update_prefix(session: Session, prefix: Prefix, *, kind: Any, description: Any = "", site_id: Any = None,
                  gateway: Any = None, auto_assign: Any = False, quarantine_hours: Any = 0) -> dict[str, tuple]:
    """Change what a prefix is used for; its address and pool unit stay (delete and re-create for those)."""
    network = prefix.ip_network
    values = {
        "kind": _kind(kind, prefix.family),
        "description": _description(description),
        "site_id": _site(session, site_id),
        "gateway": _gateway(gateway, network),
        "quarantine_hours": _whole(quarantine_hours, "quarantine_hours", 0, MAX_QUARANTINE_HOURS, default=0),
        "auto_assign": _flag(auto_assign),
    }
    if values["auto_assign"] and not prefix.is_pool:
        raise IpamError(N_("Only a pool can assign addresses on activation."), field="auto_assign")
    if prefix.kind == CGNAT and values["kind"] != CGNAT and _has_cgnat(session, prefix):
        raise IpamError(N_("The prefix has a CGNAT configuration; it stays a CGNAT prefix."), field="kind")
    if values["gateway"] and values["gateway"] != prefix.gateway:
        taken = _open_assignments_in(session, prefix.family, values["gateway"], values["gateway"])
        covering = session.scalars(select(Assignment).where(
            Assignment.family == prefix.family, Assignment.network <= values["gateway"],
            Assignment.last >= values["gateway"], or_(Assignment.valid_to.is_(None),
                                                      Assignment.valid_to > utcnow())).limit(1)).first()
        if taken or covering is not None:
            raise IpamError(N_("The gateway address is assigned to a service."), field="gateway")
    changes = {k: (getattr(prefix, k), v) for k, v in values.items() if getattr(prefix, k) != v}
    for key, (_before, after) in changes.items():
        setattr(prefix, key, after)
    session.flush()
    return changes


def _has_cgnat(session: Session, prefix: Prefix) -> bool:
    return session.scalar(select(CgnatConfig.id).where(CgnatConfig.inside_id == prefix.id).limit(1)) is not None


def delete_prefix(session: Session, prefix: Prefix) -> None:
    """Delete a prefix nobody holds an address of now; smaller prefixes move to its parent.

    Closed assignments stay (they are the history); a deleted pool simply stops numbering them.
    """
    if _open_assignments_in(session, prefix.family, prefix.network, prefix.last):
        raise IpamError(N_("Addresses of this prefix are assigned; release them first."))
    if _has_cgnat(session, prefix) or session.scalar(select(CgnatConfig.id).where(
            CgnatConfig.public_network >= prefix.network, CgnatConfig.public_network <= prefix.last,
            CgnatConfig.valid_to.is_(None)).limit(1)) is not None:
        raise IpamError(N_("A CGNAT configuration uses this prefix."))
    _lock_tree(session, prefix)
    if prefix.is_pool:
        session.execute(update(Assignment).where(Assignment.pool_id == prefix.id)
                        .values(pool_id=None, slot=None).execution_options(synchronize_session="fetch"))
    for child in children(session, prefix):
        child.parent_id = prefix.parent_id
    session.flush()
    session.delete(prefix)
    session.flush()


# --- usage -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """How much of a prefix is taken: pool units handed out now, or addresses covered by smaller
    prefixes and by assignments made directly in it."""

    used: int
    total: int

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100
        share = self.used * 100 // self.total
        return max(1, share) if self.used and share == 0 else share


def usage(session: Session, prefixes: list[Prefix], at=None) -> dict[int, Usage]:  # noqa: ANN001
    """Usage of each prefix in ``prefixes`` with two queries, whatever their number."""
    at = at or utcnow()
    result: dict[int, Usage] = {}
    pools = [p for p in prefixes if p.is_pool]
    if pools:
        counts = dict(session.execute(
            select(Assignment.pool_id, func.count(func.distinct(Assignment.slot)))
            .where(Assignment.pool_id.in_([p.id for p in pools]), Assignment.valid_from <= at,
                   or_(Assignment.valid_to.is_(None), Assignment.valid_to > at))
            .group_by(Assignment.pool_id)).all())
        for pool in pools:
            result[pool.id] = Usage(int(counts.get(pool.id, 0)), slot_count(pool) - len(reserved_slots(pool)))
    others = [p for p in prefixes if not p.is_pool]
    if not others:
        return result
    by_id = {p.id: p for p in list_prefixes(session)}
    covered: dict[int, int] = {p.id: 0 for p in others}
    for child in by_id.values():
        if child.parent_id in covered:
            covered[child.parent_id] += ad.size(child.family, child.prefixlen)
    # direct assignments (outside pools) count in the smallest prefix that holds them
    direct = session.execute(select(Assignment.family, Assignment.network, Assignment.prefixlen).where(
        Assignment.pool_id.is_(None), Assignment.valid_from <= at,
        or_(Assignment.valid_to.is_(None), Assignment.valid_to > at))).all()
    index = {(p.family, p.network, p.prefixlen): p for p in by_id.values()}
    for family, network, prefixlen in direct:
        value = ad.unkey(network)
        for key, length in reversed(ad.containing_pairs(value, family, prefixlen)):
            holder = index.get((family, key, length))
            if holder is not None:
                if holder.id in covered:
                    covered[holder.id] += ad.size(family, prefixlen)
                break
    for prefix in others:
        result[prefix.id] = Usage(min(covered[prefix.id], ad.size(prefix.family, prefix.prefixlen)),
                                  ad.size(prefix.family, prefix.prefixlen))
    return result


def auto_pools(session: Session) -> list[Prefix]:
    """Pools that serve activations, by family then id."""
    return list(session.scalars(select(Prefix).where(Prefix.is_pool.is_(True), Prefix.auto_assign.is_(True))
                                .order_by(Prefix.family, Prefix.id)))

