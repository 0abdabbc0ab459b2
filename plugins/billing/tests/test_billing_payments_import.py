"""Bank statement import: fixtures, idempotency, matching, reversals, fuzzing; manual payments; SIPO."""

from __future__ import annotations

import itertools
import unicodedata
import uuid
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mango_billing import ledger
from mango_billing.bank import BankMovement, BankStatement, StatementError
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.models import BillingProfile, Invoice, InvoiceSeries, LedgerEntry, Payment, StatementFile
from mango_billing.payments import service, sipo
from mango_billing.payments.importer import ImportSummary, PaymentImportError, import_statement
from mango_billing.payments.matching import suggestions, vs_typos
from mango_billing.payments.models import PaymentEvent
from mango_billing.sipo import codec
from mango_core.customers.models import Customer
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount

OWN = "2400222222/2010"
_n = itertools.count(700_000)


def _fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(ch))


def customer(db, vs: str | None = None, name: str = "Novák Jan") -> Customer:
    n = next(_n)
    last, first = name.split()
    c = Customer(number=n, variable_symbol=vs or str(n), kind="person", first_name=first, last_name=last,
                 display_name=f"{first} {last}", sort_name=_fold(f"{last} {first}"), state="active")
    db.add(c)
    db.flush()
    return c


def account(db, number: str = OWN, iban: str | None = None) -> BankAccount:
    a = BankAccount(label="Fio", account_number=number, iban=iban or f"DE89{uuid.uuid4().int % 10**18:018d}")
    db.add(a)
    db.flush()
    return a


def invoice(db, c: Customer, total: str, vs: str, number: str | None = None, due: date = date(2024, 1, 15)) -> Invoice:
    series = db.scalar(select(InvoiceSeries).where(InvoiceSeries.code == "T"))
    if series is None:
        series = InvoiceSeries(code="T")
        db.add(series)
        db.flush()
    seq = next(_n)
    inv = Invoice(series_id=series.id, year=2024, sequence=seq, number=number or f"T{seq}", customer_id=c.id,
                  issued_on=date(2024, 1, 1), taxable_supply_date=date(2024, 1, 1), due_date=due,
                  period_from=date(2024, 1, 1), variable_symbol=vs, total_base=D(total), total_vat=D("0"),
                  total=D(total), uuid=str(uuid.uuid4()))
    db.add(inv)
    db.flush()
    ledger.post(db, customer_id=c.id, kind="invoice", amount=-D(total), booked_on=inv.issued_on, invoice_id=inv.id)
    db.flush()
    return inv


def mv(amount: str, vs: str | None = None, *, day: int = 5, bank_id: str | None = None, counter: str | None =
       "19-2000145399/0800", name: str | None = None, reversal: bool = False) -> BankMovement:
    return BankMovement(bank_id=bank_id, booked=date(2024, 2, day), amount=D(amount), currency="CZK",
                        counter_account=counter, counter_name=name, variable_symbol=vs, constant_symbol=None,
                        specific_symbol=None, message=None, reversal=reversal)


def gpc(*movements: BankMovement, number: str = "1", account_no: str = OWN) -> bytes:
    return write_gpc(BankStatement("gpc", account_no, "CZK", number, None, None, D("0"), None, tuple(movements)))


def count(db, model) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def loc(world, db):
    with location_scope(world.loc_a.id):
        yield world.loc_a.id


# --- the public sample files ------------------------------------------------------------------------

