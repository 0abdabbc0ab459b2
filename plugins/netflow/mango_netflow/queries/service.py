"""Data-retention queries: who used an address (and port) at a time, and the flows of a customer or
an address in an interval — every one of them written to the audit log.

``who`` does not guess from flows: the holder comes from the ISP plugin's assignment and CGNAT
history (:func:`mango_isp.ipam.lookup.who_had`); flows seen around the moment only confirm it
("confirmed by N flows" / "no flows seen"). Flow searches read the store
(:func:`mango_netflow.store.read.flows`) of the current location. The ``ask_*`` functions are what
Opcare, the API and the command line call: check the input, run the query, log it, in the
caller's transaction — a query that could not run (bad input) is not logged, one that ran always is.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.customers.models import Customer
from mango_core.services import service as services
from mango_core.tenancy.context import current_scope
from mango_core.tenancy.validators import N_, InvalidValue
from mango_isp.ipam import addresses as ad
from mango_isp.ipam.assignments import assignments_of
from mango_isp.ipam.lookup import Holder, who_had
from mango_netflow.flows import STORED_DTYPE, pack_address, unpack_address
from mango_netflow.queries.models import CHANNELS, FLOWS, WHO, QueryLog
from mango_netflow.store import read

WHO_WINDOW = timedelta(minutes=5)  # flows meeting [T - window, T + window] confirm a holder
CONFIRM_CAP = 10_000  # flows counted at most per holder ("10000+")
DEFAULT_LIMIT, MAX_LIMIT = 10_000, 1_000_000
MAX_INTERVAL = timedelta(days=190)  # the retention period (6 months) and a little more
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "icmpv6": 58, "sctp": 132}
PROTOCOL_NAMES = {v: k.upper() for k, v in PROTOCOLS.items()}


class QueryError(InvalidValue):
    """Bad input of a query (nothing was queried nor logged)."""


@dataclass(frozen=True)
class Asker:
    """Who asks: ``channel`` web/api/cli, ``operator`` the login or the CLI operator's name."""

    channel: str
    operator: str
    user_id: int | None = None


# --- checking input -------------------------------------------------------------------------------


def clean_reference(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        raise QueryError(N_("Enter the reference of the request (e.g. the authority's case number)."),
                         field="reference")
    if len(text) > 200 or any(ord(c) < 32 for c in text):
        raise QueryError(N_("The reference may have at most 200 characters on one line."), field="reference")
    return text


def clean_port(value: Any, field_name: str = "port") -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 0 <= int(text) <= 65535:
        raise QueryError(N_("Enter a port from 0 to 65535."), field=field_name)
    return int(text)


def clean_protocol(value: Any) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if text in PROTOCOLS:
        return PROTOCOLS[text]
    if text.isascii() and text.isdigit() and 0 <= int(text) <= 255:
        return int(text)
    raise QueryError(N_("Enter a protocol: tcp, udp, icmp… or its number 0–255."), field="protocol")


def clean_address(value: Any, field_name: str = "ip") -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ad.parse_address(value, field_name)
    except InvalidValue as exc:
        raise QueryError(exc.message, field=field_name, **exc.params) from None


def clean_moment(value: Any, field_name: str) -> datetime:
    # flows have times since 1970; far-off years would overflow the window arithmetic
    if not isinstance(value, datetime) or value.tzinfo is None or not 1970 < value.year < 2200:
        raise QueryError(N_("Enter a date and time, e.g. 2025-03-01 14:30."), field=field_name)
    return value


def _location_id() -> int:
    location_id = current_scope().write_location_id
    if location_id is None:
        raise QueryError(N_("Choose the location to query."), field="location")
    return location_id


# --- who used an address ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    holder: Holder
    flows: int  # flows seen around the moment (capped at CONFIRM_CAP)

    @property
    def capped(self) -> bool:
        return self.flows >= CONFIRM_CAP


@dataclass
class WhoAnswer:
    ip: str
    port: int | None
    at: datetime
    window: timedelta
    holders: list[Confirmed] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"ip": self.ip, "port": self.port, "at": self.at.isoformat(),
                "window_seconds": int(self.window.total_seconds()),
                "holders": [{**c.holder.as_json(), "flows_seen": c.flows, "confirmed": c.flows > 0}
                            for c in self.holders]}


def who(session: Session, ip: Any, at: datetime, port: int | None = None, *,
        window: timedelta = WHO_WINDOW) -> WhoAnswer:
    """The customers and services that used ``ip`` (and ``port``) at ``at``, each with the number
    of flows of its subscriber-side address seen within ``window`` of ``at``."""
    address = clean_address(ip)
    at = clean_moment(at, "at")
    answer = WhoAnswer(ip=str(address), port=port, at=at, window=window)
    for holder in who_had(session, address, at, port):
        if holder.nat is not None and port is None:
            # everyone sharing the public address: count the flows of each one's inside address
            seen_address, seen_port = holder.nat.inside, None
        else:
            seen_address, seen_port = address, port
        found = read.flows(session, holder.location_id, at - window, at + window, address=seen_address,
                           port=seen_port, limit=CONFIRM_CAP)
        answer.holders.append(Confirmed(holder, len(found)))
    return answer


