"""Matching payments to customers by variable symbol, booking them, and suggestions for the rest.

Order of the rules for one variable symbol (VS), first hit wins:

1. a customer's own VS (``Customer.variable_symbol``) → the customer's ``receivable`` account;
2. a uniCredit symbol (``BillingProfile.prepaid_symbol``) → the customer's ``prepaid`` account
   (ledger kind ``topup``);
3. an open advance invoice's own VS → the customer's ``advance`` account (money held for that
   supply until its final invoice; :mod:`mango_billing.advances`, which then records the payment on
   the advance and issues its tax document when :func:`emit_matched` runs);
4. an invoice's VS or its number (when the number is all digits) → the invoice's customer.

Symbols are compared without leading zeros (the bank parsers strip them; core stores customer
symbols that way). A payment in another currency than the location's is never matched
automatically: converting it is a person's decision. Partial and over-payments need no rule: the
ledger's FIFO open items pay the oldest debt first and an overpayment stays as credit.

Everything here works on batches: :class:`SymbolIndex` is loaded with a few ``IN`` queries for all
symbols of a statement, so matching 50,000 movements costs no query per movement.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import String, cast, func, insert, select
from sqlalchemy.orm import Session

from mango_billing import advances
from mango_billing.ledger import open_items
from mango_billing.models import BillingProfile, Invoice, LedgerEntry, Payment
from mango_core.customers.models import Customer
from mango_core.db import utcnow
from mango_core.db.bulk import SEPARATOR, STAMPED, among, chunks

RECEIVABLE, PREPAID, ADVANCE = "receivable", "prepaid", "advance"


def norm(symbol: object) -> str | None:
    """A symbol as matched: digits without leading zeros, None when empty."""
    if symbol is None:
        return None
    text = str(symbol).strip()
    return (text.lstrip("0") or None) if text.isdigit() else None


def _normed(symbols: Iterable[object]) -> dict[object, str | None]:
    """``{symbol: norm(symbol)}`` of many symbols; the parsers' symbols are normal already and skip the call."""
    out: dict[object, str | None] = {}
    for symbol in symbols:
        if symbol not in out:
            out[symbol] = symbol if (type(symbol) is str and symbol.isdigit() and symbol[0] != "0") else norm(symbol)
    return out


@dataclass(frozen=True)
class Match:
    customer_id: int
    target: str  # "receivable", "prepaid" or "advance"
    rule: str  # "customer_vs", "prepaid_symbol", "advance", "invoice"


