"""GPC/ABO statements: the public fixtures, bank differences, bad input, the writer round trip, speed."""

from __future__ import annotations

import dataclasses
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mango_billing.bank import gpc
from mango_billing.bank.detect import parse_statement
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.bank.statement import BankMovement, BankStatement, StatementError, normalize_account

D = Decimal


def header(
    account: str = "0000000000012345",
    old: int = 0,
    new: int = 0,
    debit: int = 0,
    credit: int = 0,
    *,
    debit_sign: str = "0",
    credit_sign: str = "0",
    old_date: str = "010324",
    day: str = "310324",
    number: str = "007",
) -> str:
    line = (
        f"074{account}{'ISP s.r.o.':<20}{old_date}{abs(old):014d}{'-' if old < 0 else '+'}"
        f"{abs(new):014d}{'-' if new < 0 else '+'}{debit:014d}{debit_sign}{credit:014d}{credit_sign}"
        f"{number}{day}{'':14}"
    )
    assert len(line) == 128
    return line


def item(
    cents: int,
    code: str,
    *,
    account: str = "0000000000012345",
    counter: str = "0000001234567899",
    doc: str = "0000000000001",
    vs: str = "0000001234",
    ks: str = "0008000308",
    ss: str = "0000000000",
    name: str = "Jan Novak",
    due: str = "150324",
) -> str:
    line = f"075{account}{counter}{doc}{cents:012d}{code}{vs}{ks}{ss}{due}{name:<20}00203{due}"
    assert len(line) == 128
    return line


def gpc_bytes(*lines: str, newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline).encode("cp1250")


# --- public fixtures -----------------------------------------------------------------------------


def test_fio_documentation_example(shared_fixtures):
    st_ = gpc.parse((shared_fixtures / "bank" / "gpc_fio_API_doc_example_RECONSTRUCTED.gpc").read_bytes())
    assert (st_.format, st_.account, st_.currency, st_.number) == ("gpc", "2400222222", "CZK", None)
    assert (st_.period_from, st_.period_to) == (date(2012, 6, 26), date(2012, 6, 30))
    assert (st_.opening_balance, st_.closing_balance) == (D("195.00"), D("195.01"))
    first, second, interest = st_.movements
    assert first.bank_id == "1148734530"
    assert first.amount == D("1.00") and first.booked == date(2012, 6, 26)
    # KS field 0020100558 = bank 2010 + KS 0558
    assert first.counter_account == "2900233333/2010"
    assert first.constant_symbol == "558"
    assert first.variable_symbol is None and first.specific_symbol is None
    assert first.counter_name == "Novák, Pavel"  # Windows-1250 diacritics
    assert second.amount == D("-1.00") and second.counter_name is None and not second.reversal
    assert interest.amount == D("0.01") and interest.counter_account is None
    assert interest.counter_name == "Připsaný úrok" and interest.booked == date(2012, 6, 30)
    assert first.raw.startswith("0750000002400222222")


def test_fio_k3a_excerpt_does_not_add_up_and_parses_when_asked(shared_fixtures):
    data = (shared_fixtures / "bank" / "gpc_fio_k3a-ago.gpc").read_bytes()
    # The header declares 2720.58 of debits, the file holds one 1234.56 debit: an excerpt.
    with pytest.raises(StatementError, match=r"2720\.58.*1234\.56"):
        gpc.parse(data)
    st_ = gpc.parse(data, check_totals=False)
    assert st_.account == "2600113745"
    assert (st_.opening_balance, st_.closing_balance) == (D("313174.77"), D("310454.19"))
    (m,) = st_.movements
    assert m.amount == D("-1234.56") and m.booked == date(2018, 9, 24)
    assert m.counter_account == "7770227/0100"
    assert (m.variable_symbol, m.constant_symbol, m.specific_symbol) == ("1446556401", "308", "7815392681")
    assert m.counter_name == "CEZ" and m.bank_id == "16659818503"


