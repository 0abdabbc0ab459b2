"""Write a BankStatement as a conformant GPC file (074 + 075 records, Windows-1250, CRLF).

Used by the tests and by the benchmark to make statement files; :func:`mango_billing.bank.gpc.parse`
reads the output back to the same statement. Layout as read by the parser (see gpc.py): standard account
order by default, posting codes 1/2/4/5, the counter account's bank code in digits 5-8 of the constant
symbol field, turnover signs "0" or "-". Counterparty names longer than the 20 characters of a 075 go to
a 076 record in full; a message goes to 078/079 records (KB layout: 35-character pieces, at most 140).

What GPC cannot carry is refused with a StatementError: foreign (IBAN) counter accounts, symbols longer
than the fields, bank ids that are not up to 26 digits, text outside Windows-1250.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from mango_billing.bank.gpc import currency_number, to_internal_order
from mango_billing.bank.statement import CENT, BankMovement, BankStatement, StatementError

_ACCOUNT = re.compile(r"^(?:(\d{1,6})-)?(\d{1,10})(?:/(\d{4}))?$")
_DIGITS = re.compile(r"^\d*$")


def _account(account: str | None, where: str, order: str) -> tuple[str, str]:
    """16 digits in the chosen order and the 4-digit bank code ("0000" when none)."""
    if account is None:
        return "0" * 16, "0000"
    m = _ACCOUNT.match(account)
    if not m:
        raise StatementError(f"{where}: {account!r} is not a Czech account number; GPC cannot carry it")
    prefix, number, bank = m.groups()
    digits = (prefix or "").zfill(6) + number.zfill(10)
    if order == "internal":
        digits = to_internal_order(digits)
    return digits, bank or "0000"


def _cents(amount: Decimal, where: str) -> int:
    exact = amount.quantize(CENT)
    if exact != amount:
        raise StatementError(f"{where}: amount {amount} has more than two decimal places")
    return int(exact.scaleb(2))


def _ddmmyy(value: date) -> str:
    return f"{value.day:02d}{value.month:02d}{value.year % 100:02d}"


def _symbol(value: str | None, width: int, where: str, name: str) -> str:
    value = value or ""
    if len(value) > width or not _DIGITS.match(value):
        raise StatementError(f"{where}: {name} {value!r} does not fit {width} digits")
    return value.zfill(width)


def _text(value: str | None, where: str, name: str, limit: int) -> str:
    value = value or ""
    if len(value) > limit or "\r" in value or "\n" in value:
        raise StatementError(f"{where}: {name} must be one line of at most {limit} characters")
    try:
        value.encode("cp1250")
    except UnicodeEncodeError:
        raise StatementError(f"{where}: {name} {value!r:.40} has characters outside Windows-1250") from None
    return value


def _movement_lines(m: BankMovement, n: int, own: str, order: str) -> list[str]:
    where = f"movement #{n}"
    counter, bank = _account(m.counter_account, where, order)
    cents = _cents(m.amount, where)
    if m.reversal:
        code = "4" if cents >= 0 else "5"  # a storno of a debit returns money, of a credit takes it
    else:
        code = "2" if cents >= 0 else "1"
    bank_id = m.bank_id or ""
    if len(bank_id) > 26 or not _DIGITS.match(bank_id):
        raise StatementError(f"{where}: bank id {bank_id!r} is not up to 26 digits")
    name = _text(m.counter_name, where, "counterparty name", 93)
    message = _text(m.message, where, "message", 140)
    booked = _ddmmyy(m.booked)
    line = (
        f"075{own}{counter}{bank_id.zfill(13) if len(bank_id) <= 13 else '0' * 13}{abs(cents):012d}{code}"
        f"{_symbol(m.variable_symbol, 10, where, 'variable symbol')}"
        f"00{bank}{_symbol(m.constant_symbol, 4, where, 'constant symbol')}"
        f"{_symbol(m.specific_symbol, 10, where, 'specific symbol')}"
        f"{booked}{name[:20]:<20}0{currency_number(m.currency):04d}{booked}"
    )
    if len(line) != 128:
        raise StatementError(f"{where}: amount {m.amount} is too large for GPC")
    lines = [line]
    if len(name) > 20 or len(bank_id) > 13:
        lines.append(f"076{bank_id.zfill(26)}{booked}{name}")
    if message:
        pieces = [message[i : i + 35] for i in range(0, len(message), 35)]
        lines.append(f"078{pieces[0]:<35}{pieces[1] if len(pieces) > 1 else '':<35}")
        if len(pieces) > 2:
            lines.append(f"079{pieces[2]:<35}{pieces[3] if len(pieces) > 3 else '':<35}")
    return lines


def write_gpc(statement: BankStatement, *, client_name: str = "", account_order: str = "standard") -> bytes:
    """The statement as GPC bytes; ``account_order="internal"`` writes the ČS/KB digit permutation."""
    if account_order not in ("standard", "internal"):
        raise StatementError(f"account_order must be 'standard' or 'internal', not {account_order!r}")
    own, _bank = _account(statement.account, "statement account", account_order)
    if own == "0" * 16:
        raise StatementError("statement account: an all-zero account number cannot be written")
    movements = statement.movements
    debits = credits = 0
    body: list[str] = []
    for n, m in enumerate(movements, 1):
        body.extend(_movement_lines(m, n, own, account_order))
        cents = _cents(m.amount, f"movement #{n}")
        if m.reversal:
            if cents >= 0:
                debits -= cents
            else:
                credits += cents
        elif cents >= 0:
            credits += cents
        else:
            debits -= cents
    dates = [m.booked for m in movements]
    period_from = statement.period_from or (min(dates) if dates else date.today())
    period_to = statement.period_to or (max(dates) if dates else period_from)
    opening = _cents(statement.opening_balance or Decimal("0.00"), "opening balance")
    closing = (
        _cents(statement.closing_balance, "closing balance")
        if statement.closing_balance is not None
        else opening - debits + credits
    )
    number = statement.number or ""
    if len(number) > 3 or not _DIGITS.match(number):
        raise StatementError(f"statement number {number!r} does not fit 3 digits")
    name = _text(client_name, "statement", "client name", 20)
    header = (
        f"074{own}{name:<20}{_ddmmyy(period_from)}"
        f"{abs(opening):014d}{'-' if opening < 0 else '+'}{abs(closing):014d}{'-' if closing < 0 else '+'}"
        f"{abs(debits):014d}{'-' if debits < 0 else '0'}{abs(credits):014d}{'-' if credits < 0 else '0'}"
        f"{number.zfill(3)}{_ddmmyy(period_to)}{'':14}"
    )
    if len(header) != 128:
        raise StatementError("a balance or turnover is too large for GPC")
    body.insert(0, header)
    body.append("")
    return "\r\n".join(body).encode("cp1250")
