"""Addresses and prefixes of services over time, MAC bindings, and next-free allocation from pools.

An assignment holds for ``[valid_from, valid_to)``; releasing one closes it, nothing is ever
deleted, so the history answers "who had X at time T" (:mod:`mango_isp.ipam.lookup`). Two
assignments may not overlap in both address and time; the check runs under a row lock of the
outermost prefix holding the address (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite lets one
writer at a time anyway), and a partial unique index refuses two open assignments of one network
even if a caller skipped the check.

A pool numbers its units by slot; the next free one is found by asking the index for the first
slot after an occupied one whose successor is free, so a pool of millions of units never has its
addresses listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from mango_core import history
from mango_core.db import utcnow
from mango_core.devices.service import normalize_mac
from mango_core.params import ParamValueError
from mango_core.services.models import TERMINATED, Service
from mango_core.tenancy import clock
from mango_core.tenancy.validators import N_
from mango_isp.ipam import addresses as ad
from mango_isp.ipam import prefixes as px
from mango_isp.ipam.models import LIFECYCLE, MANUAL, ORIGINS, POOL, TRANSFER, Assignment, MacBinding, Prefix
from mango_isp.ipam.prefixes import IpamError, NotFound

HISTORY_ENTITY = "service"


# --- small helpers -------------------------------------------------------------------------------


def local_midnight(session: Session, location_id: int, day) -> datetime:  # noqa: ANN001
    """The start of ``day`` in the location's time zone, as an aware UTC datetime."""
    return clock.midnight(day, clock.zone_of(session, location_id))