def test_076_078_079_records(shared_fixtures):
    st_ = gpc.parse((shared_fixtures / "bank" / "gpc_jakubzapletal_test_076_078_079.gpc").read_bytes())
    assert st_.account == "123456-1234567890" and st_.number == "2"
    assert (st_.period_from, st_.period_to) == (date(2014, 1, 1), date(2014, 2, 1))
    assert (st_.opening_balance, st_.closing_balance) == (D("1000.00"), D("800.00"))
    first, second = st_.movements
    assert first.amount == D("400.00") and first.bank_id == "2001"
    assert first.counter_account == "156789/1000"
    assert (first.variable_symbol, first.constant_symbol, first.specific_symbol) == ("11", "12", "13")
    assert first.counter_name == "Protistrana s.r.o."  # from the 076 record
    assert first.message == "First line Second line"  # 078 + 079
    assert first.booked == date(2014, 1, 5)
    assert first.raw.count("\n") == 3  # 075 + 076 + 078 + 079
    assert second.amount == D("-600.00") and second.counter_account == "256789/2000"
    assert second.counter_name == "Tran 2" and second.message is None


def test_non_conformant_spojenet_file_is_rejected(shared_fixtures):
    data = (shared_fixtures / "bank" / "abo_basic_spojenet_SYNTHETIC.abo").read_bytes()
    with pytest.raises(
        StatementError, match=r"line 1: a 074 record is 128 characters long, this one has 130"
    ):
        gpc.parse(data)
    with pytest.raises(StatementError):
        parse_statement(data)


# --- bank differences ----------------------------------------------------------------------------

# KB "Klientský formát ABO" sample (KB SK), internal account order, line breaks of the PDF removed.
KB_074 = (
    "074725822671050000"
    "5"
    f"{'KLIENT TEST 9':<20}"
    "261201"
    "00000485720324+"
    "00000485725525+"
    "000000000000000"
    "000000000052010"
    "001271201" + " " * 14
)
KB_075 = (
    "075"
    "7258226710500005"
    "7234110730000000"
    "1227000000001"
    "000000005201"
    "2"
    "0000000001"
    "0581000558"
    "0000000001"
    "000000"
    f"{'ADAMOVSKE STROJIRNY':<20}"
    "0"
    "1501"
    "271201"
)


def test_internal_account_order_is_detected_by_modulo_11():
    data = gpc_bytes(KB_074, KB_075)
    st_ = gpc.parse(data)
    assert st_.account == "500005-2267180257"  # modulo-11 valid in both parts
    (m,) = st_.movements
    assert m.counter_account == "1107340237/8100"
    assert m.amount == D("52.01") and m.booked == date(2001, 12, 27)
    assert (m.variable_symbol, m.constant_symbol, m.specific_symbol) == ("1", "558", "1")
    assert m.counter_name == "ADAMOVSKE STROJIRNY" and m.bank_id == "1227000000001"
    assert gpc.parse(data, account_order="internal") == st_
    assert gpc.parse(data, account_order="standard").account == "725822-6710500005"


def test_account_order_helpers_are_inverse():
    digits = "0000192000145399"
    assert gpc.to_standard_order(gpc.to_internal_order(digits)) == digits
    assert gpc.account_is_valid(digits)  # 19-2000145399
    assert not gpc.account_is_valid("0000192000145398")
    assert not gpc.account_is_valid("0" * 16)


def test_posting_codes_kb_fio_storno_codes_4_and_5():
    data = gpc_bytes(
        header(old=10000, new=10000 - 5000 + 1000, debit=5000 - 1000, credit=0),
        item(5000, "1"),
        item(1000, "4"),  # storno of a debit: money comes back
        item(700, "2"),
        item(700, "5"),  # storno of a credit: money goes
    )
    moves = gpc.parse(data).movements
    assert [m.amount for m in moves] == [D("-50.00"), D("10.00"), D("7.00"), D("-7.00")]
    assert [m.reversal for m in moves] == [False, True, False, True]


def test_posting_codes_cs_storno_codes_3_and_4():
    data = gpc_bytes(
        header(old=10000, new=10000 - 5000 + 1000 + 700 - 700, debit=4000, credit=0),
        item(5000, "1"),
        item(1000, "3"),  # ČS: storno of a debit
        item(700, "2"),
        item(700, "4"),  # ČS: storno of a credit
    )
    moves = gpc.parse(data).movements
    assert [m.amount for m in moves] == [D("-50.00"), D("10.00"), D("7.00"), D("-7.00")]
    with pytest.raises(StatementError, match="posting code 3"):
        gpc.parse(data, posting_codes="standard")