# --- flows of a customer or an address ---------------------------------------------------------------


@dataclass(frozen=True)
class FlowQuery:
    start: datetime
    end: datetime
    ip: str | None = None
    customer_number: int | None = None
    port: int | None = None
    protocol: int | None = None
    peer: str | None = None
    limit: int = DEFAULT_LIMIT

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "ip": self.ip,
                "customer_number": self.customer_number, "port": self.port, "protocol": self.protocol,
                "peer": self.peer, "limit": self.limit}


def flow_query(*, start: Any, end: Any, ip: Any = None, customer_number: Any = None, port: Any = None,
               protocol: Any = None, peer: Any = None, limit: Any = None) -> FlowQuery:
    """A checked :class:`FlowQuery` (``start``/``end`` aware datetimes; the rest as typed)."""
    start, end = clean_moment(start, "start"), clean_moment(end, "end")
    if end <= start:
        raise QueryError(N_("The end must be after the start."), field="end")
    if end - start > MAX_INTERVAL:
        raise QueryError(N_("Ask for at most %(days)d days at once."), field="end", days=MAX_INTERVAL.days)
    has_ip = ip not in (None, "")
    has_customer = customer_number not in (None, "")
    if has_ip == has_customer:
        raise QueryError(N_("Enter either an IP address or a customer number."), field="ip")
    number = None
    if has_customer:
        text = str(customer_number).strip()
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise QueryError(N_("Enter a customer number."), field="customer_number")
        number = int(text)
    if limit in (None, ""):
        rows = DEFAULT_LIMIT
    else:
        text = str(limit).strip()
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise QueryError(N_("Enter a limit from 1 to %(max)d."), field="limit", max=MAX_LIMIT)
        rows = int(text)
    return FlowQuery(start=start, end=end, ip=str(clean_address(ip)) if has_ip else None, customer_number=number,
                     port=clean_port(port), protocol=clean_protocol(protocol),
                     peer=str(clean_address(peer, "peer")) if peer not in (None, "") else None, limit=rows)


@dataclass
class FlowResult:
    query: FlowQuery
    flows: np.ndarray  # STORED_DTYPE, ordered by first
    truncated: bool = False
    customer: Customer | None = None
    searched: list[str] = field(default_factory=list)  # the addresses and intervals searched

    def __len__(self) -> int:
        return len(self.flows)


def _span(start: datetime, end: datetime, valid_from: datetime, valid_to: datetime | None) -> tuple[datetime, datetime] | None:
    low, high = max(start, valid_from), min(end, valid_to) if valid_to else end
    return (low, high) if low < high else None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _on_address(flows: np.ndarray, packed: bytes) -> np.ndarray:
    key = np.void(packed)
    return ((flows["src"] == key) | (flows["dst"] == key) | (flows["nat_src"] == key) | (flows["nat_dst"] == key))