FIXTURES = {
    # file: (account number of the location, options, [(amount, VS)])
    "fio_api_example-response_mhujer.json": ("214498596/2010", {}, [("127.00", None), ("500.00", "123456789"),
                                                                      ("500.00", "123456789")]),
    "fio_api_periods_honzajavorek-fiobank.json": ("1234567890/2010", {}, [("-130.00", "5678"), ("-353.29", "1234")]),
    "gpc_fio_API_doc_example_RECONSTRUCTED.gpc": ("2400222222/2010", {}, [("1.00", None), ("-1.00", None),
                                                                          ("0.01", None)]),
    "gpc_fio_k3a-ago.gpc": ("2600113745/2010", {"check_totals": False}, None),
    "gpc_jakubzapletal_test_076_078_079.gpc": ("123456-1234567890/0100", {}, [("400.00", "11"), ("-600.00", "21")]),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_public_statement_imports(db, loc, shared_fixtures, name):
    number, options, expected = FIXTURES[name]
    bank = account(db, number)
    data = (shared_fixtures / "bank" / name).read_bytes()
    summary = import_statement(db, loc, data, name, **options)
    payments = list(db.scalars(select(Payment).where(Payment.statement_id == summary.statement_id)
                               .order_by(Payment.id)))
    assert summary.new == len(payments) > 0
    assert all(p.bank_account_id == bank.id for p in payments)
    if expected is not None:
        assert [(str(p.amount), p.variable_symbol) for p in payments] == expected
    else:
        assert [str(p.amount) for p in payments] == ["-1234.56"]
    # the same file again: nothing new
    again = import_statement(db, loc, data, name, **options)
    assert (again.new, again.duplicates, again.statement_id) == (0, summary.new, summary.statement_id)
    assert count(db, StatementFile) == 1


def test_excerpt_that_does_not_add_up_needs_the_option(db, loc, shared_fixtures):
    account(db, "2600113745/2010")
    data = (shared_fixtures / "bank" / "gpc_fio_k3a-ago.gpc").read_bytes()
    with pytest.raises(StatementError, match="does not add up"):
        import_statement(db, loc, data, "k3a.gpc")
    assert count(db, Payment) == count(db, StatementFile) == 0


def test_lone_fio_transaction_needs_an_explicit_account(db, loc, shared_fixtures):
    bank = account(db, "214498596/2010")
    data = (shared_fixtures / "bank" / "fio_api_example-transaction_mhujer.json").read_bytes()
    with pytest.raises(StatementError, match="accountStatement"):
        import_statement(db, loc, data, "tx.json")
    summary = import_statement(db, loc, data, "tx.json", bank_account=bank.id)
    assert summary.new == 1
    assert db.scalar(select(Payment.amount)) == D("127.00")


def test_synthetic_abo_is_rejected_and_nothing_stored(db, loc, shared_fixtures):
    account(db)
    data = (shared_fixtures / "bank" / "abo_basic_spojenet_SYNTHETIC.abo").read_bytes()
    with pytest.raises(StatementError, match="line 1.*128 characters"):
        import_statement(db, loc, data, "bad.abo")
    assert count(db, Payment) == count(db, StatementFile) == 0


def test_statement_of_a_foreign_account_is_refused(db, loc):
    account(db, "19-123457/0100")
    with pytest.raises(PaymentImportError, match="account 2400222222, which is not a bank account of this location"):
        import_statement(db, loc, gpc(mv("100.00", "1")), "x.gpc")
    assert count(db, Payment) == 0


def test_bank_account_of_another_location_cannot_be_chosen(db, world):
    with location_scope(world.loc_b.id):
        other = account(db)
    with location_scope(world.loc_a.id):
        with pytest.raises(PaymentImportError, match="not an account of this location"):
            import_statement(db, world.loc_a.id, gpc(mv("1.00")), "x.gpc", bank_account=other.id)


# --- idempotency --------------------------------------------------------------------------------------

def test_overlapping_statements_never_pay_twice(db, loc):
    account(db)
    c = customer(db)
    a, b, c3 = mv("100.00", c.variable_symbol, day=1), mv("200.00", c.variable_symbol, day=2), mv("50.00", day=3)
    first = import_statement(db, loc, gpc(a, b, number="1"), "1.gpc")
    second = import_statement(db, loc, gpc(b, c3, number="2"), "2.gpc")
    assert (first.new, first.duplicates, first.matched) == (2, 0, 2)
    assert (second.new, second.duplicates, second.matched, second.unmatched) == (1, 1, 0, 1)
    assert count(db, Payment) == 3
    assert ledger.balance(db, c.id) == D("300.00")


def test_two_identical_payments_in_one_file_both_count(db, loc):
    account(db)
    c = customer(db)
    same = mv("100.00", c.variable_symbol)
    summary = import_statement(db, loc, gpc(same, same), "x.gpc")
    assert summary.new == 2
    assert ledger.balance(db, c.id) == D("200.00")
    # a later statement repeating both is all duplicates; one with three holds one new
    assert import_statement(db, loc, gpc(same, same, number="2"), "y.gpc").new == 0
    assert import_statement(db, loc, gpc(same, same, same, number="3"), "z.gpc").new == 1


def test_bank_ids_deduplicate_across_formats(db, loc):
    account(db)
    m = mv("10.00", "77", bank_id="123456")
    import_statement(db, loc, gpc(m), "a.gpc")
    changed_text = BankMovement(**{**{f: getattr(m, f) for f in m.__slots__}, "message": "other text"})
    assert import_statement(db, loc, gpc(changed_text, number="9"), "b.gpc").duplicates == 1


# --- matching -----------------------------------------------------------------------------------------

def test_matching_rules(db, loc, app):
    from mango_example.plugin import MONEY_EVENTS

    account(db)
    by_vs = customer(db, vs="1001")
    by_invoice = customer(db, vs="2002")
    inv = invoice(db, by_invoice, "300.00", vs="2024000017")
    prepaid = customer(db, vs="3003")
    db.add(BillingProfile(customer_id=prepaid.id, prepaid_symbol="990033"))
    db.flush()
    MONEY_EVENTS.clear()
    with app.app_context():
        summary = import_statement(db, loc, gpc(mv("100.00", "1001"), mv("300.00", inv.variable_symbol),
                                                mv("250.00", "990033"), mv("5.00", "424242"),
                                                mv("-80.00", "1001")), "m.gpc")
    assert summary == ImportSummary(5, 0, 3, 1, summary.statement_id)
    assert ledger.balance(db, by_vs.id) == D("100.00")
    assert ledger.balance(db, by_invoice.id) == D("0.00")
    assert ledger.open_items(db, by_invoice.id) == []
    assert ledger.balance(db, prepaid.id, "prepaid") == D("250.00")
    assert db.scalar(select(LedgerEntry.kind).where(LedgerEntry.account == "prepaid")) == "topup"
    states = dict(db.execute(select(Payment.variable_symbol, Payment.state).where(Payment.amount < 0)).all())
    assert states == {"1001": "ignored"}  # outgoing money is not a customer's payment
    # one event for the batch, only in a location where the plugins are enabled
    assert len(MONEY_EVENTS) == 1 and len(MONEY_EVENTS[0]["ids"]) == 3


def test_partial_and_over_payment_follow_the_ledger(db, loc):
    account(db)
    c = customer(db, vs="5005")
    old = invoice(db, c, "400.00", vs="5005", due=date(2024, 1, 10))
    invoice(db, c, "400.00", vs="5005", due=date(2024, 2, 10))
    import_statement(db, loc, gpc(mv("300.00", "5005")), "p.gpc")
    items = ledger.open_items(db, c.id)
    assert [(i.invoice_id == old.id, i.unpaid) for i in items][0] == (True, D("100.00"))
    import_statement(db, loc, gpc(mv("600.00", "5005", day=6), number="2"), "o.gpc")
    assert ledger.open_items(db, c.id) == []
    assert ledger.balance(db, c.id) == D("100.00")  # overpayment kept as credit


def test_foreign_currency_is_not_matched(db, loc):
    account(db)
    c = customer(db, vs="6006")
    # GPC carries the currency per movement
    eur = BankMovement(None, date(2024, 2, 1), D("10.00"), "EUR", None, None, "6006", None, None, None)
    summary = import_statement(db, loc, gpc(eur), "eur.gpc")
    assert (summary.matched, summary.unmatched) == (0, 1)
    assert ledger.balance(db, c.id) == D("0.00")


def test_reversal_cancels_the_matched_payment(db, loc):
    account(db)
    c = customer(db, vs="7007")
    import_statement(db, loc, gpc(mv("500.00", "7007", day=1)), "1.gpc")
    summary = import_statement(db, loc, gpc(mv("-500.00", "7007", day=3, reversal=True), number="2"), "2.gpc")
    assert (summary.new, summary.matched) == (1, 1)
    assert ledger.balance(db, c.id) == D("0.00")
    kinds = sorted(db.scalars(select(LedgerEntry.kind).where(LedgerEntry.customer_id == c.id)))
    assert kinds == ["payment", "reversal"]
    assert count(db, PaymentEvent) == 2
    # a second storno of the same amount finds nothing left to cancel: it waits for a person
    third = import_statement(db, loc, gpc(mv("-500.00", "7007", day=4, reversal=True), number="3"), "3.gpc")
    assert third.unmatched == 1


def test_reversal_of_an_unmatched_payment_ignores_both(db, loc):
    account(db)
    summary = import_statement(db, loc, gpc(mv("42.00", "999111"), mv("-42.00", "999111", reversal=True)), "x.gpc")
    assert summary.unmatched == 0
    assert set(db.scalars(select(Payment.state))) == {"ignored"}


# --- fuzzing ------------------------------------------------------------------------------------------

def _flip(data: bytes, pos: int, byte: int) -> bytes:
    out = bytearray(data)
    out[pos % len(out)] = byte
    return bytes(out)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=400),
    st.builds(lambda cut, noise: gpc(mv("1.00", "1"), mv("2.00", "2"))[:cut] + noise,
              st.integers(0, 400), st.binary(min_size=1, max_size=20)),
    st.builds(lambda pos, byte: _flip(gpc(mv("1.00", "1")), pos, byte), st.integers(0, 300), st.integers(0, 255)),
    st.text(max_size=200).map(lambda t: ("074" + t).encode("utf-8")),
    st.text(max_size=200).map(lambda t: ('{"accountStatement": ' + t).encode("utf-8")),
    st.text(max_size=200).map(lambda t: ("<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:"
                                         "camt.053.001.02'>" + t).encode("utf-8")),
))
def test_fuzzed_statements_fail_cleanly_and_store_nothing(db, loc, data):
    if count(db, BankAccount) == 0:
        account(db)
    before = (count(db, Payment), count(db, StatementFile), count(db, LedgerEntry))
    savepoint = db.begin_nested()
    try:
        import_statement(db, loc, data, "fuzz.bin")
    except StatementError as exc:
        assert str(exc)  # a message for a human, never an empty one
        # refused before anything was written (checked before the savepoint is rolled back)
        assert (count(db, Payment), count(db, StatementFile), count(db, LedgerEntry)) == before
    finally:
        savepoint.rollback()  # a valid file by chance (a byte flip in a name) is fine too