def test_posting_code_4_alone_is_read_the_way_the_totals_add_up():
    # KB/Fio: 4 = storno of a debit (+10.00, debit turnover -10.00 written as "-" 1000).
    kb = gpc_bytes(
        header(old=0, new=3000, debit=1000, credit=2000, debit_sign="-"), item(2000, "2"), item(1000, "4")
    )
    assert [m.amount for m in gpc.parse(kb).movements] == [D("20.00"), D("10.00")]
    # ČS: 4 = storno of a credit (-10.00, credit turnover 20.00 - 10.00).
    cs = gpc_bytes(header(old=0, new=1000, debit=0, credit=1000), item(2000, "2"), item(1000, "4"))
    assert [m.amount for m in gpc.parse(cs).movements] == [D("20.00"), D("-10.00")]
    # Adds up under neither reading: the KB/Fio reading's numbers are reported.
    neither = gpc_bytes(header(old=0, new=1000, debit=1000, credit=2000), item(2000, "2"), item(1000, "4"))
    with pytest.raises(StatementError, match=r"debit turnover in the header 10.00, debit movements -10.00"):
        gpc.parse(neither)
    # Without totals there is nothing to decide by: the KB/Fio reading.
    assert gpc.parse(neither, check_totals=False).movements[1].amount == D("10.00")


def test_mixed_storno_codes_are_rejected():
    data = gpc_bytes(header(), item(100, "3"), item(100, "5"))
    with pytest.raises(StatementError, match="mixes"):
        gpc.parse(data, check_totals=False)


def test_negative_turnovers_when_stornos_prevail():
    # jakubzapletal's "negative statement": turnovers with "-" are negative numbers.
    data = gpc_bytes(
        "0740000000000012345Test s.r.o.         01011400000000100000-00000000080000-00000000060000"
        "-00000000040000-002010214              ",
        "0750000000000012345000000000015678900000000020010000000400005000000001100100000120000000013050114"
        "Tran 1              00203050114",
        "0750000000000012345000000000025678900000000020020000000600004000000002100200000220000000023070114"
        "Tran 2              00203070114",
    )
    st_ = gpc.parse(data)
    assert (st_.opening_balance, st_.closing_balance) == (D("-1000.00"), D("-800.00"))
    assert [(m.amount, m.reversal) for m in st_.movements] == [(D("-400.00"), True), (D("600.00"), True)]


def test_line_endings_and_encodings():
    lines = (header(new=12345, credit=12345), item(12345, "2", name="Žluťoučký kůň"))
    crlf = gpc.parse(gpc_bytes(*lines))
    assert crlf.movements[0].counter_name == "Žluťoučký kůň"
    assert gpc.parse(gpc_bytes(*lines, newline="\n")) == crlf
    assert gpc.parse(gpc_bytes(*lines, newline="\r")) == crlf
    utf8 = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    assert gpc.parse(utf8) == crlf
    assert gpc.parse(gpc_bytes(*lines) + b"\x1a") == crlf  # DOS end-of-file mark


def test_several_days_of_one_account_join():
    data = gpc_bytes(
        header(old=0, new=100, credit=100, old_date="010324", day="010324", number="001"),
        item(100, "2", due="010324"),
        header(old=100, new=50, debit=50, old_date="010324", day="020324", number="002"),
        item(50, "1", due="020324"),
    )
    st_ = gpc.parse(data)
    assert (st_.opening_balance, st_.closing_balance, st_.number) == (D("0.00"), D("0.50"), "1-2")
    assert (st_.period_from, st_.period_to) == (date(2024, 3, 1), date(2024, 3, 2))
    assert [m.amount for m in st_.movements] == [D("1.00"), D("-0.50")]
    assert len(gpc.parse_sections(data)) == 2
    gap = data.replace(b"00000000000100+00000000000050+", b"00000000000200+00000000000150+")
    with pytest.raises(StatementError, match="opens with 2.00 but the previous section closed with 1.00"):
        gpc.parse(gap)