def _moment(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise IpamError(N_("Enter a time with its time zone."), field=field)
        return value
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise IpamError(N_("Enter a date and time, e.g. 2025-03-01 14:30."), field=field) from None
    if parsed.tzinfo is None:
        raise IpamError(N_("Enter a time with its time zone."), field=field)
    return parsed


def _note(value: Any, field: str = "note") -> str | None:
    text = str(value or "").strip()
    if len(text) > 300:
        raise IpamError(N_("At most %(max)d characters."), field=field, max=300)
    return text or None


def get_service(session: Session, service_id: Any) -> Service:
    """A service of the current location (else NotFound)."""
    try:
        wanted = int(service_id)
    except (TypeError, ValueError):
        raise NotFound(N_("Service not found."), field="service_id") from None
    service = session.scalar(select(Service).where(Service.id == wanted))
    if service is None:
        raise NotFound(N_("Service not found."), field="service_id")
    return service


def get_assignment(session: Session, assignment_id: Any) -> Assignment:
    try:
        wanted = int(assignment_id)
    except (TypeError, ValueError):
        raise NotFound(N_("Assignment not found.")) from None
    row = session.scalar(select(Assignment).where(Assignment.id == wanted))
    if row is None:
        raise NotFound(N_("Assignment not found."))
    return row


def _record(session: Session, service: Service, action: str, changes: dict, *, actor: int | None,
            reason: str | None = None, at: datetime | None = None) -> None:
    history.record(session, entity=HISTORY_ENTITY, entity_id=service.id, customer_id=service.customer_id,
                   action=action, changes=changes, reason=reason, user_id=actor,
                   effective=(at or utcnow()).date())
    from mango_isp.queue.tasks import enqueue_service  # the routers serving the service provision the change

    enqueue_service(session, service, "ipam", actor=actor)


def _overlaps_time(model, start: datetime, end: datetime | None):  # noqa: ANN001, ANN202
    """Rows of ``model`` whose interval meets ``[start, end)``."""
    clause = or_(model.valid_to.is_(None), model.valid_to > start)
    if end is not None:
        clause = and_(clause, model.valid_from < end)
    return clause


def overlapping(session: Session, family: int, first: int, prefixlen: int, start: datetime,
                end: datetime | None, *, exclude: int | None = None) -> list[Assignment]:
    """Assignments sharing an address with ``first/prefixlen`` during ``[start, end)``.

    Two indexed lookups: assignments whose network is one of the prefixes holding the range,
    and assignments whose network lies in the range.
    """
    last = first + ad.size(family, prefixlen) - 1
    pairs = set(ad.containing_pairs(first, family, prefixlen))
    keys = sorted({k for k, _ in pairs})
    when = _overlaps_time(Assignment, start, end)
    holding = [a for a in session.scalars(select(Assignment).where(Assignment.family == family,
                                                                   Assignment.network.in_(keys), when))
               if (a.network, a.prefixlen) in pairs]
    inside = session.scalars(select(Assignment).where(Assignment.family == family,
                                                      Assignment.network >= ad.key(first),
                                                      Assignment.network <= ad.key(last), when))
    found = {a.id: a for a in [*holding, *inside] if a.id != exclude}
    return sorted(found.values(), key=lambda a: (a.valid_from, a.id))


def _conflict(session: Session, other: Assignment) -> IpamError:
    service = session.get(Service, other.service_id)
    holder = f"#{other.service_id} {service.customer.display_name}" if service is not None else f"#{other.service_id}"
    since = other.valid_from.strftime("%Y-%m-%d %H:%M")
    if other.valid_to is None:
        return IpamError(N_("%(address)s is assigned to service %(holder)s since %(since)s (UTC)."),
                         field="address", address=other.text, holder=holder, since=since)
    return IpamError(N_("%(address)s was assigned to service %(holder)s from %(since)s to %(until)s (UTC)."),
                     field="address", address=other.text, holder=holder, since=since,
                     until=other.valid_to.strftime("%Y-%m-%d %H:%M"))


def _lock_root(session: Session, holders: list[Prefix]) -> None:
    """Serialise every change under the outermost prefix (PostgreSQL row lock; a no-op on SQLite)."""
    if holders:
        root = holders[-1]
        session.execute(select(Prefix.id).where(Prefix.id == root.id).with_for_update())


# --- assigning and releasing ---------------------------------------------------------------------


def _writable(session: Session, service: Service, end: datetime | None = None) -> None:
    """A terminated service gets no addresses, except history that ended before its end date."""
    if service.state != TERMINATED:
        return
    if end is None or service.end_date is None or end > local_midnight(session, service.location_id,
                                                                          service.end_date):
        raise IpamError(N_("A terminated service gets no addresses."), field="service_id")


def assign(session: Session, service: Service, address: Any, *, valid_from: Any = None, valid_to: Any = None,
           actor: int | None = None, note: Any = None, origin: str = MANUAL) -> Assignment:
    """Give ``address`` (an address or a CIDR prefix) to ``service`` from ``valid_from`` (now).

    The address must lie in a prefix of the location; in a pool it must be one unit of the pool
    and not a reserved one (network, broadcast, gateway). An overlap in address and time with
    another assignment is refused, naming its holder.
    """
    network = ad.parse_network(address, "address")
    start = _moment(valid_from, "valid_from") or utcnow()
    end = _moment(valid_to, "valid_to")
    if end is not None and end < start:
        raise IpamError(N_("The end comes before the start."), field="valid_to")
    _writable(session, service, end)
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r}")
    family, first = network.version, int(network.network_address)
    holders = px.containing(session, family, first, network.prefixlen)
    if not holders:
        raise IpamError(N_("%(address)s lies in no prefix of this location; add the prefix first."),
                        field="address", address=str(network))
    _lock_root(session, holders)
    pool = px.pool_of(holders)
    slot = None
    if pool is not None:
        if network.prefixlen != pool.unit_prefixlen:
            raise IpamError(N_("Pool %(pool)s hands out /%(unit)d units."), field="address", pool=pool.cidr,
                            unit=pool.unit_prefixlen)
        slot = px.slot_of(pool, first)
        if slot in px.reserved_slots(pool):
            raise IpamError(N_("%(address)s is reserved in pool %(pool)s (network, broadcast or gateway)."),
                            field="address", address=str(network), pool=pool.cidr)
    for holder in holders:
        if holder.gateway and network.prefixlen == ad.BITS[family] and holder.gateway == ad.key(first):
            raise IpamError(N_("%(address)s is the gateway of %(prefix)s."), field="address",
                            address=str(network.network_address), prefix=holder.cidr)
    clash = overlapping(session, family, first, network.prefixlen, start, end)
    if clash:
        raise _conflict(session, clash[0])
    first_key, last_key = ad.bounds(network)
    if family == 4:
        from mango_isp.ipam import nat

        used = nat.public_in_use(session, first_key, last_key, start, end)
        if used is not None:
            raise IpamError(N_("%(address)s is a public address of the CGNAT of %(inside)s."), field="address",
                            address=str(network), inside=used.inside.cidr)
    row = Assignment(service_id=service.id, family=family, network=first_key, last=last_key,
                     prefixlen=network.prefixlen, pool_id=pool.id if pool else None, slot=slot, valid_from=start,
                     valid_to=end, origin=origin, note=_note(note), created_by_id=actor)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise IpamError(N_("%(address)s was assigned to another service a moment ago."), field="address",
                        address=str(network)) from None
    _record(session, service, "ip_assigned", {"ip": (None, row.text)}, actor=actor, at=start)
    return row