def test_mutated_gpc_bytes_raise_statement_error(db, loc):
    account(db)
    good = bytearray(gpc(mv("1.00", "1"), mv("2.00", "2")))
    rejected = 0
    for pos in range(0, len(good), 7):
        bad = bytearray(good)
        bad[pos] = ord("x") if bad[pos] != ord("x") else ord("y")
        savepoint = db.begin_nested()
        try:
            import_statement(db, loc, bytes(bad), f"m{pos}.gpc")
        except StatementError:
            rejected += 1
            assert count(db, Payment) == 0
        finally:
            savepoint.rollback()
    assert rejected > len(good) // 14  # most flips break the fixed-width records


# --- manual payments, pairing, suggestions -------------------------------------------------------------

def test_manual_payment_is_idempotent(db, loc):
    c = customer(db)
    first = service.record_payment(db, location_id=loc, customer_id=c.id, amount="150,50", method="cash",
                                   received_on=date(2024, 3, 1), idempotency_key="k1", actor_id=None)
    second = service.record_payment(db, location_id=loc, customer_id=c.id, amount="150,50", method="cash",
                                    received_on=date(2024, 3, 1), idempotency_key="k1", actor_id=None)
    assert first.created and not second.created and first.payment.id == second.payment.id
    assert ledger.balance(db, c.id) == D("150.50")
    with pytest.raises(service.PaymentError, match="two decimal places"):
        service.record_payment(db, location_id=loc, customer_id=c.id, amount="1.005", method="cash",
                               received_on=date(2024, 3, 1), idempotency_key="k2", actor_id=None)


