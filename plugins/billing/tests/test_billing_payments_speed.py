"""The fast import path (COPY on PostgreSQL, executemany elsewhere) stores exactly what the parser read."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from mango_billing import ledger
from mango_billing.bank import BankMovement, BankStatement, gpc
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.models import BillingProfile, LedgerEntry, Payment
from mango_billing.payments import importer
from mango_billing.payments.importer import ImportSummary, PaymentImportError, import_statement
from mango_billing.payments.matching import SymbolIndex
from mango_core.customers.models import Customer
from mango_core.db.bulk import among
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount

OWN = "2400222222/2010"
_n = itertools.count(810_000)


@pytest.fixture
def loc(world, db):
    with location_scope(world.loc_a.id):
        db.add(BankAccount(label="Fio", account_number=OWN, iban="CZ6520100000002400222222"))
        db.flush()
        yield world.loc_a.id


def customer(db, vs: str) -> Customer:
    n = next(_n)
    c = Customer(number=n, variable_symbol=vs, kind="person", first_name="Jan", last_name="Novák",
                 display_name="Jan Novák", sort_name="novak jan", state="active")
    db.add(c)
    db.flush()
    return c


def mv(amount: str, vs: str | None, *, bank_id: str | None = None, name: str | None = None,
       message: str | None = None, day: int = 5, reversal: bool = False) -> BankMovement:
    return BankMovement(bank_id=bank_id, booked=date(2024, 3, day), amount=D(amount), currency="CZK",
                        counter_account="19-2000145399/0800", counter_name=name, variable_symbol=vs,
                        constant_symbol="308", specific_symbol=None, message=message, reversal=reversal)


def statement(*movements: BankMovement, number: str = "1") -> bytes:
    return write_gpc(BankStatement("gpc", OWN, "CZK", number, None, None, D("0"), None, tuple(movements)))


def test_awkward_text_is_stored_exactly(db, loc):
    # backslashes, tabs and the newline joining the 075 and 078 lines in ``raw`` must survive COPY's escaping
    c = customer(db, "5151")
    name = "Back\\slash\tTab Novák " + "x" * 10
    message = "C:\\cesta\\N\tkonec"
    data = statement(mv("10.00", "5151", name=name, message=message), mv("20.00", None, name="N"))
    summary = import_statement(db, loc, data, "odd.gpc")
    assert summary == ImportSummary(2, 0, 1, 1, summary.statement_id)
    parsed = gpc.parse(data).movements
    stored = db.execute(select(Payment.counter_name, Payment.message, Payment.raw, Payment.customer_id)
                        .order_by(Payment.id)).all()
    assert [(s.counter_name, s.message, s.raw) for s in stored] == [(m.counter_name, m.message, m.raw)
                                                                     for m in parsed]
    assert stored[0].counter_name == name and stored[0].message == message and "\n078" in stored[0].raw
    assert stored[0].customer_id == c.id and stored[1].customer_id is None


def test_payments_keep_file_order_and_each_match_has_one_entry(db, loc):
    customers = [customer(db, str(61_000 + i)) for i in range(30)]
    prepaid = customer(db, "62000")
    db.add(BillingProfile(customer_id=prepaid.id, prepaid_symbol="990062"))
    db.flush()
    movements = [mv(f"{100 + i}.50", c.variable_symbol, bank_id=str(9_000 + i)) for i, c in enumerate(customers)]
    movements += [mv("77.00", "990062", bank_id="9100"), mv("5.00", "0000061000", bank_id="9101"),
                  mv("-3.00", "61001", bank_id="9102"), mv("1.00", "31337", bank_id="9103")]
    summary = import_statement(db, loc, statement(*movements), "order.gpc")
    # 30 customers' own symbols, the top-up, and a second payment of the first customer (GPC pads symbols with
    # zeros, the parser strips them); the outgoing one is ignored, 31337 waits for a person
    assert summary == ImportSummary(34, 0, 32, 1, summary.statement_id)
    payments = db.execute(select(Payment.id, Payment.dedup_key, Payment.state, Payment.amount, Payment.customer_id)
                          .order_by(Payment.id)).all()
    # GPC carries the own account without its bank code
    assert [p.dedup_key for p in payments] == [f"2400222222#{m.bank_id}" for m in movements]
    entries = db.execute(select(LedgerEntry.payment_id, LedgerEntry.kind, LedgerEntry.account, LedgerEntry.amount,
                                LedgerEntry.customer_id, LedgerEntry.note)
                         .where(LedgerEntry.payment_id.is_not(None)).order_by(LedgerEntry.payment_id)).all()
    matched = [p for p in payments if p.state == "matched"]
    assert [e.payment_id for e in entries] == [p.id for p in matched]
    assert all(e.amount == p.amount and e.customer_id == p.customer_id for e, p in zip(entries, matched, strict=True))
    assert entries[30].kind == "topup" and entries[30].account == "prepaid"
    assert {e.kind for e in entries[:30]} == {"payment"} and entries[31].note == "VS 61000"
    assert ledger.balance(db, customers[0].id) == D("105.50")  # 100.50 + 5.00
    assert ledger.balance(db, prepaid.id, "prepaid") == D("77.00")
    # the same movements again in another file: nothing new, nothing booked twice
    again = import_statement(db, loc, statement(*movements[::-1], number="2"), "again.gpc")
    assert again == ImportSummary(0, 34, 0, 0, again.statement_id)
    assert db.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.payment_id.is_not(None))) == 32


def test_a_storno_in_the_same_file_is_settled_after_the_copy(db, loc):
    c = customer(db, "7070")
    summary = import_statement(db, loc, statement(mv("500.00", "7070", bank_id="1"),
                                                  mv("-500.00", "7070", bank_id="2", day=6, reversal=True)), "s.gpc")
    assert summary == ImportSummary(2, 0, 2, 0, summary.statement_id)
    assert ledger.balance(db, c.id) == D("0.00")


def test_among_finds_values_with_the_separator_or_empty(db, loc):
    odd, plain, empty = "a\x1fb", "c", ""
    for key in (odd, plain, empty):
        db.add(Payment(dedup_key=key, received_on=date(2024, 1, 1), amount=D("1.00")))
    db.flush()

    def found(values: list[str]) -> set[str]:
        out: set[str] = set()
        for criterion, _part in among(db, Payment.dedup_key, values):
            out.update(db.scalars(select(Payment.dedup_key).where(criterion)))
        return out

    assert found([odd, plain, "missing"]) == {odd, plain}
    assert found([plain, "missing"]) == {plain}
    assert found([empty]) == {empty}


symbols = st.one_of(st.none(), st.from_regex(r"\A0{0,3}[0-9]{1,6}\Z"), st.text(max_size=4))


@given(wanted=st.lists(symbols, max_size=12), known=st.dictionaries(st.from_regex(r"\A[1-9][0-9]{0,5}\Z"),
                                                                     st.integers(1, 9), max_size=8))
def test_resolve_agrees_with_match(wanted, known):
    index = SymbolIndex(customers={k: v for k, v in known.items() if v % 3 == 0},
                        prepaid={k: v for k, v in known.items() if v % 3 == 1},
                        invoices={k: v for k, v in known.items() if v % 3 == 2})
    resolved = index.resolve(wanted)
    for symbol in wanted:
        hit = index.match(symbol)
        assert resolved.get(symbol) == (None if hit is None else (hit.customer_id, hit.target))


def test_a_nul_character_is_refused_clearly_on_postgresql(db, loc):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite text holds NUL characters; PostgreSQL text cannot")
    with pytest.raises(PaymentImportError, match="cannot store"):
        import_statement(db, loc, statement(mv("10.00", None, name="A\x00B")), "nul.gpc")


def test_a_concurrent_import_of_the_same_movements_is_refused_clearly(db, loc, monkeypatch):
    # the race: another import stored the keys after this one looked for them
    import_statement(db, loc, statement(mv("10.00", None, bank_id="55")), "first.gpc")
    monkeypatch.setattr(importer, "_existing_keys", lambda _session, _keys: set())
    with pytest.raises(PaymentImportError, match="import it again"):
        import_statement(db, loc, statement(mv("10.00", None, bank_id="55"), number="2"), "second.gpc")


@pytest.mark.parametrize("range_from", [2, 10_000])
def test_stored_keys_are_found_by_range_and_by_key(db, loc, monkeypatch, range_from):
    """Overlapping statements count their duplicates right whether the stored keys are read as one range
    (PostgreSQL, from RANGE_LOOKUP_FROM lines) or key by key — also when the range is too wide."""
    monkeypatch.setattr(importer, "RANGE_LOOKUP_FROM", range_from)
    first = [mv("10.00", None, bank_id=str(500 + i)) for i in range(6)]
    assert import_statement(db, loc, statement(*first), "a.gpc").new == 6
    # ids on both sides of the stored ones, and two stored ones again
    second = [mv("11.00", None, bank_id=b) for b in ("499", "502", "503", "900")]
    assert import_statement(db, loc, statement(*second, number="2"), "b.gpc") == \
        ImportSummary(2, 2, 0, 2, db.scalar(select(func.max(Payment.statement_id))))
    # a range holding more than twice as many stored keys as the statement: looked up key by key
    wide = [mv("12.00", None, bank_id=b) for b in ("1", "505", "999")]
    assert import_statement(db, loc, statement(*wide, number="3"), "c.gpc").duplicates == 1
    assert importer._existing_keys(db, ["2400222222#500", "2400222222#9999"]) == {"2400222222#500"}
