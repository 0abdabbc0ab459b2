"""Garbage and mutated statements into every parser: a statement or a StatementError, nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mango_billing.bank import camt053, fio, gpc
from mango_billing.bank.detect import FORMATS, parse_statement
from mango_billing.bank.gpc_writer import write_gpc
from mango_billing.bank.statement import BankMovement, BankStatement, StatementError

D = Decimal
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _gpc_sample() -> bytes:
    movements = (
        BankMovement(
            "1148734530",
            date(2024, 3, 1),
            D("1500.00"),
            "CZK",
            "19-2000145399/0800",
            "Jan Novák",
            "2024001",
            "308",
            None,
            "Internet za březen a kus dubna, děkuji pěkně za službu",
        ),
        BankMovement(
            None,
            date(2024, 3, 2),
            D("-99.90"),
            "CZK",
            "2900233333/2010",
            "Dlouhé jméno dodavatele s.r.o.",
            None,
            None,
            "77",
            None,
            reversal=True,
        ),
        BankMovement(
            "12345678901234567890", date(2024, 3, 3), D("0.01"), "CZK", None, None, None, None, None, None
        ),
    )
    statement = BankStatement(
        "gpc", "19-2000145399", "CZK", "12", date(2024, 3, 1), date(2024, 3, 31), D("100.00"), None, movements
    )
    return write_gpc(statement, client_name="ISP Novák s.r.o.")


GPC = _gpc_sample()
CAMT = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>1</Id><LglSeqNb>1</LglSeqNb>
<FrToDt><FrDtTm>2024-03-01T00:00:00</FrDtTm><ToDtTm>2024-03-31T23:59:59</ToDtTm></FrToDt>
<Acct><Id><IBAN>CZ6508000000192000145399</IBAN></Id><Ccy>CZK</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="CZK">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-02-29</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CZK">20.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>2024-03-31</Dt></Dt></Bal>
<Ntry><Amt Ccy="CZK">15.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-03-05</Dt></BookgDt>
<AcctSvcrRef>A1</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>VS1/SS2/KS0308</EndToEndId></Refs>
<RltdPties><Dbtr><Nm>Jan</Nm></Dbtr><DbtrAcct><Id><Othr><Id>123-4567890</Id></Othr></Id></DbtrAcct></RltdPties>
<RltdAgts><DbtrAgt><FinInstnId><ClrSysMmbId><MmbId>0100</MmbId></ClrSysMmbId></FinInstnId></DbtrAgt></RltdAgts>
<RmtInf><Ustrd>/VS/1/SS/2/KS/0308</Ustrd><Strd><CdtrRefInf><Ref>VS:1</Ref></CdtrRefInf></Strd></RmtInf>
</TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="CZK">5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-03-06</Dt></BookgDt>
<NtryDtls><TxDtls><AmtDtls><TxAmt><Amt Ccy="CZK">2.00</Amt></TxAmt></AmtDtls></TxDtls>
<TxDtls><AmtDtls><TxAmt><Amt Ccy="CZK">3.00</Amt></TxAmt></AmtDtls></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>"""
FIO_JSON = json.dumps(
    {
        "accountStatement": {
            "info": {
                "accountId": "2400222222",
                "bankId": "2010",
                "currency": "CZK",
                "openingBalance": 1.5,
                "closingBalance": 2.5,
                "dateStart": 1340661600000,
                "dateEnd": "2012-06-30+0200",
            },
            "transactionList": {
                "transaction": [
                    {
                        "column22": {"value": 1},
                        "column0": {"value": "2012-06-26+0200"},
                        "column1": {"value": 1.0},
                        "column14": {"value": "CZK"},
                        "column2": {"value": "2900233333"},
                        "column3": {"value": "2010"},
                        "column4": {"value": "0558"},
                        "column5": {"value": "123"},
                        "column16": {"value": "Zpráva"},
                    },
                ]
            },
        }
    },
    ensure_ascii=False,
).encode()
FIO_CSV = (
    "accountId;2200018111\nbankId;2010\ncurrency;CZK\nopeningBalance;1,00\nclosingBalance;2,00\n"
    "dateStart;01.03.2024\ndateEnd;31.03.2024\n\n"
    "ID pohybu;Datum;Objem;Měna;Protiúčet;Název protiúčtu;Kód banky;KS;VS;SS;Zpráva pro příjemce\n"
    '1;05.03.2024;1,00;CZK;1231231231;"Novák; Jan";2010;0558;2024001;;"Platba ""X"""\n'
).encode()

