"""The common shape of an imported bank statement, and the normalisation every parser shares.

Every parser (GPC/ABO, camt.053, Fio JSON/CSV) returns a :class:`BankStatement` whose movements use one
vocabulary, so the payment matcher does not care where a movement came from:

- amounts are exact ``Decimal`` with two places, signed from the account owner's view (+ in, - out);
- Czech account numbers are written ``prefix-number/bank`` with leading zeros stripped and the prefix
  left out when it is zero; a Czech IBAN is turned into that form too (so the same account compares equal
  whichever format it came from); other IBANs stay IBANs (upper case, no spaces);
- variable, constant and specific symbols are digit strings without leading zeros, ``None`` when empty
  or all zeros (so the KS "0558" is "558" in every format).

Not verified: that every bank's "same movement" in two formats yields the same fingerprint; the
fingerprint deliberately leaves out names and messages, which banks truncate differently per format.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")

# Leading zeros may pad the prefix and the number beyond 6 and 10 digits; checked after stripping them.
_CZECH_ACCOUNT = re.compile(r"^(?:(\d+)-)?(\d+)(?:/(\d{4}))?$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$")
_AMOUNT = re.compile(r"^[+-]?\d{1,15}(?:\.\d+)?$")


class StatementError(ValueError):
    """Bad statement file; message names the line/element and what was expected."""


@dataclass(frozen=True, slots=True)
class BankMovement:
    """One booked movement on the statement's account."""

    bank_id: str | None
    booked: date
    amount: Decimal
    currency: str
    counter_account: str | None
    counter_name: str | None
    variable_symbol: str | None
    constant_symbol: str | None
    specific_symbol: str | None
    message: str | None
    reversal: bool = False
    raw: str = ""

    def fingerprint(self, account: str) -> str:
        """sha256 hex of the normalised fields, for de-duplication when ``bank_id`` is None.

        Names and messages are left out on purpose (formats truncate them differently). Two genuinely
        identical payments on one day share a fingerprint: the importer must count occurrences within
        one statement (the n-th equal fingerprint is a new movement) rather than drop repeats.
        """
        parts = (
            account,
            self.booked.isoformat(),
            str((self.amount + 0).quantize(CENT)),  # + 0 turns -0.00 into 0.00
            self.currency,
            self.counter_account or "",
            self.variable_symbol or "",
            self.constant_symbol or "",
            self.specific_symbol or "",
            "R" if self.reversal else "",
        )
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class BankStatement:
    """A statement (or a download of movements) of one account."""

    format: str
    account: str
    currency: str
    number: str | None
    period_from: date | None
    period_to: date | None
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    movements: tuple[BankMovement, ...]


def cents_to_decimal(cents: int) -> Decimal:
    """Whole hellers (cents) as an exact two-place Decimal."""
    return Decimal(cents).scaleb(-2)


def money(value: object, *, where: str) -> Decimal:
    """An amount from text or a JSON number, exact to the cent; more non-zero decimals are rejected.

    A bank never books fractions of a cent, so a third decimal means a broken file, not something to round.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise StatementError(f"{where}: expected an amount, found {type(value).__name__} {value!r:.40}")
    text = str(value).strip()
    if not _AMOUNT.match(text):
        raise StatementError(f"{where}: expected an amount like 1234.50, found {text!r:.40}")
    try:
        amount = Decimal(text)
        exact = amount.quantize(CENT)
    except InvalidOperation as exc:
        raise StatementError(f"{where}: amount {text!r:.40} is out of range") from exc
    if exact != amount:
        raise StatementError(f"{where}: amount {text} has more than two decimal places")
    return exact


def norm_symbol(value: object, *, where: str, strict: bool = True) -> str | None:
    """A payment symbol: digits only, leading zeros stripped, None when empty or all zeros.

    ``strict`` rejects non-digits with a StatementError; otherwise such a value yields None (used for
    free-form sources where a foreign payment may carry letters).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise StatementError(f"{where}: expected a payment symbol, found {type(value).__name__}")
    text = str(value).strip().replace(" ", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        if strict:
            raise StatementError(f"{where}: a payment symbol is up to 10 digits, found {text!r:.40}")
        return None
    return text.lstrip("0") or None


def czech_account(prefix: str, number: str, bank: str | None) -> str | None:
    """``prefix-number/bank`` from digit strings; None for an all-zero number; bank 0000 means unknown."""
    prefix = prefix.lstrip("0")
    number = number.lstrip("0")
    if not number and not prefix:
        return None
    text = f"{prefix}-{number or '0'}" if prefix else number
    if bank and bank.strip("0"):
        text = f"{text}/{bank}"
    return text


def normalize_account(value: object, bank: object = None, *, where: str) -> str | None:
    """A counter or own account from text in any of the forms banks use, normalised (see module doc).

    Czech ``[prefix-]number`` (+ a separate bank code), ``prefix-number/bank``, an IBAN (a CZ IBAN becomes
    the Czech form). Anything else (a foreign non-IBAN account) is kept as written, without spaces.
    """
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise StatementError(f"{where}: expected an account number, found {type(value).__name__}")
    text = str(value).strip().replace(" ", "")
    if not text:
        return None
    bank_code: str | None = None
    if bank is not None:
        if not isinstance(bank, (str, int)) or isinstance(bank, bool):
            raise StatementError(f"{where}: expected a bank code, found {type(bank).__name__}")
        bank_code = str(bank).strip() or None
    match = _CZECH_ACCOUNT.match(text)
    if match and len((match.group(1) or "").lstrip("0")) <= 6 and len(match.group(2).lstrip("0")) <= 10:
        prefix, number, own_bank = match.groups()
        code = own_bank or bank_code
        if code is not None and not (len(code) == 4 and code.isascii() and code.isdigit()):
            # A foreign bank identifier (BIC) next to a domestic-looking number: keep both as given.
            return f"{czech_account(prefix or '', number, None) or text}/{code}"
        return czech_account(prefix or "", number, code)
    upper = text.upper()
    if _IBAN.match(upper):
        if upper.startswith("CZ") and len(upper) == 24 and upper[4:].isdigit():
            return czech_account(upper[8:14], upper[14:], upper[4:8])
        return upper
    return text


def combine(parts: list[BankStatement], *, check_totals: bool) -> BankStatement:
    """One statement from consecutive sections of the same account (several days in one file)."""
    if not parts:
        raise StatementError("the file holds no statement")
    if len(parts) == 1:
        return parts[0]
    first, last = parts[0], parts[-1]
    accounts = sorted({p.account for p in parts})
    if len(accounts) > 1:
        raise StatementError(
            f"the file holds statements of {len(accounts)} accounts ({', '.join(accounts)}); "
            "import one account per file"
        )
    if check_totals:
        for before, after in zip(parts, parts[1:], strict=False):
            if (
                before.closing_balance is not None
                and after.opening_balance is not None
                and before.closing_balance != after.opening_balance
            ):
                raise StatementError(
                    f"statement {after.number or '?'} opens with {after.opening_balance} but the previous "
                    f"section closed with {before.closing_balance}; a part of the file is missing"
                )
    numbers = [p.number for p in parts if p.number]
    number = None
    if numbers:
        number = numbers[0] if numbers[0] == numbers[-1] else f"{numbers[0]}-{numbers[-1]}"
    return BankStatement(
        format=first.format,
        account=first.account,
        currency=first.currency,
        number=number,
        period_from=first.period_from,
        period_to=last.period_to,
        opening_balance=first.opening_balance,
        closing_balance=last.closing_balance,
        movements=tuple(m for p in parts for m in p.movements),
    )
