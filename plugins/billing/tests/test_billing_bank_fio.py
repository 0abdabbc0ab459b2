"""Fio JSON (REST API) and CSV: the public fixtures, the documentation's examples, bad input."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from mango_billing.bank import fio, gpc
from mango_billing.bank.detect import detect_format, parse_statement
from mango_billing.bank.statement import StatementError

D = Decimal


# --- public fixtures -----------------------------------------------------------------------------


def test_mhujer_example_response(shared_fixtures):
    data = (shared_fixtures / "bank" / "fio_api_example-response_mhujer.json").read_bytes()
    assert detect_format(data) == "fio-json"
    st = parse_statement(data)
    assert (st.format, st.account, st.currency) == ("fio-json", "214498596/2010", "CZK")
    assert (st.period_from, st.period_to) == (date(2015, 3, 30), date(2015, 3, 31))
    assert (st.opening_balance, st.closing_balance) == (D("500.00"), D("1000.00"))
    first, second, third = st.movements
    assert (first.bank_id, first.amount, first.booked) == ("1111111111", D("127.00"), date(2015, 3, 30))
    assert first.counter_account == "214498596"  # bank code "0000" means none
    assert first.variable_symbol is None  # "0"
    assert first.message == "Platba eshop"
    assert (second.bank_id, second.amount) == ("2222255555", D("500.00"))
    assert second.counter_account == "2900201034/2010" and second.variable_symbol == "123456789"
    assert second.message == "Savana MartinHujer"
    assert (third.bank_id, third.message) == ("2222255556", "MartinHujer")
    # Its balances do not match its movements (500 + 1127 != 1000): refused when totals are checked.
    with pytest.raises(StatementError, match=r"500.00 \+ movements 1127.00 = 1627.00.*1000.00"):
        fio.parse_json(data, check_totals=True)


def test_mhujer_single_transaction(shared_fixtures):
    path = shared_fixtures / "bank" / "fio_api_example-transaction_mhujer.json"
    raw = json.loads(path.read_text("utf-8"), parse_float=Decimal)  # never float for money
    m = fio.parse_transaction(raw)
    assert (m.bank_id, m.amount, m.currency, m.booked) == (
        "1111111111",
        D("127.00"),
        "CZK",
        date(2015, 3, 30),
    )
    assert m.counter_account == "214498596/2100" and m.counter_name == "HUJER MARTIN"
    assert m.variable_symbol is None and m.message == "Platba eshop"
    # On its own it is not a statement.
    data = (shared_fixtures / "bank" / "fio_api_example-transaction_mhujer.json").read_bytes()
    with pytest.raises(StatementError, match="accountStatement"):
        parse_statement(data)


def test_honzajavorek_periods(shared_fixtures):
    data = (shared_fixtures / "bank" / "fio_api_periods_honzajavorek-fiobank.json").read_bytes()
    st = fio.parse_json(data, check_totals=True)  # 2543.81 - 130.00 - 353.29 = 2060.52
    assert st.account == "1234567890/2010"
    assert (st.opening_balance, st.closing_balance) == (D("2543.81"), D("2060.52"))
    card1, card2 = st.movements
    assert (card1.bank_id, card1.amount, card1.variable_symbol) == ("10000000002", D("-130.00"), "5678")
    assert (card2.bank_id, card2.amount, card2.variable_symbol) == ("10000000001", D("-353.29"), "1234")
    assert card1.counter_account is None and card1.booked == date(2016, 8, 3)
    assert card2.message == "Nákup: Billa Ul. Konevova, Praha - Vitko, CZ, dne 1.8.2016, částka  353.29 CZK"


# --- the documentation's own example (§5.3.1.6, epoch-millisecond dates) ---------------------------

DOC_JSON = {
    "accountStatement": {
        "info": {
            "accountId": "2400222222",
            "bankId": "2010",
            "currency": "CZK",
            "iban": "CZ7920100000002400222222",
            "bic": "FIOBCZPPXXX",
            "openingBalance": 195.00,
            "closingBalance": 195.01,
            "dateStart": 1340661600000,
            "dateEnd": 1341007200000,
            "yearList": None,
            "idList": None,
            "idFrom": 1148734530,
            "idTo": 1149190193,
            "idLastDownload": 1149190192,
        },
        "transactionList": {
            "transaction": [
                {
                    "column22": {"value": 1148734530, "name": "ID pohybu", "id": 22},
                    "column0": {"value": 1340661600000, "name": "Datum", "id": 0},
                    "column1": {"value": 1.00, "name": "Objem", "id": 1},
                    "column14": {"value": "CZK", "name": "Měna", "id": 14},
                    "column2": {"value": "2900233333", "name": "Protiúčet", "id": 2},
                    "column10": {"value": "Pavel, Novák", "name": "Název protiúčtu", "id": 10},
                    "column3": {"value": "2010", "name": "Kód banky", "id": 3},
                    "column4": {"value": "0558", "name": "KS", "id": 4},
                    "column5": None,
                    "column6": None,
                    "column16": None,
                },
                {
                    "column22": {"value": 1148734781, "name": "ID pohybu", "id": 22},
                    "column0": {"value": 1340661600000, "name": "Datum", "id": 0},
                    "column1": {"value": -1.00, "name": "Objem", "id": 1},
                    "column14": {"value": "CZK", "name": "Měna", "id": 14},
                    "column2": {"value": "2900233333", "name": "Protiúčet", "id": 2},
                    "column3": {"value": "2010", "name": "Kód banky", "id": 3},
                    "column4": {"value": "0558", "name": "KS", "id": 4},
                },
                {
                    "column22": {"value": 1149190193, "name": "ID pohybu", "id": 22},
                    "column0": {"value": 1341007200000, "name": "Datum", "id": 0},
                    "column1": {"value": 0.01, "name": "Objem", "id": 1},
                    "column14": {"value": "CZK", "name": "Měna", "id": 14},
                    "column8": {"value": "Připsaný úrok", "name": "Typ", "id": 8},
                },
            ]
        },
    }
}


def test_documentation_json_example_with_epoch_dates():
    st = fio.parse_json(json.dumps(DOC_JSON).encode(), check_totals=True)
    assert st.account == "2400222222/2010"
    assert (st.period_from, st.period_to) == (date(2012, 6, 26), date(2012, 6, 30))  # Prague midnight
    assert [m.amount for m in st.movements] == [D("1.00"), D("-1.00"), D("0.01")]
    assert [m.booked for m in st.movements] == [date(2012, 6, 26), date(2012, 6, 26), date(2012, 6, 30)]
    first = st.movements[0]
    assert first.counter_account == "2900233333/2010" and first.constant_symbol == "558"
    assert first.counter_name == "Pavel, Novák"


def test_same_movements_in_json_and_gpc_have_the_same_ids_and_fingerprints(shared_fixtures):
    """Fio's documentation shows one download as JSON and as GPC: both must give the same movements."""
    from_json = fio.parse_json(json.dumps(DOC_JSON).encode())
    from_gpc = gpc.parse(
        (shared_fixtures / "bank" / "gpc_fio_API_doc_example_RECONSTRUCTED.gpc").read_bytes()
    )
    account = "2400222222/2010"
    for j, g in zip(from_json.movements, from_gpc.movements, strict=True):
        assert j.bank_id == g.bank_id
        assert (j.amount, j.booked, j.counter_account, j.constant_symbol) == (
            g.amount,
            g.booked,
            g.counter_account,
            g.constant_symbol,
        )
        assert j.fingerprint(account) == g.fingerprint(account)


