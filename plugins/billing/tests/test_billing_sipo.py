"""SIPO: connection-number check digit, change/cover files (write + read back), payment and rejection files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mango_billing.sipo.codec import (
    CHANGE_LINE_LENGTH,
    ChangeHeader,
    ChangeKind,
    ChangeRecord,
    SipoError,
    check_digit,
    connection_number_valid,
    parse_changes,
    parse_cover,
    parse_rejections,
    parse_results,
    write_changes,
    write_cover,
)

ORG = "112062"
HEADER = ChangeHeader(ORG, date(2024, 3, 1), date(2024, 2, 18))


def independent_check(number: str) -> bool:
    """The rule as another public implementation states it: weights 3,7,3,1,7,3,1,7,3,1 sum to 0 mod 10."""
    return sum(int(d) * w for d, w in zip(number, (3, 7, 3, 1, 7, 3, 1, 7, 3, 1), strict=True)) % 10 == 0


def record(number: str = "1234567897", amount: int | Decimal = 350, **kw) -> ChangeRecord:
    return ChangeRecord(number, kw.pop("organisation", ORG), kw.pop("payment_code", "210"), amount,
                        kw.pop("period", date(2024, 3, 1)), **kw)


# --- spojovací číslo ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("first9", "digit"), [
    ("123456789", 7),   # 3+14+9+4+35+18+7+56+27 = 173 → 10 − 3
    ("000000000", 0),
    ("100000000", 7),   # 3 → 7
    ("010000000", 3),   # 7 → 3
    ("000000010", 3),
    ("999999999", 5),   # 9 × 35 = 315 → 5
])
def test_check_digit_hand_computed(first9, digit):
    assert check_digit(first9) == digit
    assert connection_number_valid(first9 + str(digit))


@settings(max_examples=300)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_check_digit_agrees_with_the_independent_formulation(number):
    assert connection_number_valid(number) == independent_check(number)


@pytest.mark.parametrize("value", ["1234567890", "123456789", "12345678977", "12345 6789", "123456789a",
                                   "１２３４５６７８９７", "", None, 1234567897])
def test_invalid_connection_numbers(value):
    assert not connection_number_valid(value)


@pytest.mark.parametrize("value", ["12345678", "1234567890", "abcdefghi", "١٢٣٤٥٦٧٨٩"])
def test_check_digit_input_errors(value):
    with pytest.raises(SipoError):
        check_digit(value)


# --- change file ----------------------------------------------------------------------------------------

def test_change_line_layout_position_by_position():
    data = write_changes([record(text="Internet Žluťoučký")], HEADER)
    line = data.decode("cp1250")
    assert line.endswith("\r\n")
    line = line[:-2]
    assert len(line) == CHANGE_LINE_LENGTH
    assert line[0:2] == "  "                    # odštěpný závod
    assert line[2:8] == "032024"                # období MMRRRR
    assert line[8] == "1"                       # indikace změny (new)
    assert line[9:19] == "1234567897"           # spojovací číslo
    assert line[19:25] == ORG                   # číslo organizace
    assert line[25:31] == "      "
    assert line[31:34] == "210"                 # kód poplatku
    assert line[34:43] == "   350,00"           # předpis
    assert line[43:52] == " " * 9               # původní předpis
    assert line[52:70] == "Internet Žluťoučký"  # text dokladu


def test_change_and_cancel_carry_the_original_amount():
    records = [record(amount=400, kind=ChangeKind.CHANGE, original_amount=350),
               record("1000000007", amount=0, kind=ChangeKind.CANCEL, original_amount=199, payment_code="7")]
    lines = write_changes(records, HEADER).decode("cp1250").split("\r\n")
    assert lines[0][8] == "2" and lines[0][34:52] == "   400,00   350,00"
    assert lines[1][8] == "3" and lines[1][31:52] == "  7     0,00   199,00"
    assert parse_changes(write_changes(records, HEADER)) == records


def test_cp852_and_decimal_point_options():
    header = ChangeHeader(ORG, date(2024, 3, 1), date(2024, 2, 18), encoding="cp852", decimal_separator=".")
    data = write_changes([record(text="Příliš žluťoučký")], header)
    assert "   350.00" in data.decode("cp852")
    assert parse_changes(data, encoding="cp852") == [record(text="Příliš žluťoučký")]


def test_cover_file():
    records = [record(), record("1000000007")]
    data = write_cover(records, HEADER)
    assert data == b"112062032024       218022024\r\n"
    assert parse_cover(data).count == 2
    assert (HEADER.change_file_name, HEADER.cover_file_name) == ("ZM112062.TXT", "OP112062.TXT")


def test_whole_czk_only():
    assert record(amount=Decimal("350.00")).amount == 350
    with pytest.raises(SipoError, match="whole CZK only"):
        record(amount=Decimal("350.50"))
    with pytest.raises(SipoError, match="not float"):
        record(amount=350.0)
    with pytest.raises(SipoError, match="whole CZK"):
        parse_changes(b"  0320241123456789711206" + b"2      210   350,50" + b" " * 27 + b"\r\n")


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"number": "1234567890"}, "wrong check digit"),
    ({"number": "123456789"}, "10 digits"),
    ({"number": "12345678a7"}, "10 digits"),
    ({"organisation": "11206"}, "exactly 6 digits"),
    ({"organisation": "11206x"}, "expected digits"),
    ({"payment_code": "1234"}, "1 to 3 digits"),
    ({"payment_code": ""}, "expected digits"),
    ({"amount": 0}, "1 to 999999"),
    ({"amount": -5}, "1 to 999999"),
    ({"amount": 1_000_000}, "1 to 999999"),
    ({"amount": True}, "not bool"),
    ({"amount": 5, "kind": ChangeKind.CANCEL}, "amount 0"),
    ({"text": "x" * 19}, "at most 18"),
    ({"text": "tab\there"}, "printable"),
    ({"period": "2024-03"}, "must be a date"),
    ({"kind": "new"}, "new, change or cancel"),
])
def test_bad_change_records_are_refused(kwargs, fragment):
    number = kwargs.pop("number", "1234567897")
    with pytest.raises(SipoError, match=fragment):
        record(number, **kwargs)


def test_write_refuses_foreign_organisation_duplicates_and_unencodable_text():
    with pytest.raises(SipoError, match="another organisation"):
        write_changes([record(organisation="999999")], HEADER)
    with pytest.raises(SipoError, match="changed twice"):
        write_changes([record(), record(amount=400)], HEADER)
    with pytest.raises(SipoError, match="cannot write"):
        write_changes([record(text="Internet €€ 😀")], HEADER)
    with pytest.raises(SipoError, match="at least one"):
        write_changes([], HEADER)
    with pytest.raises(SipoError, match="encoding"):
        ChangeHeader(ORG, date(2024, 3, 1), date(2024, 2, 18), encoding="utf-8")


def test_reading_a_bad_change_file_lists_every_bad_line():
    good = write_changes([record()], HEADER)
    bad_length = b"  032024" + b"1" * 80 + b"\r\n"
    bad_digit = good.replace(b"1234567897", b"1234567890")
    bad_period = good.replace(b"032024", b"132024")
    bad_indicator = good[:8] + b"9" + good[9:]
    with pytest.raises(SipoError) as info:
        parse_changes(good + bad_length + bad_digit + bad_period + bad_indicator)
    message = str(info.value)
    assert "4 bad line(s)" in message
    for fragment in ("line 2: a change line has 70", "line 3: spojovací číslo", "line 4: období",
                     "line 5: indikace změny"):
        assert fragment in message


def test_trimmed_trailing_spaces_are_tolerated():
    data = write_changes([record()], HEADER).decode("cp1250").rstrip("\r\n").rstrip() + "\n"
    assert parse_changes(data) == [record()]


changes = st.builds(
    lambda number9, org, code, amount, year, month, kind, original, text: ChangeRecord(
        number9 + str(check_digit(number9)), org, code, 0 if kind is ChangeKind.CANCEL else amount,
        date(year, month, 1), kind, original, text),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet="0123456789", min_size=1, max_size=3),
    st.integers(1, 999_999),
    st.integers(2000, 2099),
    st.integers(1, 12),
    st.sampled_from(list(ChangeKind)),
    st.one_of(st.none(), st.integers(0, 999_999)),
    st.text(alphabet="abcdeěščřžýáíéúůťďňó ABCŽŠČ0123456789-./", max_size=18).map(str.strip),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(changes, min_size=1, max_size=20, unique_by=lambda r: (r.connection_number, r.payment_code,
                                                                       r.period)),
       st.sampled_from(["cp1250", "cp852"]), st.sampled_from([",", "."]))
def test_change_file_round_trip(records, encoding, separator):
    org = records[0].organisation
    records = [ChangeRecord(r.connection_number, org, r.payment_code, r.amount, r.period, r.kind,
                            r.original_amount, r.text) for r in records]
    header = ChangeHeader(org, date(2024, 3, 1), date(2024, 2, 18), encoding, separator)
    data = write_changes(records, header)
    assert all(len(line) == CHANGE_LINE_LENGTH for line in data.decode(encoding).split("\r\n")[:-1])
    assert parse_changes(data, encoding) == records
    assert parse_cover(write_cover(records, header), encoding).count == len(records)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300),
                 st.text(alphabet=" 0123456789,.\r\n", max_size=300)))
def test_garbage_raises_only_sipo_error(data):
    for parse in (parse_changes, parse_results, parse_rejections, parse_cover):
        try:
            parse(data)
        except SipoError:
            pass


# --- result files ---------------------------------------------------------------------------------------

def payment_line(number="1234567897", period="032024", code="210", amount="350.00", paid_on="14.03.2024",
                 org=ORG) -> str:
    return org + number + period + code.rjust(3) + amount.rjust(9) + paid_on


def test_paid_payments_file():
    data = (payment_line() + "\r\n" + payment_line("1000000007", code="7", amount="0.00") + "\r\n").encode("cp1250")
    first, second = parse_results(data)
    assert (first.connection_number, first.organisation, first.payment_code) == ("1234567897", ORG, "210")
    assert (first.period, first.paid_on) == (date(2024, 3, 1), date(2024, 3, 14))
    assert (first.amount_paid, first.paid, first.amount_prescribed) == (350, True, None)
    assert (second.payment_code, second.amount_paid, second.paid) == ("7", 0, False)


@pytest.mark.parametrize(("line", "fragment"), [
    (payment_line(number="1234567890"), "wrong check digit"),
    (payment_line(amount="350.50"), "whole CZK"),
    (payment_line(amount="35x.00"), "amount like"),
    (payment_line(paid_on="31.02.2024"), "date"),
    (payment_line(period="002024"), "období"),
    (payment_line() + "9", "44 characters"),
    (payment_line(org="11206x"), "číslo organizace"),
])
def test_bad_payment_lines(line, fragment):
    with pytest.raises(SipoError, match=fragment):
        parse_results(line + "\r\n")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 999_999),
                          st.dates(date(2000, 1, 1), date(2099, 12, 31))), min_size=1, max_size=20))
def test_payment_file_round_trip(rows):
    lines = [payment_line(n + str(check_digit(n)), d.strftime("%m%Y"), "210", f"{a}.00", d.strftime("%d.%m.%Y"))
             for n, a, d in rows]
    parsed = parse_results("\r\n".join(lines) + "\r\n")
    assert [(r.connection_number[:9], r.amount_paid, r.paid_on) for r in parsed] == rows
    assert all(r.paid == (r.amount_paid > 0) for r in parsed)


def test_rejection_protocol():
    good = write_changes([record()], HEADER).decode("cp1250").rstrip("\r\n")
    broken = "  032024X" + "9" * 61
    rejections = parse_rejections(f"{good}D\r\n{broken}L\r\n")
    assert rejections[0].change == record() and rejections[0].codes == ("D",)
    assert rejections[0].reasons == ("neexistující spojovací číslo",)
    assert rejections[1].change is None and rejections[1].codes == ("L",)
    with pytest.raises(SipoError, match="error codes"):
        parse_rejections(good + "\r\n")