@given(st.one_of(st.text(max_size=12), st.decimals(allow_nan=True, allow_infinity=True), st.integers()))
@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_manual_amounts_are_checked(db, loc, value):
    c = db.scalar(select(Customer).limit(1)) or customer(db)
    savepoint = db.begin_nested()
    try:
        recorded = service.record_payment(db, location_id=loc, customer_id=c.id, amount=value, method="card",
                                          received_on=date(2024, 3, 1), idempotency_key=str(uuid.uuid4()),
                                          actor_id=None)
        amount = recorded.payment.amount
        assert amount > 0 and amount == amount.quantize(D("0.01"))
        assert ledger.balance(db, c.id) >= amount
    except service.PaymentError as exc:
        assert str(exc)
    finally:
        savepoint.rollback()


def test_pairing_suggestions_and_actions(db, loc, world):
    account(db)
    known = customer(db, vs="12345678", name="Dvořák Petr")
    # an earlier matched payment from the same counter account
    import_statement(db, loc, gpc(mv("10.00", "12345678", counter="19-1234567891/0100")), "1.gpc")
    typo, swapped, by_account, by_name = (mv("11.00", "12345679", day=6), mv("12.00", "21345678", day=7),
                                          mv("13.00", None, day=8, counter="19-1234567891/0100"),
                                          mv("14.00", None, day=9, counter=None, name="DVORAK PETR"))
    import_statement(db, loc, gpc(typo, swapped, by_account, by_name, number="2"), "2.gpc")
    unmatched = list(db.scalars(select(Payment).where(Payment.state == "unmatched").order_by(Payment.amount)))
    assert len(unmatched) == 4
    reasons = [[(s.customer_id, s.reason) for s in suggestions(db, p)] for p in unmatched]
    assert reasons == [[(known.id, "vs_typo")], [(known.id, "vs_typo")], [(known.id, "counter_account")],
                       [(known.id, "name")]]
    service.pair(db, location_id=loc, payment_id=unmatched[0].id, customer_id=known.id, actor_id=world.admin_a.id)
    service.ignore(db, payment_id=unmatched[1].id, actor_id=world.admin_a.id, reason="bank fee")
    service.refund_unmatched(db, payment_id=unmatched[2].id, actor_id=world.admin_a.id)
    with pytest.raises(service.PaymentError, match="already matched"):
        service.ignore(db, payment_id=unmatched[0].id, actor_id=None)
    assert ledger.balance(db, known.id) == D("21.00")
    logged = {(e.action, e.user_id) for e in db.scalars(select(PaymentEvent))}
    assert logged == {("paired", world.admin_a.id), ("ignored", world.admin_a.id), ("refunded", world.admin_a.id)}


