"""camt.053 statements in the style of Czech banks (ČBA), versions .001.02 and .001.08, and hostile XML."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest

from mango_billing.bank import camt053
from mango_billing.bank.detect import detect_format, parse_statement
from mango_billing.bank.statement import StatementError

D = Decimal
NS02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
NS08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def document(
    entries: str, *, ns: str = NS02, opening: str = "10000.00", closing: str = "11054.50", summary: str = ""
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{ns}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>20240331-0001</MsgId><CreDtTm>2024-03-31T23:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>2024-3-19-2000145399</Id>
      <ElctrncSeqNb>3</ElctrncSeqNb>
      <LglSeqNb>3</LglSeqNb>
      <CreDtTm>2024-03-31T23:00:00+01:00</CreDtTm>
      <FrToDt><FrDtTm>2024-03-01T00:00:00+01:00</FrDtTm><ToDtTm>2024-03-31T23:59:59+02:00</ToDtTm></FrToDt>
      <Acct>
        <Id><IBAN>CZ6508000000192000145399</IBAN></Id>
        <Ccy>CZK</Ccy>
        <Svcr><FinInstnId><BIC>GIBACZPX</BIC></FinInstnId></Svcr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="CZK">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-02-29</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="CZK">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-31</Dt></Dt>
      </Bal>
      {summary}
      {entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()


# A payment from a customer: VS/SS/KS in EndToEndId as ČS and KB write it, counter account in Othr/Id.
CREDIT = """
<Ntry>
  <NtryRef>1</NtryRef>
  <Amt Ccy="CZK">1500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
  <BookgDt><Dt>2024-03-05</Dt></BookgDt><ValDt><Dt>2024-03-05</Dt></ValDt>
  <AcctSvcrRef>2024030512345</AcctSvcrRef>
  <BkTxCd><Prtry><Cd>10000101000</Cd><Issr>CBA</Issr></Prtry></BkTxCd>
  <NtryDtls><TxDtls>
    <Refs><EndToEndId>VS2024001/SS7/KS0308</EndToEndId></Refs>
    <RltdPties>
      <Dbtr><Nm>Jan Novák</Nm></Dbtr>
      <DbtrAcct><Id><Othr><Id>123-4567890</Id></Othr></Id></DbtrAcct>
      <Cdtr><Nm>ISP s.r.o.</Nm></Cdtr>
      <CdtrAcct><Id><IBAN>CZ6508000000192000145399</IBAN></Id></CdtrAcct>
    </RltdPties>
    <RltdAgts><DbtrAgt><FinInstnId><ClrSysMmbId><MmbId>0100</MmbId></ClrSysMmbId></FinInstnId></DbtrAgt></RltdAgts>
    <RmtInf><Ustrd>Internet brezen</Ustrd></RmtInf>
  </TxDtls></NtryDtls>
</Ntry>"""

# A payment we made: VS in the structured reference "VS:777", KS in Ustrd Fio's old slash style.
DEBIT = """
<Ntry>
  <Amt Ccy="CZK">250.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
  <BookgDt><Dt>2024-03-06</Dt></BookgDt>
  <AcctSvcrRef>2024030600001</AcctSvcrRef>
  <NtryDtls><TxDtls>
    <Refs><InstrId>SS:99</InstrId><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
    <RltdPties>
      <Cdtr><Nm>Dodavatel a.s.</Nm></Cdtr>
      <CdtrAcct><Id><IBAN>CZ5527000000000012345678</IBAN></Id></CdtrAcct>
    </RltdPties>
    <RmtInf>
      <Ustrd>/VS/111/SS/1/KS/0558</Ustrd>
      <Strd><CdtrRefInf><Ref>VS:777</Ref></CdtrRefInf></Strd>
    </RmtInf>
  </TxDtls></NtryDtls>
</Ntry>"""

# Pending: not a movement.
PENDING = """
<Ntry>
  <Amt Ccy="CZK">999.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
  <BookgDt><Dt>2024-03-31</Dt></BookgDt>
</Ntry>"""

# A returned (reversed) outgoing payment: money comes back, the parties are those of the original.
REVERSAL = """
<Ntry>
  <Amt Ccy="CZK">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
  <BookgDt><Dt>2024-03-07</Dt></BookgDt>
  <NtryRef>REV-1</NtryRef>
  <NtryDtls><TxDtls>
    <RltdPties>
      <Dbtr><Nm>ISP s.r.o.</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>CZ6508000000192000145399</IBAN></Id></DbtrAcct>
      <Cdtr><Nm>Dodavatel a.s.</Nm></Cdtr>
      <CdtrAcct><Id><IBAN>CZ5527000000000012345678</IBAN></Id></CdtrAcct>
    </RltdPties>
    <RmtInf><Strd><CdtrRefInf><Ref>4455</Ref></CdtrRefInf></Strd></RmtInf>
  </TxDtls></NtryDtls>