def test_two_accounts_in_one_file_are_refused():
    data = gpc_bytes(header(), header(account="0000001234567899"))
    with pytest.raises(StatementError, match="2 accounts"):
        gpc.parse(data)
    assert [s.account for s in gpc.parse_sections(data)] == ["12345", "1234567899"]


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((header(), item(100, "2")[:-1]), r"line 2: a 075 record is 128 characters long, this one has 127"),
        ((header(), item(100, "2").replace("000000000100", "0000000001x0")), r"positions 49-60 \(amount\)"),
        ((header(), item(100, "7")), r"position 61 \(posting code\)"),
        ((header(day="311324"),), r"statement date.*'311324'"),
        ((header(), item(100, "2", due="320124")), r"due date.*not a valid ddmmyy date"),
        ((item(100, "2"),), r"line 1: a 075 movement before any 074"),
        ((header(), "078orphan"), r"line 2: a 078 record must follow a 075"),
        ((header(), "099" + " " * 125), r"line 2: unknown record type '099'"),
        (("UHL1010324",), r"unknown record type 'UHL'"),
        ((header(), item(100, "2"), "076" + "1" * 10), r"at least the transaction id"),
        ((header(), item(100, "2"), "078a", "078b"), r"a second 078 record"),
        (("",), r"no 074 statement header"),
        (
            (header(new=5),),
            r"old balance 0.00 - debits 0.00 \+ credits 0.00 = 0.00, but the new balance is 0.05",
        ),
    ],
)
def test_bad_files_name_the_line_and_field(lines, message):
    with pytest.raises(StatementError, match=message):
        gpc.parse(gpc_bytes(*lines))


def test_undefined_windows_1250_byte():
    data = gpc_bytes(header()) + b"\x98\r\n"
    with pytest.raises(StatementError, match=r"line 2: byte 0x98 is not Windows-1250"):
        gpc.parse(data)


def test_bad_options():
    with pytest.raises(StatementError, match="account_order"):
        gpc.parse(gpc_bytes(header()), account_order="weird")
    with pytest.raises(StatementError, match="posting_codes"):
        gpc.parse(gpc_bytes(header()), posting_codes="weird")
    with pytest.raises(StatementError, match="bytes"):
        gpc.parse("074...")  # type: ignore[arg-type]


# --- shared normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "bank", "expected"),
    [
        ("CZ6508000000192000145399", None, "19-2000145399/0800"),
        ("cz65 0800 0000 1920 0014 5399", None, "19-2000145399/0800"),
        ("000019-0002000145399", "0800", "19-2000145399/0800"),
        ("2212-2000000699", None, "2212-2000000699"),
        ("214498596", "0000", "214498596"),
        ("DE89370400440532013000", None, "DE89370400440532013000"),
        ("", None, None),
        ("0000000000", "0100", None),
    ],
)
def test_normalize_account(value, bank, expected):
    assert normalize_account(value, bank, where="test") == expected


def test_fingerprint():
    m = BankMovement(
        "1", date(2024, 1, 2), D("10.00"), "CZK", "19-2000145399/0800", "A", "1", None, None, "x"
    )
    assert len(m.fingerprint("123/0100")) == 64
    assert m.fingerprint("123/0100") == dataclasses.replace(m, counter_name="B", message="y").fingerprint(
        "123/0100"
    )
    assert m.fingerprint("123/0100") != dataclasses.replace(m, amount=D("10.01")).fingerprint("123/0100")
    assert m.fingerprint("123/0100") != m.fingerprint("124/0100")
    zero = dataclasses.replace(m, amount=D("0.00"))
    assert zero.fingerprint("a") == dataclasses.replace(m, amount=D("-0.00")).fingerprint("a")


# --- the writer -----------------------------------------------------------------------------------

_TEXT = (
    st.text(
        alphabet=st.characters(
            codec="cp1250", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs"), exclude_characters="\x7f"
        )
        | st.just(" "),
        min_size=1,
        max_size=140,
    )
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)


@st.composite
def _accounts(draw, *, with_bank: bool) -> str:
    prefix = draw(st.integers(0, 999999))
    number = draw(st.integers(1, 9999999999))
    text = f"{prefix}-{number}" if prefix else str(number)
    if with_bank:
        text += f"/{draw(st.integers(1, 9999)):04d}"
    return text


_SYMBOL = st.none() | st.integers(1, 9999999999).map(str)


@st.composite
def _movements(draw) -> BankMovement:
    return BankMovement(
        bank_id=draw(st.none() | st.integers(1, 10**26 - 1).map(str)),
        booked=draw(st.dates(date(1970, 1, 1), date(2069, 12, 31))),
        amount=D(draw(st.integers(-(10**12) + 1, 10**12 - 1))).scaleb(-2),
        currency=draw(st.sampled_from(["CZK", "EUR"])),
        counter_account=draw(st.none() | _accounts(with_bank=True) | _accounts(with_bank=False)),
        counter_name=draw(st.none() | _TEXT.map(lambda s: s[:93].strip())),
        variable_symbol=draw(_SYMBOL),
        constant_symbol=draw(st.none() | st.integers(1, 9999).map(str)),
        specific_symbol=draw(_SYMBOL),
        message=draw(st.none() | _TEXT),
        reversal=draw(st.booleans()),
    )