def next_free_slot(session: Session, pool: Prefix, at: datetime | None = None) -> int | None:
    """The lowest slot of ``pool`` nobody holds from ``at`` on (None: the pool is full).

    A slot released less than ``quarantine_hours`` before ``at`` counts as held. Each step is an
    indexed query; reserved slots (a handful) are stepped over.
    """
    at = at or utcnow()
    cutoff = at - timedelta(hours=pool.quarantine_hours or 0)
    reserved = px.reserved_slots(pool)
    count = px.slot_count(pool)

    def held(model):  # noqa: ANN001, ANN202
        return and_(model.pool_id == pool.id, or_(model.valid_to.is_(None), model.valid_to > cutoff))

    following = aliased(Assignment)
    slot = 0
    while slot < count:
        if slot in reserved:
            slot += 1
            continue
        taken = session.scalar(select(Assignment.id).where(held(Assignment), Assignment.slot == slot).limit(1))
        if taken is None:
            return slot
        # the first held slot at or after this one whose successor is not held
        gap = session.scalar(select(func.min(Assignment.slot + 1)).where(
            held(Assignment), Assignment.slot >= slot,
            ~exists(select(following.id).where(held(following), following.slot == Assignment.slot + 1))))
        if gap is None:
            return None
        slot = int(gap)
    return None


def allocate(session: Session, service: Service, pool: Prefix, *, valid_from: Any = None, valid_to: Any = None,
             actor: int | None = None, note: Any = None, origin: str = POOL) -> Assignment:
    """The next free unit of ``pool`` for ``service`` from ``valid_from`` (now); IpamError when the
    pool is full. ``valid_to`` records a closed interval (history taken over from elsewhere)."""
    if not pool.is_pool:
        raise IpamError(N_("%(prefix)s is not a pool."), field="pool_id", prefix=pool.cidr)
    start = _moment(valid_from, "valid_from") or utcnow()
    end = _moment(valid_to, "valid_to")
    _writable(session, service, end)
    _lock_root(session, [pool, *px.ancestors(pool)])
    slot = next_free_slot(session, pool, start)
    if slot is None:
        raise IpamError(N_("Pool %(pool)s has no free address."), field="pool_id", pool=pool.cidr)
    network = ad.to_network(pool.family, ad.key(px.slot_start(pool, slot)), pool.unit_prefixlen)
    return assign(session, service, network, valid_from=start, valid_to=end, actor=actor, note=note, origin=origin)