def test_empty_download_and_string_dates():
    data = {
        "accountStatement": {
            "info": {
                "accountId": "2400222222",
                "bankId": "2010",
                "currency": "CZK",
                "openingBalance": 10,
                "closingBalance": 10,
                "dateStart": "2024-03-01+0100",
                "dateEnd": "2024-03-02+0100",
                "idList": 7,
            },
            "transactionList": {"transaction": []},
        }
    }
    st = fio.parse_json(json.dumps(data).encode(), check_totals=True)
    assert st.movements == () and st.number == "7" and st.period_to == date(2024, 3, 2)
    data["accountStatement"]["transactionList"] = None
    assert fio.parse_json(json.dumps(data).encode()).movements == ()


def _one(tx: dict) -> bytes:
    return json.dumps(
        {
            "accountStatement": {
                "info": {"accountId": "1", "bankId": "2010"},
                "transactionList": {"transaction": [tx]},
            }
        }
    ).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", r"UTF-8"),
        (b"{", r"not valid JSON"),
        (b"[]", r"expected a JSON object"),
        (b'{"accountStatement": {"info": {"accountId": "1"}, "x": NaN}}', r"NaN"),
        (b"[" * 100000 + b"]" * 100000, r"nested too deeply|expected a JSON object"),
        (b'{"accountStatement": {"info": []}}', r"info: expected a JSON object"),
        (b'{"accountStatement": {"info": {}}}', r"missing accountId"),
        (_one({"column0": {"value": "2024-01-01"}}), r"missing the amount"),
        (_one({"column1": {"value": 1}}), r"missing the date"),
        (_one({"column0": {"value": "2024-13-01"}, "column1": {"value": 1}}), r"expected a date"),
        (_one({"column0": {"value": "2024-01-01"}, "column1": {"value": "abc"}}), r"expected an amount"),
        (_one({"column0": {"value": "2024-01-01"}, "column1": {"value": 1.001}}), r"more than two decimal"),
        (_one({"column0": {"value": "2024-01-01"}, "column1": {"value": True}}), r"expected an amount"),
        (_one({"column0": {"value": "2024-01-01"}, "column1": 5}), r"column1: expected a JSON object"),
        (
            _one({"column0": {"value": "2024-01-01"}, "column1": {"value": 1}, "column2": {"value": [1]}}),
            r"expected text",
        ),
    ],
)
def test_bad_json(data, message):
    with pytest.raises(StatementError, match=message):
        fio.parse_json(data)