@dataclass
class SymbolIndex:
    """What each variable symbol of a batch points to (loaded once per batch)."""

    customers: dict[str, int] = field(default_factory=dict)
    prepaid: dict[str, int] = field(default_factory=dict)
    advances: dict[str, int] = field(default_factory=dict)
    invoices: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, symbols: Iterable[str | None]) -> SymbolIndex:
        wanted = set(_normed(symbols).values())
        wanted.discard(None)  # norm() gives None or a non-empty symbol
        index = cls()
        # Keyed by each customer's own symbol, the result depends neither on the order of ``wanted`` nor on
        # its IN chunks, so it is not sorted. The rows come as one text "vs<US>id<US>vs<US>id...": 50,000
        # ORM result rows cost about as much as the query itself. Each symbol found equals a wanted one, so it
        # is normal (digits only, no separator in it) and its own key.
        pair = Customer.variable_symbol + SEPARATOR + cast(Customer.id, String)
        for criterion, _part in among(session, Customer.variable_symbol, list(wanted)):
            joined = session.scalar(
                select(func.aggregate_strings(pair, SEPARATOR)).select_from(Customer).where(criterion))
            if joined:
                parts = joined.split(SEPARATOR)
                index.customers.update(zip(parts[::2], map(int, parts[1::2]), strict=True))
        rest = sorted(wanted - index.customers.keys())
        for criterion, _part in among(session, BillingProfile.prepaid_symbol, rest):
            index.prepaid.update(
                (norm(vs), cid) for vs, cid in session.execute(
                    select(BillingProfile.prepaid_symbol, BillingProfile.customer_id).where(criterion)))
        rest = [s for s in rest if s not in index.prepaid]
        if rest and advances.any_open(session):
            for part in chunks(rest):
                index.advances.update((norm(vs), cid) for vs, cid in advances.open_symbols(session, part))
            rest = [s for s in rest if s not in index.advances]
        for criterion, part in among(session, Invoice.variable_symbol, rest):
            by_number = next(iter(among(session, Invoice.number, part)))[0]
            rows = session.execute(
                select(Invoice.variable_symbol, Invoice.number, Invoice.customer_id)
                .where(criterion | by_number)
                .order_by(Invoice.issued_on, Invoice.id))
            for vs, number, cid in rows:
                # an invoice's own VS wins over another invoice that happens to have it as its number
                if norm(number):
                    index.invoices.setdefault(norm(number), cid)
                if norm(vs):
                    index.invoices[norm(vs)] = cid
        return index

    def resolve(self, symbols: Iterable[str | None]) -> dict[str, tuple[int, str]]:
        """``{symbol: (customer_id, target)}`` of the given symbols that :meth:`match` finds (as written)."""
        found: dict[Any, tuple[int, str]] = {}
        customers, prepaid, invoices = self.customers, self.prepaid, self.invoices
        held = self.advances
        # one pass over the distinct symbols, each normalised as _normed() does, without its dict
        for symbol in dict.fromkeys(symbols):
            key = symbol if (type(symbol) is str and symbol.isdigit() and symbol[0] != "0") else norm(symbol)
            # the rules of match(), without a Match object per symbol
            if key is None:
                continue
            if key in customers:
                found[symbol] = (customers[key], RECEIVABLE)
            elif key in prepaid:
                found[symbol] = (prepaid[key], PREPAID)
            elif key in held:
                found[symbol] = (held[key], ADVANCE)
            elif key in invoices:
                found[symbol] = (invoices[key], RECEIVABLE)
        return found

    def match(self, symbol: str | None) -> Match | None:
        key = norm(symbol)
        if key is None:
            return None
        if key in self.customers:
            return Match(self.customers[key], RECEIVABLE, "customer_vs")
        if key in self.prepaid:
            return Match(self.prepaid[key], PREPAID, "prepaid_symbol")
        if key in self.advances:
            return Match(self.advances[key], ADVANCE, "advance")
        if key in self.invoices:
            return Match(self.invoices[key], RECEIVABLE, "invoice")
        return None


def ledger_kind(amount: Decimal, target: str, reversal: bool) -> str:
    """The ledger entry kind of a matched payment (see the module doc of ``importer``)."""
    if reversal:
        return "reversal"
    if target == PREPAID:
        return "topup" if amount >= 0 else "return"
    return "payment" if amount >= 0 else "refund"


def ledger_rows(location_id: int, payments: Iterable[dict[str, Any]], actor_id: int | None) -> list[dict]:
    """Ledger entry rows (for one executemany INSERT) of matched payment rows with their ids."""
    now = utcnow()
    return [{"location_id": location_id, "customer_id": p["customer_id"], "account": p["target"],
             "kind": ledger_kind(p["amount"], p["target"], p.get("reversal", False)),
             "booked_on": p["received_on"], "amount": p["amount"], "payment_id": p["id"],
             "note": _note(p), "created_at": now, "created_by_id": actor_id}
            for p in payments]


def _note(p: dict[str, Any]) -> str | None:
    vs = p.get("variable_symbol")
    return f"VS {vs}" if vs else None


def insert_ledger(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(LedgerEntry).execution_options(**STAMPED), rows)


def book(session: Session, payment: Payment, customer_id: int, target: str, *, actor_id: int | None,
         on: date | None = None) -> LedgerEntry:
    """Match one payment (already flushed) to a customer and post its ledger entry."""
    from mango_billing import ledger

    payment.customer_id = customer_id
    payment.target = target
    payment.state = "matched"
    payment.matched_at = utcnow()
    payment.matched_by_id = actor_id
    return ledger.post(session, customer_id=customer_id, account=target,
                       kind=ledger_kind(payment.amount, target, payment.reversal),
                       amount=payment.amount, booked_on=on or payment.received_on, payment_id=payment.id,
                       note=f"VS {payment.variable_symbol}" if payment.variable_symbol else None,
                       actor_id=actor_id)


def emit_matched(session: Session, location_id: int, payment_ids: list[int]) -> None:
    """After a batch is matched: payments on advances are recorded on them (with their tax documents,
    :func:`mango_billing.advances.apply_payments`), then the core event ``mango_payments_matched``
    (nothing to tell outside an app)."""
    if not payment_ids:
        return
    advances.apply_payments(session, payment_ids)
    if not (has_app_context() and "mango" in current_app.extensions):
        return
    plugins = current_app.extensions["mango"].plugins
    if plugins.pm.hook.mango_payments_matched.get_hookimpls():
        plugins.emit("mango_payments_matched", location_id=location_id, session=session,
                     payment_ids=list(payment_ids))