def test_amount_suggestion_finds_an_open_invoice(db, loc):
    account(db)
    c = customer(db, vs="8008")
    invoice(db, c, "333.00", vs="8008")
    import_statement(db, loc, gpc(mv("333.00", "5555555")), "x.gpc")
    payment = db.scalar(select(Payment))
    assert [(s.customer_id, s.reason) for s in suggestions(db, payment)] == [(c.id, "amount")]


def test_vs_typos():
    near = vs_typos("1234")
    assert {"1235", "2134", "1324", "234", "12345"} <= near
    assert "1234" not in near and "4321" not in near


# --- SIPO -----------------------------------------------------------------------------------------------

def _connection(first9: str) -> str:
    return first9 + str(codec.check_digit(first9))


def test_sipo_export_and_import(db, loc):
    paying, leaving, unknown_number = customer(db), customer(db), _connection("555555555")
    db.add_all([BillingProfile(customer_id=paying.id, sipo_number=_connection("123456789")),
                BillingProfile(customer_id=leaving.id, sipo_number=_connection("987654321"))])
    inv_jan = invoice(db, leaving, "299.60", vs="1")
    for inv in (inv_jan,):
        assert inv.payment_method == "bank_transfer"
    # SIPO invoices: leaving paid in January only, paying in January and February (a different amount)
    for c, total, month in ((leaving, "299.60", 1), (paying, "350.00", 1), (paying, "399.50", 2)):
        seq = next(_n)
        db.add(Invoice(series_id=inv_jan.series_id, year=2024, sequence=seq, number=f"S{seq}", customer_id=c.id,
                       issued_on=date(2024, month, 1), taxable_supply_date=date(2024, month, 1),
                       due_date=date(2024, month, 20), period_from=date(2024, month, 1), variable_symbol=str(seq),
                       payment_method="sipo", total_base=D(total), total_vat=D("0"), total=D(total),
                       uuid=str(uuid.uuid4())))
    db.flush()
    out = sipo.export_changes(db, loc, date(2024, 2, 1), organisation="123456", payment_code="1",
                              created=date(2024, 1, 25))
    kinds = {(r.connection_number, r.kind.value, r.amount, r.original_amount) for r in out.records}
    assert kinds == {(_connection("123456789"), "change", 400, 350), (_connection("987654321"), "cancel", 0, 300)}
    assert codec.parse_changes(out.changes) == out.records

    def za(number: str, amount: int) -> str:
        return f"123456{number}022024  1{amount:>6},00{'15.02.2024':>10}"

    lines = [za(_connection("123456789"), 400), za(unknown_number, 100)]
    data = ("\r\n".join(lines) + "\r\n").encode("cp1250")
    with location_scope(loc):
        summary = sipo.import_results(db, loc, data, "ZA123456.TXT")
        assert (summary.new, summary.matched, summary.unmatched) == (2, 1, 1)
        assert ledger.balance(db, paying.id) == D("400.00")
        again = sipo.import_results(db, loc, data, "ZA123456.TXT")
        assert again.new == 0 and count(db, Payment) == 2
        assert set(db.scalars(select(Payment.method))) == {"sipo"}
    with pytest.raises(codec.SipoError):
        sipo.import_results(db, loc, b"garbage\r\n", "ZA.TXT")