def test_symbols_with_letters_are_dropped_not_fatal():
    tx = {
        "column0": {"value": "2024-01-01"},
        "column1": {"value": 1},
        "column5": {"value": "ABC12"},
        "column4": {"value": "0308"},
    }
    (m,) = fio.parse_json(_one(tx)).movements
    assert m.variable_symbol is None and m.constant_symbol == "308"


# --- CSV -----------------------------------------------------------------------------------------

# The documentation's example (§5.3.1.4) with the PDF's typographic quotes made ASCII, the message column
# filled and a quoted name with a semicolon and doubled quotes.
CSV = "\n".join(
    [
        "accountId;2200018111",
        "bankId;2010",
        "currency;CZK",
        "iban;CZ3520100000002200018111",
        "bic;FIOBCZPPXXX",
        "openingBalance;12894,79",
        "closingBalance;12845,93",
        "dateStart;25.07.2012",
        "dateEnd;15.09.2012",
        "idFrom; 1252062368",
        "idTo; 1255107881",
        "idLastDownload; 1252062367",
        "",
        "ID pohybu;Datum;Objem;Měna;Protiúčet;Název protiúčtu;Kód banky;Název banky;KS;VS;SS;"
        "Uživatelská identifikace;Zpráva pro příjemce;Typ;Provedl;Upřesnění;Komentář;BIC;ID pokynu;",
        "1252062368;31.07.2012;0,07;CZK;;;;;;;;;;Připsaný úrok;;;;;2120891307;",
        '1252273009;01.08.2012;-49,00;CZK;1231231231;"Béďa; ""Trávníček""";2010;"Fio banka, a.s.";0558;2024001;;'
        ' ;"Platba; za ""internet""";Platba převodem uvnitř banky;"Béďa, ""Trávníček""";;;;2121709706;',
        "1255107881;31.08.2012;0,07;CZK;;;;;;;;;;Připsaný úrok;;;;;2134853563;",
        "",
    ]
)


def test_csv_from_the_documentation():
    data = CSV.encode("utf-8")
    assert detect_format(data) == "fio-csv"
    st = parse_statement(data)
    assert (st.format, st.account, st.currency) == ("fio-csv", "2200018111/2010", "CZK")
    assert (st.opening_balance, st.closing_balance) == (D("12894.79"), D("12845.93"))
    assert (st.period_from, st.period_to) == (date(2012, 7, 25), date(2012, 9, 15))
    interest, payment, interest2 = st.movements
    assert (interest.bank_id, interest.amount, interest.booked) == (
        "1252062368",
        D("0.07"),
        date(2012, 7, 31),
    )
    assert interest.counter_account is None and interest.message is None
    assert (payment.amount, payment.counter_account, payment.constant_symbol) == (
        D("-49.00"),
        "1231231231/2010",
        "558",
    )
    assert payment.counter_name == 'Béďa; "Trávníček"'
    assert payment.message == 'Platba; za "internet"' and payment.variable_symbol == "2024001"
    assert interest2.amount == D("0.07")
    # 12894.79 - 48.86 = 12845.93 adds up
    assert fio.parse_csv(data, check_totals=True) == st


def test_csv_windows_1250_and_bom():
    assert fio.parse_csv(CSV.encode("cp1250")) == fio.parse_csv(CSV.encode("utf-8"))
    assert fio.parse_csv(b"\xef\xbb\xbf" + CSV.encode("utf-8")) == fio.parse_csv(CSV.encode("utf-8"))
    assert fio.parse(CSV.encode()) == fio.parse_csv(CSV.encode())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accountId;1\n", r"no column header row"),
        ("ID pohybu;Datum;Objem\n1;01.01.2024;1,00\n", r"no accountId"),
        ("accountId;1\n\nID pohybu;Objem\n", r"lacks Datum"),
        ("accountId;1\nnonsense\n", r"line 2: expected a 'key;value'"),
        ("accountId;1\n\nID pohybu;Datum;Objem\n1;01.01.2024;1,005\n", r"line 4.*more than two decimal"),
        ("accountId;1\n\nID pohybu;Datum;Objem\n1;32.01.2024;1,00\n", r"line 4.*expected a date"),
        ("accountId;1\n\nID pohybu;Datum;Objem\n1;01.01.2024;1.000,00\n", r"mixes a decimal comma"),
        ("accountId;1\nopeningBalance;x\n\nID pohybu;Datum;Objem\n", r"openingBalance"),
        ("accountId;1\x00\n", r"NUL"),
    ],
)
def test_bad_csv(text, message):
    with pytest.raises(StatementError, match=message):
        fio.parse_csv(text.encode())
