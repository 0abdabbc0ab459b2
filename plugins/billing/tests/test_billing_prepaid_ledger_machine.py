"""The ledger's invariants under random sequences of money movements (a hypothesis state machine).

Each example works on a fresh customer; the model below keeps its own books (plain Decimals and
its own oldest-due-first allocation) and after every step the database must agree with it:

* the receivable and prepaid balances equal the sum of their entries and the model's
  payments + credit notes + draws − invoices − refunds − reversals (and top-ups − draws − returns);
* across both accounts nothing is created or lost (a draw moves money, it makes none);
* open items are never negative, never more than their invoice, equal the model's allocation,
  and together with unpaid debts without an invoice they are exactly ``max(0, −balance)``;
* the credit never goes negative: a draw beyond it is refused with :class:`PrepaidError`.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import settings
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
from test_billing_dunning_flow import make_invoice

from mango_billing import ledger, prepaid
from mango_billing.models import LedgerEntry, Payment
from mango_core.customers import service as customers
from mango_core.tenancy import location_scope

BASE = date(2024, 1, 1)
amounts = st.integers(min_value=1, max_value=500_000).map(lambda cents: Decimal(cents).scaleb(-2))


def test_ledger_invariants_under_random_movements(app, db, world):
    with app.test_request_context(), location_scope(world.loc_a.id):

        class Books(RuleBasedStateMachine):
            @initialize()
            def new_customer(self) -> None:
                self.customer = customers.create_customer(db, kind="person", first_name="Stav",
                                                          last_name=f"Automat {uuid.uuid4().hex[:8]}")
                self.day = 0
                self.totals = {k: Decimal("0.00") for k in ("invoices", "payments", "credit_notes", "refunds",
                                                            "reversals", "topups", "draws")}
                self.invoices: list[tuple[int, Decimal]] = []  # (id, total) not drawn yet
                self.payments: list[tuple[int, Decimal]] = []  # not reversed yet
                # debts for the model's allocation: (date, 0 invoice / 1 other, id, amount)
                self.debts: list[tuple[date, int, int, Decimal]] = []

            def _today(self) -> date:
                return BASE + timedelta(days=self.day)

            def _payment(self, amount: Decimal, state: str = "matched") -> Payment:
                payment = Payment(dedup_key=f"m:{uuid.uuid4()}", method="bank", received_on=self._today(),
                                  amount=amount, customer_id=self.customer.id, state=state)
                db.add(payment)
                db.flush()
                return payment

            @rule(days=st.integers(min_value=0, max_value=20))
            def time_passes(self, days: int) -> None:
                self.day += days

            @rule(amount=amounts)
            def issue_invoice(self, amount: Decimal) -> None:
                invoice = make_invoice(db, self.customer, str(amount), self._today() + timedelta(days=14))
                self.totals["invoices"] += amount
                self.invoices.append((invoice.id, amount))
                self.debts.append((invoice.due_date, 0, invoice.id, amount))

            @rule(amount=amounts)
            def payment(self, amount: Decimal) -> None:
                payment = self._payment(amount)
                ledger.post(db, customer_id=self.customer.id, kind="payment", amount=amount,
                            booked_on=self._today(), payment_id=payment.id)
                self.totals["payments"] += amount
                self.payments.append((payment.id, amount))

            @precondition(lambda self: ledger.balance(db, self.customer.id) < 0)
            @rule(extra=amounts)
            def overpayment(self, extra: Decimal) -> None:
                self.payment(-ledger.balance(db, self.customer.id) + extra)

            @rule(amount=amounts)
            def topup(self, amount: Decimal) -> None:
                prepaid.topup(db, self.customer, amount, "cash", on=self._today())
                self.totals["topups"] += amount

            @precondition(lambda self: self.invoices)
            @rule(pick=st.integers(min_value=0), share=st.integers(min_value=1, max_value=100))
            def draw(self, pick: int, share: int) -> None:
                invoice_id, total = self.invoices[pick % len(self.invoices)]
                amount = max(Decimal("0.01"), (total * share / 100).quantize(Decimal("0.01")))
                credit = prepaid.balance(db, self.customer.id)
                if amount > credit:
                    try:
                        with db.begin_nested():
                            prepaid.draw(db, self.customer.id, amount, invoice_id=invoice_id, on=self._today())
                    except prepaid.PrepaidError:
                        return
                    raise AssertionError(f"a draw of {amount} beyond the credit {credit} was accepted")
                prepaid.draw(db, self.customer.id, amount, invoice_id=invoice_id, on=self._today())
                self.totals["draws"] += amount
                self.invoices.remove((invoice_id, total))

            @rule(amount=amounts)
            def credit_note(self, amount: Decimal) -> None:
                make_invoice(db, self.customer, str(-amount), self._today(), kind="credit_note")
                self.totals["credit_notes"] += amount

            @precondition(lambda self: ledger.balance(db, self.customer.id) > 0)
            @rule(share=st.integers(min_value=1, max_value=100))
            def refund(self, share: int) -> None:
                credit = ledger.balance(db, self.customer.id)
                amount = max(Decimal("0.01"), (credit * share / 100).quantize(Decimal("0.01")))
                payment = self._payment(-amount, state="refunded")
                entry = ledger.post(db, customer_id=self.customer.id, kind="refund", amount=-amount,
                                    booked_on=self._today(), payment_id=payment.id)
                db.flush()
                self.totals["refunds"] += amount
                self.debts.append((self._today(), 1, entry.id, amount))

            @precondition(lambda self: self.payments)
            @rule(pick=st.integers(min_value=0))
            def reversal(self, pick: int) -> None:
                payment_id, amount = self.payments.pop(pick % len(self.payments))
                entry = ledger.post(db, customer_id=self.customer.id, kind="reversal", amount=-amount,
                                    booked_on=self._today(), payment_id=payment_id)
                db.flush()
                self.totals["reversals"] += amount
                self.debts.append((self._today(), 1, entry.id, amount))

            # --- invariants -------------------------------------------------------------

            def _expected_receivable(self) -> Decimal:
                t = self.totals
                return t["payments"] + t["credit_notes"] + t["draws"] - t["invoices"] - t["refunds"] - t["reversals"]

            @invariant()
            def balances_agree(self) -> None:
                cid = self.customer.id
                receivable = ledger.balance(db, cid)
                credit = prepaid.balance(db, cid)
                entries = list(db.scalars(select(LedgerEntry).where(LedgerEntry.customer_id == cid)))
                assert receivable == sum((e.amount for e in entries if e.account == "receivable"), Decimal("0"))
                assert credit == sum((e.amount for e in entries if e.account == "prepaid"), Decimal("0"))
                assert receivable == self._expected_receivable()
                assert credit == self.totals["topups"] - self.totals["draws"]
                assert credit >= 0
                # nothing created or lost: both accounts together hold exactly what came and went
                t = self.totals
                assert receivable + credit == (t["payments"] + t["credit_notes"] + t["topups"] - t["invoices"]
                                               - t["refunds"] - t["reversals"])

            @invariant()
            def open_items_agree(self) -> None:
                cid = self.customer.id
                items = ledger.open_items(db, cid)
                totals = dict(self.debts_by_invoice())
                for item in items:
                    assert Decimal("0") < item.unpaid <= item.total == totals[item.invoice_id]
                available = db.scalar(select(func.sum(LedgerEntry.amount)).where(
                    LedgerEntry.customer_id == cid, LedgerEntry.account == "receivable", LedgerEntry.amount > 0))
                available = Decimal(available or 0)
                expected_items, other_unpaid = {}, Decimal("0")
                for _day, is_other, ref, owed in sorted(self.debts):
                    paid = min(owed, available)
                    available -= paid
                    if owed > paid:
                        if is_other:
                            other_unpaid += owed - paid
                        else:
                            expected_items[ref] = owed - paid
                assert {i.invoice_id: i.unpaid for i in items} == expected_items
                receivable = ledger.balance(db, cid)
                assert sum((i.unpaid for i in items), Decimal("0")) + other_unpaid == max(Decimal("0"), -receivable)

            def debts_by_invoice(self) -> list[tuple[int, Decimal]]:
                return [(ref, owed) for _d, is_other, ref, owed in self.debts if not is_other]

        run_state_machine_as_test(Books, settings=settings(max_examples=25, stateful_step_count=25, deadline=None))