</Ntry>"""

# A batch credit of two transactions (collected SIPO-like payments).
BATCH = """
<Ntry>
  <Amt Ccy="CZK">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
  <BookgDt><DtTm>2024-03-08T10:00:00+01:00</DtTm></BookgDt>
  <AcctSvcrRef>BATCH-9</AcctSvcrRef>
  <NtryDtls>
    <TxDtls>
      <AmtDtls><TxAmt><Amt Ccy="CZK">120.00</Amt></TxAmt></AmtDtls>
      <RmtInf><Ustrd>VS: 501 KS: 8</Ustrd></RmtInf>
    </TxDtls>
    <TxDtls>
      <Refs><TxId>T-2</TxId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="CZK">180.00</Amt></TxAmt></AmtDtls>
      <RmtInf><Ustrd>vs.502</Ustrd></RmtInf>
    </TxDtls>
  </NtryDtls>
</Ntry>"""

SUMMARY = """<TxsSummry>
  <TtlNtries><NbOfNtries>4</NbOfNtries></TtlNtries>
  <TtlCdtNtries><NbOfNtries>3</NbOfNtries><Sum>1900.00</Sum></TtlCdtNtries>
  <TtlDbtNtries><NbOfNtries>1</NbOfNtries><Sum>250.50</Sum></TtlDbtNtries>
</TxsSummry>"""

ALL = CREDIT + DEBIT + PENDING + REVERSAL + BATCH  # 10000 + 1500 - 250.50 + 100 + 300 = 11649.50


def test_v02_statement_as_czech_banks_write_it():
    data = document(ALL, closing="11649.50", summary=SUMMARY)
    assert detect_format(data) == "camt053"
    st = parse_statement(data)
    assert (st.format, st.account, st.currency, st.number) == ("camt053", "19-2000145399/0800", "CZK", "3")
    assert (st.period_from, st.period_to) == (date(2024, 3, 1), date(2024, 3, 31))
    assert (st.opening_balance, st.closing_balance) == (D("10000.00"), D("11649.50"))
    credit, debit, reversal, batch1, batch2 = st.movements

    assert credit.amount == D("1500.00") and credit.booked == date(2024, 3, 5)
    assert credit.bank_id == "2024030512345"
    assert credit.counter_account == "123-4567890/0100" and credit.counter_name == "Jan Novák"
    assert (credit.variable_symbol, credit.specific_symbol, credit.constant_symbol) == ("2024001", "7", "308")
    assert credit.message == "Internet brezen" and not credit.reversal
    assert "<AcctSvcrRef>2024030512345</AcctSvcrRef>" in credit.raw

    assert debit.amount == D("-250.50")
    assert debit.counter_account == "12345678/2700" and debit.counter_name == "Dodavatel a.s."
    # The structured reference wins over Ustrd; SS from Ustrd before InstrId.
    assert (debit.variable_symbol, debit.specific_symbol, debit.constant_symbol) == ("777", "1", "558")

    assert reversal.amount == D("100.00") and reversal.reversal
    assert reversal.counter_account == "12345678/2700"  # not our own account named as debtor
    assert reversal.variable_symbol == "4455" and reversal.bank_id == "REV-1"

    assert (batch1.amount, batch2.amount) == (D("120.00"), D("180.00"))
    assert (batch1.bank_id, batch2.bank_id) == ("BATCH-9/1", "T-2")
    assert (batch1.variable_symbol, batch1.constant_symbol, batch2.variable_symbol) == ("501", "8", "502")
    assert batch1.booked == date(2024, 3, 8)


def test_v08_statement():
    entry = """
<Ntry>
  <Amt Ccy="CZK">42.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
  <BookgDt><Dt>2024-03-10</Dt></BookgDt>
  <AcctSvcrRef>X1</AcctSvcrRef>
  <NtryDtls><TxDtls>
    <Amt Ccy="CZK">42.00</Amt>
    <Refs><EndToEndId>/VS123/SS456/KS0308</EndToEndId></Refs>
    <RltdPties>
      <Dbtr><Pty><Nm>Eva Malá</Nm></Pty></Dbtr>
      <DbtrAcct><Id><Othr><Id>2900233333</Id></Othr></Id></DbtrAcct>
    </RltdPties>
    <RltdAgts><DbtrAgt><FinInstnId><BICFI>FIOBCZPPXXX</BICFI>
      <ClrSysMmbId><MmbId>2010</MmbId></ClrSysMmbId></FinInstnId></DbtrAgt></RltdAgts>
  </TxDtls></NtryDtls>
</Ntry>
<Ntry>
  <Amt Ccy="CZK">2.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>INFO</Cd></Sts>
  <BookgDt><Dt>2024-03-10</Dt></BookgDt>
