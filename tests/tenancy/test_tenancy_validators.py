"""Validators of company data: good values normalised, garbage refused with their own errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mango_core.tenancy import validators as v


@pytest.mark.parametrize(("raw", "ico"), [("27082440", "27082440"), (" 2708 2440 ", "27082440"), ("04923456", "04923456")])
def test_ico_ok(raw, ico):
    assert v.normalize_ico(raw) == ico


@pytest.mark.parametrize("raw", ["27082441", "2708244", "270824400", "abcdefgh", "", "２７０８２４４０"])
def test_ico_bad(raw):
    with pytest.raises(v.InvalidIco):
        v.normalize_ico(raw)


@pytest.mark.parametrize(("raw", "dic"), [("CZ27082440", "CZ27082440"), ("cz 27082440", "CZ27082440"),
                                          ("27082440", "CZ27082440"), ("CZ7103192745", "CZ7103192745")])
def test_dic_ok(raw, dic):
    assert v.normalize_dic(raw) == dic


@pytest.mark.parametrize("raw", ["CZ27082441", "CZ", "SK2020202020", "CZ1234567", "CZ12345678901", "CZ7113192745"])
def test_dic_bad(raw):
    with pytest.raises(v.InvalidDic):
        v.normalize_dic(raw)


def test_czech_account_gets_iban_and_bic():
    acc = v.parse_bank_account("19-2000145399/0800")
    assert acc == v.BankAccountNumber(iban="CZ6508000000192000145399", account_number="19-2000145399/0800",
                                      bic="GIBACZPX")
    assert acc.iban_formatted == "CZ65 0800 0000 1920 0014 5399"
    assert v.parse_bank_account("000019-2000145399/0800") == acc
    assert v.parse_bank_account("cz65 0800 0000 1920 0014 5399") == acc  # a Czech IBAN gives the number back
    assert v.parse_bank_account("2400000009/2010").bic == "FIOBCZPP"


def test_foreign_iban():
    acc = v.parse_bank_account("DE89 3704 0044 0532 0130 00")
    assert acc.iban == "DE89370400440532013000" and acc.account_number is None and acc.bic == "COBADEFFXXX"


@pytest.mark.parametrize(("raw", "needle"), [
    ("19-2000145398/0800", "check digit"),
    ("2000145399/0001", "not a Czech bank"),
    ("CZ6508000000192000145398", "not a valid IBAN"),
    ("CZ6608000000192000145398", "IBAN"),
    ("12/34", "Czech account number"),
    ("", "Czech account number"),
])
def test_bank_account_bad(raw, needle):
    with pytest.raises(v.InvalidBankAccount, match=needle):
        v.parse_bank_account(raw)


def test_other_settings():
    assert v.normalize_currency(" eur ") == "EUR"
    assert v.normalize_code("prg-2") == "PRG-2"
    assert v.normalize_postal_code("110 00") == "11000"
    assert v.normalize_postal_code("SW1A 1AA", "GB") == "SW1A 1AA"
    assert v.normalize_locale("CS", ["cs", "en"]) == "cs"
    assert v.normalize_timezone("Europe/Prague") == "Europe/Prague"
    assert v.parse_invoice_series('{"prefix": "FV"}') == {"prefix": "FV"}
    for func, bad, error in [(v.normalize_currency, "XYZ", v.InvalidCurrency), (v.normalize_code, "P", v.InvalidCode),
                             (v.normalize_postal_code, "01000", v.InvalidPostalCode),
                             (v.normalize_timezone, "Mars/Base", v.InvalidTimezone),
                             (v.parse_invoice_series, "[1]", v.InvalidInvoiceSeries)]:
        with pytest.raises(error):
            func(bad)
    with pytest.raises(v.InvalidLocale):
        v.normalize_locale("de", ["cs", "en"])


def test_errors_are_translated_in_a_request(app):
    with app.test_request_context("/"):
        from flask import session

        session["locale"] = "cs"
        with pytest.raises(v.InvalidIco) as info:
            v.normalize_ico("x")
        assert "IČO musí" in str(info.value)
    assert "IČO must" in str(info.value)  # English outside a request (command line, logs)


text_like = st.one_of(st.text(), st.text(alphabet="0123456789-/ CZcz"), st.binary().map(repr), st.none(),
                      st.integers(), st.floats(allow_nan=True))

CASES = [
    (v.normalize_ico, v.InvalidIco), (v.normalize_dic, v.InvalidDic), (v.parse_bank_account, v.InvalidBankAccount),
    (v.normalize_currency, v.InvalidCurrency), (v.normalize_code, v.InvalidCode),
    (v.normalize_postal_code, v.InvalidPostalCode), (v.normalize_timezone, v.InvalidTimezone),
    (v.parse_invoice_series, v.InvalidInvoiceSeries),
]


@pytest.mark.parametrize(("func", "error"), CASES, ids=[c[0].__name__ for c in CASES])
@settings(max_examples=300, deadline=None)
@given(value=text_like)
def test_garbage_raises_only_own_error(func, error, value):
    try:
        func(value)
    except error as exc:
        assert str(exc)
    # anything else propagates and fails the test


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(alphabet="0123456789", max_size=7), number=st.text(alphabet="0123456789", min_size=1, max_size=11),
       bank=st.text(alphabet="0123456789", min_size=3, max_size=5))
def test_czech_shaped_garbage(prefix, number, bank):
    raw = f"{prefix}-{number}/{bank}" if prefix else f"{number}/{bank}"
    try:
        acc = v.parse_bank_account(raw)
    except v.InvalidBankAccount:
        return
    assert acc.iban.startswith("CZ") and v.parse_bank_account(acc.iban) == acc


@settings(max_examples=200, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_every_ico_with_computed_check_digit_is_valid(digits):
    from stdnum.cz.dic import calc_check_digit_legal

    ico = digits + calc_check_digit_legal(digits)
    assert v.normalize_ico(ico) == ico