@st.composite
def _statements(draw) -> BankStatement:
    movements = tuple(draw(st.lists(_movements(), max_size=8)))
    currencies = {m.currency for m in movements}
    opening = D(draw(st.integers(-(10**12), 10**12))).scaleb(-2)
    return BankStatement(
        format="gpc",
        account=draw(_accounts(with_bank=False)),
        currency=currencies.pop() if len(currencies) == 1 else "CZK",
        number=draw(st.none() | st.integers(1, 999).map(str)),
        period_from=draw(st.dates(date(1970, 1, 1), date(2069, 12, 31))),
        period_to=draw(st.dates(date(1970, 1, 1), date(2069, 12, 31))),
        opening_balance=opening,
        closing_balance=opening + sum((m.amount for m in movements), D("0.00")),
        movements=movements,
    )


def _without_raw(statement: BankStatement) -> BankStatement:
    return dataclasses.replace(
        statement, movements=tuple(dataclasses.replace(m, raw="") for m in statement.movements)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_statements(), st.sampled_from(["standard", "internal"]))
def test_writer_round_trip(statement, order):
    data = write_gpc(statement, client_name="ISP s.r.o.", account_order=order)
    assert data.endswith(b"\r\n")
    for line in data.split(b"\r\n")[:-1]:
        kind = line[:3]
        assert kind in (b"074", b"075", b"076", b"078", b"079")
        assert len(line) == 128 if kind in (b"074", b"075") else len(line) <= 128
    assert _without_raw(gpc.parse(data, account_order=order)) == statement


def test_writer_refuses_what_gpc_cannot_carry():
    base = BankStatement("gpc", "1234567899", "CZK", None, None, None, D("0"), None, ())
    m = BankMovement(None, date(2024, 1, 1), D("1.00"), "CZK", None, None, None, None, None, None)
    with pytest.raises(StatementError, match="not a Czech account"):
        write_gpc(
            dataclasses.replace(
                base, movements=(dataclasses.replace(m, counter_account="DE89370400440532013000"),)
            )
        )
    with pytest.raises(StatementError, match="constant symbol"):
        write_gpc(dataclasses.replace(base, movements=(dataclasses.replace(m, constant_symbol="12345"),)))
    with pytest.raises(StatementError, match="Windows-1250"):
        write_gpc(dataclasses.replace(base, movements=(dataclasses.replace(m, message="emoji 🙂"),)))
    with pytest.raises(StatementError, match="more than two decimal"):
        write_gpc(dataclasses.replace(base, movements=(dataclasses.replace(m, amount=D("1.005")),)))


def _big_statement(lines: int) -> BankStatement:
    movements = tuple(
        BankMovement(
            bank_id=str(10_000_000 + n),
            booked=date(2024, 1, 1) + timedelta(days=n % 31),
            amount=D(((n * 7919) % 2_000_000) - 1_000_000).scaleb(-2),
            currency="CZK",
            counter_account=f"{n % 1000}-{1_000_000 + n}/0800",
            counter_name=f"Zákazník {n}",
            variable_symbol=str(2024000000 + n),
            constant_symbol="308",
            specific_symbol=None,
            message=None,
        )
        for n in range(lines)
    )
    return BankStatement(
        "gpc", "19-2000145399", "CZK", "1", date(2024, 1, 1), date(2024, 1, 31), D("0.00"), None, movements
    )


def test_fifty_thousand_lines_parse_quickly():
    data = write_gpc(_big_statement(50_000))
    assert data.count(b"\r\n") == 50_001
    best = min(_timed(lambda: gpc.parse(data)) for _ in range(2))
    print(f"\nGPC parse of 50,000 movement lines: {best:.3f} s")
    # The target is well under a second on a quiet core; the bound leaves room for a loaded CI machine
    # and still catches anything worse than linear.
    assert best < 3.0
    statement = gpc.parse(data)
    assert len(statement.movements) == 50_000
    assert statement.closing_balance == sum((m.amount for m in statement.movements), D("0.00"))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
