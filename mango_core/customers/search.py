"""Finding customers: one search box, list filters, sorting and keyset pagination.

The search box looks in :class:`CustomerKeyword`, a word index the service keeps up to date
(:func:`reindex`): every word of the query must prefix-match a keyword of the customer, each
one an index range scan, so a search costs the same on 100 or 100,000 customers. Plugins add
their own keys (an IP address, a contract number) through ``mango_customer_search``.

Pages are cut by keyset (``WHERE (sort key, id) > (last seen)``), never by OFFSET, so page 500
is as fast as page 1.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Select, and_, delete, exists, intersect, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from mango_core.customers.models import Customer, CustomerKeyword, CustomerTagLink
from mango_core.customers.normalize import fold, query_digits, words
from mango_core.tenancy.context import scope_or_none

MAX_KEYWORD = 100
SORTS = ("name", "number", "created")
PAGE_SIZE = 50


# --- the index --------------------------------------------------------------------------------


def keywords_of(customer: Customer) -> set[str]:
    """The normalised words a customer is found by."""
    found: set[str] = set()
    for text in (customer.first_name, customer.last_name, customer.company_name, customer.display_name):
        found.update(words(text))
    found.update(filter(None, (str(customer.number), customer.variable_symbol, customer.ico,
                               (customer.dic or "").lower())))
    for contact in customer.contacts:
        found.update(words(contact.name))
        for channel in contact.channels:
            found.add(channel.search_value)
            if channel.kind == "email":
                found.update(words(channel.search_value))  # "novak", "seznam", "cz"
    for address in customer.addresses:
        found.update(words(address.street))
        found.update(words(address.city))
        if address.postal_code:
            found.add(address.postal_code.lower())
    return {w[:MAX_KEYWORD] for w in found if w}


def reindex(session: Session, customer: Customer) -> None:
    """Bring the customer's keywords in line with the record (in the caller's transaction)."""
    wanted = keywords_of(customer)
    stored = dict(session.execute(
        select(CustomerKeyword.value, CustomerKeyword.id).where(CustomerKeyword.customer_id == customer.id)
    ).all())
    stale = [kid for value, kid in stored.items() if value not in wanted]
    if stale:
        session.execute(delete(CustomerKeyword).where(CustomerKeyword.id.in_(stale)),
                        execution_options={"synchronize_session": False})
    session.add_all(CustomerKeyword(customer_id=customer.id, value=w, location_id=customer.location_id)
                    for w in sorted(wanted - set(stored)))
    session.flush()


# --- the search box ---------------------------------------------------------------------------


def query_terms(query: str) -> list[str]:
    """Words of a query as the index stores them: a phone or number as digits, an e-mail whole."""
    text = (query or "").strip()
    if not text:
        return []
    digits = query_digits(text)
    if digits:
        return [digits]
    if "@" in text and " " not in text:
        return [fold(text)[:MAX_KEYWORD]]
    return [w[:MAX_KEYWORD] for w in words(text)][:8]


def _prefix(term: str):  # noqa: ANN202
    """keyword LIKE 'term%' written as a range, which every index can use."""
    upper = term[:-1] + chr(ord(term[-1]) + 1)
    return select(CustomerKeyword.customer_id).where(CustomerKeyword.value >= term, CustomerKeyword.value < upper)


def plugin_matches(session: Session, query: str) -> set[int]:
    """Customer ids that plugins enabled here find for the query (``mango_customer_search``)."""
    if not has_app_context() or "mango" not in current_app.extensions:
        return set()
    mango = current_app.extensions["mango"]
    scope = scope_or_none()
    location_id = scope.write_location_id if scope else None
    active = mango.plugins.active_names(location_id)
    found: set[int] = set()
    for _plugin, ids in mango.plugins.contributions("mango_customer_search", only=active,
                                                    session=session, query=query):
        found.update(int(i) for i in ids)
    return found


def matching(session: Session, query: str):  # noqa: ANN201
    """A WHERE clause for the customers the search box finds, or None for an empty query."""
    terms = query_terms(query)
    if not terms and not (query or "").strip():
        return None
    clauses = []
    if terms:
        subqueries = [_prefix(t) for t in terms]
        ids = subqueries[0] if len(subqueries) == 1 else intersect(*subqueries)
        # Find the hits first, then sort them: left to itself, PostgreSQL may walk the whole
        # customer table in name order testing each row against the hits (250 ms on 100,000).
        hits = ids.cte("search_hits").prefix_with("MATERIALIZED", dialect="postgresql")
        clauses.append(Customer.id.in_(select(hits.c.customer_id)))
    extra = plugin_matches(session, query.strip())
    if extra:
        clauses.append(Customer.id.in_(sorted(extra)))
    return or_(*clauses) if clauses else Customer.id.is_(None)


# --- the list ---------------------------------------------------------------------------------


@dataclass
class Filters:
    query: str = ""
    state: str | None = None
    tag_id: int | None = None
    structure: str | None = None  # "parents" (have children), "children" (have a parent), "top"
    sort: str = "name"


@dataclass
class Page:
    items: list[Customer]
    next_cursor: str | None
    filters: Filters = field(default_factory=Filters)


def _sort_key(customer: Customer, sort: str) -> list[Any]:
    if sort == "name":
        return [customer.sort_name, customer.id]
    if sort == "number":
        return [customer.number]
    return [customer.id]


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, ensure_ascii=False).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, sort: str) -> list[Any] | None:
    """The last row of the previous page; None for a missing or garbled cursor (first page)."""
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None
    expected = {"name": [str, int], "number": [int], "created": [int]}[sort]
    if not (isinstance(values, list) and len(values) == len(expected)
            and all(isinstance(x, t) and not isinstance(x, bool) for x, t in zip(values, expected, strict=True))):
        return None
    return values


def _filtered(session: Session, filters: Filters) -> Select:
    stmt = select(Customer)
    where = matching(session, filters.query)
    if where is not None:
        stmt = stmt.where(where)
    if filters.state:
        stmt = stmt.where(Customer.state == filters.state)
    if filters.tag_id:
        stmt = stmt.where(exists().where(CustomerTagLink.customer_id == Customer.id,
                                         CustomerTagLink.tag_id == filters.tag_id))
    if filters.structure == "children":
        stmt = stmt.where(Customer.parent_id.is_not(None))
    elif filters.structure == "top":
        stmt = stmt.where(Customer.parent_id.is_(None))
    elif filters.structure == "parents":
        child = aliased(Customer)
        stmt = stmt.where(exists().where(child.parent_id == Customer.id))
    return stmt


def list_customers(session: Session, filters: Filters, *, after: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """One page of customers; ``next_cursor`` continues after its last row (None on the last page)."""
    sort = filters.sort if filters.sort in SORTS else "name"
    stmt = _filtered(session, filters)
    last = decode_cursor(after, sort)
    if sort == "name":
        order = (Customer.sort_name, Customer.id)
        if last:
            stmt = stmt.where(or_(Customer.sort_name > last[0],
                                  and_(Customer.sort_name == last[0], Customer.id > last[1])))
    elif sort == "number":
        order = (Customer.number,)
        if last:
            stmt = stmt.where(Customer.number > last[0])
    else:  # newest first
        order = (Customer.id.desc(),)
        if last:
            stmt = stmt.where(Customer.id < last[0])
    # the list shows each customer's tags: one query for the page, not one per row
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1).options(selectinload(Customer.tag_links))))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(_sort_key(rows[-1], sort)) if more and rows else None
    return Page(rows, cursor, filters)
