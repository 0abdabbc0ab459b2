"""Advances under random sequences (a hypothesis state machine) and the split of a payment over VAT rates.

The machine keeps its own books per customer — money paid, supplies invoiced — and after every step:

* the customer's money in all accounts is payments − supplies (an advance is no debt; its settlement
  moves money, it makes none) and the ``advance`` account holds exactly what the unsettled advances got;
* an advance's state follows what was paid on it; its tax documents never tax more than its total, and
  once it is fully paid they tax exactly its base and VAT per rate;
* advance invoices are never open items; every document adds up (``check()``);
* the ZF, ZD and FV numbers stay gapless.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from mango_billing import advances, ledger
from mango_billing.advances import _split
from mango_billing.invoices import to_document
from mango_billing.models import Advance, AdvancePayment, Invoice, InvoiceSeries, LedgerEntry
from mango_billing.payments import service
from mango_billing.periods import RatedLine, money
from mango_core.customers import service as customers
from mango_core.tenancy import location_scope
from mango_core.tenancy.models import Location

RATES = [Decimal("21"), Decimal("12"), Decimal("0")]
cents = st.integers(min_value=1, max_value=300_000).map(lambda c: Decimal(c).scaleb(-2))
lines_st = st.lists(st.tuples(cents, st.sampled_from(RATES)), min_size=1, max_size=3)


def rated(items) -> list[RatedLine]:  # noqa: ANN001
    return [RatedLine(kind="one_off", description=f"Položka {i}", amount=a, vat_rate=r, customer_id=0)
            for i, (a, r) in enumerate(items, start=1)]


def test_advances_keep_the_books_under_random_sequences(app, db, world):  # noqa: ANN001
    with app.test_request_context(), location_scope(world.loc_a.id):
        location = db.get(Location, world.loc_a.id)
        location.dic = "CZ27082440"
        db.flush()

        class Books(RuleBasedStateMachine):
            @initialize()
            def new_customer(self) -> None:
                self.customer = customers.create_customer(db, kind="person", first_name="Stav",
                                                          last_name=f"Záloha {uuid.uuid4().hex[:8]}")
                self.paid = Decimal("0.00")
                self.supplied = Decimal("0.00")
                self.ids: list[int] = []

            def _pick(self, pick: int, states: tuple[str, ...]) -> Advance | None:
                mine = [a for a in (db.get(Advance, i) for i in self.ids) if a.state in states]
                return mine[pick % len(mine)] if mine else None

            @rule(items=lines_st)
            def issue(self, items) -> None:  # noqa: ANN001
                self.ids.append(advances.issue_advance(db, location, self.customer.id, rated(items)).id)

            @precondition(lambda self: self.ids)
            @rule(pick=st.integers(min_value=0), share=st.integers(min_value=1, max_value=130))
            def pay(self, pick: int, share: int) -> None:
                advance = self._pick(pick, ("open", "paid"))
                if advance is None:
                    return
                amount = max(Decimal("0.01"), money(advance.invoice.total * share / 100))
                service.record_payment(db, location_id=location.id, customer_id=self.customer.id, amount=amount,
                                       method="bank", received_on=date.today(), idempotency_key=uuid.uuid4().hex,
                                       actor_id=None, variable_symbol=advance.invoice.variable_symbol)
                self.paid += amount

            @precondition(lambda self: self.ids)
            @rule(pick=st.integers(min_value=0), items=st.none() | lines_st)
            def settle(self, pick: int, items) -> None:  # noqa: ANN001
                advance = self._pick(pick, ("open", "paid"))
                if advance is None:
                    return
                final = advances.settle(db, advance, lines=rated(items) if items else None)
                deducted = sum((ln.total for ln in final.lines if ln.kind == "deduction"), Decimal("0"))
                self.supplied += final.total - deducted
                assert advances.settle(db, advance).id == final.id

            @precondition(lambda self: self.ids)
            @rule(pick=st.integers(min_value=0))
            def cancel(self, pick: int) -> None:
                advance = self._pick(pick, ("open",))
                if advance is not None and advance.paid == 0:
                    advances.cancel(db, advance)

            @invariant()
            def books_agree(self) -> None:
                cid = self.customer.id
                total = Decimal(db.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                                          .where(LedgerEntry.customer_id == cid)) or 0)
                assert total == self.paid - self.supplied
                held = sum((a.paid for a in (db.get(Advance, i) for i in self.ids) if a.state in ("open", "paid")),
                           Decimal("0"))
                assert advances.held(db, cid) == held
                assert not {i.invoice_id for i in ledger.open_items(db, cid)} & {
                    db.get(Advance, i).invoice_id for i in self.ids}

            @invariant()
            def advances_agree(self) -> None:
                for advance in (db.get(Advance, i) for i in self.ids):
                    document = advance.invoice
                    paid = Decimal(db.scalar(select(func.coalesce(func.sum(AdvancePayment.amount), 0))
                                             .where(AdvancePayment.advance_id == advance.id)) or 0)
                    assert paid == advance.paid
                    if advance.state in ("open", "paid"):
                        assert (advance.state == "paid") == (paid >= document.total)
                    taxes = advances.tax_documents(db, advance)
                    taxed = sum((t.total for t in taxes), Decimal("0"))
                    assert taxed == min(paid, document.total)
                    done = advances.taxed_per_rate(db, advance)
                    if paid >= document.total:
                        assert {r: bv for r, bv in done.items() if bv != (0, 0)} == {
                            r: bv for r, bv in advances.rate_grosses(document).items() if bv != (0, 0)}
                    for doc in [document, *taxes]:
                        to_document(doc).check()
                    if advance.final_invoice_id:
                        to_document(db.get(Invoice, advance.final_invoice_id)).check()

            @invariant()
            def numbers_are_gapless(self) -> None:
                for code in ("ZF", "ZD", "FV"):
                    series = db.scalar(select(InvoiceSeries).where(InvoiceSeries.code == code))
                    if series is None:
                        continue
                    by_year = defaultdict(list)
                    for year, seq in db.execute(select(Invoice.year, Invoice.sequence)
                                                .where(Invoice.series_id == series.id)):
                        by_year[year].append(seq)
                    for seqs in by_year.values():
                        assert sorted(seqs) == list(range(1, len(seqs) + 1))

        run_state_machine_as_test(Books, settings=settings(max_examples=15, stateful_step_count=15, deadline=None))


@given(items=lines_st, shares=st.lists(st.integers(min_value=1, max_value=99), min_size=1, max_size=4))
@settings(max_examples=200, deadline=None)
def test_payments_split_over_rates_add_up(items, shares) -> None:  # noqa: ANN001
    """Parts of an advance taxed payment by payment: each part's VAT is the VAT contained in it
    (within a cent of base × rate), no rate is taxed beyond its gross, and the last part leaves
    exactly the advance's base and VAT per rate."""
    bases: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for amount, rate in items:
        bases[rate] += amount
    grosses = {r: (b, money(b * r / 100)) for r, b in bases.items()}
    total = sum((b + v for b, v in grosses.values()), Decimal("0"))
    done: dict[Decimal, tuple[Decimal, Decimal]] = {}
    taxed = Decimal("0")
    parts = [money(total * s / 100) for s in shares]
    for part in parts + [None]:
        part = total - taxed if part is None else min(part, total - taxed)
        if part <= 0:
            continue
        last = taxed + part == total
        split = _split(grosses, done, part, last)
        assert sum((b + v for _r, b, v in split), Decimal("0")) == part
        for rate, base, vat in split:
            if not last:
                assert abs(vat - base * rate / 100) <= Decimal("0.01")
            b, v = done.get(rate, (Decimal("0"), Decimal("0")))
            done[rate] = (b + base, v + vat)
            assert done[rate][0] + done[rate][1] <= sum(grosses[rate])
        taxed += part
    assert {r: bv for r, bv in done.items()} == {r: bv for r, bv in grosses.items() if bv != (0, 0)}