# --- suggestions for the pairing screen ----------------------------------------------------------

@dataclass(frozen=True)
class Suggestion:
    customer_id: int
    customer_name: str
    customer_vs: str
    reason: str  # "amount", "vs_typo", "counter_account", "name"
    detail: str
    score: int


def vs_typos(symbol: str) -> set[str]:
    """Symbols one keystroke away: one digit changed, two neighbours swapped, one digit missing or extra."""
    out: set[str] = set()
    digits = "0123456789"
    for i in range(len(symbol)):
        for d in digits:
            if d != symbol[i]:
                out.add(symbol[:i] + d + symbol[i + 1:])
        out.add(symbol[:i] + symbol[i + 1:])
        if i + 1 < len(symbol) and symbol[i] != symbol[i + 1]:
            out.add(symbol[:i] + symbol[i + 1] + symbol[i] + symbol[i + 2:])
    for i in range(len(symbol) + 1):
        for d in digits:
            out.add(symbol[:i] + d + symbol[i:])
    return {s.lstrip("0") for s in out if s.lstrip("0") and len(s) <= 10} - {symbol}


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in folded if ch.isalnum() or ch.isspace()).split())


def name_similarity(a: str, b: str) -> float:
    """0..1, word order ignored ("NOVAK JAN" resembles "Jan Novák")."""
    left, right = sorted(_plain(a).split()), sorted(_plain(b).split())
    if not left or not right:
        return 0.0
    return difflib.SequenceMatcher(None, " ".join(left), " ".join(right)).ratio()


def suggestions(session: Session, payment: Payment, limit: int = 5) -> list[Suggestion]:
    """Likely customers of an unmatched payment, best first."""
    found: dict[int, tuple[int, str, str]] = {}

    def add(customer_id: int, score: int, reason: str, detail: str) -> None:
        if customer_id not in found or found[customer_id][0] < score:
            found[customer_id] = (score, reason, detail)

    vs = norm(payment.variable_symbol)
    if vs:
        near = sorted(vs_typos(vs))
        for part in chunks(near):
            for cvs, cid in session.execute(select(Customer.variable_symbol, Customer.id)
                                            .where(Customer.variable_symbol.in_(part))):
                add(cid, 80, "vs_typo", cvs)
    if payment.counter_account:
        rows = session.execute(select(Payment.customer_id).where(
            Payment.counter_account == payment.counter_account, Payment.state == "matched",
            Payment.customer_id.is_not(None)).distinct().limit(5))
        for (cid,) in rows:
            add(cid, 90, "counter_account", payment.counter_account)
    if payment.amount > 0:
        # invoices whose unpaid part equals the payment: candidates from invoices of that total
        rows = session.execute(select(Invoice.customer_id).where(Invoice.total == payment.amount,
                                                                Invoice.kind == "invoice")
                               .order_by(Invoice.issued_on.desc()).limit(50))
        for cid in dict.fromkeys(cid for (cid,) in rows):
            for item in open_items(session, cid):
                if item.unpaid == payment.amount:
                    add(cid, 70, "amount", item.number)
                    break
    if payment.counter_name and len(_plain(payment.counter_name)) >= 3:
        words = [w for w in _plain(payment.counter_name).split() if len(w) >= 3]
        if words:
            # the longest word narrows the candidates in the database (sort_name is folded like _plain)
            word = max(words, key=len)
            rows = session.execute(select(Customer.id, Customer.display_name)
                                   .where(Customer.sort_name.contains(word)).limit(200))
            for cid, name in rows:
                ratio = name_similarity(payment.counter_name, name)
                if ratio >= 0.75:
                    add(cid, int(40 + 30 * ratio), "name", name)
    if not found:
        return []
    names = dict(session.execute(select(Customer.id, Customer.display_name).where(Customer.id.in_(list(found)))).all())
    symbols = dict(session.execute(select(Customer.id, Customer.variable_symbol)
                                   .where(Customer.id.in_(list(found)))).all())
    ranked = sorted(found.items(), key=lambda kv: (-kv[1][0], names.get(kv[0], "")))
    return [Suggestion(cid, names.get(cid, "?"), symbols.get(cid, ""), reason, detail, score)
            for cid, (score, reason, detail) in ranked[:limit] if cid in names]