</Ntry>"""
    st = camt053.parse(document(entry, ns=NS08, opening="0.00", closing="42.00"))
    (m,) = st.movements
    assert m.counter_account == "2900233333/2010" and m.counter_name == "Eva Malá"
    assert (m.variable_symbol, m.specific_symbol, m.constant_symbol) == ("123", "456", "308")


def test_fio_cba_xml_symbol_separators_before_and_after_april_2020():
    def entry(text: str) -> str:
        return f"""<Ntry><Amt Ccy="CZK">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
          <BookgDt><Dt>2020-04-06</Dt></BookgDt>
          <NtryDtls><TxDtls><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""

    st = camt053.parse(
        document(
            entry("/VS/0000000123/SS/456/KS/0308") + entry("VS:123 SS:456 KS:0308"),
            opening="0.00",
            closing="2.00",
        )
    )
    old, new = st.movements
    for m in (old, new):
        assert (m.variable_symbol, m.specific_symbol, m.constant_symbol) == ("123", "456", "308")
    assert old.message == "/VS/0000000123/SS/456/KS/0308"


def test_symbols_are_not_taken_from_inside_words():
    entry = """<Ntry><Amt Ccy="CZK">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-01-01</Dt></BookgDt>
      <NtryDtls><TxDtls><RmtInf><Ustrd>OBVS12 DKS34 payment 12345678901</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
    (m,) = camt053.parse(document(entry, opening="0.00", closing="1.00")).movements
    assert (m.variable_symbol, m.specific_symbol, m.constant_symbol) == (None, None, None)


def test_totals_that_do_not_add_up_are_rejected_with_the_numbers():
    with pytest.raises(
        StatementError,
        match=r"opening balance 10000.00 \+ credits 1500.00 - debits 0.00 = "
        r"11500.00, but the closing balance is 11054.50",
    ):
        camt053.parse(document(CREDIT))
    assert camt053.parse(document(CREDIT), check_totals=False).closing_balance == D("11054.50")
    bad_summary = SUMMARY.replace("<Sum>250.50</Sum>", "<Sum>250.00</Sum>")
    with pytest.raises(StatementError, match=r"TtlDbtNtries/Sum says the debit entries sum to 250.00"):
        camt053.parse(document(ALL, closing="11649.50", summary=bad_summary))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"not well-formed XML"),
        (b"<Document", r"not well-formed XML"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"/>', r"camt.053.001.NN namespace"),
        (b"<Document/>", r"no namespace"),
        (
            document("").replace(b"<Stmt>", b"<Stmx>").replace(b"</Stmt>", b"</Stmx>"),
            r"no BkToCstmrStmt/Stmt",
        ),
        (document("").replace(b"<IBAN>CZ6508000000192000145399</IBAN>", b""), r"Acct/Id/IBAN"),
        (document(CREDIT.replace("1500.00", "1500.005")), r"more than two decimal places"),
        (document(CREDIT.replace("1500.00", "15OO")), r"expected an amount"),
        (document(CREDIT.replace("<CdtDbtInd>CRDT", "<CdtDbtInd>PLUS")), r"CdtDbtInd> must be CRDT or DBIT"),
        (document(CREDIT.replace("2024-03-05", "2024-02-30")), r"not a valid date"),
        (
            document(
                CREDIT.replace("<BookgDt><Dt>2024-03-05</Dt></BookgDt><ValDt><Dt>2024-03-05</Dt></ValDt>", "")
            ),
            r"no date",
        ),
        (document(BATCH.replace("180.00", "170.00")), r"TxDtls sum to 290.00, the entry amount is 300.00"),
    ],
)
def test_bad_documents(data, message):
    with pytest.raises(StatementError, match=message):
        camt053.parse(data, check_totals=False)


def test_external_entities_are_refused_and_not_read():
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Acct><Id><IBAN>&secret;</IBAN></Id></Acct></Stmt></BkToCstmrStmt></Document>"""
    with pytest.raises(StatementError, match="DOCTYPE") as caught:
        camt053.parse(xxe)
    assert "root:" not in str(caught.value)


def test_entity_expansion_bomb_is_refused_quickly():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b']><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol9;</Document>'
    )
    start = time.perf_counter()
    with pytest.raises(StatementError):
        camt053.parse(bomb)
    assert time.perf_counter() - start < 2.0


def test_several_statements_of_one_account_join():
    one = document(CREDIT, closing="11500.00")
    text = one.decode()
    start, end = text.index("<Stmt>"), text.index("</Stmt>") + len("</Stmt>")
    second = (
        text[start:end]
        .replace("<LglSeqNb>3</LglSeqNb>", "<LglSeqNb>4</LglSeqNb>")
        .replace(">10000.00<", ">11500.00<")
        .replace(
            ">11500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-31",
            ">13000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-31",
        )
    )
    both = (text[:end] + second + text[end:]).encode()
    st = camt053.parse(both)
    assert st.number == "3-4" and len(st.movements) == 2
    assert (st.opening_balance, st.closing_balance) == (D("10000.00"), D("13000.00"))
