"""ISO 20022 camt.053 (BankToCustomerStatement) as Czech banks issue it (ČBA national format).

Specification: ISO 20022 camt.053.001.02 (the version the ČBA standard and Fio's "cba_xml" build on) and
the later versions (.001.04 to .001.13 differ only in places read here with both spellings: ``Sts`` vs
``Sts/Cd``, ``Nm`` vs ``Pty/Nm``, ``BIC`` vs ``BICFI``). Any ``camt.053.001.NN`` namespace is accepted.

Czech habits handled:

- variable, specific and constant symbols are looked for, first find wins, in
  ``RmtInf/Strd/CdtrRefInf/Ref`` ("VS:123", "VS123" or plain digits = VS), ``Refs/EndToEndId``
  ("VS123/SS456/KS0308", "/VS/123/SS/456/KS/0308"), ``RmtInf/Ustrd`` and ``Refs/InstrId``; the
  separators "/" (Fio before April 2020) and ":" (Fio since) both work;
- a CZ IBAN becomes ``prefix-number/bank``; a domestic ``Othr/Id`` account takes the bank code from
  ``ClrSysMmbId/MmbId`` of the matching agent;
- only booked entries (``Sts`` BOOK or absent) are movements; pending/info entries are skipped;
- an entry with several ``TxDtls`` (a batch booking) becomes one movement per transaction when their
  amounts add up to the entry.

Security: parsed with lxml, entity resolution, DTD loading and network access off; a document with a
DOCTYPE is refused outright (no XXE, no entity expansion bombs).

Not verified: there is no public camt.053 of a Czech bank; the tests use hand-made files following the
ČBA conventions and Fio's note on symbol separators. ``Purp`` or bank-specific places for the KS are not
read.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from lxml import etree

from mango_billing.bank.statement import (
    BankMovement,
    BankStatement,
    StatementError,
    combine,
    money,
    norm_symbol,
    normalize_account,
)

FORMAT = "camt053"
_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})$")
# VS/SS/KS followed by an optional ":", "/", "." or "=" and up to 10 digits; not glued to a word before.
_SYMBOL = re.compile(r"(?<![A-Za-z0-9])/?(VS|SS|KS)\s*[:/.=]?\s*(\d{1,10})(?!\d)", re.IGNORECASE)
_PLAIN_DIGITS = re.compile(r"^\d{1,10}$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


class _Doc:
    """Namespace-aware lookups with the camt prefix added to every step of a path."""

    def __init__(self, namespace: str) -> None:
        self.ns = {"c": namespace}
        self._paths: dict[str, str] = {}

    def _path(self, path: str) -> str:
        full = self._paths.get(path)
        if full is None:
            full = "/".join(f"c:{step}" for step in path.split("/"))
            self._paths[path] = full
        return full

    def find(self, el: etree._Element, path: str) -> etree._Element | None:
        return el.find(self._path(path), self.ns)

    def findall(self, el: etree._Element, path: str) -> list[etree._Element]:
        return el.findall(self._path(path), self.ns)

    def text(self, el: etree._Element, path: str) -> str | None:
        node = el.find(self._path(path), self.ns)
        if node is None or node.text is None:
            return None
        return node.text.strip() or None

    def texts(self, el: etree._Element, path: str) -> list[str]:
        return [n.text.strip() for n in el.findall(self._path(path), self.ns) if n.text and n.text.strip()]


def parse(data: bytes, *, check_totals: bool = True) -> BankStatement:
    """A camt.053 document; several ``Stmt`` of one account are joined in document order."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StatementError(f"a camt.053 statement is bytes, not {type(data).__name__}")
    try:
        root = etree.fromstring(bytes(data), _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"not well-formed XML: {exc}") from None
    except (etree.LxmlError, ValueError) as exc:
        raise StatementError(f"cannot read the XML: {exc}") from None
    if root is None:
        raise StatementError("empty XML document")
    if root.getroottree().docinfo.doctype:
        raise StatementError("a camt.053 statement must not have a DOCTYPE (entities and DTDs are refused)")
    if not isinstance(root.tag, str):
        raise StatementError("the XML document has no root element")
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    if qname.localname != "Document" or not _NAMESPACE.match(namespace):
        raise StatementError(
            f"line {root.sourceline}: expected a <Document> in a camt.053.001.NN namespace, found "
            f"<{qname.localname}> in {namespace or 'no namespace'!r}"
        )
    doc = _Doc(namespace)
    statements = doc.findall(root, "BkToCstmrStmt/Stmt")
    if not statements:
        raise StatementError("no BkToCstmrStmt/Stmt element: the document holds no statement")
    parts = [_statement(doc, stmt, check_totals) for stmt in statements]
    return combine(parts, check_totals=check_totals)