PARSERS: dict[str, Callable[[bytes], BankStatement]] = {
    "gpc": gpc.parse,
    "gpc-relaxed": lambda data: gpc.parse(data, check_totals=False),
    "camt053": camt053.parse,
    "camt053-relaxed": lambda data: camt053.parse(data, check_totals=False),
    "fio-json": fio.parse_json,
    "fio-csv": fio.parse_csv,
    "fio": fio.parse,
    "detect": parse_statement,
}
SAMPLES = {"gpc": GPC, "camt053": CAMT, "fio-json": FIO_JSON, "fio-csv": FIO_CSV}


def _only_statement_error(parser: Callable[[bytes], BankStatement], data: bytes) -> None:
    try:
        result = parser(data)
    except StatementError as exc:
        assert str(exc), "a StatementError must say what is wrong"
    else:
        assert isinstance(result, BankStatement)


def test_samples_are_valid():
    for name, data in SAMPLES.items():
        assert parse_statement(data).format == name
        assert parse_statement(data, name) == parse_statement(data)
    with pytest.raises(StatementError, match="unknown statement format 'mt940'"):
        parse_statement(GPC, "mt940")
    assert set(SAMPLES) == set(FORMATS)


@FUZZ
@given(st.sampled_from(sorted(PARSERS)), st.binary(max_size=600))
def test_random_bytes(parser_name, data):
    _only_statement_error(PARSERS[parser_name], data)


_NASTY = b"0123456789 +-<>/{}[]\":;,.\r\n\x00\xff\x98&'\\"


@st.composite
def _mutated(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SAMPLES)))
    data = bytearray(SAMPLES[name])
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        op = draw(st.sampled_from(["truncate", "replace", "delete", "insert", "duplicate", "digit"]))
        at = draw(st.integers(0, len(data) - 1))
        if op == "truncate":
            del data[at:]
        elif op == "replace":
            data[at] = draw(st.sampled_from(list(_NASTY)))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=10))
        elif op == "digit":
            if chr(data[at]).isdigit():
                data[at] = ord(str(draw(st.integers(0, 9))))
        else:
            end = data.find(b"\n", at)
            start = data.rfind(b"\n", 0, at) + 1
            if end != -1:
                data[start:start] = data[start : end + 1]
    return name, bytes(data)


@FUZZ
@given(_mutated(), st.booleans())
def test_mutated_valid_files(mutated, detect):
    name, data = mutated
    parser = parse_statement if detect else PARSERS[name]
    _only_statement_error(parser, data)
    if name.startswith("gpc"):
        _only_statement_error(PARSERS["gpc-relaxed"], data)


@FUZZ
@given(st.integers(0, len(GPC)))
def test_every_gpc_truncation(cut):
    _only_statement_error(gpc.parse, GPC[:cut])


@FUZZ
@given(st.integers(0, 127), st.sampled_from(list(_NASTY)), st.integers(0, 3))
def test_gpc_field_corruption_is_reported(position, byte, line):
    lines = GPC.split(b"\r\n")
    target = bytearray(lines[min(line, len(lines) - 2)])
    if position < len(target):
        target[position] = byte
    lines[min(line, len(lines) - 2)] = bytes(target)
    _only_statement_error(gpc.parse, b"\r\n".join(lines))


@FUZZ
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=10)
        | st.decimals(allow_nan=False, places=3).map(str),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_fio_json_of_any_shape(value):
    payload = {"accountStatement": {"info": {"accountId": "1"}, "transactionList": {"transaction": [value]}}}
    _only_statement_error(fio.parse_json, json.dumps(payload, default=str).encode())
    _only_statement_error(fio.parse_json, json.dumps({"accountStatement": value}, default=str).encode())