def test_sipo_rejection_protocol_names_customers_and_reasons(app, db, loc, tmp_path):
    import json

    from mango_core.cli import main

    known = customer(db)
    db.add(BillingProfile(customer_id=known.id, sipo_number=_connection("123456789")))
    db.flush()
    header = codec.ChangeHeader(organisation="123456", period=date(2024, 2, 1), created=date(2024, 1, 25))
    changes = [codec.ChangeRecord(connection_number=number, organisation="123456", payment_code="1", amount=amount,
                                  period=date(2024, 2, 1), kind=codec.ChangeKind.NEW)
               for number, amount in ((_connection("123456789"), 400), (_connection("555555555"), 250))]
    lines = codec.write_changes(changes, header).decode("cp1250").splitlines()
    data = (f"{lines[0]}H\r\n{lines[1]}D G\r\n" + "  032024X" + "9" * 61 + "L\r\n").encode("cp1250")
    refused = sipo.refused_changes(db, loc, data)
    assert [(r.connection_number, r.customer_id, r.amount, r.reasons) for r in refused] == [
        (_connection("123456789"), known.id, 400, ("nesouhlasí původní předpis",)),
        (_connection("555555555"), None, 250, ("neexistující spojovací číslo", "duplicitní záznam")),
        (None, None, None, ("chybná struktura věty",))]
    (tmp_path / "ZZ.TXT").write_bytes(data)
    result = app.test_cli_runner().invoke(main, ["billing", "sipo", "rejections", str(tmp_path / "ZZ.TXT"),
                                                 "--location", "PRG", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0] == {"connection_number": _connection("123456789"), "customer_id": known.id,
                                            "period": "2024-02", "amount": 400,
                                            "reasons": ["nesouhlasí původní předpis"]}
    (tmp_path / "bad.TXT").write_bytes(b"garbage\r\n")
    bad = app.test_cli_runner().invoke(main, ["billing", "sipo", "rejections", str(tmp_path / "bad.TXT"),
                                              "--location", "PRG"])
    assert bad.exit_code != 0 and "bad.TXT" in bad.output