def release(session: Session, assignment: Assignment, *, at: Any = None, actor: int | None = None,
            reason: Any = None) -> Assignment:
    """Close an open assignment at ``at`` (now); one not started yet ends where it starts.

    MAC bindings tied to it close with it.
    """
    if assignment.valid_to is not None:
        raise IpamError(N_("The assignment has ended already."))
    moment = _moment(at, "at") or utcnow()
    end = max(moment, assignment.valid_from)
    assignment.valid_to = end
    assignment.released_by_id = actor
    assignment.release_reason = _note(reason, "reason")
    for binding in session.scalars(select(MacBinding).where(MacBinding.assignment_id == assignment.id,
                                                            MacBinding.valid_to.is_(None))):
        binding.valid_to = max(end, binding.valid_from)
        binding.released_by_id = actor
    session.flush()
    service = session.get(Service, assignment.service_id)
    _record(session, service, "ip_released", {"ip": (assignment.text, None)}, actor=actor,
            reason=assignment.release_reason, at=end)
    return assignment


def assignments_of(session: Session, service_id: int, *, with_history: bool = True) -> list[Assignment]:
    query = select(Assignment).where(Assignment.service_id == service_id)
    if not with_history:
        query = query.where(Assignment.valid_to.is_(None))
    return list(session.scalars(query.order_by(Assignment.valid_to.is_not(None), Assignment.family,
                                               Assignment.network, Assignment.valid_from.desc())))


def assignments_in(session: Session, prefix: Prefix, *, limit: int = 200) -> list[Assignment]:
    """Assignments inside a prefix, open ones first, then the history, newest first."""
    return list(session.scalars(
        select(Assignment).where(Assignment.family == prefix.family, Assignment.network >= prefix.network,
                                 Assignment.network <= prefix.last)
        .options(selectinload(Assignment.service).joinedload(Service.customer))
        .order_by(Assignment.valid_to.is_not(None), Assignment.valid_to.desc(), Assignment.network,
                  Assignment.id.desc()).limit(limit)))


# --- MAC bindings ------------------------------------------------------------------------------


def bind_mac(session: Session, service: Service, mac: Any, *, assignment_id: Any = None, valid_from: Any = None,
             actor: int | None = None, note: Any = None) -> MacBinding:
    """Bind a MAC address to a service (optionally to one of its assignments) from ``valid_from``."""
    _writable(session, service)
    try:
        clean = normalize_mac(mac)
    except ParamValueError:
        clean = None
    if clean is None:
        raise IpamError(N_("Enter a MAC address, e.g. 00:1a:2b:3c:4d:5e."), field="mac")
    start = _moment(valid_from, "valid_from") or utcnow()
    assignment = None
    if assignment_id not in (None, "", 0, "0"):
        assignment = get_assignment(session, assignment_id)
        if assignment.service_id != service.id or assignment.valid_to is not None:
            raise IpamError(N_("Choose an open assignment of this service."), field="assignment_id")
    clash = session.scalars(select(MacBinding).where(MacBinding.mac == clean,
                                                     _overlaps_time(MacBinding, start, None)).limit(1)).first()
    if clash is not None:
        raise IpamError(N_("%(mac)s is bound to service #%(service)d already."), field="mac", mac=clean,
                        service=clash.service_id)
    row = MacBinding(service_id=service.id, mac=clean, assignment_id=assignment.id if assignment else None,
                     valid_from=start, note=_note(note), created_by_id=actor)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise IpamError(N_("%(mac)s was bound to another service a moment ago."), field="mac", mac=clean) from None
    _record(session, service, "mac_bound", {"mac": (None, clean)}, actor=actor, at=start)
    return row


def get_binding(session: Session, binding_id: Any) -> MacBinding:
    try:
        wanted = int(binding_id)
    except (TypeError, ValueError):
        raise NotFound(N_("MAC binding not found.")) from None
    row = session.scalar(select(MacBinding).where(MacBinding.id == wanted))
    if row is None:
        raise NotFound(N_("MAC binding not found."))
    return row


