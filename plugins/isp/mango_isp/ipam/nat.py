"""CGNAT configurations of CGNAT pools, with their history.

A configuration names the public prefix, the port range and the ports per subscriber of one
CGNAT prefix (the inside address space). Changing it closes the current version and starts a
new one at the same moment, so :mod:`mango_isp.ipam.lookup` maps a (public address, port, time)
with the version then valid. Public addresses used for CGNAT cannot be assigned to a service at
the same time, nor belong to two CGNAT pools.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from mango_core.db import utcnow
from mango_core.tenancy.validators import N_
from mango_isp.ipam import addresses as ad
from mango_isp.ipam import prefixes as px
from mango_isp.ipam.cgnat import CgnatPlan
from mango_isp.ipam.models import CGNAT, PUBLIC, Assignment, CgnatConfig, Prefix
from mango_isp.ipam.prefixes import IpamError


def _whole(value: Any, field: str, low: int, high: int) -> int:
    number = px._whole(value, field, low, high)  # noqa: SLF001 - the module's shared validator
    if number is None:
        raise IpamError(N_("Enter a whole number from %(low)d to %(high)d."), field=field, low=low, high=high)
    return number


def current(session: Session, inside: Prefix) -> CgnatConfig | None:
    return session.scalar(select(CgnatConfig).where(CgnatConfig.inside_id == inside.id,
                                                    CgnatConfig.valid_to.is_(None)))


def versions(session: Session, inside: Prefix) -> list[CgnatConfig]:
    """Every version of a pool's configuration, newest first."""
    return list(session.scalars(select(CgnatConfig).where(CgnatConfig.inside_id == inside.id)
                                .order_by(CgnatConfig.valid_from.desc(), CgnatConfig.id.desc())))


def public_in_use(session: Session, first: str, last: str, start: datetime, end: datetime | None,
                  *, except_inside: int | None = None) -> CgnatConfig | None:
    """A CGNAT configuration whose public range meets ``[first, last]`` during ``[start, end)``."""
    when = or_(CgnatConfig.valid_to.is_(None), CgnatConfig.valid_to > start)
    if end is not None:
        when = and_(when, CgnatConfig.valid_from < end)
    query = select(CgnatConfig).where(CgnatConfig.public_network <= last, CgnatConfig.public_last >= first, when)
    if except_inside is not None:
        query = query.where(CgnatConfig.inside_id != except_inside)
    return session.scalars(query.order_by(CgnatConfig.id).limit(1)).first()


def configure(session: Session, inside: Prefix, *, public: Any, port_first: Any = 1024, port_last: Any = 65535,
              block_size: Any, at: datetime | None = None, actor: int | None = None,
              note: Any = None) -> CgnatConfig:
    """Set (or change) the mapping of CGNAT prefix ``inside`` from ``at`` (now).

    Returns the configuration in force: the current one when nothing changed.
    """
    if inside.kind != CGNAT:
        raise IpamError(N_("Only a CGNAT prefix has a CGNAT configuration."), field="prefix_id")
    network = ad.parse_network(public, "public")
    if network.version != 4:
        raise IpamError(N_("CGNAT maps IPv4 addresses only."), field="public")
    plan = CgnatPlan(inside.ip_network, network, _whole(port_first, "port_first", 1, 65535),
                     _whole(port_last, "port_last", 1, 65535), _whole(block_size, "block_size", 1, 65535))
    holders = px.containing(session, 4, int(network.network_address), network.prefixlen)
    if not any(h.kind == PUBLIC for h in holders):
        raise IpamError(N_("%(prefix)s lies in no public prefix of this location."), field="public",
                        prefix=str(network))
    start = at or utcnow()
    first, last = ad.bounds(network)
    other = public_in_use(session, first, last, start, None, except_inside=inside.id)
    if other is not None:
        raise IpamError(N_("%(public)s is used by the CGNAT of %(inside)s."), field="public",
                        public=other.public_cidr, inside=other.inside.cidr)
    assigned = session.scalars(select(Assignment).where(
        Assignment.family == 4, Assignment.network <= last, Assignment.last >= first,
        or_(Assignment.valid_to.is_(None), Assignment.valid_to > start)).limit(1)).first()
    if assigned is not None:
        raise IpamError(N_("%(address)s of the public prefix is assigned to service #%(service)d."),
                        field="public", address=assigned.text, service=assigned.service_id)
    now = current(session, inside)
    values = {"public_network": first, "public_last": last, "public_prefixlen": network.prefixlen,
              "port_first": plan.port_first, "port_last": plan.port_last, "block_size": plan.block_size}
    if now is not None and all(getattr(now, k) == v for k, v in values.items()):
        return now
    if now is not None:
        if start < now.valid_from:
            raise IpamError(N_("The change cannot start before the current configuration."), field="at")
        now.valid_to = start
        session.flush()
    text = str(note or "").strip() or None
    row = CgnatConfig(inside_id=inside.id, valid_from=start, created_by_id=actor, note=text, **values)
    session.add(row)
    session.flush()
    return row


def stop(session: Session, inside: Prefix, *, at: datetime | None = None) -> CgnatConfig | None:
    """End the pool's CGNAT mapping at ``at`` (now); the history stays."""
    now = current(session, inside)
    if now is None:
        raise IpamError(N_("The prefix has no CGNAT configuration."))
    now.valid_to = max(at or utcnow(), now.valid_from)
    session.flush()
    return now