def _where(el: etree._Element, name: str) -> str:
    return f"line {el.sourceline}, <{name}>"


def _date(value: str | None, *, where: str) -> date | None:
    if value is None:
        return None
    m = _DATE.match(value)
    if not m:
        raise StatementError(f"{where}: expected a date YYYY-MM-DD, found {value!r:.40}")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise StatementError(f"{where}: {value!r:.40} is not a valid date") from None


def _signed_amount(doc: _Doc, el: etree._Element, *, where: str) -> tuple[Decimal, str | None]:
    amt = doc.find(el, "Amt")
    if amt is None or amt.text is None:
        raise StatementError(f"{where}: missing <Amt>")
    amount = money(amt.text, where=f"{where}/Amt")
    indicator = doc.text(el, "CdtDbtInd")
    if indicator == "DBIT":
        amount = -amount
    elif indicator != "CRDT":
        raise StatementError(f"{where}: <CdtDbtInd> must be CRDT or DBIT, found {indicator!r}")
    currency = amt.get("Ccy")
    return amount, currency.strip().upper() if currency else None


def _statement(doc: _Doc, stmt: etree._Element, check_totals: bool) -> BankStatement:
    where = _where(stmt, "Stmt")
    account = normalize_account(
        doc.text(stmt, "Acct/Id/IBAN") or doc.text(stmt, "Acct/Id/Othr/Id"), where=f"{where}/Acct"
    )
    if account is None:
        raise StatementError(f"{where}: missing Acct/Id/IBAN or Acct/Id/Othr/Id (the statement's account)")
    currency = doc.text(stmt, "Acct/Ccy")
    number = doc.text(stmt, "LglSeqNb") or doc.text(stmt, "ElctrncSeqNb") or doc.text(stmt, "Id")
    period_from = _date(doc.text(stmt, "FrToDt/FrDtTm"), where=f"{where}/FrToDt")
    period_to = _date(doc.text(stmt, "FrToDt/ToDtTm"), where=f"{where}/FrToDt")

    balances: dict[str, tuple[Decimal, date | None]] = {}
    for bal in doc.findall(stmt, "Bal"):
        bal_where = _where(bal, "Bal")
        code = doc.text(bal, "Tp/CdOrPrtry/Cd") or doc.text(bal, "Tp/CdOrPrtry/Prtry")
        amount, bal_currency = _signed_amount(doc, bal, where=bal_where)
        bal_date = _date(doc.text(bal, "Dt/Dt") or doc.text(bal, "Dt/DtTm"), where=f"{bal_where}/Dt")
        if code:
            balances.setdefault(code.upper(), (amount, bal_date))
        currency = currency or bal_currency
    opening = balances.get("OPBD") or balances.get("PRCD")
    closing = balances.get("CLBD")
    currency = (currency or "CZK").upper()
    if period_from is None and opening is not None:
        period_from = opening[1]
    if period_to is None and closing is not None:
        period_to = closing[1]

    movements: list[BankMovement] = []
    credits = debits = Decimal("0.00")
    for index, entry in enumerate(doc.findall(stmt, "Ntry"), 1):
        status = doc.text(entry, "Sts/Cd") or doc.text(entry, "Sts")
        if status is not None and status.upper() != "BOOK":
            continue
        for movement in _entry(doc, entry, index, account, currency):
            movements.append(movement)
        entry_amount, _ = _signed_amount(doc, entry, where=f"{_where(entry, 'Ntry')} #{index}")
        if entry_amount >= 0:
            credits += entry_amount
        else:
            debits -= entry_amount

    opening_amount = opening[0] if opening else None
    closing_amount = closing[0] if closing else None
    if check_totals:
        _check_totals(doc, stmt, where, opening_amount, closing_amount, credits, debits)
    return BankStatement(
        format=FORMAT,
        account=account,
        currency=currency,
        number=number,
        period_from=period_from,
        period_to=period_to,
        opening_balance=opening_amount,
        closing_balance=closing_amount,
        movements=tuple(movements),
    )