def release_mac(session: Session, binding: MacBinding, *, at: Any = None, actor: int | None = None) -> MacBinding:
    if binding.valid_to is not None:
        raise IpamError(N_("The MAC binding has ended already."))
    moment = _moment(at, "at") or utcnow()
    binding.valid_to = max(moment, binding.valid_from)
    binding.released_by_id = actor
    session.flush()
    service = session.get(Service, binding.service_id)
    _record(session, service, "mac_released", {"mac": (binding.mac, None)}, actor=actor, at=binding.valid_to)
    return binding


def bindings_of(session: Session, service_id: int) -> list[MacBinding]:
    return list(session.scalars(select(MacBinding).where(MacBinding.service_id == service_id)
                                .order_by(MacBinding.valid_to.is_not(None), MacBinding.valid_from.desc())))


# --- the service lifecycle -----------------------------------------------------------------------


@dataclass
class LifecycleResult:
    closed: int = 0
    opened: int = 0


def close_service(session: Session, service: Service, at: datetime, *, actor: int | None = None,
                  reason: str | None = None) -> LifecycleResult:
    """Close the service's open assignments and MAC bindings at ``at`` (its end)."""
    result = LifecycleResult()
    for row in session.scalars(select(Assignment).where(Assignment.service_id == service.id,
                                                        Assignment.valid_to.is_(None))):
        row.valid_to = max(at, row.valid_from)
        row.released_by_id = actor
        row.release_reason = _note(reason, "reason")
        result.closed += 1
        _record(session, service, "ip_released", {"ip": (row.text, None)}, actor=actor, reason=reason, at=row.valid_to)
    for binding in session.scalars(select(MacBinding).where(MacBinding.service_id == service.id,
                                                            MacBinding.valid_to.is_(None))):
        binding.valid_to = max(at, binding.valid_from)
        binding.released_by_id = actor
    session.flush()
    return result


def carry_over(session: Session, old: Service, new: Service, at: datetime, *, actor: int | None = None) -> LifecycleResult:
    """A transferred service keeps its addresses: the old one's close at ``at``, the new one's open then."""
    result = LifecycleResult()
    rows = list(session.scalars(select(Assignment).where(Assignment.service_id == old.id,
                                                         Assignment.valid_to.is_(None)).order_by(Assignment.id)))
    bindings = list(session.scalars(select(MacBinding).where(MacBinding.service_id == old.id,
                                                             MacBinding.valid_to.is_(None)).order_by(MacBinding.id)))
    closed = close_service(session, old, at, actor=actor, reason="transfer")
    result.closed = closed.closed
    mapping: dict[int, int] = {}
    for row in rows:
        start = max(at, row.valid_from)
        copy = Assignment(service_id=new.id, family=row.family, network=row.network, last=row.last,
                          prefixlen=row.prefixlen, pool_id=row.pool_id, slot=row.slot, valid_from=start,
                          origin=TRANSFER, note=row.note, created_by_id=actor)
        session.add(copy)
        session.flush()
        mapping[row.id] = copy.id
        result.opened += 1
        _record(session, new, "ip_assigned", {"ip": (None, copy.text)}, actor=actor, at=start)
    for binding in bindings:
        session.add(MacBinding(service_id=new.id, mac=binding.mac, assignment_id=mapping.get(binding.assignment_id),
                               valid_from=max(at, binding.valid_from), note=binding.note, created_by_id=actor))
    session.flush()
    return result


def auto_assign(session: Session, service: Service, at: datetime, *, actor: int | None = None) -> list[Assignment]:
    """On activation: a unit from the first auto-assign pool with room, per family the service lacks."""
    have = {row.family for row in assignments_of(session, service.id, with_history=False)}
    made = []
    for family in ad.FAMILIES:
        if family in have:
            continue
        pools = [p for p in px.auto_pools(session) if p.family == family]
        for index, pool in enumerate(pools):
            try:
                made.append(allocate(session, service, pool, valid_from=at, actor=actor, origin=LIFECYCLE))
                break
            except IpamError:
                if index == len(pools) - 1:
                    raise
    return made