def _in_network(flows: np.ndarray, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> np.ndarray:
    """Flows with any address column inside ``network`` (the store filters single addresses only)."""
    low = np.frombuffer(pack_address(network.network_address), ">u8")
    high = np.frombuffer(pack_address(network.broadcast_address), ">u8")
    hit = np.zeros(len(flows), dtype=bool)
    for column in ("src", "dst", "nat_src", "nat_dst"):
        halves = np.ascontiguousarray(flows[column]).view(">u8").reshape(-1, 2)
        hi, lo = halves[:, 0], halves[:, 1]
        above = (hi > low[0]) | ((hi == low[0]) & (lo >= low[1]))
        below = (hi < high[0]) | ((hi == high[0]) & (lo <= high[1]))
        hit |= above & below
    return hit


def _filtered(flows: np.ndarray, query: FlowQuery) -> np.ndarray:
    if query.protocol is not None:
        flows = flows[flows["proto"] == query.protocol]
    if query.peer is not None:
        flows = flows[_on_address(flows, pack_address(query.peer))]
    return flows


def _customer(session: Session, number: int) -> Customer:
    found = session.scalar(select(Customer).where(Customer.number == number))
    if found is None:
        raise QueryError(N_("No customer with number %(number)d."), field="customer_number", number=number)
    return found


def search_flows(session: Session, query: FlowQuery) -> FlowResult:
    """The flows of an address, or of every address a customer's services held in the interval."""
    location_id = _location_id()
    # one row more than asked tells whether the answer was cut
    cap = query.limit + 1
    parts: list[np.ndarray] = []
    result = FlowResult(query=query, flows=np.zeros(0, dtype=STORED_DTYPE))
    if query.ip is not None:
        parts.append(_filtered(read.flows(session, location_id, query.start, query.end, address=query.ip,
                                          port=query.port, limit=None if query.peer or query.protocol is not None
                                          else cap), query))
        result.searched.append(query.ip)
    else:
        result.customer = _customer(session, query.customer_number)
        for service in services.services_of_customer(session, result.customer.id):
            for held in assignments_of(session, service.id):
                span = _span(query.start, query.end, held.valid_from, held.valid_to)
                if span is None:
                    continue
                network = ad.to_network(held.family, held.network, held.prefixlen)
                result.searched.append(f"{held.text} {span[0].isoformat()} – {span[1].isoformat()}")
                if network.num_addresses == 1:
                    found = read.flows(session, location_id, span[0], span[1], address=network.network_address,
                                       port=query.port)
                else:
                    found = read.flows(session, location_id, span[0], span[1], port=None)
                    found = found[_in_network(found, network)]
                    if query.port is not None:
                        found = found[(found["sport"] == query.port) | (found["dport"] == query.port)
                                      | (found["nat_sport"] == query.port) | (found["nat_dport"] == query.port)]
                parts.append(_filtered(found, query))
    if parts:
        flows = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if len(parts) > 1:  # a flow between two addresses of the customer is found twice
            _, first_index = np.unique(flows.view(np.dtype((np.void, STORED_DTYPE.itemsize))), return_index=True)
            flows = flows[np.sort(first_index)]
        flows = flows[np.argsort(flows["first"], kind="stable")]
        result.truncated = len(flows) > query.limit
        result.flows = flows[:query.limit]
    return result


# --- the audit log -------------------------------------------------------------------------------------


def record(session: Session, asker: Asker, reference: str, kind: str, params: dict[str, Any],
           count: int) -> QueryLog:
    """Write one row of the audit log (in the caller's transaction)."""
    if asker.channel not in CHANNELS:
        raise ValueError(f"unknown channel {asker.channel!r}")
    operator = (asker.operator or "").strip()[:200] or "?"
    row = QueryLog(channel=asker.channel, user_id=asker.user_id, operator=operator, reference=reference,
                   kind=kind, params=params, result_count=count)
    session.add(row)
    session.flush()
    return row


def ask_who(session: Session, asker: Asker, reference: Any, ip: Any, at: datetime,
            port: Any = None) -> tuple[WhoAnswer, QueryLog]:
    """:func:`who`, logged."""
    reference = clean_reference(reference)
    answer = who(session, ip, at, clean_port(port))
    params = {"ip": answer.ip, "port": answer.port, "at": answer.at.isoformat()}
    return answer, record(session, asker, reference, WHO, params, len(answer.holders))


def ask_flows(session: Session, asker: Asker, reference: Any, query: FlowQuery) -> tuple[FlowResult, QueryLog]:
    """:func:`search_flows`, logged."""
    reference = clean_reference(reference)
    result = search_flows(session, query)
    return result, record(session, asker, reference, FLOWS, query.as_json(), len(result))


def audit_log(session: Session, *, reference: str | None = None, kind: str | None = None,
              limit: int = 200, offset: int = 0) -> list[QueryLog]:
    """The location's audit log, newest first."""
    statement = select(QueryLog)
    if reference:
        statement = statement.where(QueryLog.reference == reference.strip())
    if kind:
        statement = statement.where(QueryLog.kind == kind)
    return list(session.scalars(statement.order_by(QueryLog.asked_at.desc(), QueryLog.id.desc())
                                .limit(limit).offset(offset)))


# --- rows for people and files ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    found = unpack_address(value)
    return "" if found is None else str(found)


def flow_rows(flows: np.ndarray) -> list[dict[str, Any]]:
    """Plain rows of flows (times as aware UTC datetimes, addresses as text, ``bytes`` × sampling)."""
    rows = []
    for f in flows:
        rows.append({
            "first": datetime.fromtimestamp(int(f["first"]) / 1000, UTC),
            "last": datetime.fromtimestamp(int(f["last"]) / 1000, UTC),
            "protocol": int(f["proto"]), "src": _text(f["src"]), "sport": int(f["sport"]),
            "dst": _text(f["dst"]), "dport": int(f["dport"]), "nat_src": _text(f["nat_src"]),
            "nat_sport": int(f["nat_sport"]) if _text(f["nat_src"]) else None,
            "nat_dst": _text(f["nat_dst"]), "nat_dport": int(f["nat_dport"]) if _text(f["nat_dst"]) else None,
            "octets": int(f["octets"]), "packets": int(f["packets"]), "sampling": int(f["sampling"]),
            "bytes": int(f["octets"]) * max(int(f["sampling"]), 1), "tcp_flags": int(f["tcp_flags"]),
            "exporter_id": int(f["exporter_id"]),
        })
    return rows