def _check_totals(
    doc: _Doc,
    stmt: etree._Element,
    where: str,
    opening: Decimal | None,
    closing: Decimal | None,
    credits: Decimal,
    debits: Decimal,
) -> None:
    if opening is not None and closing is not None and opening + credits - debits != closing:
        raise StatementError(
            f"{where}: the statement does not add up: opening balance {opening} + credits {credits} - debits "
            f"{debits} = {opening + credits - debits}, but the closing balance is {closing}"
        )
    for path, total, name in (
        ("TxsSummry/TtlCdtNtries/Sum", credits, "credit"),
        ("TxsSummry/TtlDbtNtries/Sum", debits, "debit"),
    ):
        declared = doc.text(stmt, path)
        if declared is not None and money(declared, where=f"{where}/{path}") != total:
            raise StatementError(
                f"{where}: {path} says the {name} entries sum to {declared}, the booked entries sum to {total}"
            )


def _entry(
    doc: _Doc, entry: etree._Element, index: int, own_account: str, currency: str
) -> list[BankMovement]:
    where = f"{_where(entry, 'Ntry')} #{index}"
    amount, entry_currency = _signed_amount(doc, entry, where=where)
    reversal = (doc.text(entry, "RvslInd") or "").lower() in ("true", "1")
    booked = _date(
        doc.text(entry, "BookgDt/Dt")
        or doc.text(entry, "BookgDt/DtTm")
        or doc.text(entry, "ValDt/Dt")
        or doc.text(entry, "ValDt/DtTm"),
        where=f"{where}/BookgDt",
    )
    if booked is None:
        raise StatementError(f"{where}: missing BookgDt (or ValDt): the entry has no date")
    entry_ref = doc.text(entry, "AcctSvcrRef") or doc.text(entry, "NtryRef")
    raw = etree.tostring(entry, encoding="unicode")
    transactions = doc.findall(entry, "NtryDtls/TxDtls")
    base = {
        "booked": booked,
        "currency": entry_currency or currency,
        "reversal": reversal,
        "raw": raw,
    }
    if len(transactions) <= 1:
        tx = transactions[0] if transactions else None
        bank_id = entry_ref
        if bank_id is None and tx is not None:
            bank_id = doc.text(tx, "Refs/AcctSvcrRef") or doc.text(tx, "Refs/TxId")
        return [_movement(doc, tx, amount, bank_id, own_account, where, base)]

    # A batch entry: one movement per transaction when their amounts add up to the entry.
    amounts: list[Decimal] = []
    for tx in transactions:
        tx_amount = (
            doc.text(tx, "Amt") or doc.text(tx, "AmtDtls/TxAmt/Amt") or doc.text(tx, "AmtDtls/InstdAmt/Amt")
        )
        if tx_amount is None:
            raise StatementError(
                f"{where}: the entry has {len(transactions)} TxDtls but {_where(tx, 'TxDtls')} has no amount"
            )
        amounts.append(money(tx_amount, where=_where(tx, "TxDtls")))
    if sum(amounts) != abs(amount):
        raise StatementError(
            f"{where}: its {len(transactions)} TxDtls sum to {sum(amounts)}, the entry amount is {abs(amount)}"
        )
    sign = -1 if amount < 0 else 1
    out = []
    for number, (tx, tx_amount) in enumerate(zip(transactions, amounts, strict=True), 1):
        bank_id = doc.text(tx, "Refs/AcctSvcrRef") or doc.text(tx, "Refs/TxId")
        if bank_id is None and entry_ref is not None:
            bank_id = f"{entry_ref}/{number}"
        out.append(_movement(doc, tx, sign * tx_amount, bank_id, own_account, where, base))
    return out


def _party(doc: _Doc, tx: etree._Element, side: str, where: str) -> tuple[str | None, str | None]:
    """(account, name) of the debtor or creditor side of a transaction."""
    name = doc.text(tx, f"RltdPties/{side}/Nm") or doc.text(tx, f"RltdPties/{side}/Pty/Nm")
    iban = doc.text(tx, f"RltdPties/{side}Acct/Id/IBAN")
    other = doc.text(tx, f"RltdPties/{side}Acct/Id/Othr/Id")
    account = None
    if iban:
        account = normalize_account(iban, where=f"{where}/{side}Acct")
    elif other:
        bank = doc.text(tx, f"RltdAgts/{side}Agt/FinInstnId/ClrSysMmbId/MmbId") or doc.text(
            tx, f"RltdAgts/{side}Agt/FinInstnId/Othr/Id"
        )
        if bank is not None and not (len(bank) == 4 and bank.isdigit()):
            bank = None  # a BIC or a foreign clearing code: not part of a Czech account number
        account = normalize_account(other, bank, where=f"{where}/{side}Acct")
    return account, name


def _movement(
    doc: _Doc,
    tx: etree._Element | None,
    amount: Decimal,
    bank_id: str | None,
    own_account: str,
    where: str,
    base: dict,
) -> BankMovement:
    counter_account = counter_name = message = None
    symbols: dict[str, str] = {}
    if tx is not None:
        debtor = _party(doc, tx, "Dbtr", where)
        creditor = _party(doc, tx, "Cdtr", where)
        # Money in: the counterparty is the debtor; out: the creditor. Some banks repeat the original
        # parties on a reversal, so if the chosen side is our own account, take the other one.
        counter, other = (debtor, creditor) if amount >= 0 else (creditor, debtor)
        if counter[0] is not None and counter[0] == own_account:
            counter = other
        counter_account, counter_name = counter
        unstructured = doc.texts(tx, "RmtInf/Ustrd")
        message = " ".join(unstructured) or doc.text(tx, "AddtlTxInf")
        symbols = _symbols(doc, tx, unstructured)
    return BankMovement(
        bank_id=bank_id,
        booked=base["booked"],
        amount=amount,
        currency=base["currency"],
        counter_account=counter_account,
        counter_name=counter_name,
        variable_symbol=norm_symbol(symbols.get("VS"), where=where),
        constant_symbol=norm_symbol(symbols.get("KS"), where=where),
        specific_symbol=norm_symbol(symbols.get("SS"), where=where),
        message=message,
        reversal=base["reversal"],
        raw=base["raw"],
    )


def _symbols(doc: _Doc, tx: etree._Element, unstructured: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}

    def scan(text: str | None) -> None:
        if text:
            for m in _SYMBOL.finditer(text):
                found.setdefault(m.group(1).upper(), m.group(2))

    for ref in doc.texts(tx, "RmtInf/Strd/CdtrRefInf/Ref"):
        if _PLAIN_DIGITS.match(ref):
            found.setdefault("VS", ref)
        else:
            scan(ref)
    scan(doc.text(tx, "Refs/EndToEndId"))
    for line in unstructured:
        scan(line)
    scan(doc.text(tx, "Refs/InstrId"))
    return found
